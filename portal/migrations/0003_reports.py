""""This wasn't me" on a session, and the session a successful attempt started."""

from peewee import CharField
from peewee import DateTimeField


def up(migrator, db):
    """Add sessions.reported_at and login_attempts.session."""
    migrator.migrate(
        migrator.add_column("sessions", "reported_at", DateTimeField(null=True)),
        migrator.add_column("login_attempts", "session", CharField(max_length=32, null=True)),
    )


def present(db):
    """Return True when sessions can be reported."""
    return "reported_at" in {column.name for column in db.get_columns("sessions")}
