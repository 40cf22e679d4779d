"""The database connection: one proxy, bound to a pooled database from the settings.

A request takes a connection from the pool on its first query (Peewee's
autoconnect) and hands it back when it ends, so static files never touch the
database and a worker holds no connection while it waits for a client.
"""

import itertools
import logging
import os
import re
import select
import time
import weakref
from contextlib import contextmanager
from datetime import timedelta

from peewee import DatabaseError
from peewee import DatabaseProxy
from peewee import InterfaceError
from peewee import InternalError
from peewee import OperationalError
from peewee import Value
from playhouse.db_url import parse
from playhouse.pool import MaxConnectionsExceeded
from playhouse.pool import PooledPostgresqlDatabase
from playhouse.pool import PooledSqliteDatabase
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
from psycopg2.extensions import TRANSACTION_STATUS_INERROR

from portal import clock
from portal.config import ConfigError

database = DatabaseProxy()

# The errors that may mean "the database cannot serve now" (503); unavailable_cause()
# tells them from the schema errors that SQLite raises under the same class (500).
# PostgreSQL reports a read-only server as an InternalError: only that one is a 503.
UNAVAILABLE = (OperationalError, InterfaceError, InternalError, MaxConnectionsExceeded)
SCHEMA_ERRORS = ("no such table", "no such column", "has no column named", "syntax error")
CAUSES = [("full", "disk full"), ("no space", "disk full"), ("disk i/o", "disk error"),
          ("readonly", "read-only"), ("read-only", "read-only"),
          ("database is locked", "busy past its timeout"),
          ("canceling statement", "busy past its timeout"), ("deadlock", "busy (deadlock)"),
          ("too many clients", "out of connections")]

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "busy_timeout": 10_000,  # wait for the write lock instead of failing at once
    "synchronous": "normal",  # with WAL: durable across a crash of the process
    "foreign_keys": 1,
    "analysis_limit": 1000,  # an ANALYZE (or PRAGMA optimize) reads at most this per index
}
STALE_SECONDS = 300


def init_app(app):
    """Bind the database to the configured URL; hand connections back after each request."""
    database.initialize(open_database(app.config["DATABASE_URL"], app))
    app.teardown_appcontext(_close)


def open_database(url, app):
    """Return a pooled Peewee database for a sqlite:// or postgresql:// URL."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    options = parse(url)
    name = options.pop("database")
    pool = {"max_connections": app.config["DB_POOL_SIZE"], "stale_timeout": STALE_SECONDS,
            "timeout": app.config["DB_POOL_WAIT"]}
    if scheme == "sqlite":
        # Pooled connections move between threads; each is used by one thread at a time.
        # BEGIN IMMEDIATE: a transaction takes the write lock at its start, so two
        # transactions never both read and then fail to upgrade (SQLITE_BUSY).
        return PooledSqliteDatabase(sqlite_path(name, app), pragmas=SQLITE_PRAGMAS,
                                    check_same_thread=False, lock_type="IMMEDIATE", **pool)
    if scheme in ("postgres", "postgresql"):
        timeout = app.config["DB_STATEMENT_TIMEOUT"]
        options.setdefault("options", f"-c statement_timeout={timeout}")
        db = PostgresqlPool(name, **options, **pool)
        db.server_prepare = app.config["DB_SERVER_PREPARE"]
        return db
    raise ConfigError(f"PORTAL_DATABASE_URL: unsupported database {scheme!r} "
                     "(use sqlite:///path or postgresql://user@host/name).")


class PostgresqlPool(PooledPostgresqlDatabase):
    """Peewee's PostgreSQL pool, minus most round trips that carry no information.

    Liveness: Peewee checks each connection it hands out with a `SELECT 1`, one more
    round trip per request, as costly as the page's own lookup. A connection handed
    back within the last second, still idle, and with nothing from the server waiting
    on its socket is taken to be alive without it. A server that ends a connection
    (restart, pg_terminate_backend) says so on the socket first, so that case is
    still caught; a connection that sat idle longer is checked as before.

    Deferred statements: in a transaction, `BEGIN` and the writes whose result nobody
    reads (`Prepared.write`) wait, and travel in one message with the transaction's
    next statement, or with its `COMMIT`. The server runs them in the same order,
    in the same transaction, so what commits is unchanged; a sign-in's second
    transaction is one round trip instead of nine. The price: a deferred write that
    fails reports at the next statement, so only writes that cannot fail but for
    database trouble are deferred, and any failure still rolls the whole
    transaction back.
    """

    ALIVE_WITHIN_SECONDS = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._handed_back_at = weakref.WeakKeyDictionary()

    def _is_closed(self, conn):
        handed_back_at = self._handed_back_at.get(conn)
        if (handed_back_at is not None and not conn.closed
                and time.monotonic() - handed_back_at < self.ALIVE_WITHIN_SECONDS
                and conn.get_transaction_status() == TRANSACTION_STATUS_IDLE
                and not server_has_spoken(conn)):
            return False
        return super()._is_closed(conn)

    def _close(self, conn, close_conn=False):
        self._discard_deferred(conn)
        self._handed_back_at[conn] = time.monotonic()
        super()._close(conn, close_conn)

    def _discard_deferred(self, conn):
        """Drop the waiting statements; return True when BEGIN was among them (never sent)."""
        deferred = self._deferred()
        never_began = deferred[:1] == [BEGIN]
        if holds_prepare(deferred):
            # Counted as prepared when queued, but never sent: prepare afresh next time.
            _RESET_NEEDED.add(conn)
        deferred.clear()
        return never_began

    def _deferred(self):
        """Return this thread's statements waiting for the next round trip (SQL bytes)."""
        try:
            return self._state.deferred
        except AttributeError:
            self._state.deferred = []
            return self._state.deferred

    def begin(self, isolation_level=None):
        if isolation_level or self._isolation_level:
            self.flush()
            super().begin(isolation_level)
            return
        self.connection()  # opened now: Peewee forgets open transactions on connecting
        self._deferred().append(BEGIN)

    def defer(self, sql, params=()):
        """Run a statement whose result nobody reads with the next one, in a transaction.

        Outside a transaction it runs at once: deferring it would change what other
        connections see, and when.
        """
        if not self.in_transaction():
            self.execute_sql(sql, params)
            return
        self._deferred().append(self.connection().cursor().mogrify(sql, params))

    def execute_sql(self, sql, params=None):
        if not self._deferred():
            return self._execute(sql, params)
        return self._send_deferred(self.connection().cursor().mogrify(sql, params or ()))

    def _send_deferred(self, *then):
        deferred = self._deferred()
        statements = [*deferred, *then]
        deferred.clear()
        try:
            # psycopg2 applies %-formatting whenever it is given parameters (Peewee always
            # gives some): the values are already quoted in, so every % is a literal one.
            return self._execute(b"; ".join(statements).replace(b"%", b"%%"), ())
        except DatabaseError:
            if holds_prepare(statements):
                # The server stopped at the failing statement: a PREPARE after it never
                # ran, so prepare everything afresh on this connection's next use.
                _RESET_NEEDED.add(self.connection())
            raise

    def _execute(self, sql, params):
        try:
            return super().execute_sql(sql, params)
        except DatabaseError as error:
            if is_stale(error):
                # The server lost a prepared statement, or a schema change altered what
                # it returns: prepare them all afresh on this connection's next use.
                _RESET_NEEDED.add(self.connection())
            raise

    def flush(self):
        """Send the deferred statements now."""
        if self._deferred():
            self._send_deferred()

    def cursor(self, named_cursor=None):
        # Whoever runs SQL on a raw cursor expects the transaction's earlier statements
        # to have run (Peewee's own execute_sql comes here with nothing deferred).
        self.flush()
        return super().cursor(named_cursor)

    def commit(self):
        deferred = self._deferred()
        if deferred == [BEGIN]:  # nothing ran: there is no transaction on the server
            deferred.clear()
            return
        if self.connection().get_transaction_status() == TRANSACTION_STATUS_INERROR:
            # A deferred write failed, and code meant for another error caught it (say,
            # around a nested atomic()): PostgreSQL would turn this COMMIT into a silent
            # ROLLBACK. Fail instead, as the write would have failed where it was made.
            raise InternalError("the transaction was aborted by an earlier error; "
                                "nothing was committed")
        if deferred:
            self._send_deferred(b"COMMIT")
        else:
            super().commit()

    def rollback(self):
        # The waiting statements belong to the transaction being undone.
        if not self._discard_deferred(self.connection()):
            super().rollback()


BEGIN = b"BEGIN"


def holds_prepare(statements):
    """Return True when a PREPARE is among these SQL statements (bytes)."""
    return any(statement.startswith(b"PREPARE ") for statement in statements)


def is_stale(error):
    """Return True for an error saying a prepared statement is gone or out of date."""
    return getattr(getattr(error, "orig", None), "pgcode", None) in STALE_STATEMENT


def server_has_spoken(conn):
    """Return True when an idle connection has input waiting: the server is ending it."""
    poller = select.poll()  # not select.select: it fails on descriptors past 1024
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def sqlite_path(name, app):
    """Resolve a relative SQLite path against the project folder (the instance's parent)."""
    if name == ":memory:" or os.path.isabs(name):
        return name
    path = os.path.join(os.path.dirname(app.instance_path), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


class Slot:
    """Stands for the n-th argument of a Prepared query."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


def arg(index):
    """Return the placeholder of argument `index` in a Prepared query's builder."""
    return Value(Slot(index), converter=False)


class Prepared:
    """A fixed-shape query turned into SQL by Peewee once, then run with new arguments.

    Turning a query into SQL takes Peewee longer than SQLite takes to run it, and a
    page's hot queries have one shape each, so that work is done once per database.
    On PostgreSQL the statement is also prepared on the server, once per connection
    (PREPARE/EXECUTE), which spares parsing and planning on every later use.
    Arguments go to the driver as given (no field conversion), so pass plain str, int
    and datetime values; an integer beyond the column's range is an error on
    PostgreSQL rather than no match.
    """

    _names = itertools.count(1)

    def __init__(self, build):
        self.build = build
        self.name = f"portal_{next(self._names)}"
        # Keyed by the database object itself (not its id, which a new object may reuse).
        self.compiled = weakref.WeakKeyDictionary()

    def rows(self, *args):
        """Return the rows as tuples, each column converted as its field would."""
        cursor = self.execute(*args)
        converters = self._compiled().converters
        return [tuple(convert(value) if convert else value
                      for convert, value in zip(converters, row, strict=True))
                for row in cursor.fetchall()]

    def execute(self, *args):
        """Run the statement and return the cursor."""
        return self._run(args, later=False)

    def write(self, *args):
        """Run a write whose result nobody reads (an INSERT or UPDATE that cannot fail but
        for database trouble). In a transaction on PostgreSQL it travels with the
        transaction's next statement: see PostgresqlPool."""
        self._run(args, later=True)

    def _run(self, args, later):
        compiled = self._compiled()
        values = [args[p.index] if isinstance(p, Slot) else p for p in compiled.params]
        if compiled.server_sql is None:
            return _send(compiled.sql, values, later)
        try:
            return self._execute_prepared(compiled, values, later)
        except DatabaseError as error:
            if not is_stale(error):
                raise
            # Outside a transaction the statements can be prepared afresh at once (the
            # pool marked the connection); inside one the transaction is lost, and the
            # next use does it.
            if database.in_transaction():
                raise
            return self._execute_prepared(compiled, values, later)

    def _execute_prepared(self, compiled, values, later):
        connection = database.connection()
        prepared = _PREPARED_ON.setdefault(connection, set())
        if connection in _RESET_NEEDED:
            database.execute_sql("DEALLOCATE ALL")
            prepared.clear()
            _RESET_NEEDED.discard(connection)
        placeholders = f"({', '.join(['%s'] * len(values))})" if values else ""
        sql = f"EXECUTE {self.name}{placeholders}"
        if self.name not in prepared:
            # Session-level, so it outlives the transaction (and a rollback) it ran in;
            # sent in the same message as its first use.
            sql = f"PREPARE {self.name} AS {compiled.server_sql}; {sql}"
            prepared.add(self.name)
        return _send(sql, values, later)

    def _compiled(self):
        key = database.obj
        if key not in self.compiled:
            self.compiled[key] = Compiled.of(self.build(), key)
        return self.compiled[key]


def _send(sql, values, later):
    """Run a statement now, or (later=True, on PostgreSQL) with the transaction's next one."""
    if later and isinstance(database.obj, PostgresqlPool):
        return database.obj.defer(sql, values)
    return database.execute_sql(sql, values)


# The statements prepared on each PostgreSQL connection (a new connection has none), and
# the connections whose prepared statements went stale (see PostgresqlPool._execute).
_PREPARED_ON = weakref.WeakKeyDictionary()
_RESET_NEEDED = weakref.WeakSet()
# SQLSTATEs of an EXECUTE whose statement is gone (a pooler, DISCARD ALL) or whose result
# type a schema change altered ("cached plan must not change result type").
STALE_STATEMENT = {"26000", "0A000"}
_PLACEHOLDER = re.compile(r"%s")


class Compiled:
    """A query's SQL, its parameters (Slots for the arguments) and its columns' converters."""

    __slots__ = ("sql", "params", "converters", "server_sql")

    def __init__(self, sql, params, converters, server_sql):
        self.sql, self.params, self.converters = sql, params, converters
        self.server_sql = server_sql

    @classmethod
    def of(cls, query, db):
        """Compile a Peewee query for one database."""
        sql, params = query.sql()
        returning = getattr(query, "_returning", None) or []
        converters = [getattr(column, "python_value", None) for column in
                      (c.unwrap() if hasattr(c, "unwrap") else c for c in returning)]
        return cls(sql, params, converters, server_form(sql, len(params), db))


def server_form(sql, count, db):
    """Return the SQL with $1..$n placeholders for PREPARE, or None not to prepare it."""
    if not getattr(db, "server_prepare", False) or "%%" in sql:
        return None
    pieces = _PLACEHOLDER.split(sql)
    if len(pieces) != count + 1:
        return None
    numbered = [pieces[0]]
    for index, piece in enumerate(pieces[1:], start=1):
        numbered.append(f"${index}{piece}")
    return "".join(numbered)


@contextmanager
def atomic_async_commit():
    """`database.atomic()`, whose COMMIT returns before its WAL reaches the disk.

    For a transaction whose effects are only worth keeping once a later transaction
    commits, as a sign-in's advance failure count is with the attempt it was taken
    for: PostgreSQL writes its log in order, so the later, synchronous COMMIT makes
    this one durable too, and a server crash in between loses both together. Other
    connections see the commit at once, as always. Costs no round trip: the SET
    travels with the transaction's first statement. Nested in another transaction,
    it is a plain savepoint (the enclosing COMMIT decides). On SQLite it is plain
    atomic(): its WAL commits do not wait for the disk (synchronous=normal).
    """
    outermost = not database.in_transaction()
    with database.atomic():
        if outermost and isinstance(database.obj, PostgresqlPool):
            database.obj.defer(ASYNCHRONOUS_COMMIT)
        yield


ASYNCHRONOUS_COMMIT = "SET LOCAL synchronous_commit TO OFF"


def unavailable_cause(error):
    """Return why the database could not serve, in a few words, or None for a schema error."""
    if isinstance(error, MaxConnectionsExceeded):
        return "every pooled connection is busy"
    text = str(error).lower()
    if any(marker in text for marker in SCHEMA_ERRORS):
        return None
    cause = next((cause for marker, cause in CAUSES if marker in text), None)
    if isinstance(error, InternalError):
        return cause if cause == "read-only" else None  # otherwise the code's own fault
    return cause or "unreachable"


def ping():
    """Return True when the database answers a trivial query."""
    try:
        database.execute_sql("SELECT 1").fetchone()
    except UNAVAILABLE:
        return False
    return True


def is_postgresql():
    """Return True when the bound database is PostgreSQL."""
    return isinstance(database.obj, PooledPostgresqlDatabase)


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


STATISTICS_EVERY = timedelta(hours=1)
_optimized_at = None


def _close(exc):
    """Hand this request's connection back to the pool (after optimizing, now and then)."""
    if not database.is_closed():
        try:
            if not database.in_transaction():
                optimize_now_and_then()
        finally:
            database.close()
