"""Failures over time and top sources for the current history filter (the chart above it).

Counts come from the raw attempts plus the daily summaries that `prune` keeps for
the rows it deleted; the two never overlap, so adding them is exact.
"""

from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from peewee import SQL
from peewee import fn

from portal import clock
from portal import db
from portal.accounts import users
from portal.history import attempts
from portal.history import queries
from portal.models import DailySummary
from portal.models import LoginAttempt
from portal.web import ipaddr

HOURS, DAYS, TOP = 24, 30, 5


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its start time and count, and its height out of 100."""

    start: datetime
    count: int
    height: float


def failures_by_hour(filters):
    """Return HOURS bars of failures per hour, oldest first, ending with the current hour."""
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    starts = [now - timedelta(hours=n) for n in range(HOURS - 1, -1, -1)]
    counts = raw_counts(filters, "hour", starts[0])
    return bars(starts, [counts.get(start, 0) for start in starts])


def failures_by_day(filters):
    """Return DAYS bars of failures per day, oldest first, ending with today."""
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    counts = raw_counts(filters, "day", starts[0])
    for day, count in summary_counts(filters, starts[0]).items():
        counts[day] = counts.get(day, 0) + count
    return bars(starts, [counts.get(start, 0) for start in starts])


def bars(starts, counts):
    """Scale counts to bar heights (the highest bar is 100)."""
    top = max(counts) or 1
    return [Bar(start, count, 100 * count / top)
            for start, count in zip(starts, counts, strict=True)]


def failures(filters, since):
    """Return the failed attempts matching the filters (their own time range aside) since then."""
    query = LoginAttempt.select().where(LoginAttempt.outcome == attempts.FAILURE,
                                        LoginAttempt.at >= since)
    for condition in queries.conditions(replace(filters, since="", until="")):
        query = query.where(condition)
    return query


def raw_counts(filters, unit, since):
    """Return {bucket start: failures} from the attempts table."""
    bucket = bucket_of(unit)
    query = failures(filters, since).select(bucket.alias("bucket"), fn.COUNT(LoginAttempt.id))
    return {as_datetime(start, unit): count for start, count in query.group_by(bucket).tuples()}


UNIT_LITERALS = {"hour": SQL("'hour'"), "day": SQL("'day'")}


def bucket_of(unit):
    """Return the SQL expression that truncates `at` to the hour or the day."""
    if db.is_postgresql():
        # A literal, not a parameter: the GROUP BY must repeat the same expression, and two
        # server-side parameters are two expressions to PostgreSQL.
        return fn.date_trunc(UNIT_LITERALS[unit], LoginAttempt.at)
    return fn.substr(LoginAttempt.at, 1, 13 if unit == "hour" else 10)


def as_datetime(start, unit):
    """Return a bucket start as a datetime (SQLite gives text, PostgreSQL a datetime)."""
    if isinstance(start, datetime):
        return start
    return datetime.strptime(start, "%Y-%m-%d %H" if unit == "hour" else "%Y-%m-%d")


def summary_scope(filters):
    """Return the (kind, key) of summaries that answer these filters, or None."""
    rest = replace(filters, user="", ip="", outcome="", reason="", since="", until="")
    if rest.args() or (filters.user and filters.ip):
        return None
    if filters.user:
        return "user", users.normalize_username(filters.user)
    if filters.ip:
        low, high = ipaddr.key_range(filters.ip)  # conditions() has checked it parses
        return ("ip", low) if low == high else None
    return "all", ""


def summary_counts(filters, since):
    """Return {day: failures} from the daily summaries of pruned attempts."""
    scope = summary_scope(filters)
    if scope is None or filters.outcome == attempts.SUCCESS:
        return {}
    query = (DailySummary.select(DailySummary.day, fn.SUM(DailySummary.count))
             .where(DailySummary.kind == scope[0], DailySummary.key == scope[1],
                    DailySummary.reason != attempts.OK, DailySummary.day >= since.date()))
    if filters.reason:
        query = query.where(DailySummary.reason == filters.reason)
    return {datetime.combine(day, datetime.min.time()): int(total)
            for day, total in query.group_by(DailySummary.day).tuples()}


def top_values(filters, column, limit=TOP):
    """Return [(value, failures)] of the column's most frequent values over DAYS days."""
    since = clock.now() - timedelta(days=DAYS)
    count = fn.COUNT(LoginAttempt.id)
    query = (failures(filters, since).select(column, count).group_by(column)
             .order_by(count.desc(), column).limit(limit))
    return list(query.tuples())


def overview(filters):
    """Return everything the chart partial shows."""
    return {"hours": failures_by_hour(filters), "days": failures_by_day(filters),
            "top_ips": top_values(filters, LoginAttempt.ip),
            "top_users": top_values(filters, LoginAttempt.username_key)}
