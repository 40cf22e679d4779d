"""What the session cookie is worth: revocation, forgery, expiry, renewal."""

import time

import jwt
import pytest

from portal.models import Session
from portal.sessions import store
from portal.sessions import tokens


def signed_in(auth, client, username="alice"):
    auth.create(username)
    auth.login(username)
    return client.get_cookie("portal_session").value


def test_logout_revokes_the_token_at_once(app, auth, client):
    token = signed_in(auth, client)
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get_cookie("portal_session") is None
    client.set_cookie("portal_session", token)
    replay = client.get("/account/sessions")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")
    with app.app_context():
        assert Session.get().end_reason == "logout"


def forged_cookie(app, **claims):
    now = int(time.time())
    body = {"sub": "1", "jti": "x", "iat": now, "nbf": now, "exp": now + 60,
            "iss": "portal", "aud": "portal", **claims}
    kid = app.config["JWT_KID"]
    return jwt.encode(body, app.config["JWT_KEYRING"][kid], algorithm="HS256",
                      headers={"kid": kid, "typ": tokens.TOKEN_TYPE})


@pytest.mark.parametrize("cookie", [
    "garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "\u00e9" * 10, "x" * 4000,
])
def test_malformed_cookie_means_signed_out(client, cookie):
    client.set_cookie("portal_session", cookie)
    response = client.get("/account/sessions")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account/sessions"


def test_validly_signed_token_for_unknown_session_is_refused(app, auth, client):
    signed_in(auth, client)
    client.set_cookie("portal_session", forged_cookie(app, jti="not-a-session"))
    assert client.get("/account/sessions").status_code == 302


def test_token_whose_subject_differs_from_the_session_owner_is_refused(app, auth, client):
    signed_in(auth, client)
    with app.app_context():
        jti = Session.get().id
    auth.create("bob")
    client.set_cookie("portal_session", forged_cookie(app, jti=jti, sub="2"))
    assert client.get("/account/sessions").status_code == 302
    client.set_cookie("portal_session", forged_cookie(app, jti=jti, sub="abc"))
    assert client.get("/account/sessions").status_code == 302


def test_expired_token_is_refused_and_the_cookie_dropped(app, auth, client):
    signed_in(auth, client)
    with app.app_context():
        jti = Session.get().id
    client.set_cookie("portal_session", forged_cookie(app, jti=jti, exp=int(time.time()) - 5))
    response = client.get("/account/sessions")
    assert response.status_code == 302
    assert any(c.startswith("portal_session=;") for c in response.headers.getlist("Set-Cookie"))


def test_ended_session_refuses_its_still_valid_token(app, auth, client):
    signed_in(auth, client)
    with app.app_context():
        store.end(Session.get().id, "revoked")
    assert client.get("/account/sessions").status_code == 302


@pytest.mark.settings(SESSION_IDLE=60)
def test_idle_session_ends(app, auth, client, monkeypatch):
    signed_in(auth, client)
    later = store.clock.now() + store.timedelta(seconds=61)
    monkeypatch.setattr(store.clock, "now", lambda: later)
    assert client.get("/account/sessions").status_code == 302
    with app.app_context():
        assert Session.get().end_reason == "idle"


def test_token_is_renewed_with_the_same_jti_after_half_its_life(app, auth, client, monkeypatch):
    old = signed_in(auth, client)
    assert "portal_session" not in str(client.get("/account/sessions").headers)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + app.config["TOKEN_TTL"] * 0.6)
    response = client.get("/account/sessions")
    new = client.get_cookie("portal_session").value
    assert response.status_code == 200 and new != old
    decoded = [jwt.decode(t, options={"verify_signature": False}) for t in (old, new)]
    assert decoded[0]["jti"] == decoded[1]["jti"] and decoded[1]["exp"] > decoded[0]["exp"]


def test_signed_in_pages_are_not_cached(auth, client):
    signed_in(auth, client)
    assert client.get("/account/sessions").headers["Cache-Control"] == "no-store"


def test_session_of_an_admin_locked_user_is_refused_even_if_it_slipped_through(app, auth,
                                                                              client):
    from portal.models import User
    signed_in(auth, client)
    with app.app_context():  # as if a sign-in raced past the lock that ended the sessions
        User.update(lock_reason="race", locked_at=store.clock.now()).execute()
    assert client.get("/account/sessions").status_code == 302
    with app.app_context():
        assert Session.get().end_reason == "locked"
