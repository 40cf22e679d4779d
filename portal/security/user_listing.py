"""The admins' users list at any size: sorts, state filters, a count and keyset pages.

A page continues from a cursor (the last row's sort value and name), never an OFFSET,
so page 2,000 costs what page 1 does. Each sort reads one index in its order, ties by
name (0016's indexes): the accounts with a value first, then those without one ("never",
no failures) by name. A state filter that matches few accounts (FILTER_DENSE or fewer,
read from an index of its own) narrows the query to their ids; a common one is checked
on the rows the sort's index yields.
"""

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from peewee import SQL
from peewee import NodeList
from peewee import Value
from peewee import fn

from portal import clock
from portal.accounts import users
from portal.db import database
from portal.db import is_postgresql
from portal.models import UNKNOWN_DEVICE
from portal.models import FailureBudget
from portal.models import Session
from portal.models import User
from portal.security import lock_states
from portal.security import policy

PAGE_SIZE = 50
FILTER_DENSE = 1000
SEARCH_MAX = 64
# Each `sort` value: the key it orders by, and whether from the highest (newest) first.
SORTS = {"name": ("name", False), "name_desc": ("name", True), "failures": ("failures", True),
         "last_failure": ("last_failure", True), "last_failure_asc": ("last_failure", False),
         "last_success": ("last_success", True), "last_success_asc": ("last_success", False)}
FILTERS = ("locked", "flagged", "reported", "admins")
TIME_FORMAT = "%Y%m%dT%H%M%S.%f"
CURSOR = re.compile(r"^([12])~([0-9T.]{0,22})~([a-z0-9._@-]{1,64})$")
USERNAME_TEXT = re.compile(r"[a-z0-9._@-]+")  # what a username may hold (accounts.users)
EPOCH = datetime(1970, 1, 1)
TIMES = {"last_failure": User.last_failure_at, "last_success": User.last_success_at}


class BadQuery(ValueError):
    """A query-string value the users list cannot use; `field` names it."""

    def __init__(self, field):
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class Query:
    """What the admin asked for, as typed: search, sort, state filters and the cursor."""

    q: str = ""
    sort: str = "name"
    only: tuple = ()
    after: str = ""

    @classmethod
    def from_args(cls, args):
        """Read the query string; raise BadQuery for a value the list does not know."""
        sort = args.get("sort") or "name"
        if sort not in SORTS:
            raise BadQuery("sort")
        only = tuple(dict.fromkeys(value for value in args.getlist("only") if value))
        if any(value not in FILTERS for value in only):
            raise BadQuery("only")
        q = (args.get("q") or "").strip()
        if len(q) > SEARCH_MAX:
            raise BadQuery("q")
        return cls(q, sort, only, args.get("after") or "")

    @property
    def key(self):
        """Return what the sort orders by: name, failures, last_failure or last_success."""
        return SORTS[self.sort][0]

    @property
    def descending(self):
        """Return True when the sort starts from the highest value (Z, most, newest)."""
        return SORTS[self.sort][1]

    def args(self, **changes):
        """Return this query's arguments (with changes) for url_for, the defaults left out."""
        values = {"q": self.q, "sort": self.sort, "only": list(self.only),
                  "after": self.after, **changes}
        if values["sort"] == "name":
            del values["sort"]
        return {name: value for name, value in values.items() if value}


@dataclass(frozen=True)
class Page:
    """One page of the list: lock_states.UserRows, how many match, the next page's cursor."""

    rows: list
    total: int
    next_after: str | None


def page(query, size=PAGE_SIZE):
    """Return the Page of users that the Query asks for."""
    now, rules = clock.now(), policy.Policy.from_config(current_app.config)
    conditions = filter_conditions(query, now, rules)
    after = parse_cursor(query.after, query.key) if query.after else None
    found = sorted_rows(query, conditions, after, size + 1, now, rules)
    more = len(found) > size
    rows = lock_states.with_states([row[1:] for row in found[:size]])
    next_after = cursor(query, found[size - 1]) if more else None
    return Page(rows, count(conditions), next_after)


def count(conditions):
    """Count the users that meet the conditions."""
    return with_conditions(User.select(fn.COUNT(User.id)), conditions).scalar()


def filter_conditions(query, now, rules):
    """Return the WHERE conditions on users of the search and the state filters."""
    found = [name_starts_with(users.normalize_username(query.q))] if query.q else []
    narrowest, by_name = None, None
    for name in query.only:
        ids = [row[0] for row in FILTER_IDS[name](now, rules).limit(FILTER_DENSE + 1).tuples()]
        if len(ids) <= FILTER_DENSE and (narrowest is None or len(ids) < len(narrowest)):
            narrowest, by_name = ids, name
    # Few enough to name: the query reads them by id, whatever index the sort has, and
    # checks the other filters on them.
    found += [STATE_FILTERS[name](now, rules) for name in query.only if name != by_name]
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


def open_reports():
    """Return the query of the ids of users with a report no admin has resolved."""
    return Session.select(Session.user).where(Session.reported_at.is_null(False),
                                              Session.report_resolved_at.is_null())


# Each filter as a condition on users, and as the query of its users' ids from its index.
STATE_FILTERS = {
    "locked": lambda now, rules: admin_locked(now) | User.username.in_(locked_budgets(now, rules)),
    "flagged": lambda now, rules: User.review_flagged_at.is_null(False),
    "reported": lambda now, rules: User.id.in_(open_reports()),
    "admins": lambda now, rules: User.is_admin == True,  # noqa: E712 (SQL, not Python)
}
FILTER_IDS = {
    "locked": lambda now, rules: (
        User.select(User.id).where(admin_locked(now))
        .union(User.select(User.id).where(User.username.in_(locked_budgets(now, rules))))),
    "flagged": lambda now, rules: User.select(User.id).where(User.review_flagged_at.is_null(False)),
    "reported": lambda now, rules: open_reports().distinct(),
    "admins": lambda now, rules: User.select(User.id).where(
        User.is_admin == True),  # noqa: E712 (SQL, not Python)
}


def budget_counts(now, rules):
    """Return the condition on a budget row that it holds failures the policy still counts
    (policy.forget_old: the last within LOCKOUT_RESET_AFTER, or a lock in force)."""
    return (FailureBudget.device == UNKNOWN_DEVICE) & (FailureBudget.failures > 0) & (
        (FailureBudget.last_failure_at > now - rules.reset_after) | budget_locked(now, rules))


def sorted_rows(query, conditions, after, limit, now, rules):
    """Return up to `limit` (sort value, *LIST_COLUMNS) tuples after the cursor, in order.

    Segment 1 holds the accounts with a sort value, segment 2 the others (by name). A
    cursor inside segment 1 continues with its ties (same value, later names), then the
    values beyond it: each one range of an index.
    """
    key, descending = sort_key(query), query.descending
    found = []
    if after is None or after[0] == 1:
        value, name = (None, "") if after is None else after[1:]
        if query.key == "name":
            found += run(segment_one(query, conditions, now, rules).where(
                (User.username < name) if descending and name else User.username > name),
                [User.username.desc() if descending else User.username], limit)
        else:
            tie = tie_key(query)
            if value is not None:
                found += run(segment_one(query, conditions, now, rules).where(
                    key == value, tie > name), [tie], limit)
            beyond = key.is_null(False) if value is None else \
                (key < value if descending else key > value)
            found += run(segment_one(query, conditions, now, rules).where(beyond),
                         [key.desc() if descending else key, tie], limit - len(found))
    if query.key != "name" and len(found) < limit:
        name = after[2] if after is not None and after[0] == 2 else ""
        found += run(segment_two(query, conditions, now, rules).where(User.username > name),
                     [User.username], limit - len(found))
    return found


def sort_key(query):
    """Return the column a sort orders by."""
    if query.key == "failures":
        return FailureBudget.failures
    return TIMES.get(query.key, User.username)


def tie_key(query):
    """Return the name column that breaks a sort's ties: the one its index holds."""
    return FailureBudget.account if query.key == "failures" else User.username


def segment_one(query, conditions, now, rules):
    """Return the query of the accounts that have a value to sort by."""
    key = sort_key(query)
    selected = User.select(key, *lock_states.LIST_COLUMNS)
    if query.key == "failures":
        selected = selected.join(FailureBudget, on=(FailureBudget.account == User.username)) \
            .where(budget_counts(now, rules))
    return with_conditions(selected, conditions)


def with_conditions(selected, conditions):
    """Return the query with the conditions added (Peewee's where() wants at least one)."""
    return selected.where(*conditions) if conditions else selected


def segment_two(query, conditions, now, rules):
    """Return the query of the accounts without a value to sort by ("never", no failures)."""
    selected = with_conditions(User.select(SQL("NULL"), *lock_states.LIST_COLUMNS), conditions)
    if query.key == "failures":
        counting = FailureBudget.select(FailureBudget.account).where(
            FailureBudget.account == User.username, budget_counts(now, rules))
        return selected.where(~fn.EXISTS(counting))
    return selected.where(sort_key(query).is_null())


def run(selected, order, limit):
    """Return the rows of a segment's query in `order`, at most `limit` (none when 0)."""
    if limit <= 0:
        return []
    return list(selected.order_by(*order).limit(limit).tuples())


def cursor(query, row):
    """Return the cursor that continues the list after this row."""
    value, name = row[0], row[2]
    if query.key == "name":
        return f"1~~{name}"
    if value is None:
        return f"2~~{name}"
    if isinstance(value, datetime):
        return f"1~{value.strftime(TIME_FORMAT)}~{name}"
    return f"1~{int(value)}~{name}"


def parse_cursor(text, key):
    """Return (segment, value, name) of a cursor of this sort key, or raise BadQuery."""
    match = CURSOR.match(text)
    if not match or (key == "name" and (match[1] == "2" or match[2])):
        raise BadQuery("after")
    segment, value, name = int(match[1]), match[2], match[3]
    if segment == 2 or key == "name":
        return segment, None, name
    try:
        if key in TIMES:
            return segment, datetime.strptime(value, TIME_FORMAT), name
        if len(value) > 9:  # failures are counted in an integer column
            raise ValueError(value)
        return segment, int(value), name
    except ValueError:  # no value, or not one of this sort's kind
        raise BadQuery("after") from None
