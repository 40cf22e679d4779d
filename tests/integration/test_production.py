"""The production path, as users run it: gunicorn processes, the flask CLI, real HTTP."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from portal.models import AuditEvent
from portal.models import FailureBudget
from portal.models import LoginAttempt
from portal.models import Session
from tests.server import Gunicorn
from tests.server import flask_cli
from tests.server import portal_env

pytestmark = pytest.mark.slow


def csrf_session(base_url):
    """Return a requests.Session holding the CSRF cookie, and the token for its forms."""
    http = requests.Session()
    page = http.get(f"{base_url}/login", timeout=10).text
    return http, re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]


@pytest.mark.parametrize(("secret", "message"), [
    (None, "PORTAL_SECRET_KEY is not set"),
    ("too-short", "PORTAL_SECRET_KEY is too short"),
])
def test_gunicorn_refuses_to_start_without_a_proper_secret(tmp_path, secret, message):
    env = portal_env(f"sqlite:///{tmp_path}/p.db")
    env.pop("PORTAL_SECRET_KEY")
    if secret:
        env["PORTAL_SECRET_KEY"] = secret
    with pytest.raises(RuntimeError, match=message):
        with Gunicorn(env, workers=1):
            pass


def test_gunicorn_refuses_a_bad_setting(tmp_path):
    env = portal_env(f"sqlite:///{tmp_path}/p.db", LOCKOUT_MAX_FAILURES="lots")
    with pytest.raises(RuntimeError, match="PORTAL_LOCKOUT_MAX_FAILURES must be a whole number"):
        with Gunicorn(env, workers=1):
            pass


def test_cli_then_gunicorn_sign_in_and_out(app, database_url):
    env = portal_env(database_url)
    assert flask_cli(env, "init-db").returncode == 0
    created = flask_cli(env, "users", "create", "olga", "--admin", "--password-stdin",
                        stdin="a long password\n")
    assert created.returncode == 0, created.stderr
    assert "\nolga\tadmin\tactive\t" in flask_cli(env, "users", "list").stdout
    with Gunicorn(env, workers=2) as server:
        http, token = csrf_session(server.url)
        signed_in = http.post(f"{server.url}/login", timeout=10, allow_redirects=False, data={
            "csrf_token": token, "username": "olga", "password": "a long password"})
        assert signed_in.status_code == 302
        cookie = http.cookies.get("portal_session")
        page = http.get(f"{server.url}/admin/history", timeout=10)
        assert page.status_code == 200 and "olga" in page.text
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)[1]
        assert http.post(f"{server.url}/logout", data={"csrf_token": token},
                         allow_redirects=False, timeout=10).status_code == 302
        replay = requests.get(f"{server.url}/account/sessions", cookies={
            "portal_session": cookie}, allow_redirects=False, timeout=10)
        assert replay.status_code == 302


def parallel_logins(server, plan):
    """POST every (username, password) of the plan at once; return the status codes."""
    http, token = csrf_session(server.url)
    # Each attempt sends the same cookies: a shared cookie jar would take a success's
    # cookies (and its new CSRF secret) into the attempts not sent yet.
    cookies = http.cookies.get_dict()

    def attempt(credentials):
        data = {"csrf_token": token, "username": credentials[0], "password": credentials[1]}
        return requests.post(f"{server.url}/login", data=data, cookies=cookies,
                             allow_redirects=False, timeout=30).status_code
    with ThreadPoolExecutor(len(plan)) as pool:
        return list(pool.map(attempt, plan))


def count(model, *where):
    query = model.select()
    return (query.where(*where) if where else query).count()


def test_parallel_attempts_through_several_workers_are_all_recorded(app, auth, database_url):
    auth.create("alice")
    auth.create("bob", "bobs long passphrase")
    plan = ([("alice", "wrong")] * 20 + [("ghost", "x")] * 10
            + [("bob", "bobs long passphrase")] * 10)
    env = portal_env(database_url, LOCKOUT_MAX_FAILURES=1000)
    with Gunicorn(env, workers=3, threads=4) as server:
        codes = parallel_logins(server, plan)
    assert codes.count(302) == 10 and codes.count(200) == 30
    with app.app_context():
        assert count(LoginAttempt) == len(plan)
        assert count(LoginAttempt, LoginAttempt.reason == "bad_password") == 20
        assert count(Session) == 10
        assert FailureBudget.get(FailureBudget.device == "").failures == 20


def test_parallel_failures_lock_exactly_at_the_threshold(app, auth, database_url):
    alice = auth.create("alice")
    with Gunicorn(portal_env(database_url), workers=4, threads=4) as server:
        codes = parallel_logins(server, [("alice", "wrong")] * 40)
    assert codes == [200] * 40
    with app.app_context():
        assert count(LoginAttempt) == 40
        assert count(LoginAttempt, LoginAttempt.reason == "bad_password") == 5
        assert count(LoginAttempt, LoginAttempt.reason == "locked") == 35
        budget = FailureBudget.get(FailureBudget.account == alice.username)
        assert (budget.failures, budget.lockouts) == (5, 1) and budget.locked_until
        assert count(AuditEvent) == 1


def test_ip_throttle_holds_exactly_under_a_burst(app, auth, database_url):
    env = portal_env(database_url, IP_MAX_FAILURES=10)
    with Gunicorn(env, workers=4, threads=4) as server:
        codes = parallel_logins(server, [(f"user{i}", "x") for i in range(30)])
    assert codes.count(200) == 10 and codes.count(429) == 20
    with app.app_context():
        assert count(LoginAttempt, LoginAttempt.reason == "unknown_user") == 10
        assert count(LoginAttempt, LoginAttempt.reason == "throttled") == 20


def test_the_cli_refuses_a_breached_password_in_one_line(app, database_url):
    env = portal_env(database_url)
    refused = flask_cli(env, "users", "create", "olga", "--password-stdin",
                        stdin="password1234567\n")
    assert refused.returncode != 0 and refused.stdout == ""
    assert refused.stderr.strip().count("\n") == 0
    assert "common and breached passwords" in refused.stderr
    assert flask_cli(env, "users", "create", "olga", "--password-stdin",
                     stdin="seven lanterns over the harbour\n").returncode == 0


def test_through_gunicorn_the_password_rule_holds_and_typed_text_is_shown_visibly(
        app, auth, database_url):
    auth.create("root", is_admin=True)
    auth.create()
    with Gunicorn(portal_env(database_url)) as server:
        http, token = csrf_session(server.url)
        http.post(f"{server.url}/login", timeout=10, data={
            "csrf_token": token, "username": "zo\u00eb\u202egnp.exe\x1b[2J", "password": "x"})
        http.post(f"{server.url}/login", timeout=10, data={
            "csrf_token": token, "username": "alice", "password": auth.password})
        page = http.get(f"{server.url}/account/password", timeout=10).text
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]
        refused = http.post(f"{server.url}/account/password", timeout=10, data={
            "csrf_token": token, "current": auth.password, "new": "qwertyuiop123456",
            "confirm": "qwertyuiop123456"})
        assert refused.status_code == 400 and "common" in refused.text
        admin, token = csrf_session(server.url)
        admin.post(f"{server.url}/login", timeout=10, data={
            "csrf_token": token, "username": "root", "password": auth.password})
        history = admin.get(f"{server.url}/admin/history", timeout=10).text
        export = admin.get(f"{server.url}/admin/history.csv", timeout=10).text
    for shown in (history, export):
        assert "\u202e" not in shown and "\x1b" not in shown
        assert "⟨U+202E⟩" in shown and "⟨U+001B⟩" in shown
    with app.app_context():
        typed = LoginAttempt.get(LoginAttempt.reason == "unknown_user").username
    assert typed == "zo\u00eb\u202egnp.exe\x1b[2J"
