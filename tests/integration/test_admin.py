"""The admin history screen (basic filters; the full review screen comes later)."""

import re

import pytest

from portal import attempts
from portal.models import LoginAttempt


@pytest.fixture
def admin(auth):
    auth.create("root", "correct horse", is_admin=True)
    auth.create("alice")
    auth.create("bob")
    return auth


def rows(response):
    return re.findall(r'<td class="typed">([^<]*)</td>', response.get_data(as_text=True))


@pytest.mark.parametrize("path", ["/admin/history", "/admin/history?user=alice"])
def test_non_admin_gets_403(admin, client, path):
    admin.login("alice")
    assert client.get(path).status_code == 403


def test_signed_out_visitor_is_sent_to_login(client):
    response = client.get("/admin/history?user=bob")
    assert response.headers["Location"] == "/login?next=/admin/history?user%3Dbob"


def test_history_lists_every_attempt_newest_first_with_details(admin, client):
    admin.login("alice", "wrong", headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone "
               "OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
               "Mobile/15E148 Safari/604.1"})
    admin.login("nobody", "x")
    admin.login("root")
    page = client.get("/admin/history")
    assert rows(page) == ["root", "nobody", "alice"]
    text = page.get_data(as_text=True)
    for shown in ["bad_password", "unknown_user", "127.0.0.1", "Mobile Safari", "iOS",
                  "iPhone", "AppleWebKit/605.1.15", " UTC"]:
        assert shown in text


def test_filters_by_user_and_outcome(admin, client):
    admin.login("alice", "wrong")
    admin.login("alice")
    admin.login("bob", "wrong")
    admin.login("root")
    assert rows(client.get("/admin/history?user=alice")) == ["alice", "alice"]
    assert rows(client.get("/admin/history?outcome=failure")) == ["bob", "alice"]
    assert rows(client.get("/admin/history?user=alice&outcome=success")) == ["alice"]


def test_htmx_request_gets_only_the_rows(admin, client):
    admin.login("root")
    page = client.get("/admin/history", headers={"HX-Request": "true"})
    text = page.get_data(as_text=True)
    assert text.lstrip().startswith("<section id=\"history-rows\"") and "<html" not in text


def test_pages_follow_the_cursor_without_gaps_or_repeats(app, admin, client, monkeypatch):
    admin.login("root")
    with app.app_context():
        first = LoginAttempt.get()
        LoginAttempt.insert_many([
            {"at": first.at, "username": f"u{i}", "outcome": "failure", "reason": "unknown_user",
             "ip": "10.0.0.1", "user_agent": "x", "request_id": "r"} for i in range(7)]).execute()
    monkeypatch.setattr(attempts, "PAGE_SIZE", 3)
    seen, url = [], "/admin/history"
    while url:
        text = client.get(url).get_data(as_text=True)
        seen += re.findall(r'<td class="typed">([^<]*)</td>', text)
        older = re.search(r'<a href="([^"]+)">Older attempts</a>', text)
        url = older and older[1].replace("&amp;", "&")
    assert sorted(seen) == sorted(["root"] + [f"u{i}" for i in range(7)])
    assert len(seen) == 8


def test_bad_cursor_is_a_400(admin, client):
    admin.login("root")
    assert client.get("/admin/history?before=nonsense").status_code == 400
