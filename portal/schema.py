"""init-db: create or upgrade the schema through the numbered migrations; safe to run again.

A new database gets today's tables from the models in one step, and every migration
that they already cover is recorded as applied; a database made before migrations
existed is recognised the same way, by what each migration `present`s in it. Then the
migrations that are still missing run in order, each in its own transaction.
"""

from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from playhouse.migrations import Runner

from portal.db import database
from portal.history import partitions
from portal.maintenance import no_statement_timeout
from portal.models import TABLES
from portal.models import LoginAttempt

MIGRATIONS = Path(__file__).with_name("migrations")
HISTORY_TABLE = "schema_migrations"


class SchemaError(RuntimeError):
    """The database's schema cannot be brought to this code's; the message says why."""


@dataclass(frozen=True)
class Upgrade:
    """What upgrade() did: created the tables, recognised migrations, applied migrations."""

    created: bool
    recognised: list
    applied: list

    @property
    def reached(self):
        """Return the last recognised migration before the first one that had to run."""
        kept = [name for name in self.recognised if not self.applied or name < self.applied[0]]
        return kept[-1] if kept else "none"


def upgrade():
    """Bring the database to this code's schema and return what was done."""
    with database.connection_context(), no_statement_timeout():
        runner = migrations()
        created, recognised = False, []
        if not runner.History.table_exists():
            created = not database.table_exists("users")
            with database.atomic():  # all of it or nothing: a rerun recognises it afresh
                if created:
                    create_tables()
                recognised = record_present(runner)
        refuse_unknown(runner)
        applied = runner.up()
        if current_app.config["ATTEMPT_PARTITIONS"]:
            partitions.create_table()  # this month's and the coming ones; refuses a plain table
    return Upgrade(created, recognised, applied)


def migrations():
    """Return playhouse.migrations' runner of portal/migrations on the bound database."""
    return Runner(database.obj, str(MIGRATIONS), table_name=HISTORY_TABLE)


def pending():
    """Return the names of the migrations this database still lacks (all, when it is new)."""
    with database.connection_context():
        runner = migrations()
        refuse_unknown(runner)
        return [migration.name for migration in runner.status() if not migration.applied]


def ensure_current():
    """Create a new database's schema; raise SchemaError when an existing one lags behind."""
    with database.connection_context():
        new = not database.table_exists("users")
    if new:
        upgrade()
        return
    missing = pending()
    if missing:
        raise SchemaError("The database's schema is older than this release: run "
                          "`flask --app portal init-db` first.")


def create_tables():
    """Create today's tables from the models (the attempts partitioned, if so configured)."""
    if current_app.config["ATTEMPT_PARTITIONS"]:
        database.create_tables([table for table in TABLES if table is not LoginAttempt])
        partitions.create_table()
    else:
        database.create_tables(TABLES)


def record_present(runner):
    """Record as applied each migration whose changes the database already has."""
    runner.History.create_table(safe=True)
    found = []
    for migration in runner.migrations():
        if migration.load().present(database.obj):
            runner.History.create(name=migration.name)
            found.append(migration.name)
    return found


def refuse_unknown(runner):
    """Raise SchemaError when a newer release has migrated this database further."""
    unknown = [migration.name for migration in runner.status() if migration.path is None]
    if unknown:
        raise SchemaError(
            f"The database has schema migrations this portal does not know "
            f"({', '.join(unknown)}): a newer release upgraded it. Run that release, or "
            "restore a backup taken before the upgrade.")
