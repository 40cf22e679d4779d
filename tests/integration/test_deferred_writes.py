"""Deferred writes (portal.db.PostgresqlPool): fewer round trips, the same transactions.

The semantic tests run on both databases (on SQLite a write simply runs at once); the
ones about what reaches the server, and when, are PostgreSQL's, and count round trips
at the socket (tests.pgwire).
"""

import peewee
import pytest

from portal import db
from portal.db import Prepared
from portal.db import arg
from tests.conftest import behind_proxy


class Probe(peewee.Model):
    name = peewee.CharField(max_length=64, unique=True)

    class Meta:
        database = db.database
        table_name = "deferred_probe"


ADD = Prepared(lambda: Probe.insert(name=arg(0)))


class Boom(Exception):
    pass


@pytest.fixture
def probe(app):
    """An app context with an empty probe table."""
    with app.app_context():
        Probe.create_table()
        yield
        Probe.drop_table()


def names():
    return sorted(Probe.select(Probe.name).tuples().execute())


def needs_postgresql():
    if not db.is_postgresql():
        pytest.skip("PostgreSQL round trips")


@pytest.fixture
def wire(app, database_url):
    """Point the app at PostgreSQL through a proxy that counts round trips at the socket."""
    needs_postgresql()
    with behind_proxy(app, database_url) as proxy:
        yield proxy


def test_a_write_is_seen_by_the_next_statement_of_its_transaction(probe):
    with db.database.atomic():
        ADD.write("a")
        assert names() == [("a",)]
    assert names() == [("a",)]


def test_a_rolled_back_transaction_keeps_none_of_its_deferred_writes(probe):
    with pytest.raises(Boom), db.database.atomic():
        ADD.write("a")
        ADD.write("b")
        raise Boom
    assert names() == []


def test_values_are_stored_exactly_percent_signs_and_quotes_included(probe):
    tricky = "100% %s %(x)s '; DROP TABLE x; --"
    with db.database.atomic():
        ADD.write(tricky)
    assert names() == [(tricky,)]


def test_a_deferred_write_that_fails_fails_its_whole_transaction(probe):
    ADD.write("taken")
    with pytest.raises(peewee.IntegrityError), db.database.atomic():
        ADD.write("kept only if the transaction commits")
        ADD.write("taken")  # on PostgreSQL this reports at COMMIT
    assert names() == [("taken",)]
    ADD.write("next")  # the connection is usable again
    assert names() == [("next",), ("taken",)]


def test_a_write_outside_a_transaction_is_visible_elsewhere_at_once(probe, database_url):
    needs_postgresql()
    ADD.write("a")
    assert count_elsewhere(database_url) == 1


def test_a_transaction_reaches_the_server_with_its_first_read_and_its_writes_with_commit(
        probe, database_url):
    needs_postgresql()
    pid = db.database.connection().get_backend_pid()
    with db.database.atomic():
        ADD.write("a")
        assert backend_state(pid, database_url) == "idle"  # not even BEGIN was sent
        assert count_elsewhere(database_url) == 0
    assert count_elsewhere(database_url) == 1
    assert backend_state(pid, database_url) == "idle"


def test_a_raw_cursor_runs_inside_the_transaction(probe):
    needs_postgresql()
    with db.database.atomic():
        db.database.cursor().execute("SET LOCAL statement_timeout = 0")
        assert db.database.execute_sql("SHOW statement_timeout").fetchone()[0] == "0"
    assert db.database.execute_sql("SHOW statement_timeout").fetchone()[0] == "5s"


def test_an_empty_transaction_costs_no_round_trip(wire, probe):
    wire.reset()
    with db.database.atomic():
        pass
    with pytest.raises(Boom), db.database.atomic():
        ADD.write("a")
        raise Boom
    assert wire.round_trips == 0


def test_a_lost_statement_in_a_deferred_write_is_prepared_again(probe):
    needs_postgresql()
    ADD.write("a")
    db.database.execute_sql("DEALLOCATE ALL")  # as a pooler or DISCARD ALL would
    with pytest.raises(peewee.DatabaseError), db.database.atomic():
        ADD.write("b")  # reports at COMMIT: that transaction is lost...
    ADD.write("c")  # ...and the next use prepares afresh
    assert names() == [("a",), ("c",)]


def test_a_statement_first_used_in_a_rolled_back_transaction_is_prepared_later(probe):
    needs_postgresql()
    add = Prepared(lambda: Probe.insert(name=arg(0)))
    with pytest.raises(Boom), db.database.atomic():
        add.write("a")  # its PREPARE waits with it...
        raise Boom  # ...and is dropped with the transaction
    with db.database.atomic():
        add.write("b")
    db.database.close()  # back to the pool, as at the end of a request
    with pytest.raises(Boom), db.database.atomic():
        db.database.execute_sql("SELECT 1")
        Prepared(lambda: Probe.insert(name=arg(0))).write("c")
        raise Boom
    db.database.close()
    ADD.write("d")
    assert names() == [("b",), ("d",)]


def test_a_deferred_error_caught_by_other_code_still_fails_the_commit(probe):
    ADD.write("taken")
    with pytest.raises(peewee.DatabaseError), db.database.atomic():
        ADD.write("kept only if the transaction commits")
        ADD.write("taken")  # on PostgreSQL this reports with the next statement...
        try:
            with db.database.atomic():  # ...the SAVEPOINT, inside this try
                ADD.write("inner")
        except peewee.IntegrityError:
            pass  # meant for the inner block
    assert names() == [("taken",)]


def synchronous_commit():
    return db.database.execute_sql("SHOW synchronous_commit").fetchone()[0]


def test_an_asynchronous_commit_commits_and_ends_with_its_transaction(probe, database_url):
    with db.atomic_async_commit():
        ADD.write("a")
        if db.is_postgresql():
            assert synchronous_commit() == "off"
    assert names() == [("a",)]
    if db.is_postgresql():
        assert count_elsewhere(database_url) == 1
        assert synchronous_commit() == "on"  # SET LOCAL: the next transaction waits again


def test_an_asynchronous_commit_rolls_back_like_any_transaction(probe):
    with pytest.raises(Boom), db.atomic_async_commit():
        ADD.write("a")
        raise Boom
    assert names() == []


def test_an_asynchronous_commit_inside_a_transaction_leaves_the_transaction_alone(probe):
    with db.database.atomic():
        ADD.write("a")
        with db.atomic_async_commit():
            ADD.write("b")
            if db.is_postgresql():
                assert synchronous_commit() == "on"
    assert names() == [("a",), ("b",)]


def test_a_successful_sign_in_on_postgresql_takes_four_round_trips_five_from_a_known_device(
        app, auth, wire):
    auth.create("alice", "correct horse")
    for _ in range(2):  # the second sign-in comes from a known device: all is prepared
        assert auth.login("alice", "correct horse").status_code == 302
        auth.logout()
    wire.reset()
    assert auth.login("alice", "correct horse").status_code == 302
    # The reservation: the IP window, the known device, the budget's row lock with the
    # budget and the user, COMMIT; the settlement: its writes with COMMIT.
    assert wire.round_trips == 5
    wire.reset()
    new_browser = app.test_client()
    assert new_browser.post("/login", data={"username": "alice",
                                            "password": "correct horse"}).status_code == 302
    assert wire.round_trips == 4


def test_the_sessions_page_on_postgresql_takes_two_round_trips(auth, client, wire):
    auth.create("alice", "correct horse")
    assert auth.login("alice", "correct horse").status_code == 302
    assert client.get("/account/sessions").status_code == 200  # everything is prepared now
    wire.reset()
    assert client.get("/account/sessions").status_code == 200
    assert wire.round_trips == 2  # the session behind the cookie; the account's activity


def test_a_failed_sign_in_on_postgresql_takes_four_round_trips(auth, wire):
    auth.create("alice", "correct horse")
    assert auth.login("alice", "wrong").status_code == 200  # everything is prepared now
    wire.reset()
    assert auth.login("alice", "wrong").status_code == 200
    assert wire.round_trips == 4


def count_elsewhere(database_url):
    from tests.integration.test_db import from_another_connection
    return from_another_connection(database_url, "SELECT count(*) FROM deferred_probe", [])[0]


def backend_state(pid, database_url):
    from tests.integration.test_db import from_another_connection
    return from_another_connection(
        database_url, "SELECT state FROM pg_stat_activity WHERE pid = %s", [pid])[0]
