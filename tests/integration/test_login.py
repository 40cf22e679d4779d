"""Signing in through the real form: cookie, redirect, recorded attempts, no enumeration."""

import json
import logging

import pytest
from peewee import OperationalError

from portal.accounts import passwords
from portal.history import attempts as attempts_module
from portal.models import FailureBudget
from portal.models import LoginAttempt
from portal.models import Session
from portal.sessions import store


def attempts(app):
    with app.app_context():
        return list(LoginAttempt.select().order_by(LoginAttempt.id).dicts())


def session_cookie(client):
    return client.get_cookie("portal_session")


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Sign in" in response.data and b'name="username"' in response.data


def test_success_sets_httponly_lax_jwt_cookie_and_redirects(auth):
    auth.create()
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/sessions"
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("portal_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie and "Secure" not in cookie
    assert cookie.split("=", 1)[1].startswith("eyJ")


@pytest.mark.settings(COOKIE_SECURE=True)
def test_secure_setting_uses_host_prefix_and_secure_flag(auth, client):
    auth.create()
    response = auth.login()
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("__Host-portal_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_signed_in_user_sees_sessions_page(auth, client):
    auth.create()
    auth.login()
    response = client.get("/account/sessions")
    assert response.status_code == 200
    assert b"alice" in response.data and b"this device" in response.data


def test_success_records_ok_attempt_and_session(app, auth):
    user = auth.create()
    auth.login(headers={"User-Agent": "TestAgent/1.0"})
    (row,) = attempts(app)
    assert (row["outcome"], row["reason"], row["user"], row["username"]) == \
        ("success", "ok", user.id, "alice")
    assert row["ip"] == "127.0.0.1"
    with app.app_context():
        assert Session.select().where(Session.user == user.id).count() == 1


def test_wrong_password_and_unknown_user_read_the_same(app, auth):
    auth.create()
    wrong = auth.login("alice", "wrong password")
    unknown = auth.login("mallory", "wrong password")
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.data.count(b"Incorrect username or password") == 1

    def page(response, typed):
        body = response.data.replace(typed, b"NAME")
        return [line for line in body.splitlines() if b"csrf" not in line.lower()]
    assert page(wrong, b"alice") == page(unknown, b"mallory")
    reasons = [(a["username"], a["reason"], a["outcome"]) for a in attempts(app)]
    assert reasons == [("alice", "bad_password", "failure"),
                       ("mallory", "unknown_user", "failure")]


def test_username_is_matched_case_insensitively_but_recorded_as_typed(app, auth):
    auth.create()
    assert auth.login("  ALICE ", "correct horse battery").status_code == 302
    assert attempts(app)[0]["username"] == "  ALICE "


@pytest.mark.parametrize("typed", ["", "x" * 10_000, "ali\x00ce", "🙂🔐", "\u202eecila",
                                   "<script>alert(1)</script>", "' OR 1=1 --"])
def test_odd_usernames_are_recorded_and_escaped(app, auth, client, typed):
    auth.create("admin", "correct horse battery", is_admin=True)
    response = auth.login(typed, "whatever")
    assert response.status_code == 200
    (row,) = attempts(app)
    assert row["reason"] == "unknown_user" and len(row["username"]) <= 150
    assert "\x00" not in row["username"]
    auth.login("admin", "correct horse battery")
    page = client.get("/admin/history").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    if typed.startswith("<script>"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_oversized_user_agent_is_bounded(app, auth):
    auth.create()
    auth.login(headers={"User-Agent": "U" * 20_000})
    assert len(attempts(app)[0]["user_agent"]) == 512


def test_next_is_followed_for_local_paths_only(auth):
    auth.create()
    assert auth.login(next_path="/admin/history").headers["Location"] == "/admin/history"
    for evil in ["https://evil.example/", "//evil.example/x", "/\\evil.example"]:
        response = auth.login(next_path=evil)
        assert response.headers["Location"] == "/account/sessions"


def test_signed_out_visitor_is_sent_to_login_with_next(client):
    response = client.get("/account/sessions")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account/sessions"


def test_login_page_redirects_when_already_signed_in(auth, client):
    auth.create()
    auth.login()
    assert client.get("/login").headers["Location"] == "/account/sessions"


def test_signing_in_again_ends_the_previous_session(app, auth):
    user = auth.create()
    auth.login()
    auth.login()
    with app.app_context():
        ends = [s.end_reason for s in Session.select().where(Session.user == user.id)
                .order_by(Session.created_at)]
    assert ends == ["replaced", None]


def test_attempt_is_one_json_log_line_without_secrets(auth, caplog):
    auth.create()
    caplog.set_level(logging.INFO, logger="portal.attempts")
    logger = logging.getLogger("portal")
    logger.propagate = True
    try:
        auth.login("ali\nce\x1b[31m", "hunter2-secret")
    finally:
        logger.propagate = False
    (record,) = [r for r in caplog.records if r.name == "portal.attempts"]
    line = record.getMessage()
    assert "\n" not in line and "\x1b" not in line
    event = json.loads(line)
    assert event["username"] == "ali\nce\x1b[31m" and event["reason"] == "unknown_user"
    assert set(event) >= {"time", "outcome", "reason", "username", "ip", "user_agent",
                          "request_id"}
    assert "hunter2-secret" not in line


@pytest.mark.settings(PASSWORD_TIME_COST=1, PASSWORD_MEMORY_COST=64)
def test_hash_is_upgraded_on_login_when_parameters_change(app, auth):
    from portal.accounts import passwords
    from portal.models import User

    auth.create()
    app.extensions[passwords.EXTENSION] = passwords.Passwords(128, 2, 1)
    auth.login()
    with app.app_context():
        stored = User.get(User.username == "alice").password_hash
    assert "m=128,t=2,p=1" in stored
    assert auth.login().status_code == 302


def test_a_name_that_grows_when_lowered_is_still_an_attempt(app, auth):
    response = auth.login("İ" * 150, "whatever it is")  # "i̇" is two characters
    assert response.status_code == 200
    with app.app_context():
        (attempt,) = LoginAttempt.select()
        assert attempt.reason == "unknown_user" and len(attempt.username_key) == 150


@pytest.mark.parametrize("failing", [
    (passwords, "verify"), (store, "start"),
    (attempts_module.Pending, "finish"),  # the outcome is written, then the commit fails
])
def test_a_request_that_fails_midway_leaves_history_and_counters_agreeing(
        app, auth, caplog, monkeypatch, failing):
    """Wherever the check or its settlement fails, the row and its line say `error` and
    name the account, and the failure counted in advance stands: the admin sees all the
    counters hold."""
    user = auth.create()
    owner, name = failing
    original = getattr(owner, name)

    def fail(*args, **kwargs):
        original(*args, **kwargs)
        raise OperationalError("disk I/O error")
    monkeypatch.setattr(owner, name, fail)
    caplog.set_level(logging.INFO, logger="portal.attempts")
    monkeypatch.setattr(logging.getLogger("portal"), "propagate", True)
    assert auth.login().status_code == 503
    (row,) = attempts(app)
    assert (row["outcome"], row["reason"], row["session"]) == ("failure", "error", None)
    assert row["user"] == user.id
    with app.app_context():
        assert FailureBudget.get(FailureBudget.account == "alice").failures == 1
        assert Session.select().count() == 0
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "portal.attempts"]
    assert line["reason"] == "error" and line["outcome"] == "failure"
    monkeypatch.undo()
    assert auth.login().status_code == 302  # and the next one settles as ever
    assert [a["reason"] for a in attempts(app)] == ["error", "ok"]
