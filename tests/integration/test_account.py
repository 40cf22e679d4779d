"""The account's own sessions page: devices, revocation, activity, password change."""

import re
from datetime import timedelta

import pytest

from portal import clock
from portal.accounts import passwords
from portal.models import LoginAttempt
from portal.models import Session
from portal.models import User

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/126.0 Safari/537.36")
NEW_PASSWORD = "a brand new passphrase"
# A terminal's "conceal" sequence in the device name, which the parser passes on.
CONCEALING_PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel\x1b[8m 8) AppleWebKit/537.36 "
                    "Chrome/126.0 Mobile Safari/537.36")


def sign_in(app, username="alice", password="correct horse battery", user_agent=WINDOWS):
    """Return a new client signed in as the user."""
    other = app.test_client()
    response = other.post("/login", data={"username": username, "password": password},
                          headers={"User-Agent": user_agent})
    assert response.status_code == 302
    return other


def session_ids(app, **where):
    with app.app_context():
        return {s.id: s for s in Session.select().order_by(Session.created_at)}


def test_sessions_page_shows_each_device_ip_and_activity(app, auth):
    auth.create()
    auth.login("alice", "wrong")
    phone = sign_in(app, user_agent=IPHONE)
    laptop = sign_in(app)
    text = laptop.get("/account/sessions").get_data(as_text=True)
    for shown in ["Chrome", "Windows", "Mobile Safari", "iOS", "iPhone", "Mobile",
                  "Desktop", "127.0.0.1", "this device", "Wrong password", "Signed in",
                  "Sign out everywhere else"]:
        assert shown in text, shown
    assert phone.get("/account/sessions").status_code == 200


def test_attempts_of_other_accounts_are_not_shown(app, auth):
    auth.create()
    auth.create("bob")
    auth.login("bob", "wrong")
    assert "Wrong password" not in sign_in(app).get("/account/sessions").get_data(as_text=True)


def test_failed_attempts_since_the_previous_sign_in_are_announced(app, auth):
    auth.create()
    sign_in(app)
    auth.login("alice", "wrong")
    auth.login("alice", "wrong")
    text = sign_in(app).get("/account/sessions").get_data(as_text=True)
    assert "2 failed sign-in attempts" in text
    assert "failed sign-in attempt" not in sign_in(app).get("/account/sessions").get_data(
        as_text=True)


def test_revoke_one_other_session_takes_effect_at_once(app, auth):
    auth.create()
    first, second = sign_in(app), sign_in(app)
    second_id = next(reversed(session_ids(app)))
    response = first.post(f"/account/sessions/{second_id}/revoke")
    assert response.status_code == 302 and response.headers["Location"] == "/account/sessions"
    assert second.get("/account/sessions").status_code == 302
    assert first.get("/account/sessions").status_code == 200
    assert session_ids(app)[second_id].end_reason == "revoked"


def test_revoke_with_htmx_returns_the_updated_part(app, auth):
    auth.create()
    first, _ = sign_in(app), sign_in(app)
    second_id = next(reversed(session_ids(app)))
    part = first.post(f"/account/sessions/{second_id}/revoke", headers={"HX-Request": "true"})
    text = part.get_data(as_text=True)
    assert part.status_code == 200 and text.lstrip().startswith('<div id="account-sessions"')
    assert "Signed out from another session" in text


def test_revoke_others_keeps_only_this_session(app, auth):
    auth.create()
    others = [sign_in(app) for _ in range(3)]
    me = sign_in(app)
    me.post("/account/sessions/revoke-others", data={"confirm": "yes"})
    assert all(c.get("/account/sessions").status_code == 302 for c in others)
    assert me.get("/account/sessions").status_code == 200


@pytest.mark.parametrize("whose", ["other user", "own current", "unknown"])
def test_cannot_revoke_a_session_that_is_not_another_of_mine(app, auth, whose):
    auth.create()
    auth.create("bob")
    bob = sign_in(app, "bob")
    me = sign_in(app)
    ids = list(session_ids(app))
    target = {"other user": ids[0], "own current": ids[1], "unknown": "nope"}[whose]
    assert me.post(f"/account/sessions/{target}/revoke").status_code == 404
    assert me.post(f"/account/sessions/{target}/report").status_code == 404
    assert bob.get("/account/sessions").status_code == 200


def test_this_wasnt_me_ends_the_session_and_flags_it_for_admins(app, auth):
    auth.create()
    auth.create("root", "correct horse battery", is_admin=True)
    intruder = sign_in(app, user_agent=IPHONE)
    me = sign_in(app)
    intruder_id = next(iter(session_ids(app)))
    page = me.get("/account/sessions").get_data(as_text=True)
    assert f"/account/sessions/{intruder_id}/report" in page
    me.post(f"/account/sessions/{intruder_id}/report")
    assert intruder.get("/account/sessions").status_code == 302
    assert session_ids(app)[intruder_id].reported_at is not None
    admin_page = sign_in(app, "root").get("/admin/users/alice").get_data(as_text=True)
    assert "reported as not theirs" in admin_page and "Mobile Safari" in admin_page


@pytest.mark.settings(TRUSTED_PROXIES=1)
def test_devices_and_addresses_show_controls_and_invisible_characters_as_marks(app, auth):
    auth.create()
    auth.create("root", "correct horse battery", is_admin=True)
    # A scope id would make any text an IPv6 address: the portal takes none (the address
    # reads "unknown"). A header's UTF-8 bytes reach the app as Latin-1.
    sent = {"X-Forwarded-For": "fe80::1%" + "\u2066".encode().decode("latin-1") + "\x1b[31m",
            "User-Agent": CONCEALING_PHONE}
    intruder = app.test_client()
    intruder.post("/login", data={"username": "alice", "password": "wrong"}, headers=sent)
    intruder.post("/login", data={"username": "alice", "password": "correct horse battery"},
                  headers=sent)
    me = sign_in(app)
    page = me.get("/account/sessions").get_data(as_text=True)
    assert "\x1b" not in page and "\x81" not in page
    shown = re.sub(r"<[^>]+>", "", page)
    assert "Pixel⟨U+001B⟩[8m 8" in shown  # the device of the intruder's session
    # The intruder's session, and both of its attempts.
    assert "fe80" not in shown and shown.count("unknown") >= 3
    intruder_id = next(iter(session_ids(app)))
    me.post(f"/account/sessions/{intruder_id}/report")
    admin_page = sign_in(app, "root").get("/admin/users/alice").get_data(as_text=True)
    assert "reported as not theirs" in admin_page and "\x1b" not in admin_page
    assert "Pixel⟨U+001B⟩[8m 8)" in re.sub(r"<[^>]+>", "", admin_page)  # the raw agent


@pytest.mark.settings(SESSION_MAX_AGE=120, TOKEN_TTL=60)
def test_session_ends_at_its_maximum_age_even_when_active(app, auth, monkeypatch):
    auth.create()
    me = sign_in(app)
    start = clock.now()
    for seconds in (50, 100):
        monkeypatch.setattr(clock, "now", lambda s=seconds: start + timedelta(seconds=s))
        assert me.get("/account/sessions").status_code == 200
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=121))
    assert me.get("/account/sessions").status_code == 302
    assert next(iter(session_ids(app).values())).end_reason == "expired"


def test_last_seen_is_written_at_most_once_a_minute(app, auth, monkeypatch):
    auth.create()
    me = sign_in(app)
    start = clock.now()

    def last_seen():
        return next(iter(session_ids(app).values())).last_seen_at
    first = last_seen()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=59))
    me.get("/account/sessions")
    assert last_seen() == first
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=61))
    me.get("/account/sessions")
    assert last_seen() == start + timedelta(seconds=61)


def test_last_seen_is_written_once_a_full_minute_has_passed(app, auth, monkeypatch):
    auth.create()
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    me = sign_in(app)
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=60))
    me.get("/account/sessions")
    assert next(iter(session_ids(app).values())).last_seen_at == start + timedelta(seconds=60)


def test_password_change_needs_the_current_password_and_ends_other_sessions(app, auth):
    auth.create()
    other = sign_in(app)
    me = sign_in(app)
    assert b"Change password" in me.get("/account/password").data
    wrong = me.post("/account/password", data={"current": "nope", "new": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD})
    assert wrong.status_code == 400 and b"current password is not correct" in wrong.data
    with app.app_context():
        assert LoginAttempt.select().order_by(LoginAttempt.id.desc()).get().reason == \
            "bad_password"
    mismatch = me.post("/account/password", data={"current": "correct horse battery",
                                                  "new": NEW_PASSWORD, "confirm": "other"})
    assert mismatch.status_code == 400 and b"differ" in mismatch.data
    short = me.post("/account/password", data={"current": "correct horse battery", "new": "short",
                                               "confirm": "short"})
    assert short.status_code == 400 and b"Use 15 to 1024 characters." in short.data
    done = me.post("/account/password", data={"current": "correct horse battery",
                                              "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and b"Password changed" in done.data
    assert other.get("/account/sessions").status_code == 302
    assert me.get("/account/sessions").status_code == 200
    assert auth.login("alice", "correct horse battery").status_code == 200
    assert auth.login("alice", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(("new", "message"), [
    ("qwertyuiop123456", "on a list of common and breached passwords"),
    ("QWERTYuiop123456", "on a list of common and breached passwords"),
    ("I am alice and that is that", "must not contain your username or the word “portal”"),
    ("my portal password is this", "must not contain your username or the word “portal”"),
])
def test_password_change_refuses_what_the_rule_refuses_and_says_why(app, auth, new, message):
    auth.create()
    me = sign_in(app)
    refused = me.post("/account/password", data={"current": "correct horse battery",
                                                 "new": new, "confirm": new})
    assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert auth.login("alice", new).status_code == 200
    assert auth.login("alice", "correct horse battery").status_code == 302


def test_a_short_password_set_before_the_rule_still_signs_in_and_can_be_changed(app, auth):
    with app.app_context():
        User.create(username="alice", created_at=clock.now(),
                    password_hash=passwords.hash_password("old pw"))
    me = sign_in(app, password="old pw")
    changed = me.post("/account/password", data={"current": "old pw", "new": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert changed.status_code == 200 and b"Password changed" in changed.data
    assert auth.login("alice", NEW_PASSWORD).status_code == 302


def test_live_sessions_the_ten_latest_ended_and_latest_attempts_come_newest_first(app, auth):
    from portal.history import activity
    user = auth.create()
    now = clock.now()
    later = now + timedelta(hours=1)

    def add(session_id, last_seen, ended=None):
        Session.create(id=session_id, user=user.id, created_at=now - timedelta(days=2),
                       last_seen_at=last_seen, expires_at=later, ended_at=ended,
                       end_reason="logout" if ended else None, ip="127.0.0.1", user_agent="")
    with app.app_context():
        for n in range(14):
            add(f"ended{n:02}", now - timedelta(hours=1), ended=now - timedelta(minutes=n))
        for n in range(3):
            add(f"live{n}", now - timedelta(minutes=n))
        add("idle", now - timedelta(days=1))
        for n in range(25):
            LoginAttempt.create(at=now - timedelta(minutes=n), username="alice",
                                username_key="alice", user=user.id, outcome="failure",
                                reason=f"r{n:02}", ip="127.0.0.1", ip_key="x",
                                user_agent="", request_id="x")
        listed = activity.of(user.id)
    assert [s.id for s in listed.live] == ["live0", "live1", "live2"]
    assert [s.id for s in listed.ended] == [f"ended{n:02}" for n in range(10)]
    assert listed.ended[0].end_reason == "logout"
    assert listed.ended[0].created_at == now - timedelta(days=2)
    assert [a.reason for a in listed.attempts] == [f"r{n:02}" for n in range(20)]
    with app.app_context():  # attempts in the same microsecond: the later one first
        for reason in ("first", "second"):
            LoginAttempt.create(at=now + timedelta(minutes=1), username="alice",
                                username_key="alice", user=user.id, outcome="failure",
                                reason=reason, ip="127.0.0.1", ip_key="x", user_agent="",
                                request_id="x")
        assert [a.reason for a in activity.of(user.id).attempts[:2]] == ["second", "first"]
    assert listed.attempts[0].at == now and listed.attempts[0].session is None


def test_an_account_with_thousands_of_sessions_lists_the_newest_and_counts_them_all(app, auth):
    user = auth.create()
    now = clock.now()
    with app.app_context():
        Session.insert_many([{
            "id": f"many{n:04}", "user": user.id, "created_at": now - timedelta(minutes=n),
            "last_seen_at": now - timedelta(seconds=n), "expires_at": now + timedelta(hours=1),
            "ip": "192.0.2.1", "user_agent": IPHONE} for n in range(1, 1001)]).execute()
    me = sign_in(app)
    text = me.get("/account/sessions").get_data(as_text=True)
    assert "The 50 most recently active of your 1001 sessions are shown" in text
    assert text.count('class="current"') == 1 and "Sign out everywhere else" in text
    assert 'value="many0050"' not in text and "/account/sessions/many0049/revoke" in text
    me.post("/account/sessions/revoke-others", data={"confirm": "yes"})
    assert "of your" not in me.get("/account/sessions").get_data(as_text=True)


def test_sign_out_everywhere_else_asks_first(app, auth):
    auth.create()
    other, me = sign_in(app), sign_in(app)
    page = me.get("/account/sessions").get_data(as_text=True)
    assert 'hx-confirm="Sign out every other browser and device signed in to your account?"' \
        in page and "hx-vals='{\"confirm\": \"yes\"}'" in page
    asked = me.post("/account/sessions/revoke-others")
    assert asked.status_code == 400
    assert "Sign out everywhere else?" in asked.get_data(as_text=True)
    assert "Nothing has been done yet." in asked.get_data(as_text=True)
    refused = me.post("/account/sessions/revoke-others", headers={"HX-Request": "true"})
    assert refused.status_code == 400 and refused.get_data(as_text=True).lstrip().startswith(
        '<div id="account-sessions"')
    assert "Nothing was done: the confirmation was missing." in refused.get_data(as_text=True)
    assert other.get("/account/sessions").status_code == 200
    done = me.post("/account/sessions/revoke-others", data={"confirm": "yes"},
                   follow_redirects=True)
    assert "Signed out everywhere else: only this session is left." in done.get_data(
        as_text=True)
    assert other.get("/account/sessions").status_code == 302
