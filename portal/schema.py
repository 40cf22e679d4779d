"""init-db: create or upgrade the schema (tables, indexes, partitions); safe to run again."""

import logging

from flask import current_app
from peewee import DatabaseError

from portal import partitions
from portal.db import database
from portal.db import is_postgresql
from portal.models import TABLES
from portal.models import LoginAttempt

# PostgreSQL: trigram indexes let the history's free-text filter (ILIKE '%text%') use an
# index instead of reading every row. pg_trgm ships with PostgreSQL and is a trusted
# extension (13+), so the database owner may create it.
TRIGRAM_INDEXES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS login_attempts_username_trgm "
    "ON login_attempts USING gin (username gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS login_attempts_user_agent_trgm "
    "ON login_attempts USING gin (user_agent gin_trgm_ops)",
]

log = logging.getLogger("portal.schema")


def create():
    """Create every missing table, index and (when configured) monthly partition."""
    partitioned = current_app.config["ATTEMPT_PARTITIONS"]
    with database.connection_context():
        if partitioned:
            database.create_tables([t for t in TABLES if t is not LoginAttempt], safe=True)
            partitions.create_table()
        else:
            database.create_tables(TABLES, safe=True)
        if is_postgresql():
            create_trigram_indexes()


def create_trigram_indexes():
    """Add the free-text indexes; without the right to create pg_trgm, say so and go on."""
    try:
        with database.atomic():
            for statement in TRIGRAM_INDEXES:
                database.execute_sql(statement)
    except DatabaseError as error:
        log.warning("free-text search will scan rows: could not create pg_trgm indexes (%s)",
                    error)
