"""What the pages say to people: owners' words, addresses and devices as people name them,
why a session ended, where the cursor waits, and what assistive technology is told."""

import re
import time

import jwt
import pytest

from portal.sessions import store
from portal.sessions import tokens

MAPPED = "::ffff:198.51.100.77"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IDLE_NOTICE = "You were signed out after a while without activity."


def client_from(app, ip="127.0.0.1", user_agent=FIREFOX):
    """Return a test client that the portal sees at `ip` with `user_agent`."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": ip, "HTTP_USER_AGENT": user_agent})
    return client


def sign_in(app, ip="127.0.0.1", user_agent=FIREFOX, password="correct horse battery"):
    """Return a client signed in as alice from `ip` with `user_agent`."""
    client = client_from(app, ip, user_agent)
    response = client.post("/login", data={"username": "alice", "password": password})
    assert response.status_code == 302
    return client


def page(client, path="/account/sessions"):
    """Return the text of a page."""
    return client.get(path, follow_redirects=True).get_data(as_text=True)


@pytest.mark.settings(IP_MAX_FAILURES=2)
def test_the_owner_reads_each_attempt_as_a_sentence(app, auth):
    auth.create()
    stranger = client_from(app, "192.0.2.9")
    for _ in range(3):  # two wrong passwords throttle the address; the third is refused
        stranger.post("/login", data={"username": "alice", "password": "not it at all"})
    text = page(sign_in(app))
    assert "Wrong password" in text and "Signed in" in text
    assert "Blocked: too many attempts from your network" in text
    for code in ("bad_password", "throttled", ">ok<", "success ok"):
        assert code not in text, code


def test_an_ipv4_mapped_address_is_shown_as_ipv4(app, auth):
    auth.create("root", is_admin=True)
    auth.create()
    sign_in(app, ip=MAPPED)
    owner = page(sign_in(app))
    auth.login("root")
    admin = page(auth._client, "/admin/users/alice")
    for text in (owner, admin):
        assert "198.51.100.77" in text and "::ffff:" not in text


@pytest.mark.parametrize(("user_agent", "shown"), [
    ("", "Unknown device"), ("curl/8.5.0", "curl"),
    (FIREFOX, "Firefox 128 on Linux")])
def test_a_device_is_named_without_its_unknown_parts(app, auth, user_agent, shown):
    auth.create()
    text = page(sign_in(app, user_agent=user_agent))
    assert shown in text
    assert "Unknown on" not in text and "on Unknown" not in text and "· Unknown" not in text


def test_every_sign_out_button_names_its_session(app, auth):
    auth.create()
    sign_in(app, ip=MAPPED)
    text = page(sign_in(app))
    hidden = re.findall(r'<span class="visually-hidden">([^<]*)<time', text)
    assert " the session from Firefox on Linux, 198.51.100.77, signed in " in hidden
    assert " (the sign-in from Firefox on Linux, 198.51.100.77, at " in hidden


def test_times_carry_utc_in_the_machine_form_and_the_title(app, auth):
    auth.create()
    text = page(sign_in(app))
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
    assert re.search(rf'<time datetime="[0-9T:.-]+Z" title="{stamp}">{stamp}</time>', text)
    assert '<script src="/static/portal.js" defer></script>' in text


def test_every_page_has_a_skip_link_and_an_announcer(client):
    text = client.get("/login").get_data(as_text=True)
    assert '<a class="skip-link" href="#main">Skip to the content</a>' in text
    assert '<main id="main" tabindex="-1">' in text
    assert '<div id="announcer" class="visually-hidden" aria-live="polite"></div>' in text
    with client.get("/static/portal.js") as script:
        assert script.status_code == 200 and "javascript" in script.content_type


def test_the_cursor_waits_in_the_password_after_a_failed_sign_in(app, auth, client):
    auth.create()
    fresh = client.get("/login").get_data(as_text=True)
    assert "autofocus" in re.search(r'<input[^>]*id="username"[^>]*>', fresh).group(0)
    failed = auth.login("alice", "not the password").get_data(as_text=True)
    password = re.search(r'<input[^>]*id="password"[^>]*>', failed).group(0)
    username = re.search(r'<input[^>]*id="username"[^>]*>', failed).group(0)
    assert "autofocus" in password and "autofocus" not in username
    assert 'value="alice"' in username
    assert 'aria-describedby="login-error"' in password
    assert 'id="login-error"' in failed


def test_password_errors_are_tied_to_their_fields(app, auth):
    auth.create()
    client = sign_in(app)
    text = client.post("/account/password", data={
        "current": "correct horse battery", "new": "short", "confirm": "short"}).get_data(
        as_text=True)
    new = re.search(r'<input[^>]*id="new"[^>]*>', text).group(0)
    assert 'aria-invalid="true"' in new and 'aria-describedby="new-error new-hint"' in new
    assert 'id="new-error" role="alert">Use 15 to 1024 characters.' in text
    wrong = client.post("/account/password", data={
        "current": "not my password", "new": "a brand new passphrase",
        "confirm": "a brand new passphrase"}).get_data(as_text=True)
    current = re.search(r'<input[^>]*id="current"[^>]*>', wrong).group(0)
    assert 'aria-describedby="current-error"' in current and 'id="current-error"' in wrong


def test_a_missing_lock_reason_is_tied_to_its_field(app, auth, client):
    auth.create("root", is_admin=True)
    bob = auth.create("bob")
    auth.login("root")
    row = client.post("/admin/users/bob/lock", data={"reason": " ", "confirm": "yes"},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'aria-describedby="lock-error-{bob.id}"' in row and 'aria-invalid="true"' in row
    assert f'id="lock-error-{bob.id}">Give a reason.' in row


@pytest.mark.settings(SESSION_IDLE=60)
def test_a_notice_says_the_session_ended_for_inactivity_once(app, auth, monkeypatch):
    auth.create()
    client = sign_in(app)
    later = store.clock.now() + store.timedelta(seconds=61)
    monkeypatch.setattr(store.clock, "now", lambda: later)
    assert IDLE_NOTICE in page(client)
    assert IDLE_NOTICE not in page(client, "/login")


def test_a_token_that_ran_out_unrenewed_says_inactivity(app, auth, monkeypatch):
    auth.create()
    client = sign_in(app)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + app.config["TOKEN_TTL"] + 1)
    assert IDLE_NOTICE in page(client)


@pytest.mark.settings(SESSION_MAX_AGE=3600, TOKEN_TTL=900)
def test_a_notice_says_the_session_reached_its_maximum_length(app, auth, monkeypatch):
    auth.create()
    client = sign_in(app)
    later = store.clock.now() + store.timedelta(seconds=3601)
    monkeypatch.setattr(store.clock, "now", lambda: later)
    assert "Your session reached its maximum length of 1 h. Sign in again" in page(client)


@pytest.mark.settings(SESSION_IDLE=60)
def test_no_notice_after_signing_out_nor_for_a_forged_token(app, auth, monkeypatch):
    auth.create()
    client = sign_in(app)
    token = client.get_cookie("portal_session").value
    client.post("/logout")
    later = store.clock.now() + store.timedelta(seconds=61)
    monkeypatch.setattr(store.clock, "now", lambda: later)
    client.set_cookie("portal_session", token)
    assert "signed out" not in page(client).split("<main")[1]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "not the key" * 4, algorithm="HS256",
                        headers={"kid": app.config["JWT_KID"], "typ": tokens.TOKEN_TYPE})
    stranger = client_from(app)
    stranger.set_cookie("portal_session", forged)
    assert "signed out" not in page(stranger).split("<main")[1]
    assert "signed out" not in page(client_from(app), "/login").split("<main")[1]
