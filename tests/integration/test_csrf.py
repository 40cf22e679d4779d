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


def csrf_secret(app, client, path="/login"):
    """Return the CSRF secret in the session cookie after a page view.

    The tokens in pages are that secret signed with the time, so two of them differ
    across a second's boundary even when the secret is the same.
    """
    client.get(path)
    value = client.get_cookie("portal_csrf").value
    return app.session_interface.get_signing_serializer(app).loads(value)["csrf_token"]


def count(app, model):
    with app.app_context():
        return model.select().count()


def test_login_without_csrf_is_refused_and_not_recorded(app, auth, client):
    auth.create()
    response = client.post("/login", data={"username": "alice",
                                           "password": "correct horse battery"})
    assert response.status_code == 400
    assert b"Form expired" in response.data
    assert count(app, LoginAttempt) == 0 and count(app, Session) == 0


def test_login_with_forged_csrf_is_refused(app, auth, client):
    auth.create()
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": "correct horse battery",
                                           "csrf_token": "forged"})
    assert response.status_code == 400 and count(app, LoginAttempt) == 0


def test_login_with_csrf_works_and_rotates_the_token(app, auth, client):
    auth.create()
    token = csrf_token(client)
    response = client.post("/login", data={"username": "alice", "password": "correct horse battery",
                                           "csrf_token": token})
    assert response.status_code == 302
    assert csrf_token(client, "/account/sessions") != token


def test_logout_needs_csrf(app, auth, client):
    auth.create()
    client.post("/login", data={"username": "alice", "password": "correct horse battery",
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
    secret = csrf_secret(app, client)  # sets the cookie
    cookie = client.get_cookie("portal_csrf")
    for _ in range(3):
        client.get("/login")
    assert cookies.opened.cache_info()[:2] == (2, 1)  # (hits, misses): one check
    assert csrf_secret(app, client) == secret
    client.set_cookie("portal_csrf", cookie.value[:-2] + "xx")  # a forged signature
    assert csrf_secret(app, client) != secret
    client.set_cookie("portal_csrf", cookie.value)
    assert csrf_secret(app, client) == secret
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 32 * 24 * 3600)
    client.get("/login")  # older than PERMANENT_SESSION_LIFETIME (31 days): a new secret
    assert client.get_cookie("portal_csrf").value != cookie.value


def test_a_request_that_changes_its_session_leaves_the_remembered_one_alone(app, auth,
                                                                           client):
    auth.create()
    secret, token = csrf_secret(app, client), csrf_token(client)
    client.post("/login", data={"username": "alice", "password": "wrong",
                                "csrf_token": token})
    assert csrf_secret(app, client) == secret
    client.post("/login", data={"username": "alice", "password": "correct horse battery",
                                "csrf_token": token})  # clears the session: a new secret
    assert csrf_secret(app, client, "/account/sessions") != secret
