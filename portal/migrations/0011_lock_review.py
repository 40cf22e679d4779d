"""Policy locks that end only the locked device's sessions, and accounts flagged for review.

sessions.device names the known-device id a session signed in from, so a lock of that
device's budget can end just its sessions; users.review_flagged_at marks an account that
the policy has locked many times in a row, for an administrator to look at.
"""

from peewee import CharField
from peewee import DateTimeField


def up(migrator, db):
    """Add sessions.device and users.review_flagged_at."""
    migrator.migrate(
        migrator.add_column("sessions", "device", CharField(max_length=32, null=True)),
        migrator.add_column("users", "review_flagged_at", DateTimeField(null=True)),
        # The admin's navigation counts the flagged accounts on every page.
        migrator.add_index("users", ("review_flagged_at",), False, name="user_review_flagged_at"),
    )


def present(db):
    """Return True when accounts can be flagged for review and sessions name a device."""
    return ("review_flagged_at" in {column.name for column in db.get_columns("users")}
            and "device" in {column.name for column in db.get_columns("sessions")})
