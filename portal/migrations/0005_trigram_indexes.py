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
# Insufficient privilege, a missing extension's files, an unsupported feature.
ALLOWED_TO_FAIL = {"42501", "58P01", "0A000", "42704"}


def up(migrator, db):
    """Create the indexes; without the right to, say so and go on (free text then scans)."""
    if not isinstance(db, PostgresqlDatabase):
        return
    try:
        with db.atomic():
            for statement in STATEMENTS:
                db.execute_sql(statement)
    except DatabaseError as error:
        if not_allowed(error) is False:
            raise  # not a missing right or feature: a real failure, so init-db stops
        log.warning("free-text search will scan rows: could not create the pg_trgm indexes "
                    "(%s); a superuser can run them later: %s", error, "; ".join(STATEMENTS))


def not_allowed(error):
    """Tell whether an error means "this server or role cannot do it" (None: unknown)."""
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    return None if code is None else code in ALLOWED_TO_FAIL


def present(db):
    """Return True on SQLite (nothing to do) or when the indexes exist."""
    if not isinstance(db, PostgresqlDatabase):
        return True
    # pg_class, not get_indexes: the index of a partitioned table is of relkind 'I'.
    return db.execute_sql("SELECT 1 FROM pg_class WHERE relname = %s AND relkind IN "
                          "('i', 'I')", ("login_attempts_username_trgm",)).fetchone() is not None
