"""The proxy check: forwarding headers that PORTAL_TRUSTED_PROXIES does not expect warn the
admins on every page, for an hour, whichever process saw them (web.proxy_check)."""

import re
from datetime import datetime
from datetime import timedelta

import pytest
import requests

from portal import clock
from portal import create_app
from portal import db
from tests.conftest import TEST_SETTINGS
from tests.server import Gunicorn
from tests.server import portal_env

NOW = datetime(2026, 12, 7, 10, 0)
TITLE = "Proxy check: client addresses may be recorded wrong"
ADMIN_PAGES = ["/admin/users", "/admin/users/root", "/admin/history", "/admin/ips",
               "/account/sessions"]


@pytest.fixture
def admin(app, client, auth, monkeypatch):
    """An admin signed in through the client, at NOW, through as many proxies as trusted;
    returns a function that moves the clock."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    hops = ["203.0.113.1"] + [f"10.0.0.{n}" for n in range(1, app.config["TRUSTED_PROXIES"])]
    if app.config["TRUSTED_PROXIES"]:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = ", ".join(hops)
    auth.create("root", is_admin=True)
    auth.login("root")

    def move_to(minutes):
        monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(minutes=minutes))
        auth.login("root")  # the session has run out meanwhile, or not: a new one either way
    return move_to


def stranger_signs_in(app, headers, times=1):
    browser = app.test_client()
    for _ in range(times):
        assert browser.post("/login", data={"username": "mallory", "password": "guess"},
                            headers=headers).status_code == 200


def warning(client, path="/admin/users"):
    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return text[text.index(TITLE):text.index("</section>", text.index(TITLE))] \
        if TITLE in text else None


def test_forwarded_for_to_a_portal_that_trusts_no_proxy_warns_on_every_admin_page(
        app, client, admin):
    stranger_signs_in(app, {})
    assert warning(client) is None
    stranger_signs_in(app, {"X-Forwarded-For": "198.51.100.7"}, times=3)
    for path in ADMIN_PAGES:
        found = warning(client, path)
        assert found is not None, path
        assert "3 requests carried an <code>X-Forwarded-For</code> header" in found
        assert "<code>PORTAL_TRUSTED_PROXIES=1</code>" in found
        assert "from <code>127.0.0.1</code>" in found  # the socket's address, not the header's


def test_a_signed_in_user_who_is_no_admin_sees_no_warning(app, auth, admin):
    stranger_signs_in(app, {"X-Forwarded-For": "198.51.100.7"})
    auth.create("alice")
    user = app.test_client()
    user.post("/login", data={"username": "alice", "password": auth.password})
    assert TITLE not in user.get("/account/sessions").get_data(as_text=True)


def test_forged_header_text_is_never_shown_only_counted(app, client, admin):
    stranger_signs_in(app, {"X-Forwarded-For": "<script>alert(1)</script>, 1.2.3.4, x"})
    found = warning(client)
    assert "<script>" not in found and "alert" not in found and "1.2.3.4" not in found
    assert "(3 addresses or more;" in found and "PORTAL_TRUSTED_PROXIES=3" in found


def test_a_header_from_a_public_address_gets_no_advice_to_trust_it(app, client, admin):
    # A stranger reaching gunicorn directly picks the header's length: its count of
    # addresses must not become the number the admin is told to trust.
    app.test_client().post("/login", data={"username": "mallory", "password": "guess"},
                           headers={"X-Forwarded-For": "10.0.0.1, 10.0.0.2, 10.0.0.3"},
                           environ_base={"REMOTE_ADDR": "203.0.113.9"})
    found = warning(client)
    assert "(3 addresses or more;" in found and "<code>203.0.113.9</code>" in found
    assert "PORTAL_TRUSTED_PROXIES=3" not in found
    assert "clients seem to reach the portal directly" in found


def test_a_forwarded_header_warns_and_says_the_portal_reads_x_forwarded_for(app, client, admin):
    stranger_signs_in(app, {"Forwarded": "for=198.51.100.7;proto=https"})
    found = warning(client)
    assert "carried a <code>Forwarded</code> header" in found
    assert "The portal does not read <code>Forwarded</code>" in found


@pytest.mark.settings(TRUSTED_PROXIES=2)
def test_fewer_hops_than_trusted_warn_and_more_do_not(app, client, admin):
    stranger_signs_in(app, {"X-Forwarded-For": "198.51.100.7, 10.0.0.2"})
    stranger_signs_in(app, {"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.0.0.2"})
    assert warning(client) is None  # a client's own header, appended to, is normal
    stranger_signs_in(app, {"X-Forwarded-For": "10.0.0.2"}, times=2)
    found = warning(client)
    assert "2 requests carried\n    only 1 address\n    in <code>X-Forwarded-For</code>" in found
    assert "is\n    2, so the portal recorded the address each came from" in found
    assert "set <code>PORTAL_TRUSTED_PROXIES=1</code>" in found


@pytest.mark.settings(TRUSTED_PROXIES=1)
def test_a_request_that_bypassed_the_proxy_warns_but_a_health_check_does_not(
        app, client, admin):
    assert app.test_client().get("/healthz").status_code == 200
    assert warning(client) is None
    stranger_signs_in(app, {})
    found = warning(client)
    assert "carried\n    no address\n    in <code>X-Forwarded-For</code>" in found
    assert "keep clients away from gunicorn's port" in found


def test_the_warning_ends_an_hour_after_the_last_such_request(app, client, admin):
    stranger_signs_in(app, {"X-Forwarded-For": "198.51.100.7"})
    admin(minutes=59)
    assert warning(client) is not None
    admin(minutes=61)
    assert warning(client) is None


@pytest.fixture
def other_process(app):
    """A second app on the same database, as another worker or host would be."""
    first_pool = db.database.obj
    yield create_app({**TEST_SETTINGS, "DATABASE_URL": app.config["DATABASE_URL"]})
    first_pool.close_all()  # the app fixture closes the pool bound last: the second app's


def test_another_process_sees_it_within_a_minute_and_requests_cost_no_query(
        client, admin, other_process, statements):
    assert warning(client) is None  # this process has just read what everyone saw: nothing
    stranger = other_process.test_client()
    stranger.get("/login", headers={"X-Forwarded-For": "198.51.100.7"})  # shared at once
    statements.clear()
    for _ in range(5):
        stranger.get("/login", headers={"X-Forwarded-For": "198.51.100.7"})
    assert not [sql for sql, _ in statements if "proxy_observations" in sql]
    assert warning(client) is None  # read a minute ago at most
    admin(minutes=1)
    found = warning(client)
    assert "1 request carried an <code>X-Forwarded-For</code> header" in found


class Browser:
    """One browser against a served portal: its cookies, its headers, the last CSRF token."""

    def __init__(self, url, **headers):
        self.url, self.http, self.token = url, requests.Session(), None
        self.http.headers.update(headers)

    def get(self, path):
        response = self.http.get(self.url + path, timeout=10, allow_redirects=False)
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', response.text)
        self.token = found[1] if found else self.token
        return response

    def sign_in(self, username, password):
        self.get("/login")
        return self.http.post(self.url + "/login", timeout=30, allow_redirects=False, data={
            "csrf_token": self.token, "username": username, "password": password})


@pytest.mark.slow
def test_gunicorn_that_trusts_no_proxy_warns_of_forwarded_sign_ins_and_not_without(
        auth, database_url):
    auth.create("root", is_admin=True)
    with Gunicorn(portal_env(database_url), workers=1) as server:
        admin = Browser(server.url)
        assert admin.sign_in("root", auth.password).status_code == 302
        stranger = Browser(server.url)
        for _ in range(3):
            assert stranger.sign_in("mallory", "a guess").status_code == 200
        assert TITLE not in admin.get("/admin/users").text
        forger = Browser(server.url, **{"X-Forwarded-For": "203.0.113.9"})
        for _ in range(2):
            assert forger.sign_in("mallory", "a guess").status_code == 200
        for path in ADMIN_PAGES:
            page = admin.get(path).text
            assert TITLE in page and "PORTAL_TRUSTED_PROXIES=1" in page, path
            assert "4 requests carried an <code>X-Forwarded-For</code> header" in page  # GET + POST


@pytest.mark.slow
def test_gunicorn_trusting_two_proxies_warns_of_one_hop_and_so_does_another_host(
        auth, database_url):
    auth.create("root", is_admin=True)
    env = portal_env(database_url, TRUSTED_PROXIES=2)
    with Gunicorn(env, workers=1) as edge:  # its first counted request is shared at once
        one_hop = Browser(edge.url, **{"X-Forwarded-For": "203.0.113.9"})
        assert one_hop.sign_in("mallory", "a guess").status_code == 200
    with Gunicorn(env, workers=1) as other:
        admin = Browser(other.url, **{"X-Forwarded-For": "203.0.113.1, 10.0.0.1"})
        assert admin.sign_in("root", auth.password).status_code == 302
        page = admin.get("/admin/history").text
    assert TITLE in page and "only 1 address" in page and "PORTAL_TRUSTED_PROXIES=1" in page
