"""The database layer: SQLite pragmas for concurrency, schema from init-db, client IP."""

import peewee
import pytest

from portal import db
from portal.accounts import passwords
from portal.models import LoginAttempt


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    if db.is_postgresql():
        pytest.skip("SQLite pragmas")
    with app.app_context():
        assert db.database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10_000


def test_postgresql_connections_carry_a_statement_timeout(app):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL setting")
    with app.app_context():
        assert db.database.execute_sql("SHOW statement_timeout").fetchone()[0] == "5s"


def test_schema_creation_is_idempotent(app):
    from portal import schema
    with app.app_context():
        schema.upgrade()
        assert LoginAttempt.select().count() == 0


@pytest.mark.parametrize(("hops", "forwarded", "recorded"), [
    (0, "203.0.113.9", "127.0.0.1"),
    (1, "203.0.113.9", "203.0.113.9"),
    (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),
])
def test_client_ip_trusts_forwarded_for_only_as_configured(request, database_url, hops,
                                                           forwarded, recorded):
    request.applymarker(pytest.mark.settings(TRUSTED_PROXIES=hops))
    app = request.getfixturevalue("app")
    client = app.test_client()
    client.post("/login", data={"username": "nobody", "password": "x"},
                headers={"X-Forwarded-For": forwarded})
    with app.app_context():
        assert LoginAttempt.get().ip == recorded


def test_dummy_hash_costs_the_same_as_a_real_one(app):
    with app.app_context():
        ours = app.extensions[passwords.EXTENSION]
        assert not ours.hasher.check_needs_rehash(ours.dummy_hash)
        assert not passwords.needs_rehash(passwords.hash_password("anything long"))


def test_prepared_query_converts_columns_and_is_compiled_once_per_database(app, auth):
    from portal.db import Prepared
    from portal.db import arg
    from portal.models import User

    auth.create("root", "correct horse", is_admin=True)
    builds = []

    def build():
        builds.append(1)
        return User.select(User.username, User.is_admin, User.created_at).where(
            User.username == arg(0))
    query = Prepared(build)
    with app.app_context():
        (row,) = query.rows("root")
        assert query.rows("nobody") == []
    assert row[0] == "root" and row[1] is True and hasattr(row[2], "year")
    assert len(builds) == 1


def prepared_on_server():
    """Return the names of the statements prepared on this connection."""
    return {name for (name,) in db.database.execute_sql(
        "SELECT name FROM pg_prepared_statements").fetchall()}


def test_postgresql_prepares_a_query_once_per_connection_and_keeps_it_past_a_rollback(app,
                                                                                        auth):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL statements")
    from portal.db import Prepared
    from portal.db import arg
    from portal.models import User

    auth.create("root", "correct horse")
    query = Prepared(lambda: User.select(User.username).where(User.username == arg(0)))
    with app.app_context():
        assert query.name not in prepared_on_server()
        with db.database.atomic() as transaction:
            assert query.rows("root") == [("root",)]
            transaction.rollback()
        assert query.name in prepared_on_server()
        assert query.rows("root") == [("root",)] and query.rows("nobody") == []
        db.database.close_all()  # a new connection starts with nothing prepared
        assert query.rows("root") == [("root",)]
        assert query.name in prepared_on_server()


@pytest.mark.settings(DB_SERVER_PREPARE=False)
def test_server_side_preparing_can_be_switched_off_for_a_transaction_pooler(app, auth, client):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL statements")
    auth.create("root", "correct horse")
    assert auth.login("root", "correct horse").status_code == 302
    assert client.get("/account/sessions").status_code == 200
    with app.app_context():
        assert prepared_on_server() == set()


def from_another_connection(database_url, sql, params):
    """Run one statement on a connection of its own and return the first row."""
    import psycopg2
    other = psycopg2.connect(database_url)
    try:
        with other.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    finally:
        other.close()


def last_statement_of(backend_pid, database_url):
    """Return the last statement a PostgreSQL backend ran."""
    return from_another_connection(
        database_url, "SELECT query FROM pg_stat_activity WHERE pid = %s", [backend_pid])[0]


def checked_out_backend(app):
    """Take a connection from the pool (as a request's first query does); return its pid."""
    db.database.connect(reuse_if_open=True)
    return db.database.connection().get_backend_pid()


def test_postgresql_pool_skips_the_liveness_round_trip_only_for_a_connection_just_handed_back(
        app, database_url, monkeypatch):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL pool")
    with app.app_context():
        db.database.execute_sql("SELECT 'marker'")
        db.database.close()
        pid = checked_out_backend(app)
        assert last_statement_of(pid, database_url) == "SELECT 'marker'"
        db.database.close()
        monkeypatch.setattr(db.PostgresqlPool, "ALIVE_WITHIN_SECONDS", 0)
        assert checked_out_backend(app) == pid
        assert last_statement_of(pid, database_url) == "SELECT 1"


def test_postgresql_pool_replaces_a_connection_that_died_while_idle(app, database_url,
                                                                    monkeypatch):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL pool")
    monkeypatch.setattr(db.PostgresqlPool, "ALIVE_WITHIN_SECONDS", 0)
    with app.app_context():
        dead = checked_out_backend(app)
        db.database.close()
        from_another_connection(database_url, "SELECT pg_terminate_backend(%s)", [dead])
        assert db.ping()  # the pool noticed, dropped it and connected afresh
        assert db.database.connection().get_backend_pid() != dead


def test_postgresql_pool_notices_a_connection_the_server_ended_just_after_use(app, database_url):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL pool")
    import time
    with app.app_context():
        ended = checked_out_backend(app)
        db.database.close()  # handed back just now: within the no-ping window
        from_another_connection(database_url, "SELECT pg_terminate_backend(%s)", [ended])
        time.sleep(0.3)  # the server's goodbye reaches the socket
        assert db.ping()
        assert db.database.connection().get_backend_pid() != ended


def test_a_prepared_statement_the_server_lost_is_prepared_again(app, auth):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL statements")
    from portal.db import Prepared
    from portal.db import arg
    from portal.models import User

    auth.create("root", "correct horse")
    query = Prepared(lambda: User.select(User.username).where(User.username == arg(0)))
    with app.app_context():
        assert query.rows("root") == [("root",)]
        db.database.execute_sql("DEALLOCATE ALL")  # as a pooler or DISCARD ALL would
        assert query.rows("root") == [("root",)]  # outside a transaction: at once
        db.database.execute_sql("DEALLOCATE ALL")
        with pytest.raises(peewee.DatabaseError), db.database.atomic():
            query.rows("root")  # inside one, that transaction is lost...
        assert query.rows("root") == [("root",)]  # ...and the next use starts afresh
        assert query.name in prepared_on_server()


def test_a_prepared_statement_survives_a_schema_change_of_its_columns(app):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL statements")
    from portal.db import Prepared
    from portal.db import arg

    class Probe(peewee.Model):
        name = peewee.CharField(max_length=10)

        class Meta:
            database = db.database
            table_name = "plan_probe"
    query = Prepared(lambda: Probe.select(Probe.name).where(Probe.name == arg(0)))
    with app.app_context():
        Probe.create_table()
        Probe.create(name="x")
        assert query.rows("x") == [("x",)]
        # A deploy widens the column: the prepared plan's result type no longer holds.
        db.database.execute_sql("ALTER TABLE plan_probe ALTER COLUMN name TYPE text")
        assert query.rows("x") == [("x",)]
        Probe.drop_table()
