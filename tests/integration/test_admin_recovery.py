"""The admin's recovery actions on the user page: temporary password, role, delete; the
guards on one's own account; confirmation before each destructive action; notices."""

import re

import pytest

from portal.models import AuditEvent
from portal.models import User
from tests.integration.test_csrf import csrf_token

NEW_PASSWORD = "quiet lantern orchard"
TEMPORARY = re.compile(r'<code class="secret" id="temporary-password">([a-z0-9-]+)</code>')
HTMX = {"HX-Request": "true"}


@pytest.fixture
def admin(auth):
    """Accounts root (admin) and alice; the client is signed in as root."""
    auth.create("root", is_admin=True)
    auth.create("alice")
    auth.login("root")
    return auth


def text(response):
    """Return a response's text with its whitespace runs made single spaces."""
    return " ".join(response.get_data(as_text=True).split())


def audit_actions(app):
    """Return the actions on the audit trail, oldest first."""
    with app.app_context():
        return [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]


def signed_in(app, name, password="correct horse battery"):
    """Return a new client signed in as `name`."""
    other = app.test_client()
    assert other.post("/login", data={"username": name, "password": password}) \
        .status_code == 302
    return other


@pytest.mark.parametrize(("path", "data"), [
    ("/admin/users/alice/lock", {"reason": "phished"}),
    ("/admin/users/alice/temporary-password", {}),
    ("/admin/users/alice/role", {"role": "admin"}),
    ("/admin/users/alice/delete", {}),
])
def test_a_destructive_action_without_confirmation_asks_and_does_nothing(app, admin, client,
                                                                          path, data):
    response = client.post(path, data=data)
    page = text(response)
    assert response.status_code == 400 and "Nothing has been done yet." in page
    assert '<input type="hidden" name="confirm" value="yes">' in page
    for name, value in data.items():  # the confirmation resends what was asked
        assert f'<input type="hidden" name="{name}" value="{value}">' in page
    assert audit_actions(app) == []
    assert admin.login("alice").status_code == 302
    with app.app_context():
        assert not User.get(User.username == "alice").is_admin


def test_the_confirmation_pages_say_what_will_happen(admin, client):
    lock = text(client.post("/admin/users/alice/lock", data={"reason": "x", "duration": "7d"}))
    assert "Lock alice?" in lock and "for 7 days" in lock
    reset = text(client.post("/admin/users/alice/temporary-password"))
    assert "Set a temporary password for alice?" in reset and "shown once" in reset
    role = text(client.post("/admin/users/alice/role", data={"role": "admin"}))
    assert "Make alice an admin?" in role
    delete = text(client.post("/admin/users/alice/delete"))
    assert "Delete alice?" in delete and "stay in the login history" in delete


@pytest.mark.csrf
def test_the_confirmation_page_posts_the_action_with_its_token(app, auth):
    auth.create("root", is_admin=True)
    auth.create("alice")
    client = app.test_client()
    client.post("/login", data={"username": "root", "password": auth.password,
                                "csrf_token": csrf_token(client)})
    token = csrf_token(client, "/admin/users/alice")
    asked = client.post("/admin/users/alice/lock", data={"reason": "x", "csrf_token": token})
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"',
                             asked.get_data(as_text=True).split("<main")[1]))
    assert fields.keys() == {"csrf_token", "reason", "duration", "confirm"}
    done = client.post("/admin/users/alice/lock", data=fields, follow_redirects=True)
    assert "Locked alice: every session of the account has ended." in text(done)


def test_a_notice_says_what_was_done_once(app, admin, client):
    done = client.post("/admin/users/alice/lock", data={"reason": "x", "confirm": "yes"},
                       follow_redirects=True)
    assert "Locked alice: every session of the account has ended." in text(done)
    assert "Locked alice:" not in text(client.get("/admin/users/alice"))
    unlocked = client.post("/admin/users/alice/unlock", follow_redirects=True)
    assert "Unlocked alice" in text(unlocked)
    nothing = client.post("/admin/users/alice/unlock", follow_redirects=True)
    assert "Nothing to unlock: alice is not locked." in text(nothing)
    assert audit_actions(app) == ["lock", "unlock"]


def test_htmx_lock_asks_in_the_browser_and_answers_with_the_row_and_the_notice(admin, client):
    page = client.get("/admin/users").get_data(as_text=True)
    assert "hx-confirm=\"Lock alice? Every session of the account ends at once.\"" in page
    assert "hx-vals='{\"confirm\": \"yes\"}'" in page
    refused = client.post("/admin/users/alice/lock", data={"reason": "x"}, headers=HTMX)
    assert refused.status_code == 400 and "the confirmation was missing" in text(refused)
    done = client.post("/admin/users/alice/lock", data={"reason": "x", "confirm": "yes"},
                       headers=HTMX)
    body = text(done)
    assert body.startswith('<tr id="user-') and "locked by admin" in body
    assert '<div id="notices" class="notices" hx-swap-oob="true"' in body
    assert "Locked alice" in body


def test_nobody_locks_demotes_or_deletes_their_own_account(app, admin, client):
    own = text(client.get("/admin/users/root"))
    assert "This is your account" in own and "Lock account" not in own
    assert "Delete account" not in own and "Set a temporary password" not in own
    row = text(client.get("/admin/users?q=root", headers=HTMX))
    assert '<span class="muted">you</span>' in row and "hx-confirm" not in row
    for path, data in [("lock", {"reason": "oops"}), ("role", {"role": "user"}),
                       ("delete", {}), ("temporary-password", {})]:
        for confirmed in ({"confirm": "yes"}, {}):  # refused before any confirmation page
            refused = client.post(f"/admin/users/root/{path}", data={**data, **confirmed})
            assert refused.status_code == 403, path
            assert "Not done: that is your own account." in text(refused)
    refused = client.post("/admin/users/root/lock", data={"reason": "x", "confirm": "yes"},
                          headers=HTMX)
    assert refused.status_code == 400 and "your own account" in text(refused)
    assert client.get("/account/sessions").status_code == 200  # still signed in
    assert audit_actions(app) == []


def test_role_change_from_the_user_page(app, admin, client):
    page = client.get("/admin/users/alice").get_data(as_text=True)
    assert 'name="role" value="admin"' in page and "Make admin" in page
    done = client.post("/admin/users/alice/role", data={"role": "admin", "confirm": "yes"},
                       follow_redirects=True)
    assert "alice is now an admin." in text(done) and "Make a plain user" in text(done)
    assert signed_in(app, "alice").get("/admin/users").status_code == 200
    assert client.post("/admin/users/alice/role", data={"role": "owner", "confirm": "yes"}) \
        .status_code == 400
    assert "to admin" in text(client.get("/admin/users/alice"))  # the audit trail


def test_delete_from_the_user_page(app, admin, client):
    admin.login("alice", "wrong")
    alice = signed_in(app, "alice")
    done = client.post("/admin/users/alice/delete", data={"confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/users"
    listed = text(client.get("/admin/users"))
    assert "Deleted alice." in listed and ">alice<" not in listed
    assert alice.get("/account/sessions").status_code == 302
    history = client.get("/admin/history?user=alice").get_data(as_text=True)
    assert len(re.findall(r'<td class="typed"[^>]*>alice</td>', history)) == 2
    assert client.post("/admin/users/alice/delete", data={"confirm": "yes"}).status_code == 404


def test_a_temporary_password_is_shown_once_and_must_be_changed(app, admin, client):
    alice = signed_in(app, "alice")
    response = client.post("/admin/users/alice/temporary-password", data={"confirm": "yes"})
    assert response.status_code == 200 and "Location" not in response.headers
    password = TEMPORARY.search(response.get_data(as_text=True))[1]
    assert len(password) >= 15
    with client.session_transaction() as cookie_session:
        assert password not in repr(dict(cookie_session))
    assert password not in client.get("/admin/users/alice").get_data(as_text=True)
    assert alice.get("/account/sessions").status_code == 302  # every session ended
    assert audit_actions(app) == ["temp_password"]
    assert admin.login("alice").status_code == 200  # the old password is gone

    alice = app.test_client()
    signed = alice.post("/login", data={"username": "alice", "password": password})
    assert signed.status_code == 302
    for path in ("/account/sessions", "/admin/users"):
        assert alice.get(path).headers["Location"] == "/account/password"
    assert alice.get("/account/sessions", headers=HTMX).headers["HX-Redirect"] == \
        "/account/password"
    assert alice.post("/account/sessions/revoke-others", data={"confirm": "yes"}) \
        .headers["Location"] == "/account/password"
    form = alice.get("/account/password")
    assert form.status_code == 200 and "temporary password" in text(form)
    elsewhere = app.test_client()
    elsewhere.post("/login", data={"username": "alice", "password": password})
    kept = alice.post("/account/password", data={"current": password, "new": password,
                                                 "confirm": password})
    assert kept.status_code == 400 and "must differ from the current one" in text(kept)
    assert alice.get("/account/sessions").headers["Location"] == "/account/password"
    changed = alice.post("/account/password", data={"current": password, "new": NEW_PASSWORD,
                                                     "confirm": NEW_PASSWORD})
    assert changed.status_code == 200 and "Password changed" in text(changed)
    assert alice.get("/account/sessions").status_code == 200
    assert elsewhere.get("/account/sessions").status_code == 302
