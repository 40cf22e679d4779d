"""Temporary passwords, and an audit trail that outlives a deleted account.

users.must_change_password marks an account whose password an admin set: its next
sign-in must choose a new one. audit_events.target becomes ON DELETE SET NULL (it was
CASCADE), and target_name keeps the account's name once the account is gone.
"""

from peewee import BooleanField
from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model
from peewee import PostgresqlDatabase

COLUMNS = "id, at, actor, actor_ip, action, target_id, reason, until, failures"


def up(migrator, db):
    """Add users.must_change_password and audit_events.target_name; keep events on delete."""
    migrator.migrate(
        migrator.add_column("users", "must_change_password", BooleanField(default=False)),
        migrator.add_column("audit_events", "target_name", CharField(max_length=64, null=True)),
    )
    if isinstance(db, PostgresqlDatabase):
        keep_events_postgresql(db)
    else:
        keep_events_sqlite(db)


def keep_events_postgresql(db):
    """Make audit_events.target_id nullable and its foreign key ON DELETE SET NULL."""
    (name,) = db.execute_sql(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'audit_events'::regclass "
        "AND contype = 'f'").fetchone()
    db.execute_sql('ALTER TABLE "audit_events" ALTER COLUMN "target_id" DROP NOT NULL')
    db.execute_sql(f'ALTER TABLE "audit_events" DROP CONSTRAINT "{name}"')
    db.execute_sql('ALTER TABLE "audit_events" ADD FOREIGN KEY ("target_id") '
                   'REFERENCES "users" ("id") ON DELETE SET NULL')


def keep_events_sqlite(db):
    """Rebuild audit_events with the new foreign key: SQLite cannot alter a constraint."""

    class User(Model):
        class Meta:
            database = db
            table_name = "users"

    class AuditEvent(Model):
        at = DateTimeField()
        actor = CharField(max_length=64)
        actor_ip = CharField(max_length=64, null=True)
        action = CharField(max_length=16)
        target = ForeignKeyField(User, null=True, on_delete="SET NULL", index=False)
        reason = CharField(max_length=500, default="")
        until = DateTimeField(null=True)
        failures = IntegerField(null=True)
        target_name = CharField(max_length=64, null=True)

        class Meta:
            database = db
            table_name = "audit_events_rebuilt"

    AuditEvent.create_table(safe=False)
    db.execute_sql(f'INSERT INTO "audit_events_rebuilt" ({COLUMNS}, target_name) '
                   f'SELECT {COLUMNS}, target_name FROM "audit_events"')
    db.execute_sql('DROP TABLE "audit_events"')
    db.execute_sql('ALTER TABLE "audit_events_rebuilt" RENAME TO "audit_events"')
    # Named as the models name it, so an upgraded database equals a new one.
    db.execute_sql('CREATE INDEX "auditevent_target_id_at" ON "audit_events" '
                   '("target_id", "at")')


def present(db):
    """Return True when accounts can carry a temporary password."""
    return "must_change_password" in {column.name for column in db.get_columns("users")}
