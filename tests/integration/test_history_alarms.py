"""The attack alarm atop the login history: one address or network behind most of the last
hour's failures, or several times the usual failures for that hour of the week."""

import html
import re
from datetime import datetime
from datetime import timedelta

import pytest

from portal import clock
from portal.history import alarms as alarms_module
from portal.models import LoginAttempt
from portal.web import ipaddr

NOW = datetime(2026, 12, 8, 14, 30)
TITLE = "Possible attack in the last hour"


@pytest.fixture
def admin(app, auth, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    auth.create("root", is_admin=True)
    auth.login("root")  # a success at NOW, which no rule counts
    return auth


def fail(app, ips, minutes_ago=5, outcome="failure"):
    """Record one attempt per address, `minutes_ago` before NOW."""
    with app.app_context():
        LoginAttempt.insert_many([{
            "at": NOW - timedelta(minutes=minutes_ago, seconds=n), "username": "victim",
            "username_key": "victim", "outcome": outcome,
            "reason": "bad_password" if outcome == "failure" else "ok", "ip": ip,
            "ip_key": ipaddr.key(ip), "user_agent": "curl/8.5.0", "request_id": "r"}
            for n, ip in enumerate(ips)]).execute()


def scattered(count, start=0):
    """Return addresses in as many different /24 networks."""
    return [f"198.{51 + n // 256}.{n % 256}.1" for n in range(start, start + count)]


def alarms(client):
    """Return the alarm's paragraphs as text, and its links."""
    page = client.get("/admin/history").get_data(as_text=True)
    if TITLE not in page:
        return [], []
    section = page[page.index(TITLE):page.index("</section>", page.index(TITLE))]
    paragraphs = re.findall(r"<p>(.*?)</p>", section, re.S)
    return ([" ".join(re.sub(r"<[^>]+>", "", p).split()) for p in paragraphs],
            [html.unescape(href) for href in re.findall(r'href="([^"]+)"', section)])


def test_one_address_behind_most_failures_alarms_and_links_to_them(app, client, admin):
    fail(app, ["203.0.113.7"] * 15 + scattered(10))
    fail(app, ["203.0.113.7"] * 40, outcome="success")  # successes are no failures
    texts, links = alarms(client)
    assert texts == ["The address 203.0.113.7 is behind 15 of the 25 failed sign-ins of the "
                     "last hour (60 %). Show its failures"]  # its /24 holds no one else
    assert links == ["/admin/history?ip=203.0.113.7&outcome=failure&since=2026-12-08T13:30:00"]
    rows = client.get(links[0]).get_data(as_text=True)
    assert rows.count('title="Only attempts from 203.0.113.7"') == 15 and "198.51." not in rows


def test_a_network_alarms_when_no_address_of_it_does(app, client, admin):
    fail(app, [f"203.0.113.{n}" for n in range(1, 16)] + scattered(10))
    texts, links = alarms(client)
    assert texts == ["The network 203.0.113.0/24 is behind 15 of the 25 failed sign-ins of "
                     "the last hour (60 %). Show its failures"]
    assert "ip=203.0.113.0/24&outcome=failure" in links[0]
    rows = client.get(links[0]).get_data(as_text=True)
    assert rows.count('title="Only attempts from 203.0.113.') == 15


def test_an_ipv6_network_is_its_48(app, client, admin):
    fail(app, [f"2001:db8:7:{n:x}::1" for n in range(15)] + scattered(10))
    assert alarms(client)[0][0].startswith("The network 2001:db8:7::/48 is behind 15 of the 25")


def test_an_address_and_a_network_that_holds_more_both_alarm(app, client, admin):
    fail(app, ["203.0.113.7"] * 14 + ["203.0.113.8"] * 4 + scattered(8))
    texts, _ = alarms(client)
    assert [t.split(" is ")[0] for t in texts] == ["The address 203.0.113.7",
                                                    "The network 203.0.113.0/24"]


def test_a_share_alarms_only_from_the_minimum_of_failures_and_only_above_the_share(
        app, client, admin):
    fail(app, ["203.0.113.7"] * 3 + scattered(1))  # 3 failures of 4: no attack to speak of
    assert alarms(client) == ([], [])
    fail(app, ["203.0.113.7"] * 7 + scattered(9, start=1))  # 10 of 20: not more than half
    assert alarms(client) == ([], [])
    fail(app, ["203.0.113.7"])  # 11 of 21
    assert alarms(client)[0][0].startswith("The address 203.0.113.7 is behind 11 of the 21")


@pytest.mark.settings(ALARM_SHARE=70, ALARM_MIN_FAILURES=5)
def test_the_settings_move_the_thresholds(app, client, admin):
    fail(app, ["203.0.113.7"] * 6 + scattered(4))  # 60 %
    assert alarms(client) == ([], [])
    fail(app, ["203.0.113.7"] * 6)  # 75 %
    assert alarms(client)[0][0].startswith("The address 203.0.113.7 is behind 12 of the 16")


def test_failures_before_the_hour_do_not_count(app, client, admin):
    fail(app, ["203.0.113.7"] * 30, minutes_ago=61)
    assert alarms(client) == ([], [])


def usual_weeks(app, *counts):
    """Record `counts[n]` scattered failures in this hour of the week, n + 1 weeks back,
    in a history that began before the earliest of those hours."""
    fail(app, ["192.0.2.1"], minutes_ago=(len(counts) + 1) * 7 * 24 * 60, outcome="success")
    for weeks, count in enumerate(counts, start=1):
        fail(app, scattered(count, start=100), minutes_ago=weeks * 7 * 24 * 60 + 20)


def test_several_times_the_usual_failures_for_the_hour_of_the_week_alarm(app, client, admin):
    usual_weeks(app, 10, 12, 500, 10)  # one attacked week does not make 500 usual
    fail(app, scattered(49))
    assert alarms(client) == ([], [])  # under 5 times the median, 11
    fail(app, scattered(11, start=49))
    texts, links = alarms(client)
    assert texts == ["60 failed sign-ins in the last hour: 5 times the usual 11 for this hour "
                     "of the week (the median of the same hour in the last weeks the history "
                     "holds, up to 4). Show these failures"]
    assert links == ["/admin/history?outcome=failure&since=2026-12-08T13:30:00"]


def test_the_rate_needs_an_earlier_week_and_the_minimum_of_failures(app, client, admin):
    fail(app, scattered(30))
    assert alarms(client) == ([], [])  # no earlier week to compare with: no rate rule
    usual_weeks(app, 0)
    assert alarms(client)[0][0].startswith("30 failed sign-ins in the last hour: usually "
                                           "there are none")


@pytest.mark.settings(ALARM_MIN_FAILURES=40)
def test_a_quiet_week_and_a_few_failures_never_alarm(app, client, admin):
    usual_weeks(app, 0, 0)
    fail(app, scattered(39))
    assert alarms(client) == ([], [])


def test_the_rows_htmx_asks_for_carry_no_alarm(app, client, admin):
    fail(app, ["203.0.113.7"] * 30)
    rows = client.get("/admin/history?user=victim", headers={"HX-Request": "true"})
    assert TITLE not in rows.get_data(as_text=True)
    assert alarms(client)[0]


def test_in_a_busy_hour_the_share_is_that_of_the_newest_failures(app, client, admin,
                                                                   monkeypatch):
    monkeypatch.setattr(alarms_module, "SCANNED", 20)  # as if the hour held thousands
    fail(app, scattered(20), minutes_ago=40)
    fail(app, ["203.0.113.7"] * 15 + scattered(5, start=20), minutes_ago=2)
    assert alarms(client)[0][0] == ("The address 203.0.113.7 is behind 15 of the newest 20 of "
                                    "the 40 failed sign-ins of the last hour (75 %). Show its "
                                    "failures")
