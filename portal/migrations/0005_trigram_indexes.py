"""PostgreSQL: trigram indexes, so the history's free-text filter need not read every row."""

import logging

from peewee import DatabaseError
from peewee import PostgresqlDatabase

# pg_trgm ships with PostgreSQL and is a trusted extension (13+): the database owner may
# create it.
STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS login_attempts_username_trgm "
    "ON login_attempts USING gin (username gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS login_attempts_user_agent_trgm "
    "ON login_attempts USING gin (user_agent gin_trgm_ops)",
]
log = logging.getLogger("portal.schema")


def up(migrator, db):
    """Create the indexes; without the right to, say so and go on (free text then scans)."""
    if not isinstance(db, PostgresqlDatabase):
        return
    try:
        with db.atomic():
            for statement in STATEMENTS:
                db.execute_sql(statement)
    except DatabaseError as error:
        log.warning("free-text search will scan rows: could not create the pg_trgm indexes "
                    "(%s); a superuser can run them later: %s", error, "; ".join(STATEMENTS))


def present(db):
    """Return True on SQLite (nothing to do) or when the indexes exist."""
    if not isinstance(db, PostgresqlDatabase):
        return True
    return "login_attempts_username_trgm" in {index.name for index in
                                              db.get_indexes("login_attempts")}
