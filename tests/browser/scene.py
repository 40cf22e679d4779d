"""A portal that looks lived in, for the screens tests and the README's screenshots.

Everything is made through the portal's own HTTP forms (and its CLI), from devices that
the server sees by their user agent and, through PORTAL_TRUSTED_PROXIES=1, by the
address each one puts in X-Forwarded-For: several devices, IPv6 and IPv4-mapped
addresses, failed sign-ins, a "This wasn't me" report, an admin lock, a policy lock and
throttled addresses, on top of seed-demo's 90 days of history. alice has several
devices and reported one sign-in; bob.lee reported one and is locked by an admin;
zoe.martin is locked by the policy.
"""

import base64
import json
import re

import requests

from tests.server import flask_cli

ACCOUNTS = {"admin": "staple lantern orbit", "alice": "violet harbour maple",
            "bob.lee": "quiet meadow copper", "zoe.martin": "amber falcon riverbed"}
ADMINS = {"admin"}

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/126.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
              "like Gecko) Version/17.5 Safari/605.1.15")
PYTHON_TOOL = "python-requests/2.31.0"

# (user agent, address) of each of alice's other devices. The first is the longest
# form an IPv6 address takes; the iPhone comes through an IPv4-mapped address.
ALICE_DEVICES = [(FIREFOX_LINUX, "2001:db8:85a3:8d3:1319:8a2e:370:7348"),
                 (SAFARI_IPHONE, "::ffff:198.51.100.77"),
                 (CHROME_WINDOWS, "192.0.2.44")]
INTRUDER = (PYTHON_TOOL, "2001:db8:dead:beef:4e1f:9c3a:77b2:1ead")
BOB_PHONE = (SAFARI_IPHONE, "::ffff:198.51.100.131")
# The desktop that the browser tests pose as ("this device" on the sessions page).
DESKTOP = (SAFARI_MAC, "198.51.100.20")
THROTTLED_IPS = ["2001:db8:4bad:7:1c2d:3e4f:5a6b:7c8d", "198.51.100.23"]
IP_MAX_FAILURES = 12
SETTINGS = {"TRUSTED_PROXIES": 1, "IP_MAX_FAILURES": IP_MAX_FAILURES}


def create_accounts(env):
    """Create ACCOUNTS with the CLI (after seed-demo, which refuses accounts it did not make)."""
    for name, password in ACCOUNTS.items():
        extra = ["--admin"] if name in ADMINS else []
        result = flask_cli(env, "users", "create", name, *extra, "--password-stdin",
                           stdin=password + "\n")
        assert result.returncode == 0, result.stderr


class Device:
    """One browser that the portal sees by its user agent and X-Forwarded-For address."""

    def __init__(self, base_url, user_agent, ip):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers.update({"User-Agent": user_agent, "X-Forwarded-For": ip})

    def csrf_token(self, path):
        """Return the CSRF token of the page at `path`."""
        page = self.get(path).text
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def get(self, path):
        """GET a page."""
        return self.http.get(self.base_url + path, timeout=10)

    def post(self, path, token_from, **fields):
        """POST a form (with the CSRF token of the page `token_from`)."""
        return self.http.post(self.base_url + path, timeout=10,
                              data={"csrf_token": self.csrf_token(token_from), **fields})

    def sign_in(self, username, password=None):
        """Sign in; return the response."""
        return self.post("/login", "/login", username=username,
                         password=password or ACCOUNTS[username])

    @property
    def session_id(self):
        """The id of this device's session: the `jti` of its token (read, not verified)."""
        token = self.http.cookies["portal_session"]
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def build(base_url):
    """Fill a fresh portal (seeded, with ACCOUNTS) with the scene."""
    Device(base_url, *ALICE_DEVICES[0]).sign_in("alice", "not her password at all")
    Device(base_url, *ALICE_DEVICES[1]).sign_in("alice", "not her password either")
    devices = [Device(base_url, *device) for device in ALICE_DEVICES]
    for device in devices:
        assert device.sign_in("alice").ok
    intruder = Device(base_url, *INTRUDER)
    assert intruder.sign_in("alice").ok
    reported = devices[-1].post(f"/account/sessions/{intruder.session_id}/report",
                                "/account/sessions")
    assert reported.ok, reported.text
    bob, bobs_intruder = Device(base_url, *BOB_PHONE), Device(base_url, *INTRUDER)
    assert bob.sign_in("bob.lee").ok and bobs_intruder.sign_in("bob.lee").ok
    assert bob.post(f"/account/sessions/{bobs_intruder.session_id}/report",
                    "/account/sessions").ok
    admin = Device(base_url, FIREFOX_LINUX, "2001:db8:1:2::10")
    assert admin.sign_in("admin").ok
    locked = admin.post("/admin/users/bob.lee/lock", "/admin/users/bob.lee", confirm="yes",
                        reason="Reported a sign-in that was not his: locked until he calls back",
                        duration="7d")
    assert locked.ok, locked.text
    for attempt in range(5):  # LOCKOUT_MAX_FAILURES: the policy locks zoe.martin
        Device(base_url, CHROME_WINDOWS, f"192.0.2.{100 + attempt}").sign_in(
            "zoe.martin", f"guess number {attempt} of many")
    for ip in THROTTLED_IPS:
        device = Device(base_url, PYTHON_TOOL, ip)
        for attempt in range(IP_MAX_FAILURES):
            device.sign_in(f"user{attempt}", "winter2024 password guess")
