"""Failure budgets and IP windows in the database, read and written under row locks.

Call these inside `database.atomic()`. On PostgreSQL a row lock is taken by an upsert
(INSERT ... ON CONFLICT DO UPDATE), which returns the row or, for a budget at sign-in,
leaves it to the next statement to read under the row lock; on SQLite the transaction
holds the database's write lock (BEGIN IMMEDIATE). Either way concurrent attempts from
any number of processes queue up here and every failure is counted exactly once. Every
transaction takes its row locks in the same order (IP window, budgets, user row,
sessions), so none can deadlock.
"""


from peewee import EXCLUDED

from portal.db import CompiledQuery
from portal.db import arg
from portal.models import UNKNOWN_DEVICE
from portal.models import FailureBudget
from portal.models import IpThrottle
from portal.security import policy

BUDGET_FIELDS = list(policy.Budget._fields)
# The columns of a policy.Budget, in order: the sign-in's own statement selects them too.
BUDGET_COLUMNS = [getattr(FailureBudget, name) for name in BUDGET_FIELDS]


def to_budget(row):
    """Return the policy's Budget of a stored row."""
    return policy.Budget(**{name: getattr(row, name) for name in BUDGET_FIELDS})


def upsert_budget_row():
    """Return the upsert that creates a budget row when missing and takes its row lock.

    Its no-op update is what takes the row lock on PostgreSQL; SQLite's write
    transaction already holds the whole database.
    """
    return (FailureBudget.insert(account=arg("account"), device=arg("device"))
            .on_conflict(conflict_target=[FailureBudget.account, FailureBudget.device],
                         update={FailureBudget.account: EXCLUDED.account}))


# Every sign-in runs these: compiled once (portal.db.CompiledQuery).
READ_BUDGET_UNDER_ROW_LOCK = CompiledQuery(
    lambda: upsert_budget_row().returning(*BUDGET_COLUMNS))
TAKE_BUDGET_ROW_LOCK = CompiledQuery(upsert_budget_row)
SAVE_BUDGET = CompiledQuery(lambda: FailureBudget.update(
    {getattr(FailureBudget, name): arg(name) for name in BUDGET_FIELDS})
    .where(FailureBudget.account == arg("account"), FailureBudget.device == arg("device")))
READ_WINDOW_UNDER_ROW_LOCK = CompiledQuery(lambda: IpThrottle.insert(ip=arg("ip"))
                                           .on_conflict(conflict_target=[IpThrottle.ip],
                                                        update={IpThrottle.ip: EXCLUDED.ip})
                                           .returning(IpThrottle.started_at,
                                                      IpThrottle.failures))
SAVE_WINDOW = CompiledQuery(lambda: IpThrottle.update(
    started_at=arg("started_at"), failures=arg("failures")).where(IpThrottle.ip == arg("ip")))
# Decided in the statement, under its row lock, so it needs no read first: the window
# must still be the one the failure was counted in.
TAKE_BACK_WINDOW = CompiledQuery(lambda: IpThrottle.update(
    failures=IpThrottle.failures - 1).where(
    IpThrottle.ip == arg("ip"), IpThrottle.started_at == arg("started_at"),
    IpThrottle.failures > 0))


def load(account, device):
    """Return the budget of (account, device), holding its row lock (row created if missing)."""
    return policy.Budget(*READ_BUDGET_UNDER_ROW_LOCK.rows(account=account, device=device)[0])


def hold_row(account, device):
    """Take the row lock of (account, device)'s budget, created if missing, without reading it."""
    TAKE_BUDGET_ROW_LOCK.run(account=account, device=device)


def save(account, device, budget):
    """Store a budget decided by the policy."""
    SAVE_BUDGET.run(account=account, device=device, **budget._asdict())


def reset_account(account):
    """Forget every failure and policy lock of an account, on all devices (admin unlock)."""
    FailureBudget.update(**policy.Budget()._asdict()).where(
        FailureBudget.account == account).execute()


def forget_account(account):
    """Delete every budget of an account, its known devices' included (account deleted)."""
    FailureBudget.delete().where(FailureBudget.account == account).execute()


def unknown_client_budgets(accounts):
    """Return {account: Budget} of these accounts' budgets for unknown clients (one query)."""
    rows = FailureBudget.select().where(FailureBudget.account.in_(list(accounts)),
                                        FailureBudget.device == UNKNOWN_DEVICE)
    return {row.account: to_budget(row) for row in rows}


def device_budgets(account):
    """Return the budgets of the account's known devices."""
    return [to_budget(row) for row in FailureBudget.select().where(
        FailureBudget.account == account, FailureBudget.device != UNKNOWN_DEVICE)]


def forget_expired(now, rules):
    """Delete the budgets and IP windows whose state the policy has forgotten anyway.

    An unknown-clients budget whose failures are forgotten (LOCKOUT_RESET_AFTER since the
    last) and that holds no lock reads exactly like a missing one, and so does a window
    that has run out: a sign-in creates them afresh. Known devices' budgets stay: they
    are what makes the device known. Returns (budgets, windows) deleted. Each DELETE
    waits for a sign-in that holds the row lock, and then no longer matches its row.
    """
    forgotten = now - rules.reset_after
    not_permanent = FailureBudget.permanent == False  # noqa: E712 (SQL, not Python)
    if not rules.permanent:  # then a permanent lock reads as one of LOCKOUT_MAX_WAIT
        not_permanent |= FailureBudget.locked_at <= now - rules.max_wait
    budgets = FailureBudget.delete().where(
        FailureBudget.device == UNKNOWN_DEVICE, not_permanent,
        FailureBudget.locked_until.is_null() | (FailureBudget.locked_until <= now),
        FailureBudget.last_failure_at.is_null() | (FailureBudget.last_failure_at <= forgotten),
    ).execute()
    windows = IpThrottle.delete().where(
        IpThrottle.started_at.is_null() | (IpThrottle.started_at <= now - rules.ip_window),
    ).execute()
    return budgets, windows


def load_window(key):
    """Return the IP's window, holding its row lock (row created if missing)."""
    return policy.IpWindow(*READ_WINDOW_UNDER_ROW_LOCK.rows(ip=key)[0])


def save_window(key, window):
    """Store an IP window decided by the policy."""
    SAVE_WINDOW.run(ip=key, started_at=window.started_at, failures=window.failures)


def take_back_window(key, reserved):
    """Take back a failure counted in advance in the window `reserved`, if it still runs."""
    TAKE_BACK_WINDOW.run(ip=key, started_at=reserved.started_at)
