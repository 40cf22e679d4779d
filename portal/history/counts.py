"""Hourly counts of settled attempts (attempt_counts), kept as each attempt settles.

An attempt is counted once, in the transaction that writes its outcome (Pending.finish):
one statement adds it to five rows: every attempt's hour and day, its account name's,
its address's and its network's hour. Until then it reads `error` and is not counted;
a request that dies before settling leaves it so, and the chart counts those few from
the attempts. So at every commit the counts plus the `error` rows are exactly the
attempts, whatever stops a request.

The totals are split over SHARDS rows per hour (by the attempt's id): one row for every
sign-in would make parallel sign-ins wait for each other's commit under its row lock.
An account's or address's rows are locked by its own attempts only, whose settlements
already wait for each other on the account's and the address's rows.
"""

from collections import Counter

from peewee import EXCLUDED
from peewee import SQL
from peewee import Case

from portal.db import CompiledQuery
from portal.db import arg
from portal.db import is_postgresql
from portal.models import AttemptCount
from portal.models import LoginAttempt

SHARDS = 8
ALL, DAY, USER, IP, NET = "all", "day", "user", "ip", "net"
HOURLY = (ALL, USER, IP, NET)
IPV4_MAPPED = "00000000000000000000ffff"  # the first 12 bytes of an IPv4 key (web.ipaddr)
KEY_LENGTH = 32
IPV4_NET_KEPT = 30  # hex digits kept of an IPv4 key: its /24
IPV6_NET_KEPT = 16  # of an IPv6 key: its /64, the unit the IP throttle counts
CONFLICT = [AttemptCount.kind, AttemptCount.hour, AttemptCount.reason, AttemptCount.key]
ERROR = "error"  # as history.attempts names it (which imports this module)


def hour_of(at):
    """Return the start of the hour holding `at`."""
    return at.replace(minute=0, second=0, microsecond=0)


def day_of(at):
    """Return the start of the day holding `at`."""
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def net_key(ip_key):
    """Return the key of the /24 (IPv4) or /64 (IPv6) network of an address key ('' stays)."""
    if not ip_key:
        return ""
    kept = IPV4_NET_KEPT if ip_key.startswith(IPV4_MAPPED) else IPV6_NET_KEPT
    return ip_key[:kept].ljust(KEY_LENGTH, "0")


def shard(attempt_id):
    """Return the key of the totals' row that counts this attempt."""
    return str(attempt_id % SHARDS)


def cells(attempt_id, at, username_key, ip_key):
    """Return the (kind, hour, key) rows that count one attempt."""
    hour = hour_of(at)
    return [(ALL, hour, shard(attempt_id)), (DAY, day_of(at), shard(attempt_id)),
            (USER, hour, username_key), (IP, hour, ip_key), (NET, hour, net_key(ip_key))]


def added(rows):
    """Return an upsert adding {"kind", "hour", "reason", "key", "count"} rows to the counts."""
    return (AttemptCount.insert_many(rows)
            .on_conflict(conflict_target=CONFLICT,
                         update={AttemptCount.count: AttemptCount.count + EXCLUDED.count}))


# Every settlement runs it: compiled once (portal.db.CompiledQuery). Its rows go in kind
# order, so two settlements lock the rows they share in the same order.
COUNT_SETTLED = CompiledQuery(lambda: added([
    {"kind": kind, "hour": arg(hour), "reason": arg("reason"), "key": arg(key), "count": 1}
    for kind, hour, key in [(ALL, "hour", "shard"), (DAY, "day", "shard"),
                            (USER, "hour", "user_key"), (IP, "hour", "ip_key"),
                            (NET, "hour", "net_key")]]))


def count_settled(attempt_id, at, username_key, ip_key, reason):
    """Count one attempt with its settled reason (in the transaction that settles it)."""
    if reason == ERROR:
        return
    COUNT_SETTLED.run(hour=hour_of(at), day=day_of(at), shard=shard(attempt_id),
                      user_key=username_key, ip_key=ip_key, net_key=net_key(ip_key),
                      reason=reason)


def uncount(rows):
    """Take (id, at, username_key, ip_key, reason) attempts about to be deleted off the counts."""
    found = Counter()
    for attempt_id, at, username_key, ip_key, reason in rows:
        if reason != ERROR:
            for kind, hour, key in cells(attempt_id, at, username_key, ip_key):
                found[(kind, hour, reason, key)] += 1
    if not found:
        return
    change = [{"kind": kind, "hour": hour, "reason": reason, "key": key, "count": -count}
              for (kind, hour, reason, key), count in found.items()]
    for start in range(0, len(change), 500):
        added(change[start:start + 500]).execute()
    hours = [hour for (_, hour, _, _) in found]
    (AttemptCount.delete()
     .where(AttemptCount.count == 0, AttemptCount.hour.between(min(hours), max(hours)))
     .execute())


def forget(start, end):
    """Delete the counts of the hours from `start` to before `end`: their attempts are gone."""
    AttemptCount.delete().where(AttemptCount.hour >= start, AttemptCount.hour < end).execute()


def count_attempts(*where):
    """Add the settled attempts matching `where` to the counts, one statement per kind.

    For attempts loaded in bulk (seed-demo), which no settlement counted.
    """
    settled = [LoginAttempt.reason != ERROR, *where]
    for kind, hour, key in [(ALL, "hour", "shard"), (DAY, "day", "shard"),
                            (USER, "hour", "user"), (IP, "hour", "ip"), (NET, "hour", "net")]:
        hour_sql, key_sql = expression(hour), expression(key)
        query = (LoginAttempt
                 .select(SQL(f"'{kind}'"), hour_sql, LoginAttempt.reason, key_sql,
                         SQL("COUNT(*)"))
                 .where(*settled).group_by(hour_sql, LoginAttempt.reason, key_sql))
        (AttemptCount.insert_from(query, [AttemptCount.kind, AttemptCount.hour,
                                          AttemptCount.reason, AttemptCount.key,
                                          AttemptCount.count])
         .on_conflict(conflict_target=CONFLICT,
                      update={AttemptCount.count: AttemptCount.count + EXCLUDED.count})
         .execute())


def expression(name):
    """Return the SQL of an attempt's hour, day, shard, user, ip or net key, as cells() has it."""
    if name == "user":
        return LoginAttempt.username_key
    if name == "ip":
        return LoginAttempt.ip_key
    if name == "net":
        ip_key = LoginAttempt.ip_key
        return Case(None, [(ip_key == "", ""),
                           (ip_key.startswith(IPV4_MAPPED),
                            SQL(f"substr(ip_key, 1, {IPV4_NET_KEPT}) || "
                                f"'{'0' * (KEY_LENGTH - IPV4_NET_KEPT)}'"))],
                    SQL(f"substr(ip_key, 1, {IPV6_NET_KEPT}) || "
                        f"'{'0' * (KEY_LENGTH - IPV6_NET_KEPT)}'"))
    if is_postgresql():
        return {"hour": SQL("date_trunc('hour', at)"), "day": SQL("date_trunc('day', at)"),
                "shard": SQL(f"(id % {SHARDS})::text")}[name]
    # SQLite keeps times as text, 'YYYY-MM-DD HH:MM:SS[.ffffff]', as Peewee writes them.
    return {"hour": SQL("substr(at, 1, 13) || ':00:00'"),
            "day": SQL("substr(at, 1, 10) || ' 00:00:00'"),
            "shard": SQL(f"CAST(id % {SHARDS} AS TEXT)")}[name]
