"""Audit events about a client address (an admin lifting an IP throttle), not an account.

audit_events.target becomes optional, and target_ip names the address or IPv6 /64
network an event is about.
"""

from peewee import CharField


def up(migrator, db):
    """Make audit_events.target nullable and add audit_events.target_ip."""
    migrator.migrate(
        migrator.drop_not_null("audit_events", "target_id"),
        migrator.add_column("audit_events", "target_ip", CharField(max_length=64, null=True)),
    )


def present(db):
    """Return True when audit events can name an address."""
    return "target_ip" in {column.name for column in db.get_columns("audit_events")}
