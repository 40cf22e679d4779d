"""The login history a page at a time: keyset pages in both directions, and every row for an export.

A page continues from an (at, id) cursor, older or newer, so it costs the same at row 50
as at row 5,000,000: the filters' conditions (history.queries) and one query.
"""

import functools
import re
from collections import namedtuple
from datetime import datetime

from peewee import JOIN
from peewee import Tuple

from portal.history.queries import BadFilter
from portal.history.queries import conditions
from portal.models import LoginAttempt
from portal.models import User

PAGE_SIZE = 50
EXPORT_BATCH = 2000
MAX_ID = 2**63 - 1
CURSOR_TIME = "%Y%m%dT%H%M%S.%f"
ATTEMPT_ID = r"\d{1,19}"

# A history row: plain values with attribute access, the cheapest rows for Jinja to read.
# (Peewee's .namedtuples() would build this class anew for every query.)
Row = namedtuple("Row", ["id", "at", "username", "outcome", "reason", "ip", "user_agent",
                         "browser", "os", "device_family", "account"])

# One page, newest first: `older` continues below its last row (before=), `newer` above its
# first (after=); `newer` is None on the newest page, `older` on the oldest.
Page = namedtuple("Page", ["rows", "older", "newer"])


def matching(filters, before=None, after=None):
    """Return the query of attempts matching the filters, with account names.

    Newest first, older than the `before` cursor; or, with `after`, oldest first from
    just above that cursor (page() turns them round).
    """
    query = (LoginAttempt
             .select(LoginAttempt.id, LoginAttempt.at, LoginAttempt.username,
                     LoginAttempt.outcome, LoginAttempt.reason, LoginAttempt.ip,
                     LoginAttempt.user_agent, LoginAttempt.browser, LoginAttempt.os,
                     LoginAttempt.device_family, User.username.alias("account"))
             .join(User, JOIN.LEFT_OUTER, on=(LoginAttempt.user == User.id)))
    for condition in conditions(filters):
        query = query.where(condition)
    position = Tuple(LoginAttempt.at, LoginAttempt.id)
    if after:
        query = query.where(position > Tuple(*parse_cursor(after, "after")))
        return query.order_by(LoginAttempt.at, LoginAttempt.id)
    if before:
        query = query.where(position < Tuple(*parse_cursor(before, "before")))
    return query.order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())


def page(filters, before=None, after=None, limit=None):
    """Return a Page of PAGE_SIZE rows (or `limit`) in one query; raise BadFilter.

    The newest rows; those older than `before`; or the page just newer than `after`,
    which is the newest page itself when fewer than a page's rows are newer.
    """
    limit = limit or PAGE_SIZE
    if after:
        rows = fetch(matching(filters, after=after), limit + 1)
        if len(rows) <= limit:
            return page(filters, limit=limit)
        rows = rows[:limit][::-1]
        return Page(rows, make_cursor(rows[-1]), make_cursor(rows[0]))
    rows = fetch(matching(filters, before=before), limit + 1)
    older = make_cursor(rows[limit - 1]) if len(rows) > limit else None
    rows = rows[:limit]
    if not before:
        return Page(rows, older, None)
    # Past the oldest row, the page just newer than the cursor is the one before this.
    return Page(rows, older, make_cursor(rows[0]) if rows else before)


def fetch(query, count):
    """Return the first `count` rows of a query as Rows."""
    return [Row._make(row) for row in query.limit(count).tuples()]


def all_rows(filters):
    """Yield every matching row, newest first, in keyset batches (constant memory)."""
    before = None
    while True:
        batch = page(filters, before, limit=EXPORT_BATCH)
        yield from batch.rows
        before = batch.older
        if before is None:
            return


def make_cursor(row):
    """Return the opaque cursor that continues a page after (or before) this row."""
    return encode(row.at, row.id)


def parse_cursor(cursor, field):
    """Return (time, id) from a cursor, or raise BadFilter naming the field it came in."""
    moment, key = decode(cursor, field, ATTEMPT_ID)
    if int(key) > MAX_ID:
        raise BadFilter(field)
    return moment, int(key)


def encode(moment, key):
    """Return the cursor of a (time, key) position: every keyset page's cursor looks so."""
    return f"{moment.strftime(CURSOR_TIME)}-{key}"


@functools.lru_cache(maxsize=8)
def cursor_pattern(key_pattern):
    """Return the compiled pattern of a cursor whose key matches `key_pattern`."""
    return re.compile(rf"^(\d{{8}}T\d{{6}}\.\d{{6}})-({key_pattern})$")


def decode(cursor, field, key_pattern):
    """Return (time, key text) of a cursor made by encode(), or raise BadFilter(field)."""
    match = cursor_pattern(key_pattern).match(cursor)
    try:
        return datetime.strptime(match[1], CURSOR_TIME), match[2]
    except (TypeError, ValueError):  # no match, or a well-formed but impossible date
        raise BadFilter(field) from None
