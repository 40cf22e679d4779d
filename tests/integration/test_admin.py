"""The admin history screen: every filter, keyset pages, CSV export and the chart."""

import csv
import html
import io
import re
from datetime import datetime
from datetime import timedelta

import pytest

from portal import clock
from portal import db
from portal.history import attempts
from portal.history import chart as history_chart
from portal.history import paging
from portal.history import queries
from portal.models import LoginAttempt
from portal.models import User
from portal.web import ipaddr
from tests.conftest import insert_attempts

NOW = datetime(2026, 11, 28, 12, 0, 0)


@pytest.fixture
def admin(auth, monkeypatch):
    auth.create("root", "correct horse battery", is_admin=True)
    auth.create("alice")
    monkeypatch.setattr(clock, "now", lambda: NOW)
    auth.login("root")  # recorded at NOW: root, success, 127.0.0.1
    return auth


def add(app, *rows):
    """Insert attempts: (minutes ago, typed name, reason, ip, user agent)."""
    with app.app_context():
        accounts = {u.username: u.id for u in User.select()}
        insert_attempts([{
            "at": NOW - timedelta(minutes=ago), "username": name, "username_key": name.lower(),
            "user": accounts.get(name.lower()),
            "outcome": "success" if reason == "ok" else "failure", "reason": reason, "ip": ip,
            "ip_key": ipaddr.key(ip), "user_agent": agent, "request_id": "r",
            **attempts.agent_names(agent)}
            for ago, name, reason, ip, agent in rows])


def names(response):
    text = response.get_data(as_text=True)
    return [re.sub(r"<[^>]+>", "", cell) for cell in
            re.findall(r'<td class="typed"[^>]*>(.*?)</td>', text)]


@pytest.fixture
def sample(app, admin):
    add(app,
        (10, "alice", "bad_password", "203.0.113.5", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1)"),
        (20, "Alice", "ok", "198.51.100.7", "Mozilla/5.0 (Windows NT 10.0) Chrome/126.0"),
        (60 * 30, "bob", "unknown_user", "203.0.113.9", "python-requests/2.31"),
        (60 * 24 * 3, "carol", "locked", "2001:db8::1", "curl/8.5.0"),
        (60 * 24 * 40, "alice", "throttled", "203.0.114.1", "Mozilla/5.0 (X11; Linux)"))
    return admin


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["root", "alice", "Alice", "bob", "carol", "alice"]),
    ("user=alice", ["alice", "Alice", "alice"]),
    ("user=ALICE", ["alice", "Alice", "alice"]),
    ("ip=203.0.113.5", ["alice"]),
    ("ip=203.0.113.0/24", ["alice", "bob"]),
    ("ip=203.0.0.0/16", ["alice", "bob", "alice"]),
    ("ip=2001:db8::/32", ["carol"]),
    ("outcome=success", ["root", "Alice"]),
    ("outcome=failure", ["alice", "bob", "carol", "alice"]),
    ("reason=locked", ["carol"]),
    ("since=2026-11-27", ["root", "alice", "Alice", "bob"]),
    ("until=2026-11-25", ["carol", "alice"]),
    ("since=2026-11-28T11:45:00&until=2026-11-28T11:55", ["alice"]),
    ("since=2026-11-28T12:45:00%2B01:00", ["root", "alice"]),
    ("q=iphone", ["alice"]),
    ("q=ALI", ["alice", "Alice", "alice"]),
    ("user=alice&outcome=failure&ip=203.0.0.0/8", ["alice", "alice"]),
    ("user=alice&since=2026-11-01&reason=ok", ["Alice"]),
    ("outcome=success&reason=ok", ["root", "Alice"]),
    ("outcome=failure&reason=locked", ["carol"]),
    ("outcome=success&reason=locked", []),
    ("outcome=failure&reason=ok", []),
])
@pytest.mark.parametrize(("dense", "cap"), [(2000, 20_000), (1, 100), (1, 1)],
                         ids=["few rows: walk the fewest", "dense: intersect", "huge: walk"])
def test_filters_and_their_combinations(client, sample, monkeypatch, query, expected, dense,
                                        cap):
    # Every way steer() may choose to read the rows must give the same rows.
    monkeypatch.setattr(queries, "DENSE_ROWS", dense)
    monkeypatch.setattr(queries, "COUNT_CAP", cap)
    assert names(client.get(f"/admin/history?{query}")) == expected


@pytest.mark.parametrize(("q", "expected"), [
    ('"', ['say "hi"']), ('"hi"', ['say "hi"']), ("hi AND", []), ("NEAR(x y)", ["NEAR(x y)"]),
    ("a*", ["a*b"]), ("-^:", ["-^:"]), ("ÿ", []), ("requests/2", ["bob"]),
    ("a_b", []), ("%", []), ("_", ["alice"]), ("\\", []),  # no wildcards: "_" is iPhone OS 17_1
])
def test_free_text_is_matched_as_typed_whatever_it_means_to_the_text_index(
        app, client, sample, q, expected):
    add(app, (1, 'say "hi"', "unknown_user", "192.0.2.1", "x"),
        (2, "NEAR(x y)", "unknown_user", "192.0.2.1", "x"),
        (3, "a*b", "unknown_user", "192.0.2.1", "x"), (4, "-^:", "unknown_user", "192.0.2.1", "x"))
    response = client.get("/admin/history", query_string={"q": q})
    assert response.status_code == 200
    assert [html.unescape(name) for name in names(response)] == expected


def test_free_text_finds_what_prune_kept_and_nothing_it_deleted(app, client, sample, runner):
    assert names(client.get("/admin/history?q=linux")) == ["alice"]
    pruned = runner.invoke(args=["prune", "--older-than", "30"])
    assert pruned.exit_code == 0, pruned.output
    assert names(client.get("/admin/history?q=linux")) == []
    assert names(client.get("/admin/history?q=iphone")) == ["alice"]


def test_a_blocks_density_is_probed_once_a_minute_and_never_changes_its_rows(
        app, client, sample, monkeypatch, statements):
    monkeypatch.setattr(queries, "DENSE_ROWS", 2)  # the block's two rows make it dense
    cidr = "/admin/history?ip=203.0.113.0/24"
    sent = []
    for _ in range(3):
        statements.clear()
        assert names(client.get(cidr)) == ["alice", "bob"]
        sent.append(about_attempts(statements))
    # Only the first page probed the block (on PostgreSQL it also asked for statistics).
    assert sent[1] == sent[2] and sent[0] == sent[1] + (2 if db.is_postgresql() else 1)
    add(app, (5, "dave", "bad_password", "203.0.113.77", "curl/8.5.0"))
    assert names(client.get(cidr)) == ["dave", "alice", "bob"]
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(minutes=1))
    client.get("/account/sessions")  # a minute on, the session's own touch is written once
    statements.clear()
    assert names(client.get(cidr)) == ["dave", "alice", "bob"]
    assert about_attempts(statements) == sent[0]  # a new minute: probed again


def about_attempts(statements):
    """Count the statements a page sent, but the proxy check's (shared once a minute)."""
    return sum(1 for sql, _ in statements if "proxy_observations" not in sql)


@pytest.mark.parametrize("query", ["ip=nonsense", "ip=10.0.0.0/33", "outcome=maybe",
                                   "reason=bored", "since=yesterday", "until=2026-13-01",
                                   "q=" + "x" * 201, "before=nonsense",
                                   "before=20261399T000000.000000-1",
                                   "before=20261101T000000.000000-99999999999999999999"])
def test_bad_filters_answer_400_with_an_explanation(client, sample, query):
    response = client.get(f"/admin/history?{query}")
    assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)


def test_rows_show_time_account_link_badges_ip_link_device_and_raw_agent(client, sample):
    text = client.get("/admin/history?user=alice").get_data(as_text=True)
    assert '<a href="/admin/users/alice">Alice</a>' in text
    assert "20 min ago" in text and "2026-11-28 11:40:00 UTC" in text
    assert 'href="/admin/history?user=alice&amp;ip=198.51.100.7"' in text
    assert "Mozilla/5.0 (Windows NT 10.0) Chrome/126.0" in text and "Chrome" in text
    assert 'class="badge failure"' in text and "bad_password" in text


def test_htmx_request_gets_only_the_rows(client, sample):
    text = client.get("/admin/history?user=bob", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert text.lstrip().startswith('<section id="history-rows"') and "<html" not in text
    assert names_of(text) == ["bob"]


def names_of(text):
    return re.findall(r'<td class="typed"[^>]*>([^<]*)</td>', text)


def test_pages_follow_the_cursor_without_gaps_or_repeats(app, client, admin, monkeypatch):
    add(app, *[(5, f"u{i}", "unknown_user", "10.0.0.1", "x") for i in range(7)])  # same time
    add(app, *[(6 + i, f"v{i}", "unknown_user", "10.0.0.1", "x") for i in range(4)])
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    seen, url = [], "/admin/history?ip=10.0.0.1"
    while url:
        text = client.get(url).get_data(as_text=True)
        seen += names_of(text)
        older = re.search(r'<a href="([^"]+)" hx-get="[^"]+"[^>]*>Older attempts</a>', text)
        url = older and older[1].replace("&amp;", "&")
        assert url is None or "ip=10.0.0.1" in url
    assert sorted(seen) == sorted([f"u{i}" for i in range(7)] + [f"v{i}" for i in range(4)])
    assert len(seen) == 11


def test_one_query_per_page_whatever_its_size(app, admin, statements):
    add(app, *[(i, f"n{i}", "unknown_user", "10.0.0.2", "x") for i in range(120)])
    with app.app_context():
        statements.clear()
        rows, cursor, _ = paging.page(queries.Filters(), limit=100)
    assert len(rows) == 100 and cursor
    assert len(statements) == 1


def test_csv_export_streams_the_filter_and_neutralises_formulas(app, client, admin):
    add(app, (1, "=HYPERLINK(\"http://evil\")", "unknown_user", "10.0.0.3", "+cmd|' /C calc'!A0"),
        (2, "@SUM(1)", "unknown_user", "10.0.0.3", "-2+3"),
        (3, "alice", "bad_password", "10.0.0.4", "Mozilla/5.0"))
    response = client.get("/admin/history.csv?ip=10.0.0.3")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:6] == ["time_utc", "username_typed", "account", "outcome", "reason", "ip"]
    assert [r[1] for r in rows[1:]] == ["'=HYPERLINK(\"http://evil\")", "'@SUM(1)"]
    assert rows[1][-1] == "'+cmd|' /C calc'!A0" and rows[2][-1] == "'-2+3"
    assert client.get("/admin/history.csv?since=never").status_code == 400


def test_csv_export_of_many_rows_is_complete(app, client, admin, monkeypatch):
    monkeypatch.setattr(paging, "EXPORT_BATCH", 7)
    add(app, *[(i, f"m{i}", "unknown_user", "10.0.0.5", "x") for i in range(30)])
    rows = list(csv.reader(io.StringIO(client.get("/admin/history.csv?ip=10.0.0.5").get_data(
        as_text=True))))
    assert len(rows) == 31 and len({r[1] for r in rows[1:]}) == 30


def chart(client, query=""):
    return client.get(f"/admin/history/chart?{query}", headers={"HX-Request": "true"}).get_data(
        as_text=True)


def top_row(value, count, total):
    """The pattern of one row of a top list: the value's link, its count and its attempts."""
    return re.compile(rf'">{re.escape(value)}</a></td>\s*<td class="num"[^>]*>{count}</td>'
                      rf'<td class="num"[^>]*>{total}</td>')


def test_chart_shows_the_last_24_hours_by_default_successes_failures_and_top_lists(
        app, client, sample):
    add(app, (61, "alice", "bad_password", "203.0.113.5", "x"))
    text = chart(client)
    assert text.lstrip().startswith('<div id="history-chart"') and "<svg" in text
    assert "Attempts per hour, 2026-11-27 13:00 to 2026-11-28 12:00 UTC" in text
    assert text.count('<g class="bar">') == 24
    assert "2026-11-28 11:00: 1 success, 1 failure<" in text
    assert "2026-11-28 10:00: 0 successes, 1 failure<" in text
    assert "2026-11-27 06:00" not in text  # bob failed 30 hours ago: outside the 24 hours
    assert "2 successes and 2 failures" in text
    # The numbers behind the chart, one row per bar, for screen readers and copying.
    assert '<table class="rows numbers" id="chart-numbers">' in text
    assert ('<tr><td data-label="Hour">2026-11-28 11:00</td>'
            '<td class="num" data-label="Successes">1</td>'
            '<td class="num" data-label="Failures">1</td></tr>') in text
    assert top_row("203.0.113.5", 2, 2).search(text)
    assert top_row("alice", 2, 3).search(text)  # "Alice" signed in: the same account name
    assert ">127.0.0.1</a>" not in text  # root's address: no failure, not a top source


def test_chart_follows_the_date_range_by_hour_up_to_two_days_and_by_day_beyond(client, sample):
    text = chart(client, "since=2026-11-20&until=2026-11-28")
    assert "Attempts per day, 2026-11-20 to 2026-11-28 UTC" in text
    assert text.count('<g class="bar">') == 9
    assert "2026-11-25: 0 successes, 1 failure<" in text  # carol, 3 days ago
    assert "2026-11-27: 0 successes, 1 failure<" in text  # bob, 30 hours ago
    assert "2026-11-28: 2 successes, 1 failure<" in text
    assert top_row("2001:db8::1", 1, 1).search(text) and top_row("carol", 1, 1).search(text)
    text = chart(client, "since=2026-11-27T00:00&until=2026-11-28T00:00")
    assert "Attempts per hour, 2026-11-27 00:00 to 2026-11-27 23:00 UTC" in text
    assert "2026-11-27 06:00: 0 successes, 1 failure<" in text
    assert "2026-11-28" not in text.split("<svg")[1].split("</svg>")[0].replace("28 Nov", "")
    text = chart(client, "since=2026-11-29&until=2026-11-28")
    assert "No chart" in text and "<svg" not in text


def test_chart_follows_the_filter(client, sample):
    text = client.get("/admin/history/chart?user=bob&since=2026-11-26").get_data(as_text=True)
    assert "<h1>History chart</h1>" in text and ">bob</a>" in text and ">alice</a>" not in text
    assert client.get("/admin/history/chart?ip=bad").status_code == 400
    text = chart(client, "since=2026-10-01&outcome=success")
    assert "2 successes and 0 failures" in text and "addresses with the most successes" in text
    assert top_row("198.51.100.7", 1, 1).search(text)
    text = chart(client, "since=2026-10-01&ip=203.0.0.0/8")  # its networks' counts
    assert "0 successes and 3 failures" in text and top_row("203.0.113.5", 1, 1).search(text)
    assert "Counted from the newest 5,000 attempts" in text  # the accounts one block tried
    text = chart(client, "since=2026-10-01&reason=throttled")
    assert "0 successes and 1 failure" in text and top_row("203.0.114.1", 1, 1).search(text)


@pytest.mark.parametrize("probe", [1, history_chart.PROBE])
@pytest.mark.parametrize("since", ["2026-11-27", "2026-11-20"])  # by the hour, by the day
def test_chart_of_a_block_counts_the_same_whichever_index_reads_it(
        app, client, sample, monkeypatch, probe, since):
    # PROBE 1: every block looks busy, and an hourly span is walked by its hours.
    monkeypatch.setattr(history_chart, "PROBE", probe)
    add(app, (61, "dave", "bad_password", "203.0.113.5", "x"))
    text = chart(client, f"since={since}&ip=203.0.113.0/24")
    assert "0 successes and 3 failures" in text
    assert top_row("203.0.113.5", 2, 2).search(text) and top_row("203.0.113.9", 1, 1).search(text)
    assert ">198.51.100.7</a>" not in text and ">203.0.114.1</a>" not in text


@pytest.mark.parametrize("query", ["q=curl", "user=carol&ip=2001:db8::1"])
def test_chart_the_counts_cannot_answer_counts_the_attempts_and_says_so(client, sample, query):
    text = chart(client, f"since=2026-11-20&{query}")
    assert "Counted from the attempts themselves" in text
    assert "2026-11-25: 0 successes, 1 failure<" in text and top_row("carol", 1, 1).search(text)
    assert "0 successes and 1 failure" in text


def test_chart_counts_attempts_still_reading_error(app, client, sample):
    add(app, (5, "dave", "error", "192.0.2.9", "x"), (6, "alice", "error", "203.0.113.5", "x"))
    text = chart(client)
    assert "2026-11-28 11:00: 1 success, 3 failures<" in text
    assert top_row("203.0.113.5", 2, 2).search(text) and top_row("dave", 1, 1).search(text)
    assert "1 success and 2 failures" in chart(client, "user=alice")


@pytest.mark.parametrize("query", ["until=9999-12-31", "since=0001-01-01T00:00%2B01:00"])
def test_dates_at_the_ends_of_the_calendar_are_a_400_not_a_500(client, sample, query):
    assert client.get(f"/admin/history?{query}").status_code == 400
    assert client.get(f"/admin/history.csv?{query}").status_code == 400


def test_until_a_basic_iso_date_includes_that_day(client, sample):
    assert names(client.get("/admin/history?until=20261125")) == \
        names(client.get("/admin/history?until=2026-11-25"))


def test_user_agents_are_named_once_when_recorded_not_on_every_read(app, client, admin):
    with app.app_context():
        recorded = LoginAttempt.get(LoginAttempt.username == "root")
        assert recorded.browser is not None  # the test client's user agent, named on sign-in
        LoginAttempt.update(browser="Named on write").where(
            LoginAttempt.id == recorded.id).execute()
    assert "Named on write on" in client.get("/admin/history").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get("/admin/history.csv").get_data(as_text=True))))
    assert rows[1][6] == "Named on write"


def test_an_empty_block_matches_nothing_at_once_and_shows_new_rows_at_once(app, client, sample):
    empty = "/admin/history?ip=192.0.2.0/24&outcome=failure"
    assert names(client.get(empty)) == []
    add(app, (1, "eve", "bad_password", "192.0.2.9", "curl/8.5.0"))
    assert names(client.get(empty)) == ["eve"]  # not an empty answer remembered


# "zoë", a RIGHT-TO-LEFT OVERRIDE that makes "gnp.exe" read "exe.png", a terminal's clear
# screen, bell and backspace, a zero-width space and a no-break space before "root".
DISGUISED = "zo\u00eb\u202egnp.exe\x1b[2J\x07\x08\u200b\u00a0root"
DISGUISED_SHOWN = ("zoë⟨U+202E⟩gnp.exe⟨U+001B⟩[2J⟨U+0007⟩⟨U+0008⟩⟨U+200B⟩⟨U+00A0⟩root")
HIDDEN = ["\u202e", "\x1b", "\x07", "\x08", "\u200b", "\u00a0"]
# A scope id would make any text an IPv6 address (the portal takes none: "unknown");
# a device name can carry a terminal's
# "conceal" sequence into what the user-agent parser names.
SCOPED_IP = "fe80::1%\x1b[31m\x07"
CONCEALING_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel\x1b[8m 8) AppleWebKit/537.36 "
                    "Chrome/126.0 Mobile Safari/537.36")


@pytest.mark.settings(TRUSTED_PROXIES=1)
def test_typed_controls_and_invisible_characters_are_shown_not_sent(app, client, admin):
    attacker = app.test_client()
    attacker.post("/login", data={"username": DISGUISED, "password": "x"},
                  headers={"X-Forwarded-For": SCOPED_IP, "User-Agent": CONCEALING_AGENT})
    with app.app_context():
        stored = LoginAttempt.get(LoginAttempt.outcome == "failure")
    assert (stored.username, stored.ip, stored.user_agent) == (
        DISGUISED, "unknown", CONCEALING_AGENT)
    for response in (client.get("/admin/history"),
                     client.get("/admin/history", headers={"HX-Request": "true"})):
        text = response.get_data(as_text=True)
        assert [char for char in HIDDEN if char in text] == []
        assert names(response) == [DISGUISED_SHOWN, "root"]
        assert '<span class="invisible-char" title="U+202E RIGHT-TO-LEFT OVERRIDE">' in text
        assert "fe80" not in text
        assert "Pixel⟨U+001B⟩[8m 8" in without_tags(text)  # the device, and the raw agent
    body = client.get("/admin/history.csv").get_data(as_text=True)
    assert [char for char in HIDDEN if char in body] == [] and "<span" not in body
    exported = list(csv.reader(io.StringIO(body)))[1]
    assert exported[1] == DISGUISED_SHOWN and exported[5] == "unknown"
    assert exported[8] == "Pixel⟨U+001B⟩[8m 8" and "Pixel⟨U+001B⟩[8m 8)" in exported[9]


@pytest.mark.parametrize("field", ["user", "q"])
def test_the_history_filters_find_disguised_text_by_what_was_typed(app, client, admin, field):
    add(app, (1, DISGUISED, "unknown_user", "192.0.2.1", "x"),
        (2, "zoëexe.png root", "unknown_user", "192.0.2.1", "x"))
    assert names(client.get("/admin/history", query_string={field: DISGUISED})) == [
        DISGUISED_SHOWN]
    exported = client.get("/admin/history.csv", query_string={field: DISGUISED}).get_data(
        as_text=True)
    assert [row[1] for row in csv.reader(io.StringIO(exported))][1:] == [DISGUISED_SHOWN]


def test_a_typed_mark_reads_differently_from_a_real_one(app, client, admin):
    add(app, (1, "zoë⟨U+202E⟩", "unknown_user", "192.0.2.1", "x"))
    assert names(client.get("/admin/history?ip=192.0.2.1")) == ["zoë⟨U+27E8⟩U+202E⟩"]
    exported = client.get("/admin/history.csv?ip=192.0.2.1").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(exported)))[1][1] == "zoë⟨U+27E8⟩U+202E⟩"


def without_tags(text):
    return re.sub(r"<[^>]+>", "", text)
