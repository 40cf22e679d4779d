"""Admin users list and user page: lock and unlock, audit trail, lock state explained."""

import re

import pytest

from portal.models import AuditEvent
from portal.models import LoginAttempt
from portal.models import User
from portal.security import lock_states
from tests.integration.test_csrf import csrf_token


@pytest.fixture
def admin(auth):
    auth.create("root", "correct horse battery", is_admin=True)
    auth.create("alice")
    return auth


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/admin/users"), ("get", "/admin/users/alice"),
    ("post", "/admin/users/alice/lock"), ("post", "/admin/users/alice/unlock"),
])
def test_non_admins_get_403(admin, client, method, path):
    admin.create("bob")
    admin.login("bob")
    assert getattr(client, method)(path, data={"reason": "x"}).status_code == 403


def test_users_list_shows_state_and_searches(admin, client):
    admin.login("alice", "wrong")
    admin.login("root")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "alice" in page and "root" in page and "active" in page
    rows = client.get("/admin/users?q=ALI", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "alice" in rows and ">root<" not in rows and "<html" not in rows


def test_admin_lock_ends_sessions_refuses_sign_in_and_is_audited(app, admin, client):
    alice = app.test_client()
    alice.post("/login", data={"username": "alice", "password": "correct horse battery"})
    admin.login("root")
    response = client.post("/admin/users/alice/lock",
                           data={"reason": "phished", "duration": "1d", "confirm": "yes"},
                           headers={"X-Forwarded-For": "ignored"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users/alice"
    assert alice.get("/account/sessions").status_code == 302
    assert alice.post("/login", data={"username": "alice", "password": "correct horse battery"}) \
        .status_code == 200
    with app.app_context():
        event = AuditEvent.get()
        assert (event.actor, event.action, event.reason, event.actor_ip) == \
            ("root", "lock", "phished", "127.0.0.1")
        assert event.until is not None
        assert LoginAttempt.select().order_by(LoginAttempt.id.desc()).get().reason == "locked"
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert "Locked by root" in page and "phished" in page and "The lock ends at" in page


def test_lock_needs_a_reason(app, admin, client):
    admin.login("root")
    response = client.post("/admin/users/alice/lock", data={"reason": "  "})
    assert response.status_code == 400 and "Give a reason for the lock." in response.get_data(
        as_text=True)
    with app.app_context():
        assert User.get(User.username == "alice").lock_reason is None


def test_unlock_restores_access_and_forgets_failures(app, admin, client):
    for _ in range(5):
        admin.login("alice", "wrong")
    admin.login("root")
    assert "Locked by the policy" in client.get("/admin/users/alice").get_data(as_text=True)
    client.post("/admin/users/alice/unlock")
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert "Not locked." in page and "No recent failed sign-ins" in page
    assert app.test_client().post("/login", data={
        "username": "alice", "password": "correct horse battery"}).status_code == 302
    with app.app_context():
        assert [e.action for e in AuditEvent.select().order_by(AuditEvent.id)] == \
            ["policy_lock", "unlock"]


def test_user_page_lists_the_failures_that_caused_the_lock(admin, client):
    for _ in range(5):
        admin.login("alice", "wrong")
    admin.login("root")
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert "Failures that led to the lock" in page
    causes = page.split("Failures that led to the lock")[1].split("</table>")[0]
    # The one that locked too.
    assert len(re.findall(r'<td class="typed"[^>]*>alice</td>', causes)) == 5
    assert "5 consecutive failed sign-ins" in page and "lock 1 in a row" in page
    words = " ".join(page.split())
    assert "4 more before the account is flagged for review" in words
    assert "It ends no session" in words


def test_htmx_lock_and_unlock_return_the_row(admin, client):
    admin.login("root")
    row = client.post("/admin/users/alice/lock", data={"reason": "test", "confirm": "yes"},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert row.lstrip().startswith('<tr id="user-') and "locked by admin" in row
    assert "Unlock" in row
    row = client.post("/admin/users/alice/unlock", headers={"HX-Request": "true"}) \
        .get_data(as_text=True)
    assert "active" in row and "Lock" in row


def test_htmx_lock_without_reason_returns_the_row_with_the_error(admin, client):
    admin.login("root")
    row = client.post("/admin/users/alice/lock", data={"reason": ""},
                      headers={"HX-Request": "true"})
    assert row.status_code == 200 and "Give a reason." in row.get_data(as_text=True)


def test_unknown_user_page_is_404(admin, client):
    admin.login("root")
    assert client.get("/admin/users/nobody").status_code == 404
    assert client.post("/admin/users/nobody/lock", data={"reason": "x"}).status_code == 404


def test_cli_lock_and_unlock(app, admin, runner):
    result = runner.invoke(args=["users", "lock", "alice", "--reason", "left the company"])
    assert result.exit_code == 0 and "Locked 'alice' until unlocked." in result.output
    assert "alice\tuser\tlocked by admin\t" in runner.invoke(args=["users", "list"]).output
    assert admin.login().status_code == 200
    assert runner.invoke(args=["users", "unlock", "alice"]).exit_code == 0
    assert admin.login().status_code == 302
    with app.app_context():
        assert AuditEvent.select().first().actor.startswith("cli:")
    missing = runner.invoke(args=["users", "lock", "ghost", "--reason", "x"])
    assert missing.exit_code == 1 and "No user named 'ghost'" in missing.output


@pytest.mark.csrf
def test_lock_needs_csrf(app, admin, client):
    token = csrf_token(client)
    client.post("/login", data={"username": "root", "password": "correct horse battery",
                                "csrf_token": token})
    refused = client.post("/admin/users/alice/lock", data={"reason": "x"})
    assert refused.status_code == 400
    token = csrf_token(client, "/admin/users")
    done = client.post("/admin/users/alice/lock", data={"reason": "x", "csrf_token": token,
                                                        "confirm": "yes"})
    assert done.status_code == 302


# A no-break space after "alice" signs in to alice's account and looks like "alice"; a
# scope id makes any text an IPv6 address.
@pytest.mark.settings(TRUSTED_PROXIES=1, LOCKOUT_MAX_FAILURES=2)
def test_user_page_shows_controls_and_invisible_characters_as_marks(app, admin, client):
    for typed in ("alice\u00a0", "alice"):
        app.test_client().post("/login", data={"username": typed, "password": "wrong"},
                               headers={"X-Forwarded-For": "fe80::1%\x1b[31m"})
    admin.login("root")
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert "Failures that led to the lock" in page and "\u00a0" not in page
    assert "alice⟨U+00A0⟩" in without_tags(page) and "\x1b" not in page
    assert "fe80" not in page  # a scoped address is no address: "unknown"
    client.post("/admin/users/alice/lock", data={"reason": "phished \u202etxt.exe\x07",
                                                 "confirm": "yes"})
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert "\u202e" not in page and "\x07" not in page
    # The lock state quotes the reason and the audit trail lists it.
    assert without_tags(page).count("phished ⟨U+202E⟩txt.exe⟨U+0007⟩") == 2
    with app.app_context():
        assert User.get(User.username == "alice").lock_reason == "phished \u202etxt.exe\x07"


def without_tags(text):
    return re.sub(r"<[^>]+>", "", text)


def lock_causes(page):
    """Return the typed names listed under the lock's failures, newest first."""
    section = page.split('id="lock-causes"')[1].split("</section>")[0]
    return re.findall(r'<td class="typed"[^>]*>([^<]*)</td>', section)


def test_the_lock_lists_exactly_the_failures_it_counted(app, admin, client):
    def attempt(typed, password="not her password, sorry"):
        return app.test_client().post("/login", data={"username": typed, "password": password})

    known = app.test_client()  # a device alice has signed in with: a budget of its own
    known.post("/login", data={"username": "alice", "password": admin.password})
    known.post("/logout", data={})
    for _ in range(3):
        attempt("alice")  # forgotten: a success from an unknown client follows
    attempt("alice", admin.password)
    for n in range(5):
        attempt(f"ALICE{' ' * n}")  # counted by the lock (edges ignored, kept as typed)
        known.post("/login", data={"username": "Alice", "password": "wrong on her own laptop"})
    attempt("alice ")  # refused while locked: counted by nothing
    admin.login("root")
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert lock_causes(page) == [f"ALICE{' ' * n}" for n in range(4, -1, -1)]
    assert "The 5 failed sign-in(s) from unknown devices that this lock counted" in page
    assert 'id="unnoted"' not in page


def test_failures_from_before_the_budget_was_noted_are_counted_but_not_guessed(app, admin, client):
    for _ in range(5):
        admin.login("alice", "wrong password for this one")
    with app.app_context():  # the two oldest as an earlier release recorded them
        oldest = [a.id for a in LoginAttempt.select().order_by(LoginAttempt.id).limit(2)]
        LoginAttempt.update(counted_on=None).where(LoginAttempt.id.in_(oldest)).execute()
    admin.login("root")
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert len(lock_causes(page)) == 3
    unnoted = " ".join(page.split('id="unnoted"')[1].split("</p>")[0].split())
    assert unnoted.startswith(">2 of these failures were recorded before the portal noted")


@pytest.mark.settings(LOCKOUT_MAX_FAILURES=10)
def test_an_open_budget_lists_its_counted_failures_the_newest_shown(app, admin, client,
                                                                    monkeypatch):
    monkeypatch.setattr(lock_states, "CAUSES_SHOWN", 3)
    for n in range(4):
        admin.login("alice", f"wrong password number {n} here")
    admin.login("root")
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert "Failures the policy counts now" in page and len(lock_causes(page)) == 3
    assert "The newest 3 of the 4 are shown." in " ".join(page.split())
