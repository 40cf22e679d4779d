"""PostgreSQL 14+: statistics on the dense-CIDR filter's expression, `ip_key || ''`.

The expression hides ip_key's index and, with it, the column's statistics: without
these, the planner guesses that few rows match and reads an export's batch by scanning
the whole table and sorting it instead of walking the time index.
"""

import logging

from peewee import DatabaseError
from peewee import PostgresqlDatabase

STATEMENT = ("CREATE STATISTICS IF NOT EXISTS login_attempts_ip_key_text "
             "ON ((ip_key || '')) FROM login_attempts")
log = logging.getLogger("portal.schema")
# A syntax error (before PostgreSQL 14), an unsupported feature, insufficient privilege.
ALLOWED_TO_FAIL = {"42601", "0A000", "42501"}


def up(migrator, db):
    """Create the statistics; before PostgreSQL 14, say so and go on."""
    if not isinstance(db, PostgresqlDatabase):
        return
    try:
        with db.atomic():
            db.execute_sql(STATEMENT)
    except DatabaseError as error:
        code = getattr(getattr(error, "orig", None), "sqlstate", None)
        if code is not None and code not in ALLOWED_TO_FAIL:
            raise  # not a missing feature: a real failure, so init-db stops
        log.warning("CSV exports of wide CIDR filters may read the whole table: could not "
                    "create statistics on an expression (PostgreSQL 14+ has them: %s)", error)


def present(db):
    """Return True on SQLite (nothing to do) or when the statistics exist."""
    if not isinstance(db, PostgresqlDatabase):
        return True
    return db.execute_sql("SELECT 1 FROM pg_statistic_ext WHERE stxname = %s",
                          ("login_attempts_ip_key_text",)).fetchone() is not None
