"""Hourly counts of settled attempts (attempt_counts), kept as each attempt settles.

An attempt is counted once, in the transaction that writes its outcome (Pending.finish):
one statement adds it to seven rows: every attempt's hour and day, its account name's,
its address's and its network's hour, its account name's and address's day; a second
adds it to the totals of its account name and address (attempt_totals). Until then
it reads `error` and is not counted; a request that dies before settling leaves it so,
and the chart counts those few from the attempts. So at every commit the counts plus
the `error` rows are exactly the attempts, whatever stops a request.

The counts of all attempts are split over SHARDS rows per hour and day (by the
attempt's id): one row for every sign-in would make parallel sign-ins wait for each
other's commit under its row lock.
An account name's, address's and network's rows are not split: the settlements of one
name or one address (or of one /24: every address behind one carrier NAT, say) wait for
each other on them until each commits; an address in IP_ALLOWLIST, which has no IP
window, meets that here first.
"""

from collections import Counter

from peewee import EXCLUDED
from peewee import SQL
from peewee import Case
from peewee import fn

from portal.db import CompiledQuery
from portal.db import arg
from portal.db import is_postgresql
from portal.models import AttemptCount
from portal.models import AttemptTotal
from portal.models import LoginAttempt
from portal.web import ipaddr

SHARDS = 8
ALL, DAY, USER, IP, NET = "all", "day", "user", "ip", "net"
USER_DAY, IP_DAY = "uday", "iday"
DAILY = {ALL: DAY, USER: USER_DAY, IP: IP_DAY}  # the per-day kind of an hourly one
IPV4_MAPPED = ipaddr.MAPPED_PREFIX  # how an IPv4 address's key starts
KEY_LENGTH = ipaddr.KEY_LENGTH
IPV4_NET_KEPT = ipaddr.IPV4_NETWORK_DIGITS  # hex digits kept of an IPv4 key: its /24
IPV6_NET_KEPT = 16  # of an IPv6 key: its /64, the unit the IP throttle counts
CONFLICT = [AttemptCount.kind, AttemptCount.hour, AttemptCount.reason, AttemptCount.key]
ERROR, OK = "error", "ok"  # as history.attempts names them (which imports this module)


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


# The rows that count one attempt: (kind, which of its times, which of its keys), in kind
# order, so that two settlements lock the rows they share in the same order.
CELLS = ((ALL, "hour", "shard"), (DAY, "day", "shard"), (USER, "hour", "user_key"),
         (IP, "hour", "ip_key"), (NET, "hour", "net_key"), (USER_DAY, "day", "user_key"),
         (IP_DAY, "day", "ip_key"))


def cell_values(attempt_id, at, username_key, ip_key):
    """Return an attempt's times and keys, by the names CELLS gives them."""
    return {"hour": hour_of(at), "day": day_of(at), "shard": shard(attempt_id),
            "user_key": username_key, "ip_key": ip_key, "net_key": net_key(ip_key)}


def cells(attempt_id, at, username_key, ip_key):
    """Return the (kind, hour, key) rows that count one attempt."""
    values = cell_values(attempt_id, at, username_key, ip_key)
    return [(kind, values[time], values[key]) for kind, time, key in CELLS]


def totalled(rows):
    """Return an upsert adding {"kind", "key", "failures", "successes"} rows to the totals."""
    return adding_to_totals(AttemptTotal.insert_many(rows))


def added(rows):
    """Return an upsert adding {"kind", "hour", "reason", "key", "count"} rows to the counts."""
    return adding_to_counts(AttemptCount.insert_many(rows))


def adding_to_counts(insert):
    """Return an insert into attempt_counts that adds to the rows already there."""
    return insert.on_conflict(conflict_target=CONFLICT,
                              update={AttemptCount.count: AttemptCount.count + EXCLUDED.count})


def adding_to_totals(insert):
    """Return an insert into attempt_totals that adds to the rows already there."""
    return insert.on_conflict(
        conflict_target=[AttemptTotal.kind, AttemptTotal.key],
        update={AttemptTotal.failures: AttemptTotal.failures + EXCLUDED.failures,
                AttemptTotal.successes: AttemptTotal.successes + EXCLUDED.successes})


# Every settlement runs it: compiled once (portal.db.CompiledQuery).
COUNT_SETTLED = CompiledQuery(lambda: added([
    {"kind": kind, "hour": arg(time), "reason": arg("reason"), "key": arg(key), "count": 1}
    for kind, time, key in CELLS]))
TOTAL_SETTLED = CompiledQuery(lambda: totalled([
    {"kind": kind, "key": arg(key), "failures": arg("failures"), "successes": arg("successes")}
    for kind, key in [(USER, "user_key"), (IP, "ip_key")]]))


def count_settled(attempt_id, at, username_key, ip_key, reason):
    """Count one attempt with its settled reason (in the transaction that settles it)."""
    if reason == ERROR:
        return
    COUNT_SETTLED.run(**cell_values(attempt_id, at, username_key, ip_key), reason=reason)
    success = int(reason == OK)
    TOTAL_SETTLED.run(user_key=username_key, ip_key=ip_key, failures=1 - success,
                      successes=success)


def uncount(rows):
    """Take (id, at, username_key, ip_key, reason) attempts about to be deleted off the counts."""
    found, totals = Counter(), Counter()
    for attempt_id, at, username_key, ip_key, reason in rows:
        if reason != ERROR:
            for kind, hour, key in cells(attempt_id, at, username_key, ip_key):
                found[(kind, hour, reason, key)] += 1
            for kind, key in ((USER, username_key), (IP, ip_key)):
                totals[(kind, key, reason == OK)] += 1
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
    take_off_totals(totals)


def take_off_totals(totals):
    """Subtract {(kind, key, success): count} from the totals; drop the totals that reach 0."""
    both = Counter()
    for (kind, key, success), count in totals.items():
        failures, successes = both.get((kind, key), (0, 0))
        both[(kind, key)] = (failures + (0 if success else count),
                             successes + (count if success else 0))
    change = [{"kind": kind, "key": key, "failures": -failures, "successes": -successes}
              for (kind, key), (failures, successes) in both.items()]
    for start in range(0, len(change), 500):
        totalled(change[start:start + 500]).execute()
    AttemptTotal.delete().where(AttemptTotal.failures == 0,
                                AttemptTotal.successes == 0).execute()


def forget(start, end):
    """Delete the counts of the hours from `start` to before `end`: their attempts are gone."""
    in_range = (AttemptCount.hour >= start) & (AttemptCount.hour < end)
    successes = fn.SUM(Case(None, [(AttemptCount.reason == OK, AttemptCount.count)], 0))
    failures = fn.SUM(Case(None, [(AttemptCount.reason == OK, 0)], AttemptCount.count))
    gone = Counter()
    for kind, key, failed, succeeded in (
            AttemptCount.select(AttemptCount.kind, AttemptCount.key, failures, successes)
            .where(in_range, AttemptCount.kind.in_([USER_DAY, IP_DAY]))
            .group_by(AttemptCount.kind, AttemptCount.key).tuples()):
        total_kind = USER if kind == USER_DAY else IP
        gone[(total_kind, key, False)] += int(failed)
        gone[(total_kind, key, True)] += int(succeeded)
    take_off_totals(gone)
    AttemptCount.delete().where(in_range).execute()


def count_attempts(*where):
    """Add the settled attempts matching `where` to the counts, one statement per kind.

    For attempts loaded in bulk (seed-demo), which no settlement counted.
    """
    settled = [LoginAttempt.reason != ERROR, *where]
    for kind, hour, key in CELLS:
        hour_sql, key_sql = expression(hour), expression(key)
        query = (LoginAttempt
                 .select(SQL(f"'{kind}'"), hour_sql, LoginAttempt.reason, key_sql,
                         SQL("COUNT(*)"))
                 .where(*settled).group_by(hour_sql, LoginAttempt.reason, key_sql))
        adding_to_counts(AttemptCount.insert_from(query, [
            AttemptCount.kind, AttemptCount.hour, AttemptCount.reason, AttemptCount.key,
            AttemptCount.count])).execute()
    success = SQL(f"SUM(CASE WHEN reason = '{OK}' THEN 1 ELSE 0 END)")
    failure = SQL(f"SUM(CASE WHEN reason = '{OK}' THEN 0 ELSE 1 END)")
    for kind, key in ((USER, "user_key"), (IP, "ip_key")):
        key_sql = expression(key)
        query = (LoginAttempt.select(SQL(f"'{kind}'"), key_sql, failure, success)
                 .where(*settled).group_by(key_sql))
        adding_to_totals(AttemptTotal.insert_from(query, [
            AttemptTotal.kind, AttemptTotal.key, AttemptTotal.failures,
            AttemptTotal.successes])).execute()


def expression(name):
    """Return the SQL of an attempt's value named as in CELLS (hour, day, shard, user_key,
    ip_key, net_key), as cell_values() has it."""
    if name == "user_key":
        return LoginAttempt.username_key
    if name == "ip_key":
        return LoginAttempt.ip_key
    if name == "net_key":
        # Literals, no parameters: PostgreSQL must see the GROUP BY repeat the same expression.
        return SQL(f"CASE WHEN ip_key = '' THEN '' "
                   f"WHEN substr(ip_key, 1, {len(IPV4_MAPPED)}) = '{IPV4_MAPPED}' "
                   f"THEN substr(ip_key, 1, {IPV4_NET_KEPT}) || "
                   f"'{'0' * (KEY_LENGTH - IPV4_NET_KEPT)}' "
                   f"ELSE substr(ip_key, 1, {IPV6_NET_KEPT}) || "
                   f"'{'0' * (KEY_LENGTH - IPV6_NET_KEPT)}' END")
    if is_postgresql():
        return {"hour": SQL("date_trunc('hour', at)"), "day": SQL("date_trunc('day', at)"),
                "shard": SQL(f"mod(id, {SHARDS})::text")}[name]
    # SQLite keeps times as text, 'YYYY-MM-DD HH:MM:SS[.ffffff]', as Peewee writes them.
    return {"hour": SQL("substr(at, 1, 13) || ':00:00'"),
            "day": SQL("substr(at, 1, 10) || ' 00:00:00'"),
            "shard": SQL(f"CAST(id % {SHARDS} AS TEXT)")}[name]
