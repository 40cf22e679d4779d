"""Pipelined transactions (portal.db.transaction): fewer round trips, the same transactions.

The semantic tests run on both databases (on SQLite it is plain atomic()); the ones
about what reaches the server, and when, are PostgreSQL's, and count round trips at the
socket (tests.pgwire).
"""

import peewee
import pytest

from portal import db
from portal.db import CompiledQuery
from portal.db import arg
from tests.conftest import behind_proxy


class Probe(peewee.Model):
    name = peewee.CharField(max_length=64, unique=True)

    class Meta:
        database = db.database
        table_name = "deferred_probe"


ADD = CompiledQuery(lambda: Probe.insert(name=arg("name")))


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


def add(name):
    ADD.run(name=name)


def test_a_write_is_seen_by_the_next_statement_of_its_transaction(probe):
    with db.transaction():
        add("a")
        assert names() == [("a",)]
    assert names() == [("a",)]


def test_a_rolled_back_transaction_keeps_none_of_its_writes(probe):
    with pytest.raises(Boom), db.transaction():
        add("a")
        add("b")
        raise Boom
    assert names() == []
    add("c")  # the connection is usable again
    assert names() == [("c",)]


def test_values_are_stored_exactly_percent_signs_and_quotes_included(probe):
    tricky = "100% %s %(x)s '; DROP TABLE x; --"
    with db.transaction():
        add(tricky)
    assert names() == [(tricky,)]


def test_a_write_that_fails_fails_its_whole_transaction_as_peewees_error(probe):
    add("taken")
    with pytest.raises(peewee.IntegrityError), db.transaction():
        add("kept only if the transaction commits")
        add("taken")  # on PostgreSQL this reports when the block ends
    assert names() == [("taken",)]
    add("next")  # the connection is usable again
    assert names() == [("next",), ("taken",)]


def test_a_write_outside_a_transaction_is_visible_elsewhere_at_once(probe, database_url):
    needs_postgresql()
    add("a")
    assert count_elsewhere(database_url) == 1


def test_a_transaction_commits_when_its_block_ends(probe, database_url):
    needs_postgresql()
    with db.transaction():
        add("a")
        assert count_elsewhere(database_url) == 0
    assert count_elsewhere(database_url) == 1


def test_an_error_caught_by_other_code_still_fails_the_commit(probe):
    add("taken")
    with pytest.raises(peewee.DatabaseError), db.transaction():
        add("kept only if the transaction commits")
        add("taken")  # on PostgreSQL this reports later...
        try:
            with db.database.atomic():  # ...not inside this try, meant for the inner block
                add("inner")
        except peewee.IntegrityError:
            pass
    assert names() == [("taken",)]


def test_a_nested_transaction_commits_and_rolls_back_with_the_outer_one(probe):
    with pytest.raises(Boom), db.transaction():
        add("a")
        with db.transaction():
            add("b")
        raise Boom
    assert names() == []
    with db.transaction():
        add("c")
        with db.transaction():
            add("d")
    assert names() == [("c",), ("d",)]


def test_a_failed_nested_write_fails_the_outer_transaction_whole(probe):
    add("taken")
    with pytest.raises(peewee.IntegrityError), db.transaction():
        add("kept only if all commits")
        with db.transaction():
            add("taken")
    assert names() == [("taken",)]
    add("next")  # the connection is usable again
    assert names() == [("next",), ("taken",)]


def test_a_transaction_takes_one_round_trip_for_its_writes_and_commit(wire, probe):
    add("warm")  # prepares the insert on this connection
    wire.reset()
    with db.transaction():
        add("a")
        add("b")
    assert wire.round_trips == 1
    assert names() == [("a",), ("b",), ("warm",)]


def synchronous_commit():
    return db.database.execute_sql("SHOW synchronous_commit").fetchone()[0]


def test_an_asynchronous_commit_commits_and_ends_with_its_transaction(probe, database_url):
    with db.transaction(asynchronous_commit=True):
        add("a")
        if db.is_postgresql():
            assert synchronous_commit() == "off"
    assert names() == [("a",)]
    if db.is_postgresql():
        assert count_elsewhere(database_url) == 1
        assert synchronous_commit() == "on"  # SET LOCAL: the next transaction waits again


def test_an_asynchronous_commit_rolls_back_like_any_transaction(probe):
    with pytest.raises(Boom), db.transaction(asynchronous_commit=True):
        add("a")
        raise Boom
    assert names() == []


def test_an_asynchronous_commit_inside_a_transaction_leaves_the_transaction_alone(probe):
    with db.transaction():
        add("a")
        with db.transaction(asynchronous_commit=True):
            add("b")
            if db.is_postgresql():
                assert synchronous_commit() == "on"
    assert names() == [("a",), ("b",)]


def test_a_successful_sign_in_on_postgresql_takes_four_round_trips_five_from_a_known_device(
        app, auth, wire):
    auth.create("alice", "correct horse battery")
    for _ in range(2):  # the second sign-in comes from a known device: all is prepared
        assert auth.login("alice", "correct horse battery").status_code == 302
        auth.logout()
    wire.reset()
    assert auth.login("alice", "correct horse battery").status_code == 302
    # The reservation: the IP window, the known device, the budget's row lock with the
    # budget and the user, COMMIT; the settlement: its writes with COMMIT.
    assert wire.round_trips == 5
    wire.reset()
    new_browser = app.test_client()
    assert new_browser.post("/login", data={"username": "alice",
                                            "password": "correct horse battery"}).status_code == 302
    assert wire.round_trips == 4


def test_the_sessions_page_on_postgresql_takes_two_round_trips(auth, client, wire):
    auth.create("alice", "correct horse battery")
    assert auth.login("alice", "correct horse battery").status_code == 302
    assert client.get("/account/sessions").status_code == 200  # everything is prepared now
    wire.reset()
    assert client.get("/account/sessions").status_code == 200
    assert wire.round_trips == 2  # the session behind the cookie; the account's activity


def test_a_failed_sign_in_on_postgresql_takes_four_round_trips(auth, wire):
    auth.create("alice", "correct horse battery")
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
