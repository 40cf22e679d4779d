"""The reports queue: "This wasn't me" reports, newest first, resolved with a note."""

import pytest

from portal.models import AuditEvent
from portal.models import Session
from portal.security import reports
from tests.integration.test_csrf import csrf_token


@pytest.fixture
def reported(app, auth):
    """Alice signs in twice and, from the second browser, reports the first sign-in.

    Return the reported session's id; root exists as an admin, signed in nowhere yet.
    """
    auth.create("root", is_admin=True)
    auth.create("alice")
    stranger, owner = app.test_client(), app.test_client()
    for browser in (stranger, owner):  # with the CSRF token, for the test that checks it
        browser.post("/login", data={"username": "alice", "password": auth.password,
                                     "csrf_token": csrf_token(browser)})
    with app.app_context():
        first = Session.select().order_by(Session.created_at).first().id
    assert owner.post(f"/account/sessions/{first}/report", data={
        "csrf_token": csrf_token(owner, "/account/sessions")}).status_code == 302
    return first


def test_a_report_is_queued_counted_and_resolved_with_a_note(app, auth, client, reported):
    auth.login("root")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "1 open</span>" in page and 'href="/admin/reports"' in page
    queue = client.get("/admin/reports").get_data(as_text=True)
    assert f'id="report-{reported}"' in queue and '<a href="/admin/users/alice">alice</a>' in queue
    response = client.post(f"/admin/reports/{reported}/resolve", data={"note": "   "})
    assert response.status_code == 400 and "Write a note" in response.get_data(as_text=True)
    response = client.post(f"/admin/reports/{reported}/resolve", data={"note": "x" * 501})
    assert response.status_code == 400
    assert "A note is at most 500 characters." in response.get_data(as_text=True)
    response = client.post(f"/admin/reports/{reported}/resolve",
                           data={"note": "Password reset; it was her phone after all"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/reports"
    page = client.get("/admin/reports").get_data(as_text=True)
    assert "Resolved the report on alice" in page and "No open reports." in page
    assert "open</span>" not in page  # the navigation no longer counts it
    resolved = client.get("/admin/reports?status=resolved").get_data(as_text=True)
    assert "it was her phone after all" in resolved and "by root" in resolved
    assert f'id="report-{reported}"' in client.get("/admin/reports?status=all").get_data(
        as_text=True)
    with app.app_context():
        event = AuditEvent.get(AuditEvent.action == "resolve_report")
        assert (event.actor, event.target.username) == ("root", "alice")
        assert event.reason.startswith("Password reset")
    again = client.post(f"/admin/reports/{reported}/resolve", data={"note": "twice"},
                        follow_redirects=True)
    assert "Nothing to resolve" in again.get_data(as_text=True)
    with app.app_context():
        assert AuditEvent.select().where(AuditEvent.action == "resolve_report").count() == 1


def test_the_queue_is_newest_first_and_pages(app, auth, client, reported, monkeypatch):
    monkeypatch.setattr(reports, "PAGE_SIZE", 2)
    with app.app_context():
        first = Session.get_by_id(reported)
        for n in range(4):
            Session.create(id=f"{n:032x}", user=first.user, created_at=first.created_at,
                           last_seen_at=first.created_at, expires_at=first.created_at,
                           ip=f"192.0.2.{n}", user_agent="curl/8", reported_at=first.reported_at)
    auth.login("root")
    seen, url = [], "/admin/reports?status=all"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += [chunk.split('"')[0] for chunk in page.split('<tr id="report-')[1:]]
        url = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace(
            "&amp;", "&") if 'rel="next"' in page else None
    # All five were reported at the same time: the tie is broken by id, across pages.
    assert seen == sorted([f"{n:032x}" for n in range(4)] + [reported], reverse=True)


@pytest.mark.parametrize("query", ["status=everything", "before=nonsense",
                                   "before=20261301T000000.000000-" + "0" * 32])
def test_bad_query_values_answer_one_clear_400(auth, client, query):
    auth.create("root", is_admin=True)
    auth.login("root")
    response = client.get(f"/admin/reports?{query}")
    assert response.status_code == 400
    assert response.get_data(as_text=True).count('role="alert"') == 1


def test_only_admins_see_or_resolve_reports(auth, client, reported):
    auth.login("alice")
    assert client.get("/admin/reports").status_code == 403
    assert client.post(f"/admin/reports/{reported}/resolve", data={"note": "x"}).status_code == 403


@pytest.mark.csrf
def test_resolving_needs_the_csrf_token(app, auth, client, reported):
    client.post("/login", data={"username": "root", "password": auth.password,
                                "csrf_token": csrf_token(client)})
    refused = client.post(f"/admin/reports/{reported}/resolve", data={"note": "no token"})
    assert refused.status_code == 400
    token = csrf_token(client, "/admin/reports")
    done = client.post(f"/admin/reports/{reported}/resolve",
                       data={"note": "with a token", "csrf_token": token})
    assert done.status_code == 302
