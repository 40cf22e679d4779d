"""The attack alarm above the login history: the last hour's failed sign-ins, when one
address or one network (IPv4 /24, IPv6 /48) is behind too many of them, or when there
are several times as many as usual for that hour of the week.

Every query walks the attempts' (outcome, at, id) index over one hour, so the cost
follows the hour's failures, not the table's size; the shares are read from the
newest SCANNED failures of the hour at most.
"""

import statistics
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from peewee import SQL
from peewee import Case
from peewee import fn

from portal import clock
from portal.history import attempts
from portal.models import LoginAttempt
from portal.web import ipaddr

WINDOW = timedelta(hours=1)
WEEKS = 4  # the same hour of the week in each of the last WEEKS weeks is "usual"
SCANNED = 5_000
COUNTED = 1_000_000


@dataclass(frozen=True)
class Alarm:
    """One reason to look: `kind` is "address", "network" or "rate"."""

    kind: str
    target: str  # the address or CIDR block; "" for the rate
    failures: int  # the target's failures in the hour (the rate: all of them)
    total: int  # every failure in the hour
    since: datetime  # the hour's start, for the history link
    usual: float | None = None  # the rate: the usual failures for this hour of the week

    @property
    def scanned(self):
        """Return how many of the hour's failures (the newest) the share was read from."""
        return min(self.total, SCANNED)

    @property
    def percent(self):
        """Return the target's share of the failures scanned, in whole percent."""
        return round(100 * self.failures / self.scanned) if self.total else 0


def current():
    """Return the alarms of the hour that ends now: address and network first, then the rate."""
    settings = current_app.config
    now = clock.now()
    since = now - WINDOW
    total = failures_between(since, now)
    if total < settings["ALARM_MIN_FAILURES"]:
        return []
    found = share_alarms(since, total, settings["ALARM_SHARE"])
    usual = usual_failures(now)
    if usual is not None and total >= settings["ALARM_RATE_FACTOR"] * max(usual, 1):
        found.append(Alarm("rate", "", total, total, since, usual))
    return found


def share_alarms(since, total, share):
    """Return the address and the network behind more than `share` percent of the failures
    (of the newest SCANNED, when the hour has more)."""
    found, scanned = [], min(total, SCANNED)
    address = busiest(LoginAttempt.ip_key, since)
    if address and 100 * address[1] > share * scanned:
        found.append(Alarm("address", ipaddr.address(address[0]), address[1], total, since))
    network = busiest(network_prefix(), since)
    if network and 100 * network[1] > share * scanned:
        block = ipaddr.network_of(network[0])
        # A network that one alarming address fills says nothing more than the address does.
        same = found and found[0].failures == network[1] and \
            ipaddr.key(found[0].target).startswith(network[0])
        if not same:
            found.append(Alarm("network", block, network[1], total, since))
    return found


def failures_between(start, end):
    """Count the failed attempts in [start, end), up to COUNTED (from the index alone)."""
    return (LoginAttempt.select(LoginAttempt.id)
            .where(LoginAttempt.outcome == attempts.FAILURE, LoginAttempt.at >= start,
                   LoginAttempt.at < end)
            .limit(COUNTED).count())


def busiest(key, since):
    """Return (key, failures) of the key that most of the hour's newest failures share, or None."""
    newest = (LoginAttempt.select(key.alias("source"))
              .where(LoginAttempt.outcome == attempts.FAILURE, LoginAttempt.at >= since,
                     LoginAttempt.ip_key != "")
              .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
              .limit(SCANNED).alias("newest"))
    count = fn.COUNT(SQL("*"))
    # The GROUP BY names the column, never repeats the expression: PostgreSQL would take
    # the expression's parameters twice as two expressions.
    row = (LoginAttempt.select(newest.c.source, count).from_(newest)
           .group_by(newest.c.source).order_by(count.desc(), newest.c.source)
           .limit(1).tuples().first())
    return row


def network_prefix():
    """Return the SQL of an attempt's network: its key's first digits (/24 or /48)."""
    key = LoginAttempt.ip_key
    ipv4 = fn.substr(key, 1, len(ipaddr.MAPPED_PREFIX)) == ipaddr.MAPPED_PREFIX
    return Case(None, [(ipv4, fn.substr(key, 1, ipaddr.IPV4_NETWORK_DIGITS))],
                fn.substr(key, 1, ipaddr.IPV6_NETWORK_DIGITS))


def usual_failures(now):
    """Return the median failures of this hour of the week over the last WEEKS weeks.

    Only weeks whose hour the attempts still cover count (a young database, or one that
    `prune` has cut, has fewer); None when there is none.
    """
    oldest = LoginAttempt.select(fn.MIN(LoginAttempt.at)).scalar()
    if oldest is None:
        return None
    weeks = [now - timedelta(weeks=n) for n in range(1, WEEKS + 1)]
    counts = [failures_between(end - WINDOW, end) for end in weeks if end - WINDOW >= oldest]
    return statistics.median(counts) if counts else None
