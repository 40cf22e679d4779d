"""Shared fixtures: the app on SQLite (and PostgreSQL when PORTAL_TEST_DATABASE_URL is set),
flaskr-style client/runner/auth helpers, and Debian's Chromium for Playwright."""

import logging
import os
import shutil
import uuid
from contextlib import contextmanager

import psycopg
import pytest

from portal import create_app
from portal import db
from portal import models
from portal import schema
from portal.accounts import users
from tests.pgwire import WireProxy

PG_BASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_BASE_URL else [])
SECRET = "test-secret-" + "x" * 40

# Cheap argon2id parameters: the cost under test is the logic, not the hash.
FAST_HASHING = {"PASSWORD_MEMORY_COST": 64, "PASSWORD_TIME_COST": 1, "PASSWORD_PARALLELISM": 1}
TEST_SETTINGS = {"SECRET_KEY": SECRET, "COOKIE_SECURE": False, "TESTING": True,
                 "WTF_CSRF_ENABLED": False, **FAST_HASHING}

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@contextmanager
def new_pg_database(prefix):
    """Yield the URL of a new, empty PostgreSQL database, dropped at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(PG_BASE_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_BASE_URL.rpartition('/')[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def behind_proxy(app, database_url, query=""):
    """Bind the app to its PostgreSQL database through a WireProxy; yield the proxy."""
    with WireProxy() as proxy:
        db.database.close_all()
        db.database.initialize(db.open_database(proxy.url(database_url) + query, app))
        try:
            yield proxy
        finally:
            db.database.close_all()


@pytest.fixture(scope="session")
def pg_database():
    """Create a PostgreSQL database for this test run and drop it at the end."""
    with new_pg_database("portal_test") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """Return a fresh, empty database URL for one test: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portal.db'}"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def app(request, database_url):
    """The app on a freshly created schema, with @pytest.mark.settings(...) applied."""
    settings = {**TEST_SETTINGS, "DATABASE_URL": database_url}
    if request.node.get_closest_marker("csrf"):
        settings["WTF_CSRF_ENABLED"] = True
    for marker in request.node.iter_markers("settings"):
        settings.update(marker.kwargs)
    app = create_app(settings)
    with app.app_context():
        schema.upgrade()
        empty_tables()
    yield app
    db.database.close_all()


def empty_tables():
    """Start a test on empty tables (PostgreSQL keeps one database for the whole run)."""
    if db.is_postgresql():
        names = ", ".join(f'"{m._meta.table_name}"' for m in models.TABLES)
        db.database.execute_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    db.database.close()


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of the app."""
    return app.test_cli_runner()


def insert_attempts(rows):
    """Insert attempt rows (dicts) as a bulk load does, and count them as seed-demo does.

    A settled attempt is counted as it settles (history.counts); rows written here
    settle nowhere, so they are counted afterwards, once.
    """
    from peewee import fn

    from portal.history import counts
    from portal.models import LoginAttempt

    before = LoginAttempt.select(fn.MAX(LoginAttempt.id)).scalar() or 0
    LoginAttempt.insert_many(rows).execute()
    counts.count_attempts(LoginAttempt.id > before)


def counts_agree():
    """Return (kept, direct): attempt_counts and attempt_totals as kept, and as counted from
    the attempts now."""
    from collections import Counter

    from portal.history import counts
    from portal.models import AttemptCount
    from portal.models import AttemptTotal
    from portal.models import LoginAttempt

    direct = Counter()
    query = LoginAttempt.select(LoginAttempt.id, LoginAttempt.at, LoginAttempt.username_key,
                                LoginAttempt.ip_key, LoginAttempt.reason)
    for attempt_id, at, username_key, ip_key, reason in query.tuples():
        if reason != "error":
            for kind, hour, key in counts.cells(attempt_id, at, username_key, ip_key):
                direct[(kind, hour, reason, key)] += 1
            for kind, key in (("user", username_key), ("ip", ip_key)):
                direct[("total", kind, "ok" if reason == "ok" else "failure", key)] += 1
    kept = {(kind, hour, reason, key): count for kind, hour, reason, key, count in
            AttemptCount.select(AttemptCount.kind, AttemptCount.hour, AttemptCount.reason,
                                AttemptCount.key, AttemptCount.count).tuples() if count}
    for kind, key, failures, successes in AttemptTotal.select(
            AttemptTotal.kind, AttemptTotal.key, AttemptTotal.failures,
            AttemptTotal.successes).tuples():
        for outcome, count in (("failure", failures), ("ok", successes)):
            if count:
                kept[("total", kind, outcome, key)] = count
    return kept, dict(direct)


class AuthActions:
    """Create users and sign in or out through the real routes."""

    password = "correct horse battery"  # what create() and login() use unless told otherwise

    def __init__(self, app, client):
        self._app, self._client = app, client

    def create(self, username="alice", password=None, is_admin=False):
        """Create a user directly and return it."""
        with self._app.app_context():
            return users.create(username, password or self.password, is_admin=is_admin)

    def login(self, username="alice", password=None, next_path=None, headers=None):
        """Post the login form and return the response."""
        url = "/login" + (f"?next={next_path}" if next_path else "")
        return self._client.post(url, data={"username": username,
                                            "password": password or self.password},
                                 headers=headers)

    def logout(self):
        """Post the logout form and return the response."""
        return self._client.post("/logout")


@pytest.fixture
def auth(app, client):
    """An AuthActions helper bound to the client."""
    return AuthActions(app, client)


class Statements:
    """The (sql, params) pairs that Peewee logs for each statement it sends (logger 'peewee')."""

    def __init__(self, caplog):
        self._caplog = caplog

    def clear(self):
        """Forget the statements seen so far."""
        self._caplog.clear()

    def __iter__(self):
        return (record.msg for record in self._caplog.records if record.name == "peewee")

    def __len__(self):
        return sum(1 for _ in self)


@pytest.fixture
def statements(caplog):
    """Every statement the app sends to the database from now on (Peewee's query log)."""
    caplog.set_level(logging.DEBUG, logger="peewee")
    return Statements(caplog)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium: Playwright cannot download its own browser here."""
    if not os.path.exists(CHROMIUM):
        message = "Chromium not found: apt-get install -y chromium (or set CHROMIUM_PATH)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it, so a missing browser is a broken CI
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS]}
