"""Brute-force defence: admin locks on users, failure budgets, IP windows, the audit trail."""

from peewee import BooleanField
from peewee import CharField
from peewee import CompositeKey
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model


def up(migrator, db):
    """Add the lock columns and create the three tables, budgets keyed by user id."""
    migrator.migrate(
        migrator.add_column("users", "lock_reason", CharField(max_length=500, null=True)),
        migrator.add_column("users", "locked_at", DateTimeField(null=True)),
        migrator.add_column("users", "locked_until", DateTimeField(null=True)),
        migrator.add_column("users", "locked_by", CharField(max_length=64, null=True)),
        migrator.add_column("users", "last_success_at", DateTimeField(null=True)),
        migrator.add_column("users", "last_failure_at", DateTimeField(null=True)),
    )

    class User(Model):
        class Meta:
            database = db
            table_name = "users"

    class FailureBudget(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        device = CharField(max_length=32, default="")
        failures = IntegerField(default=0)
        last_failure_at = DateTimeField(null=True)
        lockouts = IntegerField(default=0)
        locked_at = DateTimeField(null=True)
        locked_until = DateTimeField(null=True)
        permanent = BooleanField(default=False)

        class Meta:
            database = db
            table_name = "failure_budgets"
            primary_key = CompositeKey("user", "device")

    class IpThrottle(Model):
        ip = CharField(primary_key=True, max_length=64)
        started_at = DateTimeField(null=True)
        failures = IntegerField(default=0)

        class Meta:
            database = db
            table_name = "ip_throttles"

    class AuditEvent(Model):
        at = DateTimeField()
        actor = CharField(max_length=64)
        actor_ip = CharField(max_length=64, null=True)
        action = CharField(max_length=16)
        target = ForeignKeyField(User, on_delete="CASCADE")
        reason = CharField(max_length=500, default="")
        until = DateTimeField(null=True)
        failures = IntegerField(null=True)

        class Meta:
            database = db
            table_name = "audit_events"
            indexes = ((("target", "at"), False),)

    db.create_tables([FailureBudget, IpThrottle, AuditEvent])


def present(db):
    """Return True when users carry the admin lock."""
    return "lock_reason" in {column.name for column in db.get_columns("users")}
