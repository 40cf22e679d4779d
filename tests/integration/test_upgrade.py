"""Upgrading: a database made by an earlier release is brought up to date by init-db.

The schemas under schemas/ are what init-db made at those commits, statement by
statement. Each test fills one with that release's kind of data, runs init-db, and
then uses the portal on it: sign in, read the old history, find the old locks.
"""

import re
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from portal import create_app
from portal import db
from portal import schema
from tests.conftest import TEST_SETTINGS
from tests.conftest import counts_agree
from tests.conftest import new_pg_database

SCHEMAS = Path(__file__).with_name("schemas")
HASH = PasswordHasher(memory_cost=64, time_cost=1, parallelism=1)
LONG_AGO = datetime(2026, 11, 20, 9, 30)


@pytest.fixture
def empty_url(database_url, tmp_path):
    """Return the URL of a database of its own, with no tables, for one test."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with new_pg_database("portal_upgrade") as url:
        yield url
        db.database.close_all()  # the pool's connections, before the database goes


def portal_on(url, **settings):
    """Return the app on that database (no schema work yet)."""
    return create_app({**TEST_SETTINGS, "DATABASE_URL": url, **settings})


def load(app, commit):
    """Create the schema an earlier commit's init-db made."""
    kind = "postgresql" if db.is_postgresql() else "sqlite"
    lines = (SCHEMAS / f"{commit}.{kind}.sql").read_text().splitlines()
    statements = "\n".join(line for line in lines if not line.startswith("--")).split(";\n")
    with app.app_context(), db.database.connection_context():
        for statement in filter(str.strip, statements):
            db.database.execute_sql(statement)


def insert(table, **values):
    """Insert one row with the columns that release had."""
    marks = ", ".join([db.database.param] * len(values))
    db.database.execute_sql(f'INSERT INTO "{table}" ({", ".join(values)}) VALUES ({marks})',
                            [str(v) if isinstance(v, datetime) else v for v in values.values()])


def fill_like_87302ba(app):
    """Users (one admin-locked), a live session, attempts, a permanent policy lock."""
    with app.app_context(), db.database.atomic():
        for user_id, name, locked in ((1, "alice", False), (2, "bob", True), (3, "root", False)):
            insert("users", id=user_id, username=name, password_hash=HASH.hash(f"{name} password"),
                   is_admin=name == "root", created_at=LONG_AGO,
                   lock_reason="stolen laptop" if locked else None,
                   locked_at=LONG_AGO if locked else None, locked_by="root" if locked else None)
        insert("sessions", id="a" * 32, user_id=1, created_at=LONG_AGO, last_seen_at=LONG_AGO,
               expires_at=LONG_AGO + timedelta(hours=8), ip="203.0.113.5",
               user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
        for minutes, typed, user_id, reason, ip in (
                (1, " Alice", 1, "ok", "203.0.113.5"),
                (2, "alice", 1, "bad_password", "2001:db8::7"),
                (3, "mallory", None, "unknown_user", "198.51.100.9"),
                (4, "carol", None, "unknown_user", "not an address")):
            insert("login_attempts", at=LONG_AGO + timedelta(minutes=minutes), username=typed,
                   user_id=user_id, outcome="success" if reason == "ok" else "failure",
                   reason=reason, ip=ip, user_agent="curl/8.5.0", request_id="old")
        insert("failure_budgets", user_id=3, device="", failures=25, lockouts=6,
               last_failure_at=LONG_AGO, locked_at=LONG_AGO, permanent=True)


def init_db(app):
    """Run `flask --app portal init-db` against the app; return the result."""
    return app.test_cli_runner().invoke(args=["init-db"])


def sign_in(client, name):
    """Post the login form; return the response."""
    return client.post("/login", data={"username": name, "password": f"{name} password"})


def test_a_database_from_an_early_release_upgrades_and_keeps_its_history(empty_url):
    app = portal_on(empty_url)
    load(app, "87302ba")
    fill_like_87302ba(app)
    result = init_db(app)
    assert result.exit_code == 0, result.output
    assert "made before migrations, at 0002_lockout" in result.output
    assert "Applied 0003_reports, 0004_name_keys" in result.output
    client = app.test_client()
    assert sign_in(client, "bob").status_code == 200  # the admin's lock stands
    assert sign_in(client, "alice").status_code == 302
    # The old release's permanent policy lock is now one of LOCKOUT_MAX_WAIT, long over.
    assert sign_in(client, "root").status_code == 302
    text = client.get("/admin/history?user=alice").get_data(as_text=True)
    # Two old attempts (one typed " Alice"), one new.
    assert len(re.findall(r'<td class="typed"[^>]*>', text)) == 3
    text = client.get("/admin/history?ip=2001:db8::/32").get_data(as_text=True)
    # Named on upgrade.
    assert len(re.findall(r'<td class="typed"[^>]*>', text)) == 1 and "curl on Unknown" in text
    assert "stolen laptop" in client.get("/admin/users/bob").get_data(as_text=True)
    # The old attempts are in the chart's counts (0017 counted them), the new ones too.
    with app.app_context():
        kept, direct = counts_agree()
    assert kept == direct
    text = client.get("/admin/history/chart?since=2026-11-20&until=2026-11-20").get_data(
        as_text=True)
    assert "2026-11-20 09:00: 1 success, 3 failures<" in text


def test_init_db_twice_changes_nothing_the_second_time(empty_url):
    app = portal_on(empty_url)
    assert "Created the schema" in init_db(app).output
    again = init_db(app)
    assert again.exit_code == 0 and "Applied" not in again.output and "Created" not in again.output


def test_the_newest_unversioned_schema_needs_only_what_came_after_it(empty_url):
    app = portal_on(empty_url)
    load(app, "94ddaad")
    result = init_db(app)
    assert result.exit_code == 0, result.output
    assert "made before migrations, at 0007_cidr_statistics" in result.output
    assert "Applied 0008_attempt_agent_names, 0009_health_checks" in result.output
    with app.app_context():
        assert schema.pending() == []


def test_an_upgraded_database_has_the_schema_of_a_new_one(empty_url, database_url):
    old = portal_on(empty_url)
    load(old, "87302ba")
    assert init_db(old).exit_code == 0
    with old.app_context():
        upgraded = shape()
    db.database.close_all()
    new = portal_on(database_url)
    with new.app_context():
        schema.upgrade()
        assert shape() == upgraded
    columns, indexes = upgraded["failure_budgets"]
    assert ("account", "varchar", False, True) in [(c[0], c[1].split("(")[0].replace(
        "character varying", "varchar"), c[2], c[3]) for c in columns]
    assert ("loginattempt_ip_key_at_id", ("ip_key", "at", "id"), False) in \
        upgraded["login_attempts"][1]


def shape():
    """Return every table's columns (name, type, null) and indexes (name, columns, unique)."""
    with db.database.connection_context():
        tables = sorted(t for t in db.database.get_tables()
                        if t != schema.HISTORY_TABLE and not t.startswith("sqlite_stat"))
        return {table: (sorted((c.name, c.data_type.lower(), c.null, c.primary_key)
                               for c in db.database.get_columns(table)),
                        sorted((i.name, tuple(i.columns), i.unique)
                               for i in db.database.get_indexes(table)))
                for table in tables}


def test_a_database_newer_than_the_code_is_refused_in_one_line(empty_url):
    app = portal_on(empty_url)
    assert init_db(app).exit_code == 0
    with app.app_context(), db.database.connection_context():
        db.database.execute_sql(f'INSERT INTO "{schema.HISTORY_TABLE}" (name, applied) '
                                f"VALUES ('9999_from_the_future', '2027-01-01 00:00:00')")
    result = init_db(app)
    assert result.exit_code != 0
    assert "9999_from_the_future" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_other_commands_ask_for_init_db_on_an_old_database(empty_url):
    app = portal_on(empty_url)
    load(app, "87302ba")
    result = app.test_cli_runner().invoke(args=["users", "list"])
    assert result.exit_code != 0 and "run `flask --app portal init-db` first" in result.output


def test_a_fill_cut_short_resumes_where_it_stopped(empty_url):
    app = portal_on(empty_url)
    assert init_db(app).exit_code == 0
    with app.app_context(), db.database.connection_context():
        for n, named in ((1, "Firefox"), (2, None)):  # the second was never named
            insert("login_attempts", at=LONG_AGO, username="x", username_key="x",
                   outcome="failure", reason="unknown_user", ip="192.0.2.1",
                   ip_key="", user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/"
                   "20100101 Firefox/128.0", browser=named, request_id=f"r{n}")
        db.database.execute_sql(f'DELETE FROM "{schema.HISTORY_TABLE}" '
                                "WHERE name = '0008_attempt_agent_names'")
    result = init_db(app)
    assert result.exit_code == 0 and "Applied 0008_attempt_agent_names." in result.output
    with app.app_context(), db.database.connection_context():
        assert db.database.execute_sql(
            "SELECT browser FROM login_attempts ORDER BY id").fetchall() == [("Firefox",)] * 2
