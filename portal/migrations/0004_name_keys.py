"""Attempts keyed by account name and IP key; budgets keyed by account name; daily summaries.

The history's `user=` and CIDR filters read username_key and ip_key, so the existing
attempts get them computed here, with the rules of that release (frozen below). Budgets
move from the user id to the account name, so that a name that belongs to no account
costs what a real one costs; the existing ones keep their counts and locks.
"""

import ipaddress

from peewee import BooleanField
from peewee import CharField
from peewee import CompositeKey
from peewee import DateField
from peewee import DateTimeField
from peewee import IntegerField
from peewee import Model
from peewee import PostgresqlDatabase

BATCH = 5000


def username_key(typed):
    """Return the account name a typed username refers to (case and edges ignored)."""
    return (typed or "").strip().lower()[:150]  # "İ" grows when lowered


def ip_key(text):
    """Return the sortable key of an IP address (IPv4 as IPv4-mapped IPv6), or ''."""
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return ""
    if address.version == 4:
        address = ipaddress.IPv6Address(f"::ffff:{address}")
    return address.packed.hex()


def up(migrator, db):
    """Add and fill the keys, re-index the history, re-key the budgets, add the summaries."""
    migrator.migrate(
        migrator.add_column("login_attempts", "username_key", CharField(max_length=150, null=True)),
        migrator.add_column("login_attempts", "ip_key", CharField(max_length=32, null=True)),
    )
    fill(db, "username", "username_key", username_key)
    fill(db, "ip", "ip_key", ip_key)
    migrator.migrate(migrator.add_not_null("login_attempts", "username_key"),
                     migrator.add_not_null("login_attempts", "ip_key"))
    for name in ("loginattempt_username_at_id", "loginattempt_ip_at_id"):
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    for column in ("username_key", "reason", "ip_key"):
        db.execute_sql(f'CREATE INDEX "loginattempt_{column}_at_id" ON "login_attempts" '
                       f'("{column}", "at", "id")')
    rekey_budgets(migrator, db)
    db.create_tables([daily_summaries(db)])


def fill(db, source, target, key):
    """Set login_attempts.target to key(source), in batches by id.

    One pass over the table, whatever the number of distinct values: the source
    columns have no index, so an UPDATE per distinct value would read the whole table
    once per value.
    """

    class LoginAttempt(Model):
        username = CharField()
        username_key = CharField(null=True)
        ip = CharField()
        ip_key = CharField(null=True)

        class Meta:
            database = db
            table_name = "login_attempts"

    source_field, target_field = getattr(LoginAttempt, source), getattr(LoginAttempt, target)
    after = 0
    while True:
        rows = list(LoginAttempt.select(LoginAttempt.id, source_field)
                    .where(LoginAttempt.id > after).order_by(LoginAttempt.id)
                    .limit(BATCH).tuples())
        if not rows:
            return
        by_key = {}
        for attempt_id, value in rows:
            by_key.setdefault(key(value), []).append(attempt_id)
        for value, ids in by_key.items():
            LoginAttempt.update({target_field: value}).where(LoginAttempt.id.in_(ids)).execute()
        after = rows[-1][0]


def rekey_budgets(migrator, db):
    """Replace failure_budgets(user_id, device) by failure_budgets(account, device).

    A database that a later release's init-db touched before migrations existed may
    have the new table already (it created missing tables, never altered them).
    """
    if "user_id" not in {column.name for column in db.get_columns("failure_budgets")}:
        return

    class FailureBudget(Model):
        account = CharField(max_length=150)
        device = CharField(max_length=32, default="")
        failures = IntegerField(default=0)
        last_failure_at = DateTimeField(null=True)
        lockouts = IntegerField(default=0)
        locked_at = DateTimeField(null=True)
        locked_until = DateTimeField(null=True)
        permanent = BooleanField(default=False)

        class Meta:
            database = db
            table_name = "failure_budgets_by_account"
            primary_key = CompositeKey("account", "device")

    db.create_tables([FailureBudget])
    columns = "device, failures, last_failure_at, lockouts, locked_at, locked_until, permanent"
    db.execute_sql(f'INSERT INTO "failure_budgets_by_account" (account, {columns}) '
                   f'SELECT u.username, {", ".join("b." + c for c in columns.split(", "))} '
                   'FROM "failure_budgets" b JOIN "users" u ON u.id = b.user_id')
    migrator.migrate(migrator.drop_table("failure_budgets"),
                     migrator.rename_table("failure_budgets_by_account", "failure_budgets"))
    if isinstance(db, PostgresqlDatabase):  # it names the key after the table it was made for
        db.execute_sql("ALTER INDEX failure_budgets_by_account_pkey RENAME TO failure_budgets_pkey")


def daily_summaries(db):
    """Return the daily summaries table that prune fills."""

    class DailySummary(Model):
        day = DateField()
        kind = CharField(max_length=8)
        key = CharField(max_length=150)
        reason = CharField(max_length=16)
        count = IntegerField(default=0)

        class Meta:
            database = db
            table_name = "daily_summaries"
            primary_key = CompositeKey("day", "kind", "key", "reason")

    return DailySummary


def present(db):
    """Return True when attempts carry their account name's key."""
    return "username_key" in {column.name for column in db.get_columns("login_attempts")}
