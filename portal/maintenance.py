"""Keeping the database in shape: statistics for the planner, maintenance without timeouts."""

import logging
from contextlib import contextmanager
from datetime import timedelta

from peewee import DatabaseError

from portal import clock
from portal.db import database
from portal.db import is_postgresql
from portal.postgres import UNBOUNDED
from portal.postgres import answer_within

STATISTICS_EVERY = timedelta(hours=1)
_optimized_at = None


def init_app(app):
    """Optimize now and then as requests end (registered after db's teardown, so run before)."""
    app.teardown_appcontext(_optimize)


@contextmanager
def no_statement_timeout():
    """Lift PostgreSQL's statement timeout on this connection for maintenance work.

    A migration, a bulk load, VACUUM or ANALYZE may run far longer than a page may,
    and the pages' timeout would cut it off half-way. The connection gets its own
    timeout back before it returns to the pool.
    """
    if not is_postgresql():
        yield
        return
    database.execute_sql("SET statement_timeout = 0")
    try:
        with answer_within(UNBOUNDED):
            yield
    finally:
        database.execute_sql("RESET statement_timeout")


def refresh_statistics():
    """Bring the query planner's statistics up to date now (init-db, seed-demo, prune).

    SQLite gathers none by itself, and without them a combination of filters can be
    planned on the wrong index; its ANALYZE reads at most analysis_limit rows per index.
    PostgreSQL's autovacuum analyzes in time; after a bulk change, now is better.
    """
    with database.connection_context(), no_statement_timeout():
        database.execute_sql("ANALYZE")


def optimize_now_and_then():
    """SQLite: run PRAGMA optimize on this connection once per STATISTICS_EVERY and worker.

    SQLite's advice for long-lived connections, as pooled ones are: it re-analyzes the
    tables this connection's queries used whose statistics are missing or out of date,
    and is otherwise a no-op. So a database grown by sign-ins alone gets statistics.
    """
    global _optimized_at
    now = clock.now()
    # A clock set back (a test, an NTP step) counts as due rather than as years to wait.
    recent = _optimized_at is not None and timedelta(0) <= now - _optimized_at < STATISTICS_EVERY
    if is_postgresql() or recent:
        return
    try:
        database.execute_sql("PRAGMA optimize")
    except DatabaseError as error:  # another connection writes: the next request tries again
        logging.getLogger("portal.db").info("PRAGMA optimize skipped: %s", error)
        return
    _optimized_at = now


def _optimize(exc):
    if not database.is_closed() and not database.in_transaction():
        optimize_now_and_then()
