"""What a stranger who never signs in can do to an account's owner, through gunicorn.

Each test drives real HTTP against gunicorn on SQLite and PostgreSQL: a stranger may
slow the owner down, never lock them out for good, sign them out or act unseen.
"""

import json
import os
import re
import signal
import threading
import time

import argon2
import jwt
import pytest
import requests

from portal import clock
from portal import keys
from portal.models import FailureBudget
from portal.models import LoginAttempt
from portal.models import Session
from portal.models import User
from tests.server import Gunicorn
from tests.server import portal_env

pytestmark = pytest.mark.slow

SECRET = "s" * 48  # tests.server.portal_env's


class Browser:
    """One browser: its own cookies, and the CSRF token of the last page it loaded."""

    def __init__(self, url):
        self.url, self.http, self.token = url, requests.Session(), None

    def get(self, path, **kwargs):
        response = self.http.get(self.url + path, timeout=10, allow_redirects=False, **kwargs)
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', response.text)
        self.token = found[1] if found else self.token
        return response

    def post(self, path, data=None, **kwargs):
        return self.http.post(self.url + path, data={"csrf_token": self.token, **(data or {})},
                              timeout=30, allow_redirects=False, **kwargs)

    def sign_in(self, username, password):
        self.get("/login")
        return self.post("/login", {"username": username, "password": password})


def events(server):
    """Return the JSON lines gunicorn's workers wrote so far, as dicts."""
    found = []
    for line in server.read_log().splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def attempts(app):
    with app.app_context():
        return [a.reason for a in LoginAttempt.select().order_by(LoginAttempt.id)]


def test_a_body_the_form_cannot_read_is_refused_and_is_no_attempt(app, auth, database_url):
    auth.create()
    with Gunicorn(portal_env(database_url)) as server:
        stranger = Browser(server.url)
        stranger.get("/login")
        for _ in range(6):  # past the threshold, had they counted
            refused = stranger.http.post(server.url + "/login", timeout=10, data={
                "csrf_token": stranger.token, "username": "alice"},
                files={"password": ("p.txt", b"wrong")})
            assert refused.status_code == 400 and "Traceback" not in refused.text
        as_json = stranger.http.post(server.url + "/login", timeout=10, json={
            "username": "alice", "password": "wrong"}, headers={"X-CSRFToken": stranger.token})
        assert as_json.status_code == 400
        assert attempts(app) == []
        owner = Browser(server.url)
        assert owner.sign_in("alice", auth.password).status_code == 302
        owner.get("/account/password")
        refused = owner.http.post(server.url + "/account/password", timeout=10, data={
            "csrf_token": owner.token, "new": "x" * 20, "confirm": "x" * 20},
            files={"current": ("c.txt", b"wrong")})  # the password check counts too
        assert refused.status_code == 400
        logged = [e for e in events(server) if e["event"] == "malformed_form"]
    assert attempts(app) == ["ok"]
    assert len(logged) == 8 and {e["reason"] for e in logged} == {"multipart/form-data",
                                                                  "application/json"}
    assert all(e["path"] == "/login" and e["ip"] == "127.0.0.1" for e in logged[:7])
    assert (logged[7]["path"], logged[7]["user"]) == ("/account/password", "alice")


def test_failures_elsewhere_never_sign_the_owner_out(app, auth, database_url):
    auth.create()
    with Gunicorn(portal_env(database_url)) as server:
        owner = Browser(server.url)
        assert owner.sign_in("alice", auth.password).status_code == 302
        stranger = Browser(server.url)
        for _ in range(6):
            assert stranger.sign_in("alice", "wrong").status_code == 200
        assert owner.get("/account/sessions").status_code == 200  # still signed in
        assert stranger.sign_in("alice", auth.password).status_code == 200  # locked for it
        # The owner's browser is a known device with a budget of its own.
        owner.get("/account/sessions")
        assert owner.post("/logout").status_code == 302
        assert owner.sign_in("alice", auth.password).status_code == 302
    assert attempts(app) == ["ok"] + ["bad_password"] * 5 + ["locked"] * 2 + ["ok"]
    with app.app_context():
        assert [s.end_reason for s in Session.select().order_by(Session.created_at)] == \
            ["logout", None]


def test_rounds_of_locks_flag_the_account_and_never_lock_it_for_good(app, auth, database_url):
    auth.create("root", is_admin=True)
    auth.create()
    env = portal_env(database_url, LOCKOUT_MAX_FAILURES=2, LOCKOUT_WAIT=1, LOCKOUT_MAX_WAIT=2,
                     LOCKOUT_MAX_TEMPORARY=2)
    with Gunicorn(env) as server:
        stranger = Browser(server.url)
        for _ in range(5):  # locks of 1, 2, 2, 2, 2 s: flagged at the second
            for _ in range(2):
                stranger.sign_in("alice", "wrong")
            with app.app_context():
                until = FailureBudget.get(FailureBudget.account == "alice",
                                          FailureBudget.device == "").locked_until
            time.sleep(max(0.0, (until - clock.now()).total_seconds()) + 0.2)
        newcomer = Browser(server.url)  # a browser the owner never used before
        assert newcomer.sign_in("alice", auth.password).status_code == 302
        admin = Browser(server.url)
        admin.sign_in("root", auth.password)
        users_page = admin.get("/admin/users").text
        user_page = admin.get("/admin/users/alice").text
    assert "1 to review" in users_page and "to review</span>" in users_page
    assert "Flagged for review" in user_page
    with app.app_context():
        assert User.get(User.username == "alice").review_flagged_at is not None
        assert FailureBudget.select().where(FailureBudget.permanent).count() == 0


def test_a_killed_worker_leaves_the_attempt_it_counted(app, auth, database_url):
    user = auth.create()
    # A slow hash: the worker is killed while it checks the password.
    slow = argon2.PasswordHasher(time_cost=40, memory_cost=65536).hash(auth.password)
    with app.app_context():
        User.update(password_hash=slow).where(User.id == user.id).execute()
    with Gunicorn(portal_env(database_url), workers=1) as server:
        stranger = Browser(server.url)
        stranger.get("/login")
        worker, answers = server.worker_pids()[0], []

        def send():
            try:
                answers.append(stranger.post("/login", {"username": "alice",
                                                        "password": "wrong"}).status_code)
            except requests.ConnectionError:
                answers.append("no answer")
        sent = threading.Thread(target=send)
        sent.start()
        time.sleep(0.5)
        os.kill(worker, signal.SIGKILL)
        sent.join()
    assert answers == ["no answer"]
    assert attempts(app) == ["error"]
    with app.app_context():
        assert FailureBudget.get(FailureBudget.account == "alice").failures == 1


def forged_token(**claims):
    """Return a token signed with the server's real key, with these claims."""
    now = int(time.time())
    body = {"sub": "1", "jti": "x" * 32, "iat": now, "nbf": now, "exp": now + 60,
            "iss": "portal", "aud": "portal", **claims}
    return jwt.encode(body, keys.derive(SECRET, keys.LABELS["JWT_KEY"]), algorithm="HS256",
                      headers={"kid": keys.key_id(SECRET), "typ": "portal-session+jwt"})


def test_security_events_are_logged_without_secrets(app, auth, database_url):
    auth.create("root", is_admin=True)
    auth.create()
    with Gunicorn(portal_env(database_url)) as server:
        anonymous = requests.get(server.url + "/login", timeout=10)
        assert "Server-Timing" not in anonymous.headers
        requests.post(server.url + "/login", data={"username": "alice", "password": "x"},
                      timeout=10)  # no CSRF token
        for token in (forged_token(exp=int(time.time()) + 30 * 86400),  # a month-long token
                      forged_token().rsplit(".", 1)[0] + ".AAAA"):
            requests.get(server.url + "/account/sessions", timeout=10,
                         cookies={"portal_session": token})
        requests.post(server.url + "/login", data={"x": "y" * 100_000}, timeout=10)
        user = Browser(server.url)
        user.sign_in("alice", auth.password)
        assert user.get("/admin/history").status_code == 403
        admin = Browser(server.url)
        admin.sign_in("root", auth.password)
        assert "Server-Timing" in admin.get("/admin/history").headers
        logged = events(server)
        log_text = server.read_log()
    security = [(e["event"], e["reason"]) for e in logged if "reason" in e and "path" in e]
    assert ("csrf_failed", "The CSRF token is missing.") in security
    assert ("token_rejected", "lifetime_too_long") in security
    assert ("token_rejected", "bad_signature") in security
    assert ("too_large", "over 65536 bytes") in security
    assert ("forbidden", "admin_only") in security
    forbidden = next(e for e in logged if e.get("event") == "forbidden")
    assert forbidden["user"] == "alice" and forbidden["path"] == "/admin/history"
    assert re.fullmatch(r"[0-9a-f]{32}", forbidden["request_id"])
    assert auth.password not in log_text and forged_token()[:40] not in log_text


def test_a_key_rotation_keeps_sessions_forms_and_known_devices(app, auth, database_url):
    auth.create()
    with Gunicorn(portal_env(database_url)) as server:
        owner = Browser(server.url)
        assert owner.sign_in("alice", auth.password).status_code == 302
        owner.get("/account/sessions")  # the form token the owner's page holds
        stranger = Browser(server.url)
        for _ in range(5):  # unknown clients are locked out now
            stranger.sign_in("alice", "wrong")
    rotated = portal_env(database_url, SECRET_KEY="n" * 48, SECRET_KEY_PREVIOUS=SECRET)
    with Gunicorn(rotated) as server:
        owner.url = server.url
        # The page loaded before the rotation still posts: CSRF and Flask session keys.
        assert owner.post("/account/sessions/revoke-others", {"confirm": "yes"}).status_code == 302
        assert owner.get("/account/sessions").status_code == 200  # the JWT
        assert owner.post("/logout").status_code == 302
        # The device cookie signed with the old key still makes this browser known,
        # and the sign-in renews it under the new key.
        assert owner.sign_in("alice", auth.password).status_code == 302
        owner.get("/account/sessions")
        assert owner.post("/logout").status_code == 302
    with Gunicorn(portal_env(database_url, SECRET_KEY="n" * 48)) as server:
        owner.url = server.url  # the old key is gone; unknown clients are still locked out
        assert owner.sign_in("alice", auth.password).status_code == 302
    assert attempts(app) == ["ok"] + ["bad_password"] * 5 + ["ok", "ok"]
