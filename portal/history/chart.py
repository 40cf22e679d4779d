"""The chart above the login history: when, how many and from where, for the filter's range.

The range is the filter's own (since/until; the last 24 hours when neither is set),
in bars per hour up to HOURLY_UP_TO and per day beyond, rounded out to whole bars.
Counts come from the hourly counts (history.counts), never from reading the attempts,
for every filter they hold: none, an account, an address or CIDR block, an outcome, a
reason. To them are added the attempts still reading `error` (few; the reason index
finds them) and, per day, the daily summaries of attempts that `prune` deleted; the
three never overlap, so the sum is exact. Free text, and an account and an address
together, are not in the counts: those charts count the attempts, and say so; so do
the lists the counts cannot give (the addresses that tried one account, the accounts
one address tried).
"""

import ipaddress
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from peewee import SQL
from peewee import Case
from peewee import fn

from portal import clock
from portal import db
from portal.history import attempts
from portal.history import counts
from portal.history import queries
from portal.models import AttemptCount
from portal.models import AttemptTotal
from portal.models import DailySummary
from portal.models import LoginAttempt
from portal.web import ipaddr

HOUR, DAY = "hour", "day"
HOURLY_UP_TO = timedelta(days=2)
DEFAULT_RANGE = timedelta(hours=24)
MOST_DAYS = 366
TOP = 5
STEP = {HOUR: timedelta(hours=1), DAY: timedelta(days=1)}
NET_PREFIX = {4: 24, 6: 64}  # the networks counts.net_key keeps


@dataclass(frozen=True)
class Span:
    """The bars' time range: [start, end) in steps of one unit; cut: a longer range's end."""

    start: datetime
    end: datetime
    unit: str
    cut: bool = False

    def starts(self):
        """Return every bar's start, oldest first."""
        found, at = [], self.start
        while at < self.end:
            found.append(at)
            at += STEP[self.unit]
        return found

    def bar_of(self, at):
        """Return the start of the bar that holds `at`."""
        return counts.hour_of(at) if self.unit == HOUR else counts.day_of(at)


@dataclass(frozen=True)
class Scope:
    """Which counts answer the filter: kind and key range, and the address range if any.

    kind None: the counts cannot (free text; an account and an address together).
    """

    kind: str | None
    low: str = ""
    high: str = ""
    ips: tuple | None = None  # (low, high) address keys of an ip filter
    single: bool = False  # one account or one address (the daily summaries have those)


@dataclass
class Bar:
    """One bar: its start, successes and failures."""

    start: datetime
    successes: int = 0
    failures: int = 0

    @property
    def total(self):
        """Return every attempt of the bar."""
        return self.successes + self.failures


@dataclass(frozen=True)
class Top:
    """One line of a top list: the address or account name, its failures (or successes, when
    the filter lets only those through) and its attempts."""

    value: str
    count: int
    total: int


@dataclass
class Overview:
    """Everything the chart partial shows."""

    span: Span | None
    bars: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    scanned: bool = False  # the bars came from the attempts
    sources_scanned: bool = False
    targets_scanned: bool = False
    pruned: bool = False  # the range reaches into days that prune has summarised
    by_successes: bool = False  # the top lists rank successes (the filter lets no failure in)

    @property
    def successes(self):
        """Return the successes of every bar."""
        return sum(bar.successes for bar in self.bars)

    @property
    def failures(self):
        """Return the failures of every bar."""
        return sum(bar.failures for bar in self.bars)

    @property
    def drawing(self):
        """Return the bars' geometry for the SVG."""
        return drawing(self.bars, self.span.unit)

    @property
    def busiest(self):
        """Return the bar with the most attempts (the first of equals), or None when empty."""
        bars = [bar for bar in self.bars if bar.total]
        return max(bars, key=lambda bar: bar.total) if bars else None


def overview(filters, scan=False):
    """Return the chart of the filters over their range; raise queries.BadFilter.

    scan: count the attempts themselves whatever the filter (bench/history.py compares).
    """
    queries.check(filters)  # every value checked before anything is counted
    span = span_of(filters)
    allowed = reasons_of(filters)
    if span is None:
        return Overview(None)
    found = Overview(span, bars=[Bar(start) for start in span.starts()],
                     by_successes=ranks_successes(allowed))
    scope = Scope(None) if scan else scope_of(filters)
    if scope.kind is None:
        found.scanned = found.sources_scanned = found.targets_scanned = True
        add_scanned(found, filters, span, allowed)
        return found
    add_counted(found.bars, span, scope, allowed)
    add_errors(found.bars, span, scope, allowed)
    found.pruned = pruned_in(span)
    if found.pruned and span.unit == DAY and (scope.single or scope.kind in SUMMARY_RANGES):
        add_summaries(found.bars, span, scope, allowed)
    found.sources, found.sources_scanned = top_sources(filters, span, scope, allowed)
    found.targets, found.targets_scanned = top_targets(filters, span, scope, allowed)
    return found


def span_of(filters):
    """Return the bars' Span for the filter's since/until, or None when since is not before."""
    end = (queries.parse_time("until", filters.until, end_of_day=True) if filters.until
           else counts.hour_of(clock.now()) + STEP[HOUR])
    start = (queries.parse_time("since", filters.since) if filters.since
             else end - DEFAULT_RANGE)
    if start >= end:
        return None
    unit = HOUR if end - start <= HOURLY_UP_TO else DAY
    floor = counts.hour_of if unit == HOUR else counts.day_of
    first, last = floor(start), floor(end)
    if last < end:
        last += STEP[unit]
    if unit == DAY and last - first > timedelta(days=MOST_DAYS):
        return Span(last - timedelta(days=MOST_DAYS), last, unit, cut=True)
    return Span(first, last, unit)


def reasons_of(filters):
    """Return the reasons the outcome and reason filters let through."""
    allowed = set(attempts.REASONS)
    if filters.reason:
        allowed &= {filters.reason}
    if filters.outcome == attempts.SUCCESS:
        allowed &= {attempts.OK}
    elif filters.outcome == attempts.FAILURE:
        allowed -= {attempts.OK}
    return allowed


def scope_of(filters):
    """Return the counts that answer the filter's account and address (see Scope)."""
    if filters.q or (filters.user and filters.ip):
        return Scope(None)
    if filters.user:
        low, high = queries.name_range(filters)  # the whole name, or with `prefix` its start
        return Scope(counts.USER, low, high, single=low == high)
    if filters.ip:
        low, high = ipaddr.key_range(filters.ip)  # conditions() has checked that it parses
        if low == high:
            return Scope(counts.IP, low, high, (low, high), single=True)
        network = ipaddress.ip_network(filters.ip.strip(), strict=False)
        if network.prefixlen <= NET_PREFIX[network.version]:
            return Scope(counts.NET, counts.net_key(low), counts.net_key(high), (low, high))
        return Scope(counts.IP, low, high, (low, high))
    return Scope(counts.ALL)


def in_span(column, span):
    """Return the condition of a time column in the span."""
    return (column >= span.start) & (column < span.end)


def counted_reasons(allowed):
    """Return the reasons the counts hold among those allowed (never `error`)."""
    return sorted(allowed - {attempts.ERROR})


def add_counted(bars, span, scope, allowed):
    """Add the hourly (or, for all attempts per day, daily) counts to the bars."""
    reasons = counted_reasons(allowed)
    if not reasons:
        return
    kind = scope.kind
    if span.unit == DAY:
        kind = counts.DAILY.get(kind, kind)  # networks have hourly counts only
    query = (AttemptCount
             .select(AttemptCount.hour, AttemptCount.reason, fn.SUM(AttemptCount.count))
             .where(AttemptCount.kind == kind, in_span(AttemptCount.hour, span),
                    AttemptCount.reason.in_(reasons)))
    if scope.kind != counts.ALL:
        query = in_keys(query, kind, span, scope.low, scope.high)
    for hour, reason, count in query.group_by(AttemptCount.hour, AttemptCount.reason).tuples():
        add_to_bar(bars, span, as_time(hour), reason, int(count))


KEY_INDEX = "attemptcount_kind_key_hour"  # models.AttemptCount's (kind, key, hour)
HOUR_INDEX = "sqlite_autoindex_attempt_counts_1"  # SQLite's of its primary key (kind, hour, ...)
PROBE = 4096  # rows counted, at most, to tell which index reads fewer


def by_key(query, index=KEY_INDEX):
    """Return a query of the counts of a few keys, reading the keys' index on SQLite too.

    Without statistics SQLite walks the primary key (kind, hour, ...), every key's hours
    of the span, which is in GROUP BY order; INDEXED BY names the index. PostgreSQL's
    statistics choose well.
    """
    if db.is_postgresql():
        return query
    return query.from_(SQL(f'"{AttemptCount._meta.table_name}" AS "t1" INDEXED BY "{index}"'))


def in_keys(query, kind, span, low, high):
    """Return a query of one kind's counts narrowed to a key range, by the index that reads fewer.

    The keys' index reads every hour of the range's keys, the primary key every key of the
    span's hours: a busy block (or name prefix) over a day or two has far more of the
    former. So when both hold more than PROBE rows, the span's hours are walked for an
    hourly span and the keys for a daily one (whose span is the longer).
    """
    query = query.where(key_in(low, high))
    if low == high or db.is_postgresql():
        return by_key(query)
    of_kind = AttemptCount.kind == kind
    keyed = rows_at_most(of_kind, key_in(low, high))
    timed = rows_at_most(of_kind, in_span(AttemptCount.hour, span))
    if timed < keyed or (timed == keyed == PROBE and span.unit == HOUR):
        return by_key(query, HOUR_INDEX)
    return by_key(query)


def rows_at_most(*where):
    """Return how many counts match, up to PROBE (read from an index)."""
    return AttemptCount.select(SQL("1")).where(*where).limit(PROBE).count()


def key_in(low, high):
    """Return the condition of a key range (an equality when it holds one key)."""
    return AttemptCount.key == low if low == high else AttemptCount.key.between(low, high)


def add_to_bar(bars, span, at, reason, count):
    """Add `count` attempts of one reason at `at` to its bar."""
    index = int((span.bar_of(at) - span.start) / STEP[span.unit])
    if 0 <= index < len(bars):
        if reason == attempts.OK:
            bars[index].successes += count
        else:
            bars[index].failures += count


def as_time(value):
    """Return a time the database returned as text (SQLite) as a datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def error_rows(span, scope, allowed):
    """Return the attempts still reading `error` in the span and scope (the reason index)."""
    if attempts.ERROR not in allowed:
        return None
    query = LoginAttempt.select().where(LoginAttempt.reason == attempts.ERROR,
                                        in_span(LoginAttempt.at, span))
    if scope.kind == counts.USER:
        query = query.where(LoginAttempt.username_key.between(scope.low, scope.high))
    if scope.ips:
        query = query.where(LoginAttempt.ip_key.between(*scope.ips))
    return query


def add_errors(bars, span, scope, allowed):
    """Add the attempts still reading `error` to the bars: the counts hold no such attempt."""
    query = error_rows(span, scope, allowed)
    if query is not None:
        for (at,) in query.select(LoginAttempt.at).tuples():
            add_to_bar(bars, span, at, attempts.ERROR, 1)


def pruned_in(span):
    """Return True when prune has summarised attempts of a day in the span."""
    return (DailySummary.select(DailySummary.day)
            .where(DailySummary.day >= span.start.date(), DailySummary.day < span.end.date()
                   + timedelta(days=1)).limit(1).first()) is not None


SUMMARY_KIND = {counts.ALL: "all", counts.USER: "user", counts.IP: "ip"}
# The kinds whose summaries answer a range of keys: all attempts, and the account names
# a user filter's prefix spans (an address range would need every address's summary).
SUMMARY_RANGES = (counts.ALL, counts.USER)


def add_summaries(bars, span, scope, allowed):
    """Add the daily summaries of pruned attempts to the day bars."""
    query = (DailySummary.select(DailySummary.day, DailySummary.reason,
                                 fn.SUM(DailySummary.count))
             .where(DailySummary.kind == SUMMARY_KIND[scope.kind],
                    DailySummary.key.between(scope.low, scope.high),
                    DailySummary.reason.in_(sorted(allowed)),
                    DailySummary.day >= span.start.date(), DailySummary.day < span.end.date()))
    for day, reason, count in query.group_by(DailySummary.day, DailySummary.reason).tuples():
        add_to_bar(bars, span, datetime.combine(day, datetime.min.time()), reason, int(count))


def top_sources(filters, span, scope, allowed):
    """Return ([Top] of the addresses with the most failures, True when counted by a scan)."""
    if scope.kind == counts.USER:
        return scanned_top(filters, span, LoginAttempt.ip_key, allowed), True
    return counted_top(span, counts.IP, scope.ips, allowed, scope), False


def top_targets(filters, span, scope, allowed):
    """Return ([Top] of the account names with the most failures, True when by a scan)."""
    if scope.ips:
        return scanned_top(filters, span, LoginAttempt.username_key, allowed), True
    keys = (scope.low, scope.high) if scope.kind == counts.USER else None
    return counted_top(span, counts.USER, keys, allowed, scope), False


def ranks_successes(allowed):
    """Return True when the lists rank by successes (the filter lets only successes through)."""
    return allowed == {attempts.OK}


def counted_top(span, kind, keys, allowed, scope):
    """Return the TOP keys of a kind by failures (successes, for successes only) and attempts.

    From the counts of the span's hours, or days: a key range (a block's addresses) and
    a span of hours sum their own; over days the keys are read in the order of their
    totals, most first, until no key left can reach the last of the list (a key's total
    bounds its count in any range), so a busy month costs the keys that matter, not its
    every address.
    The attempts still reading `error` add to a few keys' failures: their keys are read
    too, so that one of them that rises into the list is not missed.
    """
    errors = {}
    query = error_rows(span, scope, allowed)
    if query is not None:
        column = LoginAttempt.ip_key if kind == counts.IP else LoginAttempt.username_key
        errors = dict(query.select(column, fn.COUNT(LoginAttempt.id)).group_by(column).tuples())
    by_successes = ranks_successes(allowed)
    reasons = counted_reasons(allowed)
    found = {}
    if reasons:
        if keys or span.unit == HOUR:  # a block's keys, or a few hours': sum them all
            found = summed(key_counts(span, kind, reasons, by_successes, keys=keys), TOP)
        else:
            found = bounded_top(key_counts(span, kind, reasons, by_successes, keyed=True),
                                kind, by_successes)
        if errors:
            keyed = key_counts(span, kind, reasons, by_successes, keyed=True)
            found.update(summed(keyed.where(AttemptCount.key.in_(sorted(errors)))))
    for key, count in errors.items():
        ranked_count, total = found.get(key, (0, 0))
        found[key] = (ranked_count + count, total + count)
    return ranked(found, kind)


def key_counts(span, kind, reasons, by_successes, keyed=False, keys=None):
    """Return the query of (key, ranked count, attempts) over the span, grouped by key.

    keyed: for a few keys, which a condition on the key adds (see by_key); keys: a
    (low, high) range of keys (see in_keys).
    """
    cell_kind = kind if span.unit == HOUR else counts.DAILY[kind]
    ranked_count = fn.SUM(Case(None, [(AttemptCount.reason == attempts.OK,
                                       AttemptCount.count if by_successes else 0)],
                               0 if by_successes else AttemptCount.count))
    query = (AttemptCount.select(AttemptCount.key, ranked_count.alias("ranked"),
                                 fn.SUM(AttemptCount.count).alias("total"))
             .where(AttemptCount.kind == cell_kind, in_span(AttemptCount.hour, span),
                    AttemptCount.reason.in_(reasons))
             .group_by(AttemptCount.key))
    if keys:
        return in_keys(query, cell_kind, span, *keys)
    return by_key(query) if keyed else query


def summed(query, limit=None):
    """Return {key: (ranked count, attempts)} of a key_counts query, the best `limit` if given."""
    if limit:
        query = query.order_by(SQL("ranked").desc(), SQL("total").desc(),
                               AttemptCount.key).limit(limit)
    return {key: (int(ranked_count), int(total)) for key, ranked_count, total in query.tuples()}


BATCH = 256


def bounded_top(keyed, kind, by_successes):
    """Return {key: (ranked count, attempts)} of the TOP keys, read in order of their totals."""
    bound = AttemptTotal.successes if by_successes else AttemptTotal.failures
    found, offset = {}, 0
    while True:
        batch = list(AttemptTotal.select(AttemptTotal.key, bound)
                     .where(AttemptTotal.kind == kind, bound > 0)
                     .order_by(bound.desc(), AttemptTotal.key).offset(offset).limit(BATCH)
                     .tuples())
        if not batch:
            break
        found.update(summed(keyed.where(AttemptCount.key.in_([key for key, _ in batch]))))
        best = sorted((count for count, _ in found.values()), reverse=True)
        offset += BATCH
        # Every key after this batch has a total, hence a count, of at most its last one's.
        if len(best) >= TOP and best[TOP - 1] > batch[-1][1]:
            break
    return found


SCAN_LIMIT = 5000


def scanned_top(filters, span, column, allowed):
    """Return the TOP values of an attempts column among the newest SCAN_LIMIT attempts."""
    newest = (matching(filters, span).select(LoginAttempt.id)
              .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc()).limit(SCAN_LIMIT))
    outcome = attempts.SUCCESS if ranks_successes(allowed) else attempts.FAILURE
    failures = fn.SUM(Case(None, [(LoginAttempt.outcome == outcome, 1)], 0))
    total = fn.COUNT(LoginAttempt.id)
    query = (LoginAttempt.select(column, failures, total)
             .where(LoginAttempt.id.in_(newest), in_span(LoginAttempt.at, span))
             .group_by(column).order_by(failures.desc(), total.desc(), column).limit(TOP))
    kind = counts.IP if column is LoginAttempt.ip_key else counts.USER
    return ranked({key: (int(f), int(t)) for key, f, t in query.tuples()}, kind)


def ranked(found, kind):
    """Return [Top] of {key: (ranked count, total)}, the highest first, at most TOP."""
    order = sorted(((key, value) for key, value in found.items() if value[0]),
                   key=lambda item: (-item[1][0], -item[1][1], item[0]))
    shown = ipaddr.address if kind == counts.IP else str
    return [Top(shown(key), count, total) for key, (count, total) in order[:TOP]]


def matching(filters, span):
    """Return the attempts matching the filters, their time range being the span's."""
    query = LoginAttempt.select().where(in_span(LoginAttempt.at, span))
    for condition in queries.conditions(replace(filters, since="", until="")):
        query = query.where(condition)
    return query


def add_scanned(found, filters, span, allowed):
    """Count the bars and the top lists from the attempts themselves."""
    bucket = counts.expression(span.unit)  # the hour or the day, as the counts keep them
    query = (matching(filters, span)
             .select(bucket.alias("bucket"), LoginAttempt.reason, fn.COUNT(LoginAttempt.id))
             .group_by(bucket, LoginAttempt.reason))
    for start, reason, count in query.tuples():
        add_to_bar(found.bars, span, as_time(start), reason, count)
    found.sources = scanned_top(filters, span, LoginAttempt.ip_key, allowed)
    found.targets = scanned_top(filters, span, LoginAttempt.username_key, allowed)


WIDTH, HEIGHT = 720, 240  # the drawing's own units (the SVG scales to the card)
LEFT, RIGHT, TOP_EDGE, BOTTOM = 48, 8, 10, 42
LABELS = 8  # about as many time labels, whatever the number of bars


@dataclass(frozen=True)
class Drawn:
    """One bar as drawn: x, width, and the y and height of its successes and failures."""

    bar: Bar
    x: float
    width: float
    success_y: float
    success_height: float
    failure_y: float
    failure_height: float


@dataclass(frozen=True)
class Tick:
    """A label of an axis: where, what, and whether it starts a new day (or year)."""

    at: float
    value: object
    new_period: bool = False


@dataclass(frozen=True)
class Drawing:
    """The chart's geometry in its viewBox (0 0 WIDTH HEIGHT)."""

    bars: list
    y_ticks: list
    x_ticks: list
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    base: int = HEIGHT - BOTTOM


def drawing(bars, unit):
    """Lay the bars out: stacked successes (below) and failures, a y axis with round values."""
    top = nice_ceiling(max((bar.total for bar in bars), default=0))
    plot = HEIGHT - BOTTOM - TOP_EDGE
    base = HEIGHT - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(len(bars), 1)
    gap = min(step * 0.15, 2)
    drawn = []
    for index, bar in enumerate(bars):
        success = plot * bar.successes / top
        failure = plot * bar.failures / top
        drawn.append(Drawn(bar, round(LEFT + index * step + gap / 2, 2), round(step - gap, 2),
                           round(base - success, 2), round(success, 2),
                           round(base - success - failure, 2), round(failure, 2)))
    values = [0, top // 2, top] if top % 2 == 0 else [0, top]
    y_ticks = [Tick(round(base - plot * value / top, 2), value) for value in values]
    every = max(1, -(-len(bars) // LABELS))
    x_ticks, previous = [], None
    for index in range(0, len(bars), every):
        start = bars[index].start
        period = start.date() if unit == HOUR else start.year
        x_ticks.append(Tick(round(LEFT + (index + 0.5) * step, 2), start, period != previous))
        previous = period
    return Drawing(drawn, y_ticks, x_ticks)


def nice_ceiling(count):
    """Return the smallest of 1, 2, 5, 10, 20, 50... that is at least `count`."""
    value = 1
    while True:
        for factor in (1, 2, 5):
            if value * factor >= count:
                return value * factor
        value *= 10
