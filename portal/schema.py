"""init-db: create or upgrade the schema (tables, indexes, partitions); safe to run again."""

import logging

from flask import current_app
from peewee import DatabaseError

from portal.db import database
from portal.db import is_postgresql
from portal.history import partitions
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

# PostgreSQL: a dense CIDR filter compares `ip_key || ''` (history.queries.ip_condition),
# which hides ip_key's index and, with it, the column's statistics. The planner then
# guesses that few rows match and, for an export's batch, reads the whole table in
# parallel and sorts it instead of walking the time index. Statistics on the expression
# itself (PostgreSQL 14+) tell it the real share; ANALYZE (autovacuum, or seed-demo)
# fills them in.
EXPRESSION_STATISTICS = ("CREATE STATISTICS IF NOT EXISTS login_attempts_ip_key_text "
                         "ON ((ip_key || '')) FROM login_attempts")

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
            create_expression_statistics()


def create_trigram_indexes():
    """Add the free-text indexes; without the right to create pg_trgm, say so and go on."""
    try:
        with database.atomic():
            for statement in TRIGRAM_INDEXES:
                database.execute_sql(statement)
    except DatabaseError as error:
        log.warning("free-text search will scan rows: could not create pg_trgm indexes (%s)",
                    error)


def create_expression_statistics():
    """Add the statistics the CIDR filter's plan needs; before PostgreSQL 14, say so."""
    try:
        with database.atomic():
            database.execute_sql(EXPRESSION_STATISTICS)
    except DatabaseError as error:
        log.warning("CSV exports of wide CIDR filters may read the whole table: could not "
                    "create statistics on an expression (PostgreSQL 14+ has them: %s)", error)
