"""Two portal instances (separate gunicorn masters, separate ports) on one database act as one."""

import re

import pytest
import requests

from portal.models import LoginAttempt
from tests.integration.test_production import csrf_session
from tests.server import Gunicorn
from tests.server import portal_env

pytestmark = pytest.mark.slow


def token_of(http, url):
    page = http.get(url, timeout=10).text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]


def sign_in(base, username, password):
    http, token = csrf_session(base)
    response = http.post(f"{base}/login", data={"csrf_token": token, "username": username,
                                                 "password": password},
                         allow_redirects=False, timeout=10)
    return http, response.status_code


def test_two_instances_share_sessions_lockout_and_admin_actions(app, auth, database_url):
    auth.create("root", "correct horse battery", is_admin=True)
    auth.create("alice")
    auth.create("bob")
    env = portal_env(database_url)
    with Gunicorn(env, workers=2) as a, Gunicorn(env, workers=2) as b:
        # A session made on A is good on B, and signing out on B ends it on A at once.
        alice, status = sign_in(a.url, "alice", "correct horse battery")
        assert status == 302
        cookies = alice.cookies.get_dict()
        assert requests.get(f"{b.url}/account/sessions", cookies=cookies,
                            allow_redirects=False, timeout=10).status_code == 200
        token = token_of(alice, f"{a.url}/account/sessions")
        alice.post(f"{b.url}/logout", data={"csrf_token": token}, timeout=10)
        assert requests.get(f"{a.url}/account/sessions", cookies=cookies,
                            allow_redirects=False, timeout=10).status_code == 302

        # Failures on either instance count against one budget: the 6th is locked on both.
        for n in range(5):
            assert sign_in((a, b)[n % 2].url, "bob", "wrong")[1] == 200
        assert sign_in(b.url, "bob", "correct horse battery")[1] == 200
        assert sign_in(a.url, "bob", "correct horse battery")[1] == 200

        # An admin's lock on B signs the user out on A.
        alice, _ = sign_in(a.url, "alice", "correct horse battery")
        root, _ = sign_in(b.url, "root", "correct horse battery")
        token = token_of(root, f"{b.url}/admin/users")
        root.post(f"{b.url}/admin/users/alice/lock", timeout=10,
                  data={"csrf_token": token, "reason": "scale-out test", "confirm": "yes"})
        assert alice.get(f"{a.url}/account/sessions", allow_redirects=False,
                         timeout=10).status_code == 302
    with app.app_context():
        reasons = [r for (r,) in LoginAttempt.select(LoginAttempt.reason)
                   .where(LoginAttempt.username == "bob").order_by(LoginAttempt.id).tuples()]
    assert reasons == ["bad_password"] * 5 + ["locked"] * 2
