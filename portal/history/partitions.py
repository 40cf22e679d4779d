"""Monthly range partitions of the attempts table on PostgreSQL (PORTAL_ATTEMPT_PARTITIONS).

With partitions, retention drops a whole month's table (after adding it to the
daily summaries) instead of deleting millions of rows one by one, and every
history query touches only the months its time range covers. init-db and prune
create the partitions of the coming months ahead of time; a DEFAULT partition
catches anything outside them, so an insert never fails for want of a month.
"""

import logging
import re
from datetime import date
from datetime import datetime
from datetime import time

from peewee import DatabaseError

from portal import clock
from portal.db import database
from portal.history import counts
from portal.models import DailySummary
from portal.models import LoginAttempt

TABLE = LoginAttempt._meta.table_name
MONTHS_BACK, MONTHS_AHEAD = 3, 3
log = logging.getLogger("portal.schema")
NAME = re.compile(rf"^{TABLE}_(\d{{4}})_(\d{{2}})$")


class PartitionError(RuntimeError):
    """The attempts table cannot be partitioned as asked; the message says why."""


def create_table():
    """Create the attempts table partitioned by month, with its indexes and partitions."""
    if is_partitioned():
        return ensure_months()
    if database.table_exists(TABLE):
        raise PartitionError(
            f"{TABLE} already exists without partitions. PORTAL_ATTEMPT_PARTITIONS applies to a "
            "new database; see the README's section on partitions to move an existing one.")
    context = database.get_sql_context().sql(LoginAttempt._schema._create_table(safe=True))
    sql, params = context.query()
    # A partitioned table's primary key must contain the partition key.
    sql = sql.replace('"id" BIGSERIAL NOT NULL PRIMARY KEY', '"id" BIGSERIAL NOT NULL')
    sql = sql[:-1] + ', PRIMARY KEY ("id", "at")) PARTITION BY RANGE ("at")'
    database.execute_sql(sql, params)
    LoginAttempt._schema.create_indexes(safe=True)
    database.execute_sql(f'CREATE TABLE IF NOT EXISTS "{TABLE}_default" '
                         f'PARTITION OF "{TABLE}" DEFAULT')
    return ensure_months()


def is_partitioned():
    """Return True when the attempts table is partitioned."""
    row = database.execute_sql(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = %s", (TABLE,)).fetchone()
    return row is not None


def month_start(day, offset=0):
    """Return the first day of the month `offset` months from the one holding `day`."""
    index = day.year * 12 + day.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def ensure_months(back=MONTHS_BACK, today=None):
    """Create the partitions from `back` months ago to MONTHS_AHEAD months ahead."""
    today = today or clock.now().date()
    existing, created = months(), []
    for offset in range(-back, MONTHS_AHEAD + 1):
        start, end = month_start(today, offset), month_start(today, offset + 1)
        name = f"{TABLE}_{start:%Y_%m}"
        if name in existing:
            continue
        try:
            with database.atomic():
                database.execute_sql(f'CREATE TABLE "{name}" PARTITION OF "{TABLE}" '
                                     f"FOR VALUES FROM ('{start}') TO ('{end}')")
            created.append(name)
        except DatabaseError as error:
            # Rows of that month already sit in the DEFAULT partition; they stay there.
            log.warning("could not create partition %s: %s", name, error)
    return created


def months():
    """Return {partition name: first day} of the monthly partitions."""
    rows = database.execute_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s", (TABLE,)).fetchall()
    found = {}
    for (name,) in rows:
        match = NAME.match(name)
        if match:
            found[name] = date(int(match[1]), int(match[2]), 1)
    return found


def drop_months_before(cutoff):
    """Summarise and drop every monthly partition that ends before the cutoff; return names."""
    dropped = []
    for name, start in sorted(months().items(), key=lambda item: item[1]):
        if month_start(start, 1) > cutoff.date():
            continue
        with database.atomic():
            summarise_partition(name)
            # The month's attempts are all in its partition: its hours' counts go with it.
            counts.forget(datetime.combine(start, time()),
                          datetime.combine(month_start(start, 1), time()))
            database.execute_sql(f'DROP TABLE "{name}"')
        dropped.append(name)
    return dropped


def summarise_partition(name):
    """Add a whole partition's rows to the daily summaries, in three statements."""
    table = DailySummary._meta.table_name
    for kind, key in (("all", "''"), ("user", "username_key"), ("ip", "ip_key")):
        database.execute_sql(
            f'INSERT INTO "{table}" (day, kind, key, reason, count) '
            f"SELECT at::date, '{kind}', {key}, reason, COUNT(*) FROM \"{name}\" "
            "GROUP BY 1, 3, 4 "
            "ON CONFLICT (day, kind, key, reason) "
            f'DO UPDATE SET count = "{table}".count + EXCLUDED.count')
