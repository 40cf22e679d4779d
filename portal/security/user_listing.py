"""The admins' users list at any size: sorts, state filters, a count and keyset pages.

A page continues from a cursor (the last row's sort value and name), never an OFFSET,
so page 2,000 costs what page 1 does. Each sort reads one index in its order, ties by
name (0016's indexes): the accounts with a value first, then those without one ("never",
no failures) by name. The search and state filters are user_filters' conditions.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from peewee import SQL
from peewee import fn

from portal import clock
from portal.history import paging
from portal.history.queries import BadFilter
from portal.models import USERNAME_MAX
from portal.models import FailureBudget
from portal.models import User
from portal.security import lock_states
from portal.security import policy
from portal.security import user_filters

PAGE_SIZE = 50
SEARCH_MAX = USERNAME_MAX
# Each `sort` value: the key it orders by, and whether from the highest (newest) first.
SORTS = {"name": ("name", False), "name_desc": ("name", True), "failures": ("failures", True),
         "last_failure": ("last_failure", True), "last_failure_asc": ("last_failure", False),
         "last_success": ("last_success", True), "last_success_asc": ("last_success", False)}
TIME_FORMAT = paging.CURSOR_TIME  # every keyset cursor writes its times so
CURSOR = re.compile(r"^([12])~([0-9T.]{0,22})~([a-z0-9._@-]{1,64})$")
TIMES = {"last_failure": User.last_failure_at, "last_success": User.last_success_at}


# A query-string value the users list cannot use: the history's error, `field` naming it.
BadQuery = BadFilter


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
        if any(value not in user_filters.FILTERS for value in only):
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
    conditions = user_filters.conditions(query.q, query.only, now, rules)
    after = parse_cursor(query.after, query.key) if query.after else None
    found = sorted_rows(query, conditions, after, size + 1, now, rules)
    more = len(found) > size
    rows = lock_states.with_states([row[1:] for row in found[:size]])
    next_after = cursor(query, found[size - 1]) if more else None
    return Page(rows, count(conditions), next_after)


def count(conditions):
    """Count the users that meet the conditions."""
    return with_conditions(User.select(fn.COUNT(User.id)), conditions).scalar()


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
            .where(user_filters.budget_counts(now, rules))
    return with_conditions(selected, conditions)


def with_conditions(selected, conditions):
    """Return the query with the conditions added (Peewee's where() wants at least one)."""
    return selected.where(*conditions) if conditions else selected


def segment_two(query, conditions, now, rules):
    """Return the query of the accounts without a value to sort by ("never", no failures)."""
    selected = with_conditions(User.select(SQL("NULL"), *lock_states.LIST_COLUMNS), conditions)
    if query.key == "failures":
        counting = FailureBudget.select(FailureBudget.account).where(
            FailureBudget.account == User.username, user_filters.budget_counts(now, rules))
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
