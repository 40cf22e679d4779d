"""The database layer: SQLite pragmas for concurrency, schema from init-db, client IP."""

import peewee
import pytest

from portal import availability
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


def test_a_compiled_query_converts_columns_and_is_compiled_once_per_database(app, auth):
    from portal.db import CompiledQuery
    from portal.db import arg
    from portal.models import User

    auth.create("root", "correct horse battery", is_admin=True)
    builds = []

    def build():
        builds.append(1)
        return User.select(User.username, User.is_admin, User.created_at).where(
            User.username == arg("name"))
    query = CompiledQuery(build)
    with app.app_context():
        (row,) = query.rows(name="root")
        assert query.rows(name="nobody") == []
    assert row[0] == "root" and row[1] is True and hasattr(row[2], "year")
    assert len(builds) == 1


def prepared_on_server():
    """Return the statements prepared on this connection."""
    return {statement for (statement,) in db.database.execute_sql(
        "SELECT statement FROM pg_prepared_statements").fetchall()}


def by_name():
    from portal.db import CompiledQuery
    from portal.db import arg
    from portal.models import User
    return CompiledQuery(lambda: User.select(User.username).where(User.username == arg("n")))


def test_postgresql_prepares_a_compiled_query_at_first_use_on_each_connection(app, auth):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL statements")
    auth.create("root", "correct horse battery")
    query = by_name()
    with app.app_context():
        assert prepared_on_server() == set()
        assert query.rows(n="root") == [("root",)]
        assert len(prepared_on_server()) == 1
        assert query.rows(n="nobody") == []
        db.database.execute_sql("SELECT 1")  # an ad-hoc query is not prepared
        assert len(prepared_on_server()) == 1
        db.database.close_all()  # a new connection starts with nothing prepared
        assert prepared_on_server() == set()
        assert query.rows(n="root") == [("root",)]
        assert len(prepared_on_server()) == 1


@pytest.mark.settings(DB_SERVER_PREPARE=False)
def test_server_side_preparing_can_be_switched_off_for_a_transaction_pooler(app, auth, client):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL statements")
    auth.create("root", "correct horse battery")
    assert auth.login("root", "correct horse battery").status_code == 302
    assert client.get("/account/sessions").status_code == 200
    with app.app_context():
        assert prepared_on_server() == set()


def from_another_connection(database_url, sql, params):
    """Run one statement on a connection of its own and return the first row."""
    import psycopg
    with psycopg.connect(database_url, autocommit=True) as other:
        return other.execute(sql, params).fetchone()


def last_statement_of(backend_pid, database_url):
    """Return the last statement a PostgreSQL backend ran."""
    return from_another_connection(
        database_url, "SELECT query FROM pg_stat_activity WHERE pid = %s", [backend_pid])[0]


def checked_out_backend(app):
    """Take a connection from the pool (as a request's first query does); return its pid."""
    db.database.connect(reuse_if_open=True)
    return db.database.connection().info.backend_pid


def test_postgresql_pool_hands_out_an_idle_connection_without_a_liveness_round_trip(
        app, database_url):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL pool")
    with app.app_context():
        db.database.execute_sql("SELECT 'marker'")
        db.database.close()
        pid = checked_out_backend(app)
        assert last_statement_of(pid, database_url) == "SELECT 'marker'"


def test_postgresql_pool_replaces_a_connection_the_server_ended_while_idle(app, database_url):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL pool")
    import time
    with app.app_context():
        ended = checked_out_backend(app)
        db.database.close()
        from_another_connection(database_url, "SELECT pg_terminate_backend(%s)", [ended])
        time.sleep(0.3)  # the server's goodbye reaches the socket
        assert availability.check() is None  # the pool dropped it and connected afresh
        assert db.database.connection().info.backend_pid != ended


def test_a_prepared_statement_the_server_lost_is_run_again_on_a_fresh_connection(app, auth):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL statements")
    auth.create("root", "correct horse battery")
    query = by_name()
    with app.app_context():
        assert query.rows(n="root") == [("root",)]
        lost = db.database.connection()
        # As a pooler resetting the server connection would, unseen by psycopg:
        lost.pgconn.exec_(b"DEALLOCATE ALL")
        assert query.rows(n="root") == [("root",)]
        assert db.database.connection() is not lost and lost.closed
        lost = db.database.connection()
        lost.pgconn.exec_(b"DEALLOCATE ALL")
        with pytest.raises(peewee.DatabaseError), db.transaction():
            query.rows(n="root")  # in a transaction: that one is lost...
        db.database.close()
        assert lost.closed  # ...and its connection with it
        assert query.rows(n="root") == [("root",)]


def test_a_prepared_statement_survives_a_schema_change_of_its_columns(app):
    if not db.is_postgresql():
        pytest.skip("PostgreSQL statements")
    from portal.db import CompiledQuery
    from portal.db import arg

    class Probe(peewee.Model):
        name = peewee.CharField(max_length=10)

        class Meta:
            database = db.database
            table_name = "plan_probe"
    query = CompiledQuery(lambda: Probe.select(Probe.name).where(Probe.name == arg("name")))
    with app.app_context():
        Probe.create_table()
        Probe.create(name="x")
        assert query.rows(name="x") == [("x",)]
        # A deploy widens the column: the prepared plan's result type no longer holds.
        db.database.execute_sql("ALTER TABLE plan_probe ALTER COLUMN name TYPE text")
        assert query.rows(name="x") == [("x",)]
        Probe.drop_table()
