"""Add the table through which every worker shares what the proxy check saw."""

from peewee import CharField
from peewee import DateTimeField
from peewee import IntegerField
from peewee import Model


class ProxyObservation(Model):
    seen_at = DateTimeField(index=True)
    trusted = IntegerField()
    header = CharField(max_length=16)
    requests = IntegerField()
    fewest = IntegerField()
    peer = CharField(max_length=64)

    class Meta:
        table_name = "proxy_observations"


def up(migrator, db):
    """Create the table and its index."""
    with db.bind_ctx([ProxyObservation]):
        ProxyObservation.create_table()


def present(db):
    """Return True when the table exists."""
    return db.table_exists("proxy_observations")
