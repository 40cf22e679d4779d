"""Failure budgets and IP windows in the database, read and written under row locks.

Call these inside `database.atomic()`: on PostgreSQL a row is locked by an upsert
(INSERT ... ON CONFLICT DO UPDATE), which returns it or, for a budget at sign-in,
leaves it to the next statement to read under the lock; on SQLite the
transaction holds the write lock (BEGIN IMMEDIATE), so concurrent attempts from
any number of processes queue up here and every failure is counted exactly once.
Every transaction takes its locks in the same order (IP window, budgets, user row,
sessions), so none can deadlock.
"""

import dataclasses

from peewee import EXCLUDED

from portal import lockout
from portal.db import Prepared
from portal.db import arg
from portal.models import UNKNOWN_DEVICE
from portal.models import FailureBudget
from portal.models import IpThrottle

BUDGET_FIELDS = [field.name for field in dataclasses.fields(lockout.Budget)]


def to_budget(row):
    """Return the policy's Budget of a stored row."""
    return lockout.Budget(**{name: getattr(row, name) for name in BUDGET_FIELDS})


# Every sign-in runs these; they are compiled once (portal.db.Prepared).
BUDGET_COLUMNS = [getattr(FailureBudget, name) for name in BUDGET_FIELDS]
NEW_BUDGET = Prepared(lambda: FailureBudget.insert(account=arg(0), device=arg(1))
                      .on_conflict_ignore())


def lock_budget_row():
    """Return the upsert that creates a budget row when missing and locks it.

    Its no-op update takes the row lock (PostgreSQL); SQLite's write transaction
    already holds the whole database.
    """
    return (FailureBudget.insert(account=arg(0), device=arg(1))
            .on_conflict(conflict_target=[FailureBudget.account, FailureBudget.device],
                         update={FailureBudget.account: EXCLUDED.account}))


# Lock and return the row in one statement...
LOCKED_BUDGET = Prepared(lambda: lock_budget_row().returning(*BUDGET_COLUMNS))
# ...or lock it unread: the next statement, in the same message on PostgreSQL, reads it
# under the lock (see portal.signin).
LOCK_BUDGET = Prepared(lock_budget_row)
SAVE_BUDGET = Prepared(lambda: FailureBudget.update(
    {column: arg(n + 2) for n, column in enumerate(BUDGET_COLUMNS)})
    .where(FailureBudget.account == arg(0), FailureBudget.device == arg(1)))
KNOWN_DEVICE = Prepared(lambda: FailureBudget.select(FailureBudget.device).where(
    FailureBudget.account == arg(0), FailureBudget.device == arg(1)).limit(1))
LOCKED_WINDOW = Prepared(lambda: IpThrottle.insert(ip=arg(0))
                         .on_conflict(conflict_target=[IpThrottle.ip],
                                      update={IpThrottle.ip: EXCLUDED.ip})
                         .returning(IpThrottle.started_at, IpThrottle.failures))
SAVE_WINDOW = Prepared(lambda: IpThrottle.update(started_at=arg(1), failures=arg(2)).where(
    IpThrottle.ip == arg(0)))
# Decided in the statement, under its row lock, so it needs no read first (one round
# trip fewer): the window must still be the one the failure was counted in.
TAKE_BACK_WINDOW = Prepared(lambda: IpThrottle.update(failures=IpThrottle.failures - 1).where(
    IpThrottle.ip == arg(0), IpThrottle.started_at == arg(1), IpThrottle.failures > 0))


def load_budget(account, device):
    """Return the budget of (account, device), locking its row (created when missing)."""
    return lockout.Budget(*LOCKED_BUDGET.rows(account, device)[0])


def lock_budget(account, device):
    """Lock the row of (account, device), created when missing, without reading it yet."""
    LOCK_BUDGET.write(account, device)


def save_budget(account, device, budget):
    """Store a budget decided by the policy."""
    SAVE_BUDGET.write(account, device, *dataclasses.astuple(budget))


def is_known_device(account, device_id):
    """Return True when this device has signed in to this account before."""
    return bool(device_id) and bool(KNOWN_DEVICE.rows(account, device_id))


def remember_device(account, device_id):
    """Give a device that just signed in its own budget for this account."""
    NEW_BUDGET.write(account, device_id)


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
    return lockout.IpWindow(*LOCKED_WINDOW.rows(key)[0])


def save_ip(key, window):
    """Store an IP window decided by the policy."""
    SAVE_WINDOW.write(key, window.started_at, window.failures)


def take_back_ip(key, reserved):
    """Take back a failure counted in advance in the window `reserved`, if it still runs."""
    TAKE_BACK_WINDOW.write(key, reserved.started_at)
