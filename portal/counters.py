"""Failure budgets and IP windows in the database, read and written under row locks.

Call these inside `database.atomic()`: on PostgreSQL the rows are locked with
SELECT ... FOR UPDATE, on SQLite the transaction holds the write lock (BEGIN
IMMEDIATE), so concurrent attempts from any number of processes queue up here
and every failure is counted exactly once.
"""

import dataclasses

from portal import lockout
from portal.db import for_update
from portal.models import UNKNOWN_DEVICE
from portal.models import FailureBudget
from portal.models import IpThrottle

BUDGET_FIELDS = [field.name for field in dataclasses.fields(lockout.Budget)]


def load_budget(user_id, device):
    """Return the budget of (user, device), locking its row (created when missing)."""
    FailureBudget.insert(user=user_id, device=device).on_conflict_ignore().execute()
    row = for_update(FailureBudget.select().where(
        FailureBudget.user == user_id, FailureBudget.device == device)).get()
    return lockout.Budget(**{name: getattr(row, name) for name in BUDGET_FIELDS})


def save_budget(user_id, device, budget):
    """Store a budget decided by the policy."""
    (FailureBudget.update(**dataclasses.asdict(budget))
     .where(FailureBudget.user == user_id, FailureBudget.device == device).execute())


def is_known_device(user_id, device_id):
    """Return True when this device has signed in to this account before."""
    return bool(device_id) and FailureBudget.select().where(
        FailureBudget.user == user_id, FailureBudget.device == device_id).exists()


def remember_device(user_id, device_id):
    """Give a device that just signed in its own budget for this account."""
    FailureBudget.insert(user=user_id, device=device_id).on_conflict_ignore().execute()


def reset_user(user_id):
    """Forget every failure and policy lock of a user, on all devices (admin unlock)."""
    FailureBudget.update(**dataclasses.asdict(lockout.Budget())).where(
        FailureBudget.user == user_id).execute()


def account_budgets(user_ids):
    """Return {user_id: Budget} of the unknown-client budgets of these users (one query)."""
    rows = FailureBudget.select().where(FailureBudget.user.in_(list(user_ids)),
                                        FailureBudget.device == UNKNOWN_DEVICE)
    return {row.user_id: lockout.Budget(**{n: getattr(row, n) for n in BUDGET_FIELDS})
            for row in rows}


def load_ip(ip):
    """Return the IP's window, locking its row (created when missing)."""
    IpThrottle.insert(ip=ip).on_conflict_ignore().execute()
    row = for_update(IpThrottle.select().where(IpThrottle.ip == ip)).get()
    return lockout.IpWindow(started_at=row.started_at, failures=row.failures)


def save_ip(ip, window):
    """Store an IP window decided by the policy."""
    IpThrottle.update(started_at=window.started_at, failures=window.failures).where(
        IpThrottle.ip == ip).execute()
