"""The global audit log: every admin and policy action, its filters, pages and CSV."""

import csv
import io
import re
from datetime import timedelta

import pytest

from portal import clock
from portal.models import AuditEvent
from portal.models import IpThrottle
from portal.security import audit
from portal.security import audit_log

ROW = re.compile(r"<tr>\s*<td[^>]*><time datetime=\"[^\"]+\"[^>]*>[^<]+</time></td>"
                 r"\s*<td[^>]*>([^<]+)")
OLDER = re.compile(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#audit-rows" hx-swap="outerHTML" '
                   r'hx-push-url="true" rel="next">Older events</a>')


@pytest.fixture
def events(app, auth, client):
    """Real actions: root locks and unlocks alice, bob's failures lock him, carol is deleted,
    an address's throttle is lifted; root stays signed in."""
    auth.create("root", is_admin=True)
    for name in ("alice", "bob", "carol"):
        auth.create(name)
    for _ in range(5):
        auth.login("bob", "wrong password, five times")
    auth.login("root")
    client.post("/admin/users/alice/lock", data={"reason": "=HYPERLINK(\"http://x\")\u202e",
                                                 "confirm": "yes"})
    client.post("/admin/users/alice/unlock")
    client.post("/admin/users/carol/delete", data={"confirm": "yes"})
    with app.app_context():
        IpThrottle.create(ip="198.51.100.7", started_at=clock.now(), failures=80)
    client.post("/admin/ips/lift", data={"ip": "198.51.100.7"})
    return auth


def actions_in(page):
    """Return the action column's words, in order."""
    section = page.split('<table class="rows audit">')[1].split("</table>")[0]
    return [" ".join(re.sub(r"<td[^>]*>", "", row.split("</td>")[2]).split())
            for row in section.split("<tr>")[2:]]


def test_every_admin_and_policy_action_is_listed_newest_first(events, client):
    page = client.get("/admin/audit").get_data(as_text=True)
    assert actions_in(page) == ["lifted an IP throttle", "deleted the account", "unlocked",
                                "locked", "locked by policy"]
    assert "carol <span class=\"muted\">(deleted)</span>" in page
    assert '<a href="/admin/users/alice">alice</a>' in page
    assert "\u202e" not in page  # the admin-typed reason's bidi control is made visible


@pytest.mark.parametrize(("query", "expected"), [
    ("?actor=ROOT", ["lifted an IP throttle", "deleted the account", "unlocked", "locked"]),
    ("?actor=policy", ["locked by policy"]),
    ("?target=alice", ["unlocked", "locked"]),
    ("?target=carol", ["deleted the account"]),
    ("?target=198.51.100.7", ["lifted an IP throttle"]),
    ("?target=198.51.100.0/24", []),
    ("?action=policy_lock", ["locked by policy"]),
    ("?action=unlock&target=alice", ["unlocked"]),
    ("?actor=root&action=policy_lock", []),
])
def test_filters_by_actor_target_and_action(events, client, query, expected):
    page = client.get(f"/admin/audit{query}").get_data(as_text=True)
    if expected:
        assert actions_in(page) == expected
    else:
        assert "No events match this filter." in page


def test_time_filters_and_bad_values(app, events, client):
    today = clock.now().date()
    assert len(actions_in(client.get(f"/admin/audit?since={today}").get_data(as_text=True))) == 5
    tomorrow = today + timedelta(days=1)
    assert "No events match" in client.get(f"/admin/audit?since={tomorrow}").get_data(
        as_text=True)
    assert len(actions_in(client.get(f"/admin/audit?until={today}").get_data(as_text=True))) == 5
    for query in ("since=yesterday", "until=2026-13-01", "action=hack", "before=x",
                  "actor=" + "a" * 151, "before=20261301T000000.000000-1"):
        response = client.get(f"/admin/audit?{query}")
        assert response.status_code == 400, query
        assert response.get_data(as_text=True).count('role="alert"') == 1
    assert client.get("/admin/audit.csv?since=never").status_code == 400


def test_keyset_pages_reach_every_event_once(app, auth, client):
    auth.create("root", is_admin=True)
    auth.login("root")
    with app.app_context():
        at = clock.now()
        for n in range(120):  # ties: three events share each time
            AuditEvent.create(at=at - timedelta(seconds=n // 3), actor=f"a{n:03d}",
                              action=audit.LOCK)
    seen, url = [], "/admin/audit"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += ROW.findall(page)
        found = OLDER.search(page)
        url = found[1].replace("&amp;", "&") if found else None
    assert sorted(seen) == sorted(f"a{n:03d}" for n in range(120)) and len(seen) == 120


def test_csv_has_every_event_with_formulas_and_controls_neutralised(app, events, client,
                                                                    monkeypatch):
    monkeypatch.setattr(audit_log, "EXPORT_BATCH", 2)
    response = client.get("/admin/audit.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == audit_log.CSV_COLUMNS
    assert [row[3] for row in rows[1:]] == ["lift_ip", "delete", "unlock", "lock", "policy_lock"]
    lock = rows[4]
    assert lock[1] == "root" and lock[4] == "alice"
    assert lock[5].startswith("'=HYPERLINK") and "\u202e" not in lock[5] and "U+202E" in lock[5]
    assert rows[5][1] == "policy" and rows[5][7] == "5" and rows[5][6].endswith("Z")
    only = list(csv.reader(io.StringIO(client.get("/admin/audit.csv?target=carol").get_data(
        as_text=True))))
    assert [row[3] for row in only[1:]] == ["delete"] and only[1][4] == "carol"


def test_the_navigation_links_the_audit_log(events, client):
    assert 'href="/admin/audit"' in client.get("/admin/users").get_data(as_text=True)


def test_a_reused_name_finds_the_deleted_account_and_the_new_one(events, auth, client):
    auth.create("carol")
    client.post("/admin/users/carol/lock", data={"reason": "new carol", "confirm": "yes"})
    page = client.get("/admin/audit?target=carol").get_data(as_text=True)
    assert actions_in(page) == ["locked", "deleted the account"]
    assert "(deleted)" in page and '<a href="/admin/users/carol">carol</a>' in page
