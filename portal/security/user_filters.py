"""The users list's filters: a name prefix, and the accounts' states (locked, flagged for
review, reported, admins) as conditions on users.

A state that few accounts are in (FILTER_DENSE or fewer, read from an index of its own)
narrows the list to their ids, so the sort's index need not be walked past everyone
else; a common one is checked on the rows the sort's index yields.
"""

import functools
import re
from datetime import datetime

from peewee import SQL
from peewee import NodeList
from peewee import Value

from portal.accounts import users
from portal.db import database
from portal.db import is_postgresql
from portal.models import UNKNOWN_DEVICE
from portal.models import FailureBudget
from portal.models import Session
from portal.models import User
from portal.security import reports

FILTERS = ("locked", "flagged", "reported", "admins")
FILTER_DENSE = 1000
USERNAME_TEXT = re.compile(r"[a-z0-9._@-]+")  # what a username may hold (accounts.users)
EPOCH = datetime(1970, 1, 1)


def conditions(search, only, now, rules):
    """Return the WHERE conditions on users of a name prefix and the state filters `only`."""
    found = [name_starts_with(users.normalize_username(search))] if search else []
    narrowest, by_name = None, None
    for name in only:
        ids = [row[0] for row in FILTER_IDS[name](now, rules).limit(FILTER_DENSE + 1).tuples()]
        if len(ids) <= FILTER_DENSE and (narrowest is None or len(ids) < len(narrowest)):
            narrowest, by_name = ids, name
    # Few enough to name: the query reads them by id, whatever index the sort has, and
    # checks the other filters on them.
    found += [STATE_FILTERS[name](now, rules) for name in only if name != by_name]
    if narrowest is not None:
        found.append(User.id.in_(narrowest) if narrowest else User.id.is_null())
    return found


def name_starts_with(prefix):
    """Return the condition that the username starts with `prefix`: a range of its index.

    The range holds exactly the names that start with it where text compares code point
    by code point (SQLite; PostgreSQL under a C collation); elsewhere the prefix is
    matched by LIKE, which is exact but may read every name.
    """
    if not USERNAME_TEXT.fullmatch(prefix):
        return User.id.is_null()  # a character no username holds: nothing matches
    if not is_postgresql() or compares_code_points(database.obj):
        return (User.username >= prefix) & (User.username < prefix + "\x7f")
    pattern = re.sub(r"([\\%_])", r"\\\1", prefix) + "%"  # "_" is a plain character here
    return NodeList((User.username, SQL("LIKE"), Value(pattern)))


@functools.lru_cache(maxsize=64)
def compares_code_points(bound_database):
    """Return True when PostgreSQL orders this database's text by code point (C collation)."""
    collation = database.execute_sql(
        "SELECT datcollate FROM pg_database WHERE datname = current_database()").fetchone()[0]
    return collation in ("C", "POSIX") or collation.startswith("C.")


def budget_locked(now, rules):
    """Return the condition on a budget row that it is locked now (policy.is_locked)."""
    permanent = FailureBudget.permanent == True  # noqa: E712 (SQL, not Python)
    if not rules.permanent:  # then a permanent lock reads as one of LOCKOUT_MAX_WAIT
        permanent &= FailureBudget.locked_at > now - rules.max_wait
    return (FailureBudget.locked_until > now) | permanent


def locked_budgets(now, rules):
    """Return the query of the names whose budget for unknown clients is locked now."""
    query = FailureBudget.select(FailureBudget.account).where(
        FailureBudget.device == UNKNOWN_DEVICE, budget_locked(now, rules))
    # Every lock in force began within LOCKOUT_MAX_WAIT, unless locks may be permanent:
    # a range of the locked_at index.
    if rules.permanent:
        return query.where(FailureBudget.locked_at.is_null(False))
    return query.where(FailureBudget.locked_at > now - rules.max_wait)


def admin_locked(now):
    """Return the condition on a user row that an admin's lock holds (AdminLock.holds)."""
    # A range of the locked_at index (every admin lock has a time): SQLite's planner,
    # which counts the NULLs of an index as one common value, scans for IS NOT NULL.
    return (User.locked_at > EPOCH) & User.lock_reason.is_null(False) & (
        User.locked_until.is_null() | (User.locked_until > now))


def reported_users():
    """Return the query of the ids of users with a report no admin has resolved."""
    return Session.select(Session.user).where(reports.open_reports())


# Each filter as a condition on users, and as the query of its users' ids from its index.
STATE_FILTERS = {
    "locked": lambda now, rules: admin_locked(now) | User.username.in_(locked_budgets(now, rules)),
    "flagged": lambda now, rules: User.review_flagged_at.is_null(False),
    "reported": lambda now, rules: User.id.in_(reported_users()),
    "admins": lambda now, rules: User.is_admin == True,  # noqa: E712 (SQL, not Python)
}
FILTER_IDS = {
    "locked": lambda now, rules: (
        User.select(User.id).where(admin_locked(now))
        .union(User.select(User.id).where(User.username.in_(locked_budgets(now, rules))))),
    "flagged": lambda now, rules: User.select(User.id).where(User.review_flagged_at.is_null(False)),
    "reported": lambda now, rules: reported_users().distinct(),
    "admins": lambda now, rules: User.select(User.id).where(
        User.is_admin == True),  # noqa: E712 (SQL, not Python)
}


def budget_counts(now, rules):
    """Return the condition on a budget row that it holds failures the policy still counts
    (policy.forget_old: the last within LOCKOUT_RESET_AFTER, or a lock in force)."""
    return (FailureBudget.device == UNKNOWN_DEVICE) & (FailureBudget.failures > 0) & (
        (FailureBudget.last_failure_at > now - rules.reset_after) | budget_locked(now, rules))
