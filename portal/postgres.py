"""psycopg 3 under Peewee's pool: bounded waits, prepared hot statements, no liveness ping.

portal.db builds the pool from the settings; this module holds what psycopg and Peewee
are told to do differently, each through their own extension points (a Connection and
a Cursor class, Peewee's adapter).
"""

import contextvars
import re
import select
import weakref
from contextlib import contextmanager

import psycopg
from playhouse.postgres_ext import PooledPsycopg3Database
from playhouse.postgres_ext import Psycopg3ExtAdapter

UNBOUNDED = float("inf")
# "prepared statement does not exist"; "cached plan must not change result type".
STALE_STATEMENT = {"26000", "0A000"}
_PREPARED = set()
_RETIRED = weakref.WeakSet()


def prepare_on_server(sql):
    """Have this statement prepared on the server, once per connection, from its first use."""
    _PREPARED.add(sql)


def sqlstate(error):
    """Return the SQLSTATE of a PostgreSQL error (psycopg's or Peewee's), or None."""
    return getattr(error, "sqlstate", None) or getattr(getattr(error, "orig", None),
                                                       "sqlstate", None)


# What libpq says when the server refuses a connection: the cause in a few words (for
# the log and /healthz), and what the operator can do (for a command's one line).
REFUSALS = [
    (re.compile(r'database "(.+?)" does not exist'), "no such database or role",
     "{where} has no database {0!r}: create it (createdb {0}), or correct the URL"),
    (re.compile(r'role "(.+?)" does not exist'), "no such database or role",
     "{where} has no role {0!r}: create it (createuser {0}), or correct the URL's user"),
    (re.compile(r'password authentication failed for user "(.+?)"'), "wrong password",
     "{where} refused the password of {0!r}: correct the URL's password"),
]


def refused_cause(error):
    """Return why the server refused the connection, in a few words, or None."""
    return next((cause for pattern, cause, _ in REFUSALS if pattern.search(str(error))), None)


def refusal(error, params):
    """Return why a connection with these parameters failed, and the fix, in one sentence."""
    where = f"PostgreSQL at {params.get('host') or 'the local socket'}:{params.get('port', 5432)}"
    text = str(error).removeprefix("connection failed: ")
    for pattern, _, advice in REFUSALS:
        found = pattern.search(text)
        if found:
            return advice.format(*found.groups(), where=where)
    # libpq's own words, e.g. "Connection refused", "timeout expired", without its hints.
    cause = text.splitlines()[0].rpartition(" failed: ")[2] if text else "no reason given"
    return f"cannot reach {where} ({cause}): start it, or correct the host and port in the URL"


def retire(conn):
    """Take a connection out of the pool when it is handed back."""
    _RETIRED.add(conn)


class Connection(psycopg.Connection):
    """A psycopg connection that waits for its server at most `answer_within` seconds.

    Every exchange with the server (a query, a pipeline's sync, COMMIT) waits through
    `wait()`. When the server does not answer in time it is not going to (its processes
    are stopped, its host or disk hangs): the connection is dropped, since its state is
    unknown, and the caller gets an OperationalError, which a page turns into a 503.
    """

    answer_within = None

    def wait(self, gen, interval=0.1, timeout=None):
        if timeout is None:
            timeout = _waiting.get() or self.answer_within
        try:
            return super().wait(gen, interval, timeout)
        except psycopg.errors._WaitTimeout:  # what wait(timeout=...) raises, as its docstring says
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"the database did not answer within {timeout:g} s") from None


_waiting = contextvars.ContextVar("answer_within", default=None)


@contextmanager
def answer_within(seconds):
    """Wait at most `seconds` (or UNBOUNDED) for each answer of PostgreSQL in this block."""
    token = _waiting.set(seconds)
    try:
        yield
    finally:
        _waiting.reset(token)


class Cursor(psycopg.Cursor):
    """Prepares on the server the statements of CompiledQuery, and no other.

    The history's ad-hoc filters keep a plan made for their own values: a prepared
    statement may switch to a generic plan, which a skewed filter pays for.
    """

    def execute(self, query, params=None, *, prepare=None, binary=None):
        if prepare is None:
            prepare = query in _PREPARED
        return super().execute(query, params, prepare=prepare, binary=binary)


class Adapter(Psycopg3ExtAdapter):
    """Peewee's psycopg 3 adapter, with bounded waits and without a liveness round trip."""

    def connect(self, db, **params):
        conn = Connection.connect(dbname=db.database, cursor_factory=Cursor,
                                  prepare_threshold=0 if db.server_prepare else None, **params)
        conn.answer_within = db.answer_within
        return conn

    def is_connection_closed(self, conn):
        # Peewee asks the server (SELECT 1) before handing out an idle connection: one more
        # round trip per request, as costly as the page's own lookup. A server that ends
        # a connection (restart, pg_terminate_backend) says so on the socket first; one
        # that hangs would hang the SELECT 1 too, and the bounded wait catches it.
        if conn.closed or conn.broken or self.txn_status(conn) != self.txn_idle:
            return super().is_connection_closed(conn)
        poller = select.poll()  # not select.select: it fails on descriptors past 1024
        poller.register(conn.fileno(), select.POLLIN)
        if poller.poll(0):
            conn.close()
            return True
        return False

    def is_connection_reusable(self, conn):
        return conn not in _RETIRED and super().is_connection_reusable(conn)


class PostgresqlPool(PooledPsycopg3Database):
    """Peewee's pooled psycopg 3 database, with the adapter above."""

    psycopg3_adapter = Adapter
    server_prepare = True  # PORTAL_DB_SERVER_PREPARE
    answer_within = None  # seconds; see Connection
