"""Hourly counts of settled attempts, which the history's chart reads instead of the attempts.

attempt_counts holds, per (kind, hour, reason, key), how many attempts settled with that
reason: kind "all" per hour and "day" per day, each over 8 keys (the attempt's id
modulo 8); "user" per account name, "ip" per address key, "net" per /24 (IPv4) or /64
(IPv6) network key; "uday" and "iday" per account name and address per day.
attempt_totals holds each account name's and address's failures and successes.
The attempts recorded so far are counted here, in the same transaction; attempts
still reading `error` are never counted.
"""

from peewee import CharField
from peewee import CompositeKey
from peewee import DateTimeField
from peewee import IntegerField
from peewee import Model
from peewee import PostgresqlDatabase


class AttemptCount(Model):
    kind = CharField(max_length=4)
    hour = DateTimeField()
    reason = CharField(max_length=16)
    key = CharField(max_length=150)
    count = IntegerField()

    class Meta:
        table_name = "attempt_counts"
        primary_key = CompositeKey("kind", "hour", "reason", "key")
        indexes = ((("kind", "key", "hour"), False),)


class AttemptTotal(Model):
    kind = CharField(max_length=4)
    key = CharField(max_length=150)
    failures = IntegerField()
    successes = IntegerField()

    class Meta:
        table_name = "attempt_totals"
        primary_key = CompositeKey("kind", "key")
        indexes = ((("kind", "failures"), False), (("kind", "successes"), False))


V4 = "00000000000000000000ffff"
NET = (f"CASE WHEN ip_key = '' THEN '' "
       f"WHEN substr(ip_key, 1, 24) = '{V4}' THEN substr(ip_key, 1, 30) || '00' "
       f"ELSE substr(ip_key, 1, 16) || '{'0' * 16}' END")
POSTGRESQL = {"hour": "date_trunc('hour', at)", "day": "date_trunc('day', at)",
              "shard": "mod(id, 8)::text"}
SQLITE = {"hour": "substr(at, 1, 13) || ':00:00'", "day": "substr(at, 1, 10) || ' 00:00:00'",
          "shard": "CAST(id % 8 AS TEXT)"}
KINDS = [("all", "hour", "shard"), ("day", "day", "shard"), ("user", "hour", "username_key"),
         ("ip", "hour", "ip_key"), ("net", "hour", NET), ("uday", "day", "username_key"),
         ("iday", "day", "ip_key")]


def up(migrator, db):
    """Create the tables and count the attempts already recorded."""
    with db.bind_ctx([AttemptCount, AttemptTotal]):
        AttemptCount.create_table(safe=True)
        AttemptTotal.create_table(safe=True)
    times = POSTGRESQL if isinstance(db, PostgresqlDatabase) else SQLITE
    for kind, hour, key in KINDS:
        hour_sql, key_sql = times[hour], times.get(key, key)
        db.execute_sql(
            "INSERT INTO attempt_counts (kind, hour, reason, key, count) "
            f"SELECT '{kind}', {hour_sql}, reason, {key_sql}, COUNT(*) FROM login_attempts "
            f"WHERE reason != 'error' GROUP BY {hour_sql}, reason, {key_sql}")
    for kind, key in (("user", "username_key"), ("ip", "ip_key")):
        db.execute_sql(
            "INSERT INTO attempt_totals (kind, key, failures, successes) "
            f"SELECT '{kind}', {key}, SUM(CASE WHEN reason = 'ok' THEN 0 ELSE 1 END), "
            "SUM(CASE WHEN reason = 'ok' THEN 1 ELSE 0 END) FROM login_attempts "
            f"WHERE reason != 'error' GROUP BY {key}")


def present(db):
    """Return True when the tables exist (a new database gets them from the models, empty)."""
    return db.table_exists("attempt_counts")
