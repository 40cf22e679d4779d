"""The database connection: one proxy, bound to a pooled database from the settings.

A request takes a connection from the pool on its first query (Peewee's autoconnect)
and hands it back when it ends, so static files never touch the database and a worker
holds no connection while it waits for a client. PostgreSQL goes through psycopg 3
(portal.postgres): a transaction runs in pipeline mode (`transaction()`), and the hot
queries are compiled once (`CompiledQuery`) and prepared on the server.
"""

import errno
import os
import weakref
from contextlib import contextmanager
from contextlib import suppress

import psycopg
from peewee import DatabaseError
from peewee import DatabaseProxy
from peewee import OperationalError
from peewee import Value
from peewee import __exception_wrapper__
from playhouse.db_url import parse
from playhouse.pool import PooledSqliteDatabase

from portal import postgres
from portal.config import ConfigError
from portal.postgres import PostgresqlPool

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "busy_timeout": 10_000,  # wait for the write lock instead of failing at once
    "synchronous": "normal",  # with WAL: durable across a crash of the process
    "foreign_keys": 1,
    "analysis_limit": 1000,  # an ANALYZE (or PRAGMA optimize) reads at most this per index
}
STALE_SECONDS = 300
CONNECT_TIMEOUT = 2  # seconds; libpq's least. A URL's own connect_timeout wins.
ANSWER_MARGIN = 0.5  # seconds past the statement timeout before the server counts as hung
URL_SETTING = "PORTAL_DATABASE_URL"


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
        return SqlitePool(sqlite_path(name, app), pragmas=SQLITE_PRAGMAS,
                          check_same_thread=False, lock_type="IMMEDIATE", **pool)
    if scheme in ("postgres", "postgresql"):
        timeout = app.config["DB_STATEMENT_TIMEOUT"]
        options.setdefault("options", f"-c statement_timeout={timeout}")
        options.setdefault("connect_timeout", CONNECT_TIMEOUT)
        db = PostgresqlPool(name, **options, **pool)
        db.server_prepare = app.config["DB_SERVER_PREPARE"]
        # A statement the server runs ends by the statement timeout, its error included;
        # a server that says nothing for longer has stopped (a frozen host, a stalled disk).
        db.answer_within = timeout / 1000 + ANSWER_MARGIN if timeout else None
        return db
    raise ConfigError(f"{URL_SETTING}: unsupported database {scheme!r} "
                      "(use sqlite:///path or postgresql://user@host/name).")


def sqlite_path(name, app):
    """Return the file of a SQLite URL, relative to the project folder (the instance's
    parent), in a folder SQLite can write (a relative path's is made), created 0600 if new.
    """
    if name == ":memory:":
        return name
    path = os.path.join(os.path.dirname(app.instance_path), name)  # an absolute name wins
    folder = os.path.dirname(path)
    try:
        if not os.path.isabs(name):
            os.makedirs(folder, exist_ok=True)
        if not os.path.isdir(folder):
            raise FileNotFoundError(errno.ENOENT, "no such folder", folder)
        # Even when the file is writable, SQLite creates its -wal and -shm files beside it.
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "this user may not write in it", folder)
        # SQLite would create the file 0644 (with the usual umask); it gives the -wal and
        # -shm files the mode of the main file. The file holds password hashes.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as error:
        raise ConfigError(f"{URL_SETTING}: cannot use {error.filename} for the SQLite "
                          f"database ({error.strerror}): create the folder, make it "
                          "writable by this user, or name another path.") from None
    return path


def check_connection():
    """Connect once, so a database the URL leads to but cannot open stops a command in one line.

    Only commands and run.py check: a served app that cannot connect answers 503 and
    recovers by itself once the database is back.
    """
    try:
        with database.connection_context():
            pass
    except OperationalError as error:
        reason = (postgres.refusal(error, database.obj.connect_params) if is_postgresql()
                  else f"cannot open the SQLite database {database.obj.database} ({error}): "
                  "correct the path")
        raise ConfigError(f"{URL_SETTING}: {reason}.") from None


class SqlitePool(PooledSqliteDatabase):
    def rollback(self):
        # SQLite ends the transaction itself on some errors (a full disk, an I/O error);
        # a ROLLBACK then fails with "no transaction is active" and hides the cause.
        if self.connection().in_transaction:
            super().rollback()


def is_postgresql():
    """Return True when the bound database is PostgreSQL."""
    return isinstance(database.obj, PostgresqlPool)


@contextmanager
def transaction(asynchronous_commit=False):
    """`database.atomic()`; on PostgreSQL in pipeline mode, so fewer round trips.

    A statement whose result nobody reads travels with the next one that is read, or
    with the COMMIT: a sign-in's settlement is one round trip. An error reports late
    (at the next read, or when the block ends; later statements fail as
    PipelineAborted) and rowcount is -1 until read: use it for writes that cannot fail
    but for database trouble, and read no rowcount in it.

    asynchronous_commit: COMMIT returns before its WAL reaches the disk, for effects
    only worth keeping once a later transaction commits (a sign-in's advance failure
    count, with its attempt): PostgreSQL writes its log in order, so the later,
    synchronous COMMIT makes this one durable too. Nested, it is a savepoint.
    """
    if not is_postgresql() or database.in_transaction():
        # Nested: a savepoint, in the enclosing pipeline if there is one. (A pipeline of
        # its own would skip the savepoint's ROLLBACK TO after an error.)
        with database.atomic():
            yield
        return
    conn = database.connection()
    try:
        with conn.pipeline(), database.atomic():
            if asynchronous_commit:
                database.execute_sql("SET LOCAL synchronous_commit TO OFF")
            yield
    except psycopg.Error:
        # Raised by the pipeline's last sync, past Peewee's atomic(), which took the
        # COMMIT for done: raise it as Peewee's error (the transaction is undone below).
        with __exception_wrapper__:
            raise
    finally:
        if not conn.closed and conn.info.transaction_status == INERROR:
            # If even this fails, the error on its way out says more; the pool then
            # drops the connection, whose rollback fails again.
            with suppress(psycopg.Error):
                conn.rollback()


INERROR = psycopg.pq.TransactionStatus.INERROR


class Slot:
    """Stands for the named argument of a CompiledQuery."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


def arg(name):
    """Return the placeholder of argument `name` in a CompiledQuery's builder."""
    return Value(Slot(name), converter=False)


class CompiledQuery:
    """A fixed-shape query turned into SQL by Peewee once per database, then run with new
    named arguments: `Q = CompiledQuery(lambda: User.select().where(User.id == arg("id")))`,
    then `Q.rows(id=7)`.

    Turning a query into SQL takes Peewee longer than SQLite takes to run it, and each
    hot query has one shape. On PostgreSQL the statement is also prepared on the server
    at its first use on each connection, unless PORTAL_DB_SERVER_PREPARE is off.
    Arguments go to the driver as given (no field conversion): pass plain str, int and
    datetime values.
    """

    def __init__(self, build):
        self.build = build
        # Keyed by the database object itself (not its id, which a new object may reuse).
        self.compiled = weakref.WeakKeyDictionary()

    def run(self, **args):
        """Run the statement and return the cursor."""
        return self._run(args, lambda cursor: cursor)

    def rows(self, **args):
        """Return the rows as tuples, each column converted as its field would."""
        converters = self._compiled()[2]
        return [tuple(convert(value) if convert else value
                      for convert, value in zip(converters, row, strict=True))
                for row in self._run(args, lambda cursor: cursor.fetchall())]

    def _run(self, args, then):
        sql, params, _ = self._compiled()
        values = [args[p.name] if isinstance(p, Slot) else p for p in params]
        try:
            return then(database.execute_sql(sql, values))
        except (DatabaseError, psycopg.Error) as error:  # a pipeline's fetch raises psycopg's
            if postgres.sqlstate(error) not in postgres.STALE_STATEMENT:
                raise
            # The server lost the prepared statement (a pooler's reset) or a schema change
            # altered what it returns, and psycopg would go on using it: the connection
            # leaves the pool. Outside a transaction, run again on a fresh one.
            postgres.retire(database.connection())
            if database.in_transaction():
                raise
            database.manual_close()
            return then(database.execute_sql(sql, values))

    def _compiled(self):
        key = database.obj
        if key not in self.compiled:
            query = self.build()
            sql, params = query.sql()
            returning = getattr(query, "_returning", None) or []
            converters = [getattr(column, "python_value", None) for column in
                          (c.unwrap() if hasattr(c, "unwrap") else c for c in returning)]
            self.compiled[key] = (sql, params, converters)
            if isinstance(key, PostgresqlPool):
                postgres.prepare_on_server(sql)
        return self.compiled[key]


def _close(exc):
    """Hand this request's connection back to the pool."""
    if not database.is_closed():
        database.close()
