"""Add the one-row table that /healthz writes, to tell a database that cannot write."""

from peewee import DateTimeField
from peewee import IntegerField
from peewee import Model


class HealthCheck(Model):
    id = IntegerField(primary_key=True)
    checked_at = DateTimeField()

    class Meta:
        table_name = "health_checks"


def up(migrator, db):
    """Create the table."""
    with db.bind_ctx([HealthCheck]):
        HealthCheck.create_table()


def present(db):
    """Return True when the table exists."""
    return db.table_exists("health_checks")
