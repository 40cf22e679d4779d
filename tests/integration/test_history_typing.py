"""The history as it behaves while an admin types: names by their start, hints for values
that are not whole yet, pages newer as well as older, date pickers' values."""

import re
from datetime import datetime
from datetime import timedelta

import pytest

from portal import clock
from portal import db
from portal.accounts import users
from portal.history import attempts
from portal.history import paging
from portal.models import LoginAttempt
from portal.web import ipaddr

NOW = datetime(2026, 11, 28, 12, 0, 0)
HTMX = {"HX-Request": "true"}
TYPING = {**HTMX, "Portal-Typing": "true"}


@pytest.fixture
def admin(auth, monkeypatch):
    auth.create("root", "correct horse battery", is_admin=True)
    monkeypatch.setattr(clock, "now", lambda: NOW)
    auth.login("root")  # recorded at NOW
    return auth


def add(app, *typed, ip="192.0.2.1"):
    """Record one failed attempt per typed name, a minute apart, the first the newest."""
    with app.app_context():
        LoginAttempt.insert_many([{
            "at": NOW - timedelta(minutes=1 + n), "username": name,
            "username_key": users.normalize_username(name), "outcome": "failure",
            "reason": "unknown_user", "ip": ip, "ip_key": ipaddr.key(ip), "request_id": "r",
            "user_agent": "curl/8.5.0", **attempts.agent_names("curl/8.5.0")}
            for n, name in enumerate(typed)]).execute()


def names(response):
    """Return the typed names of the rows a history page shows, in order."""
    assert response.status_code == 200, response.get_data(as_text=True)
    cells = re.findall(r'<td class="typed"[^>]*>(.*?)</td>', response.get_data(as_text=True))
    return [re.sub(r"<[^>]+>", "", cell).replace("⟨U+10FFFF⟩", "\U0010ffff") for cell in cells]


TYPED = ["david.ross", "David.Rodgers", "davidson", "dave", "a%b", "a_b", "axb", "a\\b",
         "zoë", "zo", "z\U0010ffffq", "zz", "z{"]


@pytest.mark.parametrize(("user", "expected"), [
    ("david.ro", ["david.ross", "David.Rodgers"]),
    ("DAVID", ["david.ross", "David.Rodgers", "davidson"]),
    ("  david.r  ", ["david.ross", "David.Rodgers"]),  # edges as the sign-in ignores them
    ("dave", ["dave"]),
    ("david.ross", ["david.ross"]),
    ("david.rossi", []),
    ("a%", ["a%b"]),  # LIKE's wildcards are plain characters
    ("a_", ["a_b"]),
    ("a\\", ["a\\b"]),
    ("zo", ["zoë", "zo"]),
    ("z\U0010ffff", ["z\U0010ffffq"]),  # the highest character, typed
    ("z", ["zoë", "zo", "z\U0010ffffq", "zz", "z{"]),
])
def test_the_user_filter_matches_every_name_that_starts_with_it(app, client, admin, user,
                                                                expected):
    add(app, *TYPED)
    assert names(client.get("/admin/history", query_string={"user": user, "prefix": "yes"})) \
        == expected


def test_without_prefix_the_user_filter_is_the_whole_name(app, client, admin):
    add(app, "david.ross", "david.ross2", "David.Ross")
    assert names(client.get("/admin/history?user=david.ross")) == ["david.ross", "David.Ross"]
    assert len(names(client.get("/admin/history?user=david.ross&prefix=yes"))) == 3
    assert client.get("/admin/history?user=david.ross&prefix=maybe").status_code == 400


def test_a_name_as_long_as_the_column_matches_itself_alone(app, client, admin):
    longest = "n" * 150
    add(app, longest, "n" * 149)
    assert names(client.get(f"/admin/history?user={longest}")) == [longest]
    assert len(names(client.get(f"/admin/history?user={'n' * 149}&prefix=yes"))) == 2


def test_username_keys_sort_by_code_point_on_postgresql(app):
    if not db.is_postgresql():
        pytest.skip("SQLite compares text by its bytes: code point order already")
    with app.app_context():
        collation = db.database.execute_sql(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = 'login_attempts' AND column_name = 'username_key'").fetchone()
    assert collation == ("C",)


def test_a_half_typed_address_gets_a_hint_and_keeps_the_table(client, admin):
    typing = client.get("/admin/history?ip=192.0.2.&user=", headers=TYPING)
    text = typing.get_data(as_text=True)
    assert typing.status_code == 400 and "HX-Push-Url" not in typing.headers
    assert 'id="history-hint"' in text and 'hx-swap-oob="true"' in text
    assert "Keep typing" in text and "history-rows" not in text and 'role="alert"' not in text
    settled = client.get("/admin/history?ip=192.0.2.&user=", headers=HTMX)
    text = settled.get_data(as_text=True)
    assert settled.status_code == 400 and settled.headers["HX-Push-Url"] == \
        "/admin/history?ip=192.0.2."
    assert text.lstrip().startswith('<section id="history-rows"') and 'role="alert"' in text


def test_rows_clear_the_hint_and_only_htmx_gets_it_out_of_band(client, admin):
    rows = client.get("/admin/history?ip=192.0.2.1", headers=TYPING).get_data(as_text=True)
    assert re.search(r'<p id="history-hint" [^>]*hx-swap-oob="true"[^>]*>\s*</p>', rows)
    page = client.get("/admin/history?ip=192.0.2.1").get_data(as_text=True)
    assert page.count('id="history-hint"') == 1 and "hx-swap-oob" not in page


def test_placeholders_look_like_no_filter(client, admin):
    form = client.get("/admin/history").get_data(as_text=True)
    form = form[form.index('<form id="history-filters"'):]
    form = form[:form.index("</form>")]
    placeholders = re.findall(r'placeholder="([^"]*)"', form)
    assert placeholders and all(text.startswith("any ") for text in placeholders)
    assert "203.0.113" not in form and not re.search(r"\b20\d\d-\d\d", form)


@pytest.mark.parametrize(("query", "since", "until"), [
    ("since=2026-11-27&until=2026-11-28", "2026-11-27T00:00", "2026-11-29T00:00"),
    ("since=2026-11-28T11:30:15&until=2026-11-28T12:00", "2026-11-28T11:30:15",
     "2026-11-28T12:00"),
    ("since=2026-11-28T13:30%2B02:00", "2026-11-28T11:30", ""),
    ("since=20261127", "2026-11-27T00:00", ""),
])
def test_date_pickers_show_the_filter_in_utc(client, admin, query, since, until):
    text = client.get(f"/admin/history?{query}").get_data(as_text=True)
    assert f'name="since" type="datetime-local" value="{since}"' in text
    assert f'name="until" type="datetime-local" value="{until}"' in text
    assert ('step="1"' in text) == since.endswith(":15")


def test_what_a_picker_sends_filters_like_what_was_typed(app, client, admin):
    add(app, "inside", "outside")  # 11:59 and 11:58
    picked = names(client.get("/admin/history?since=2026-11-28T11:59&until=2026-11-28T12:00"))
    typed = names(client.get("/admin/history?since=2026-11-28T11:59:00Z&until=2026-11-28T12:00Z"))
    assert picked == typed == ["inside"]
    assert names(client.get("/admin/history?until=2026-11-27")) == []  # a day includes itself


def links(response):
    """Return {label: href} of a history page's page links (without their #history-rows)."""
    text = response.get_data(as_text=True)
    found = re.findall(r'<a href="([^"]+)#history-rows" hx-get="[^"]+"[^>]*>([^<]+)</a>', text)
    return {label: href.replace("&amp;", "&") for href, label in found}


def test_pages_go_older_then_newer_and_newest_without_gaps(app, client, admin, monkeypatch):
    add(app, *[f"p{n:02}" for n in range(11)], ip="192.0.2.9")
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    url, down = "/admin/history?ip=192.0.2.9", []
    while url:
        response = client.get(url)
        down.append(names(response))
        oldest = links(response)
        url = oldest.get("Older attempts")
        assert url is None or "ip=192.0.2.9" in url
    assert down == [["p00", "p01", "p02"], ["p03", "p04", "p05"], ["p06", "p07", "p08"],
                    ["p09", "p10"]]
    url, up = oldest["Newer attempts"], []
    while url:
        response = client.get(url)
        up.append(names(response))
        url = links(response).get("Newer attempts")
        assert url is None or "ip=192.0.2.9" in url
    assert up == down[-2::-1]  # the same pages again, back to the newest
    newest = oldest["Newest attempts"]
    assert names(client.get(newest)) == down[0]
    assert newest == "/admin/history?ip=192.0.2.9"


def test_the_newest_page_has_no_newer_link(app, client, admin, monkeypatch):
    add(app, *[f"p{n:02}" for n in range(5)], ip="192.0.2.9")
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    newest = links(client.get("/admin/history?ip=192.0.2.9"))
    assert set(newest) == {"Older attempts"}
    second = client.get(newest["Older attempts"])
    assert set(links(second)) == {"Newest attempts", "Newer attempts"}  # and nothing older


def test_newer_than_a_page_short_of_the_top_is_the_newest_page(app, client, admin, monkeypatch):
    add(app, *[f"p{n:02}" for n in range(5)], ip="192.0.2.9")
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    second = links(client.get("/admin/history?ip=192.0.2.9"))["Older attempts"]
    newer = links(client.get(second))["Newer attempts"]
    response = client.get(newer, headers=HTMX)
    assert names(response) == ["p00", "p01", "p02"]
    assert response.headers["HX-Push-Url"] == "/admin/history?ip=192.0.2.9"  # no cursor
    assert "Newer attempts" not in links(response)


def test_a_page_past_the_end_offers_the_way_back(app, client, admin, monkeypatch):
    add(app, *[f"p{n:02}" for n in range(4)], ip="192.0.2.9")
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    beyond = client.get("/admin/history?ip=192.0.2.9&before=20200101T000000.000000-1")
    assert names(beyond) == [] and "on this page" in beyond.get_data(as_text=True)
    assert names(client.get(links(beyond)["Newer attempts"])) == ["p02", "p03"]


@pytest.mark.parametrize("cursor", ["before=x", "after=x", "after=20261399T000000.000000-1"])
def test_a_broken_page_link_is_explained(client, admin, cursor):
    response = client.get(f"/admin/history?{cursor}")
    assert response.status_code == 400
    assert "That page link is not valid any more" in response.get_data(as_text=True)
