"""The device each attempt came from, so a policy replay can tell known devices apart.

login_attempts.device holds a hash of the known-device id the browser presented (or, for
a success, the id its new session holds); NULL when it had none, as every attempt
recorded before this step. The hash, not the id: the history must not hold what a
device cookie carries.
"""

from peewee import CharField


def up(migrator, db):
    """Add login_attempts.device."""
    migrator.migrate(
        migrator.add_column("login_attempts", "device", CharField(max_length=32, null=True)),
    )


def present(db):
    """Return True when attempts name their device."""
    return "device" in {column.name for column in db.get_columns("login_attempts")}
