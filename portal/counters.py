"""Failure budgets and IP windows in the database, read and written under row locks.

Call these inside `database.atomic()`: on PostgreSQL the rows are locked with
SELECT ... FOR UPDATE, on SQLite the transaction holds the write lock (BEGIN
IMMEDIATE), so concurrent attempts from any number of processes queue up here
and every failure is counted exactly once. Every transaction takes its locks in
the same order (IP window, budgets, user row, sessions), so none can deadlock.
"""

import dataclasses

from portal import lockout
from portal.db import for_update
from portal.models import UNKNOWN_DEVICE
from portal.models import FailureBudget
from portal.models import IpThrottle

BUDGET_FIELDS = [field.name for field in dataclasses.fields(lockout.Budget)]


def to_budget(row):
    """Return the policy's Budget of a stored row."""
    return lockout.Budget(**{name: getattr(row, name) for name in BUDGET_FIELDS})


def _budget_rows(account, device):
    return FailureBudget.select().where(FailureBudget.account == account,
                                        FailureBudget.device == device)


def load_budget(account, device):
    """Return the budget of (account, device), locking its row (created when missing)."""
    FailureBudget.insert(account=account, device=device).on_conflict_ignore().execute()
    return to_budget(for_update(_budget_rows(account, device)).get())


def save_budget(account, device, budget):
    """Store a budget decided by the policy."""
    (FailureBudget.update(**dataclasses.asdict(budget))
     .where(FailureBudget.account == account, FailureBudget.device == device).execute())


def is_known_device(account, device_id):
    """Return True when this device has signed in to this account before."""
    return bool(device_id) and _budget_rows(account, device_id).exists()


def remember_device(account, device_id):
    """Give a device that just signed in its own budget for this account."""
    FailureBudget.insert(account=account, device=device_id).on_conflict_ignore().execute()


def reset_account(account):
    """Forget every failure and policy lock of an account, on all devices (admin unlock)."""
    FailureBudget.update(**dataclasses.asdict(lockout.Budget())).where(
        FailureBudget.account == account).execute()


def account_budgets(accounts):
    """Return {account: Budget} of the unknown-client budgets of these accounts (one query)."""
    rows = FailureBudget.select().where(FailureBudget.account.in_(list(accounts)),
                                        FailureBudget.device == UNKNOWN_DEVICE)
    return {row.account: to_budget(row) for row in rows}


def device_budgets(account):
    """Return the budgets of the account's known devices."""
    return [to_budget(row) for row in FailureBudget.select().where(
        FailureBudget.account == account, FailureBudget.device != UNKNOWN_DEVICE)]


def load_ip(key):
    """Return the IP's window, locking its row (created when missing)."""
    IpThrottle.insert(ip=key).on_conflict_ignore().execute()
    row = for_update(IpThrottle.select().where(IpThrottle.ip == key)).get()
    return lockout.IpWindow(started_at=row.started_at, failures=row.failures)


def save_ip(key, window):
    """Store an IP window decided by the policy."""
    IpThrottle.update(started_at=window.started_at, failures=window.failures).where(
        IpThrottle.ip == key).execute()
