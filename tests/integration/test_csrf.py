"""Every POST needs a CSRF token; a login without one is not an attempt."""

import re
import time

import pytest

from portal.models import LoginAttempt
from portal.models import Session

pytestmark = pytest.mark.csrf


def csrf_token(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]


def count(app, model):
    with app.app_context():
        return model.select().count()


def test_login_without_csrf_is_refused_and_not_recorded(app, auth, client):
    auth.create()
    response = client.post("/login", data={"username": "alice", "password": "correct horse"})
    assert response.status_code == 400
    assert b"Form expired" in response.data
    assert count(app, LoginAttempt) == 0 and count(app, Session) == 0


def test_login_with_forged_csrf_is_refused(app, auth, client):
    auth.create()
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": "correct horse",
                                           "csrf_token": "forged"})
    assert response.status_code == 400 and count(app, LoginAttempt) == 0


def test_login_with_csrf_works_and_rotates_the_token(app, auth, client):
    auth.create()
    token = csrf_token(client)
    response = client.post("/login", data={"username": "alice", "password": "correct horse",
                                           "csrf_token": token})
    assert response.status_code == 302
    assert csrf_token(client, "/account/sessions") != token


def test_logout_needs_csrf(app, auth, client):
    auth.create()
    client.post("/login", data={"username": "alice", "password": "correct horse",
                                "csrf_token": csrf_token(client)})
    assert client.post("/logout").status_code == 400
    assert client.get("/account/sessions").status_code == 200
    token = csrf_token(client, "/account/sessions")
    assert client.post("/logout", headers={"X-CSRFToken": token}).status_code == 302
    assert client.get("/account/sessions").status_code == 302


def test_the_csrf_cookie_is_checked_once_yet_expires_and_forgeries_fail(app, client,
                                                                         monkeypatch):
    from portal.sessions import cookies
    cookies.opened.cache_clear()
    token = csrf_token(client)  # sets the cookie
    for _ in range(3):
        assert csrf_token(client) == token  # the same secret, from one check
    assert cookies.opened.cache_info()[:2] == (2, 1)  # (hits, misses)
    cookie = client.get_cookie("portal_csrf")
    client.set_cookie("portal_csrf", cookie.value[:-2] + "xx")  # a forged signature
    assert csrf_token(client) != token
    client.set_cookie("portal_csrf", cookie.value)
    assert csrf_token(client) == token
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 32 * 24 * 3600)
    assert csrf_token(client) != token  # older than PERMANENT_SESSION_LIFETIME (31 days)


def test_a_request_that_changes_its_session_leaves_the_remembered_one_alone(app, auth,
                                                                           client):
    auth.create()
    token = csrf_token(client)
    client.post("/login", data={"username": "alice", "password": "wrong",
                                "csrf_token": token})
    assert csrf_token(client) == token
    client.post("/login", data={"username": "alice", "password": "correct horse",
                                "csrf_token": token})  # clears the session: a new secret
    assert csrf_token(client, "/account/sessions") != token
