"""The login history's filters as admins type them, and the conditions that find their rows.

Every filter maps onto one of the attempts table's (column, at, id) indexes (history.paging
reads them a page at a time), so a page costs the same at row 50 and at row 5,000,000, with
one query whatever its size.
"""

import functools
import operator
import re
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from peewee import SQL
from peewee import NodeList
from peewee import Value

from portal import clock
from portal.accounts import users
from portal.db import database
from portal.db import is_postgresql
from portal.history import attempts
from portal.models import TYPED_USERNAME_MAX
from portal.models import LoginAttempt
from portal.web import ipaddr
from portal.web.query_args import TypedFilters

QUERY_MAX = 200
DENSE_ROWS = 2000
COUNT_CAP = 20_000
NOTHING = SQL("1 = 0")  # a condition no row meets, which the planner checks once
# No character sorts after this one, by code point (SQLite's BINARY, PostgreSQL's "C").
HIGHEST = "\U0010ffff"


@dataclass(frozen=True)
class Filters(TypedFilters):
    """The history filters as typed (strings), so a form and a URL can show them back."""

    user: str = ""
    ip: str = ""
    outcome: str = ""
    reason: str = ""
    since: str = ""
    until: str = ""
    q: str = ""
    prefix: str = ""  # "yes": the user filter is the start of a name, not the whole

    def args(self):
        """Return the filters that are set, for url_for (`prefix` only with a user filter:
        the form always sends it)."""
        found = super().args()
        if not self.user:
            found.pop("prefix", None)
        return found


class BadFilter(ValueError):
    """A filter value cannot be understood; `field` names it."""

    def __init__(self, field):
        super().__init__(field)
        self.field = field


def conditions(filters):
    """Return the WHERE conditions of the filters; raise BadFilter for the first bad one."""
    return steer(indexed_ranges(filters)) + time_conditions(filters)


def check(filters):
    """Raise BadFilter for the first bad value, without a query (steer() counts rows)."""
    indexed_ranges(filters)
    time_conditions(filters)


def time_conditions(filters):
    """Return the conditions of since and until; raise BadFilter for a bad one."""
    found = []
    if filters.since:
        found.append(LoginAttempt.at >= parse_time("since", filters.since))
    if filters.until:
        found.append(LoginAttempt.at < parse_time("until", filters.until, end_of_day=True))
    return found


def indexed_ranges(filters):
    """Return (column name, low, high) for each filter that has an index of its own.

    An equality is a range whose ends are equal; free text is (TEXT, text, None).
    Raises BadFilter; returns None when the filters contradict each other, so that no
    attempt can match.
    """
    found = []
    if filters.prefix:
        choice("prefix", filters.prefix, ("yes",))
    if filters.user:
        found.append(("username_key", *name_range(filters)))
    if filters.ip:
        try:
            found.append(("ip_key", *ipaddr.key_range(filters.ip)))
        except ValueError:
            raise BadFilter("ip") from None
    if filters.outcome:
        choice("outcome", filters.outcome, attempts.OUTCOMES)
        found.append(("outcome", filters.outcome, filters.outcome))
    if filters.reason:
        choice("reason", filters.reason, attempts.REASONS)
        found.append(("reason", filters.reason, filters.reason))
    if filters.q:
        if len(filters.q) > QUERY_MAX:
            raise BadFilter("q")
        found.append((TEXT, filters.q, None))
    # An attempt succeeds exactly when its reason is ok (history.attempts.Pending.finish), so
    # `outcome=success&reason=locked` needs no walk of either index to know its answer.
    if filters.outcome and filters.reason and \
            (filters.outcome == attempts.SUCCESS) != (filters.reason == attempts.OK):
        return None
    return found


def name_range(filters):
    """Return the lowest and highest username key the user filter matches.

    That is the name alone, or with `prefix` every name that starts with what was typed
    (the form sends it, so the filter follows typing). A name starts with the key exactly
    when it lies between
    the key and the key followed by HIGHEST up to the column's length: one range of the
    (username_key, at, id) index (migration 0018 gives PostgreSQL the order it needs).
    """
    key = users.normalize_username(filters.user)
    if not filters.prefix:
        return key, key
    return key, key + HIGHEST * (TYPED_USERNAME_MAX - len(key))


def steer(ranges):
    """Return the conditions of the indexed filters, each index shown to the planner or not.

    A query walks one index, newest first, and checks the other filters on the rows it
    meets. Planners guess which index from statistics, which SQLite lacks until analyzed
    and which cannot see how rare a combination is; a wrong guess walks hundreds of
    thousands of rows. So the portal counts each filter's rows itself (up to COUNT_CAP,
    free text up to DENSE_ROWS) and shows the planner only the index to walk; the
    other columns are compared as expressions, which no index serves:
    - a filter that matches nothing: the whole query matches nothing, known at once;
    - else the filter with the fewest rows, when it has fewer than DENSE_ROWS: reading
      all of them is cheap, even a CIDR block's, which must be sorted by time;
    - else two or more filters under COUNT_CAP: the ids their indexes hold in common
      (INTERSECT, read from the indexes alone), which may be few even when each filter
      has many: a common outcome and a busy block rarely meet;
    - else the one filter under COUNT_CAP, read whole, when others must be checked;
    - else (a filter alone, or every filter huge) the rarest equality, whose (column,
      at, id) index is already in time order; a CIDR block or common text walks the
      time index.
    """
    if ranges is None:
        return [NOTHING]
    if not ranges:
        return []
    if is_postgresql() and planner_has_statistics():
        return planned_by_postgresql(ranges)
    counts = [rows_in_range(*each) for each in ranges]
    if 0 in counts:
        return [NOTHING]
    ranked = sorted(zip(counts, range(len(ranges)), ranges, strict=True))
    if ranked[0][0] < DENSE_ROWS:
        walked = ranked[0][2]
    else:
        narrowing = [each for count, _, each in ranked if count < COUNT_CAP and each[0] != TEXT]
        if len(narrowing) >= 2:
            common = functools.reduce(operator.and_, (
                LoginAttempt.select(LoginAttempt.id).where(in_range(*each, shown=True))
                for each in narrowing))
            return [LoginAttempt.id.in_(common), *(in_range(*each, shown=False)
                                                   for each in ranges if each not in narrowing)]
        if narrowing and len(ranges) > 1:
            walked = narrowing[0]
        else:
            walked = next((each for _, _, each in ranked if each[1] == each[2]), None)
    return [in_range(*each, shown=each is walked) for each in ranges]


def planned_by_postgresql(ranges):
    """Return the filters' conditions for PostgreSQL's planner to choose among, but one.

    PostgreSQL keeps statistics (autovacuum) and can combine indexes (bitmaps): with
    the rule of steer() it planned more combinations over target than on its own
    (bench/RESULTS.md). Only a range (a CIDR block, the start of a name) is still
    counted: one that holds nothing matches nothing at once, and a dense one walks the
    time index rather than collect and sort the whole range.
    """
    found = []
    for name, low, high in ranges:
        if name != TEXT and low != high:
            held = rows_in_range(name, low, high)
            if held == 0:
                return [NOTHING]
            found.append(in_range(name, low, high, shown=held < DENSE_ROWS))
        else:
            found.append(in_range(name, low, high, shown=True))
    return found


# Column statistics of the attempts, or of any of their partitions (pg_stats shows what
# this role may read, where pg_statistic needs a superuser).
STATISTICS_KNOWN = """SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema()
    AND tablename IN (SELECT c.relname FROM pg_class c WHERE c.oid = 'login_attempts'::regclass
                      OR c.oid IN (SELECT inhrelid FROM pg_inherits
                                   WHERE inhparent = 'login_attempts'::regclass)))"""


def planner_has_statistics():
    """Return True when PostgreSQL has statistics of the attempts to plan with.

    Without them (a bulk load that autovacuum has not analyzed yet) its guesses walk the
    wrong index, and steer()'s own counts do better (bench/RESULTS.md). Asked once per
    DENSITY_PERIOD.
    """
    return remembered_statistics(database.obj, density_period())


@functools.lru_cache(maxsize=64)
def remembered_statistics(bound_database, period):
    """Return whether statistics exist, once per bound database and DENSITY_PERIOD."""
    return bool(database.execute_sql(STATISTICS_KNOWN).fetchone()[0])


def in_range(name, low, high, shown):
    """Return the condition on one column; hidden from its index unless `shown`."""
    if name == TEXT:
        return text_condition(low, shown)
    column = getattr(LoginAttempt, name)
    if not shown:
        column = column.concat("")  # the same value, but an expression: no index serves it
    return column == low if low == high else column.between(low, high)


def rows_in_range(name, low, high):
    """Return how many attempts have the column in the range, counted up to COUNT_CAP.

    A range that held some is remembered (remembered_count); an empty one is asked
    afresh every time, since its probe finds nothing at once and a filter whose first
    attempt just came must show it at once.
    """
    held = remembered_count(database.obj, name, low, high, density_period())
    return held if held else count_in_range(name, low, high)


@functools.lru_cache(maxsize=1024)
def remembered_count(bound_database, name, low, high, period):
    """Return count_in_range once per bound database and DENSITY_PERIOD.

    An admin paging through a filter, and each batch of its export, asks again and
    again, while a filter's count changes only with thousands of attempts. The period
    is part of the key, so an answer is never reused after its period (a clock set
    back may meet an older one). A stale count could only pick a slower plan, never
    change the rows. The key holds the database object itself: a served process binds
    one, and the tests' many stay alive only as long as their 1024 entries.
    """
    return count_in_range(name, low, high)


def count_in_range(name, low, high):
    """Count the attempts whose column lies in the range (index only), as far as it matters:
    up to COUNT_CAP for steer(), DENSE_ROWS for a block on PostgreSQL."""
    if name == TEXT:
        return count_text(low)
    column = getattr(LoginAttempt, name)
    planned = is_postgresql() and planner_has_statistics()  # then only blocks are counted
    return LoginAttempt.select(LoginAttempt.id).where(column.between(low, high)).limit(
        DENSE_ROWS if planned else COUNT_CAP).count()


def density_period():
    """Return the number of the DENSITY_PERIOD that the portal's clock is in."""
    return (clock.now() - datetime.min) // DENSITY_PERIOD


DENSITY_PERIOD = timedelta(minutes=1)


def choice(field, value, allowed):
    """Raise BadFilter unless the value is one of those allowed."""
    if value not in allowed:
        raise BadFilter(field)


def parse_time(field, text, end_of_day=False):
    """Parse an ISO 8601 date or datetime as naive UTC; a bare `until` date includes that day."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        if end_of_day and is_date_only(text):
            moment += timedelta(days=1)
    except (ValueError, OverflowError):  # not a time, or past the calendar's ends
        raise BadFilter(field) from None
    return moment


def is_date_only(text):
    """Return True when an ISO 8601 text names a day without a time (2026-11-28, 20261128)."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


TEXT = "q"
TRIGRAM = 3  # SQLite's trigram index (migration 0010) finds text of three characters or more


def text_condition(text, shown=True):
    """Match text anywhere in the typed username or the user agent (case-insensitive).

    PostgreSQL's planner may use pg_trgm for it. On SQLite, shown, attempt_text narrows
    the rows that LIKE then checks (its folding of case finds all that LIKE finds, and
    more); hidden, LIKE is checked on each row walked.
    """
    found = holds(LoginAttempt.username, text) | holds(LoginAttempt.user_agent, text)
    if shown and not is_postgresql() and len(text) >= TRIGRAM:
        found = LoginAttempt.id.in_(text_matches(text)) & found
    return found


def holds(column, text):
    """Match text anywhere in the column, case-insensitively; % and _ are plain characters."""
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
    if is_postgresql():
        return column ** pattern  # ILIKE, whose escape character is the backslash
    return NodeList((column, SQL("LIKE"), Value(pattern), SQL("ESCAPE '\\'")))


TEXT_MATCHES = "SELECT rowid FROM attempt_text WHERE attempt_text MATCH ?"


def text_matches(text):
    """Return the SQL of the ids of attempts whose text the trigram index finds (SQLite)."""
    return SQL(f"({TEXT_MATCHES})", [trigrams(text)])


def trigrams(text):
    """Return the FTS5 query of rows that hold the text's trigrams (every third, and the last).

    The index keeps no positions (detail=none), so this finds a superset of the rows
    that hold the text, which LIKE then narrows; fewer trigrams are fewer lists to
    intersect. Each is an FTS5 string, so that no character is read as syntax.
    """
    grams = [text[start:start + TRIGRAM] for start in range(0, len(text) - TRIGRAM + 1, TRIGRAM)]
    grams.append(text[-TRIGRAM:])
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in dict.fromkeys(grams))


def count_text(text):
    """Count the attempts the trigram index finds for the text, up to DENSE_ROWS.

    Text too short for the index counts as common: walking the newest attempts finds
    it soonest.
    """
    if len(text) < TRIGRAM:
        return DENSE_ROWS
    if is_postgresql():  # pg_trgm serves the match itself
        return LoginAttempt.select(LoginAttempt.id).where(text_condition(text)).limit(
            DENSE_ROWS).count()
    return database.execute_sql(f"SELECT count(*) FROM ({TEXT_MATCHES} LIMIT {DENSE_ROWS})",
                                [trigrams(text)]).fetchone()[0]
