"""Audit events about a client address (an admin lifting an IP throttle), not an account.

audit_events.target_ip names the address or IPv6 /64 network such an event is about;
its target is NULL (0012 made target optional).
"""

from peewee import CharField


def up(migrator, db):
    """Add audit_events.target_ip."""
    migrator.migrate(
        migrator.add_column("audit_events", "target_ip", CharField(max_length=64, null=True)),
    )


def present(db):
    """Return True when audit events can name an address."""
    return "target_ip" in {column.name for column in db.get_columns("audit_events")}
