"""Brute-force defence through the real routes: account locks, IP throttling, admin locks."""

import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest

from portal import clock
from portal.accounts import passwords
from portal.models import UNKNOWN_DEVICE
from portal.models import AuditEvent
from portal.models import FailureBudget
from portal.models import LoginAttempt
from portal.models import Session
from tests.conftest import PG_BASE_URL

pytestmark = pytest.mark.settings(LOCKOUT_MAX_FAILURES=3, LOCKOUT_WAIT=60)


def reasons(app):
    with app.app_context():
        return [a.reason for a in LoginAttempt.select().order_by(LoginAttempt.id)]


def fail(auth, times, username="alice"):
    for _ in range(times):
        assert auth.login(username, "wrong").status_code == 200


@pytest.fixture
def later(monkeypatch):
    """Freeze the portal's clock; later(s) moves it to s seconds after the start."""
    start = clock.now()

    def move(seconds):
        monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=seconds))
    move(0)
    return move


def test_account_locks_exactly_at_the_threshold(app, auth):
    auth.create()
    fail(auth, 2)
    assert auth.login().status_code == 302  # a success in between resets the count
    fail(auth, 3)
    response = auth.login()
    assert response.status_code == 200 and b"Incorrect username or password" in response.data
    assert reasons(app) == ["bad_password"] * 2 + ["ok"] + ["bad_password"] * 3 + ["locked"]


def test_locked_account_reads_like_a_wrong_password(auth, client):
    auth.create()
    fail(auth, 3)
    locked = auth.login().get_data(as_text=True)
    unknown = auth.login("nobody", "x").get_data(as_text=True)
    assert without_tokens(locked).replace("alice", "N") == \
        without_tokens(unknown).replace("nobody", "N")


def without_tokens(page):
    """Return a page with its CSRF tokens blanked (each carries the second it was made)."""
    return re.sub(r'(csrf-token" content="|"X-CSRFToken": ")[^"]+', r"\1T", page)


def test_a_lock_from_unknown_clients_signs_nobody_out(app, auth, client):
    auth.create()
    auth.login()
    other = app.test_client()
    for _ in range(3):
        other.post("/login", data={"username": "alice", "password": "wrong"})
    assert client.get("/account/sessions").status_code == 200  # the owner is still in
    with app.app_context():
        assert Session.get().ended_at is None
        event = AuditEvent.get()
        assert (event.action, event.actor, event.failures) == ("policy_lock", "policy", 3)


def test_a_known_devices_lock_ends_that_devices_sessions_only(app, auth, client):
    auth.create()
    auth.login()  # this browser becomes a known device, signed in
    laptop = app.test_client()
    laptop.post("/login", data={"username": "alice", "password": auth.password})
    assert laptop.get("/account/sessions").status_code == 200
    client.post("/logout")
    fail(auth, 3)  # the first browser, now signed out, locks its own device budget
    assert laptop.get("/account/sessions").status_code == 200
    auth.login()  # refused: this device is locked
    with app.app_context():
        ended = {s.end_reason for s in Session.select()}
    assert ended == {"logout", None}


def test_lock_ends_on_time_and_failures_while_locked_do_not_extend_it(app, auth, later):
    auth.create()
    fail(auth, 3)
    later(59)
    fail(auth, 5)  # recorded as locked, not counted
    later(60)
    assert auth.login().status_code == 302
    assert reasons(app)[-6:] == ["locked"] * 5 + ["ok"]


def test_second_lock_lasts_twice_as_long(auth, later):
    auth.create()
    fail(auth, 3)
    later(60)
    fail(auth, 3)
    later(60 + 119)
    assert auth.login().status_code == 200
    later(60 + 120)
    assert auth.login().status_code == 302


@pytest.mark.settings(LOCKOUT_MAX_TEMPORARY=2)
def test_repeated_locks_flag_the_account_and_still_end(app, auth, client, later):
    auth.create("root", is_admin=True)
    auth.create()
    start = 0
    for wait in (60, 120, 240, 480):
        later(start)
        fail(auth, 3)
        start += wait
    with app.app_context():
        assert FailureBudget.select().where(FailureBudget.permanent).count() == 0
        actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert actions == ["policy_lock"] * 2 + ["review_flag"] + ["policy_lock"] * 2
    later(start - 1)
    assert auth.login().status_code == 200  # the fourth lock still runs
    later(start)
    assert auth.login().status_code == 302  # ...and ends by itself
    auth.logout()
    auth.login("root")
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert "Flagged for review" in page and "1 to review" in page
    client.post("/admin/users/alice/unlock")
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert "Flagged for review" not in page and "to review" not in page


@pytest.mark.settings(LOCKOUT_MAX_TEMPORARY=1, LOCKOUT_PERMANENT=True)
def test_opted_in_lock_becomes_permanent_until_an_admin_unlocks(app, auth, client, later):
    auth.create("root", is_admin=True)
    auth.create()
    fail(auth, 3)
    later(60)
    fail(auth, 3)
    later(10 * 86400)
    assert auth.login().status_code == 200
    auth.login("root")
    client.post("/admin/users/alice/unlock")
    assert auth.login().status_code == 302


def test_admins_are_not_exempt(auth):
    auth.create("root", is_admin=True)
    fail(auth, 3, "root")
    assert auth.login("root").status_code == 200


def test_known_device_keeps_its_own_budget(app, auth, client):
    auth.create()
    assert auth.login().status_code == 302  # this browser is now a known device
    client.post("/logout")
    attacker = app.test_client()
    for _ in range(4):
        attacker.post("/login", data={"username": "alice", "password": "wrong"})
    assert attacker.post("/login", data={"username": "alice",
                                         "password": "correct horse battery"}).status_code == 200
    assert auth.login().status_code == 302  # the owner's browser still gets in
    fail(auth, 3)
    assert auth.login().status_code == 200  # ...within its own budget
    with app.app_context():
        assert FailureBudget.select().where(FailureBudget.permanent).count() == 0


def test_forged_device_cookie_is_an_unknown_device(app, auth, client):
    auth.create()
    fail(auth, 3)
    client.set_cookie("portal_device", "forged.value")
    assert auth.login().status_code == 200


@pytest.mark.settings(IP_MAX_FAILURES=3, IP_WINDOW=600)
def test_ip_is_throttled_with_429_and_retry_after_without_a_password_check(
        app, auth, client, monkeypatch, later):
    auth.create()
    for name in ["ann", "ben", "cat"]:
        auth.login(name, "x")
    monkeypatch.setattr(passwords, "verify", lambda *a: pytest.fail("password was checked"))
    response = auth.login()
    assert response.status_code == 429 and response.headers["Retry-After"] == "600"
    assert b"Too many failed sign-ins" in response.data
    assert reasons(app)[-1] == "throttled"
    monkeypatch.undo()
    later(600)
    assert auth.login().status_code == 302


@pytest.mark.settings(IP_MAX_FAILURES=3)
def test_successes_do_not_use_up_the_ip_budget(auth):
    auth.create()
    for _ in range(5):
        assert auth.login().status_code == 302
    fail(auth, 2)
    assert auth.login().status_code == 302


def test_a_success_takes_back_its_advance_ip_failure_in_the_same_window_only(app):
    from portal.models import IpThrottle
    from portal.security import budgets
    from portal.security.policy import IpWindow

    start = clock.now()
    with app.app_context():
        IpThrottle.create(ip="203.0.113.7", started_at=start, failures=2)
        budgets.take_back_window("203.0.113.7", IpWindow(started_at=start, failures=2))
        assert IpThrottle.get().failures == 1
        # A window that started since counts other failures: nothing to take back there.
        budgets.take_back_window("203.0.113.7", IpWindow(started_at=start - timedelta(hours=1)))
        assert IpThrottle.get().failures == 1
        budgets.take_back_window("203.0.113.7", IpWindow(started_at=start, failures=1))
        budgets.take_back_window("203.0.113.7", IpWindow(started_at=start, failures=1))
        assert IpThrottle.get().failures == 0  # never below zero


def test_a_lock_committed_while_a_sign_in_waits_for_the_budget_is_seen(app, auth, client,
                                                                        database_url):
    """The account is read after the budget's row lock, with a snapshot of its own."""
    auth.create()
    fail(auth, 1)  # the budget row exists
    holder = hold_the_budget_of("alice", database_url)
    with ThreadPoolExecutor(1) as pool:
        signing_in = pool.submit(auth.login)
        try:
            wait_until_a_sign_in_waits(holder, signing_in)
            holder.execute("UPDATE users SET lock_reason = 'held by the test', locked_at = "
                           "CURRENT_TIMESTAMP WHERE username = 'alice'")
        finally:
            holder.connection.commit()
            holder.connection.close()
        assert signing_in.result(timeout=30).status_code == 200
    assert reasons(app)[-1] == "locked"


def hold_the_budget_of(account, database_url):
    """Return a cursor of another connection holding the account's budget row lock."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"),
                                     isolation_level=None)
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")  # SQLite: the write lock is the whole database's
        return cursor
    connection = psycopg.connect(database_url)
    cursor = connection.cursor()
    cursor.execute("SELECT 1 FROM failure_budgets WHERE account = %s AND device = %s "
                   "FOR UPDATE", [account, UNKNOWN_DEVICE])
    return cursor


def wait_until_a_sign_in_waits(holder, signing_in, seconds=10):
    """Return once the sign-in is blocked behind the holder (PostgreSQL: on a row lock)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not signing_in.done():
        if isinstance(holder, sqlite3.Cursor):
            time.sleep(0.5)  # no way to ask SQLite who waits; the sign-in is quick to block
            return
        with psycopg.connect(PG_BASE_URL) as probe:
            waiting = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                                    "wait_event_type = 'Lock' AND datname = %s",
                                    [holder.connection.info.dbname]).fetchone()[0]
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the sign-in never waited for the budget's lock")


@pytest.mark.settings(LOCKOUT_MAX_TEMPORARY=1, LOCKOUT_PERMANENT=True)
def test_turning_the_opt_in_off_turns_permanent_locks_temporary(app, auth, later):
    auth.create()
    fail(auth, 3)
    later(60)
    fail(auth, 3)  # permanent now
    later(2 * 3600)
    assert auth.login().status_code == 200
    app.config["LOCKOUT_PERMANENT"] = False  # LOCKOUT_MAX_WAIT (1 h) since it began
    assert auth.login().status_code == 302
