"""IP throttles under the operator's control: seen and lifted (CLI and page), allowlisted."""

import pytest

from portal import create_app
from portal.config import ConfigError
from portal.models import AuditEvent
from portal.models import IpThrottle
from tests.conftest import TEST_SETTINGS
from tests.pgcluster import free_port
from tests.server import flask_cli
from tests.server import portal_env

pytestmark = pytest.mark.settings(IP_MAX_FAILURES=3)

OFFICE = {"REMOTE_ADDR": "203.0.113.7"}  # one NAT address for a whole office


def fail_from(app, environ, times):
    browser = app.test_client()
    return [browser.post("/login", data={"username": f"u{n}", "password": "x"},
                         environ_base=environ).status_code for n in range(times)]


def test_the_cli_lists_and_lifts_a_throttled_address(app, auth, runner):
    auth.create()
    assert fail_from(app, OFFICE, 4) == [200, 200, 200, 429]
    listed = runner.invoke(args=["ips", "list"])
    assert listed.exit_code == 0
    assert listed.output.splitlines()[0] == "ADDRESS\tFAILURES\tENDS (UTC)"
    assert listed.output.splitlines()[1].startswith("203.0.113.7\t3\t")
    lifted = runner.invoke(args=["ips", "lift", "203.0.113.7"])
    assert lifted.exit_code == 0 and "Lifted the throttle on 203.0.113.7." in lifted.output
    assert runner.invoke(args=["ips", "list"]).output == "No address is throttled.\n"
    assert app.test_client().post("/login", environ_base=OFFICE, data={
        "username": "alice", "password": auth.password}).status_code == 302
    again = runner.invoke(args=["ips", "lift", "203.0.113.7"])
    assert again.exit_code == 0 and "not throttled: nothing to lift" in again.output
    with app.app_context():
        (event,) = AuditEvent.select()
    assert (event.action, event.target_id, event.target_ip, event.failures) == \
        ("lift_ip", None, "203.0.113.7", 3)


def test_an_ipv6_client_is_listed_and_lifted_by_its_64(app, runner):
    fail_from(app, {"REMOTE_ADDR": "2001:db8:1:2::9"}, 3)
    assert "2001:db8:1:2::/64\t3\t" in runner.invoke(args=["ips", "list"]).output
    assert "Lifted the throttle on 2001:db8:1:2::/64." in runner.invoke(
        args=["ips", "lift", "2001:db8:1:2::/64"]).output


@pytest.mark.parametrize("block", ["10.0.0.0/8", "2001:db8::/48", "1.2.3.4/garbage",
                                   "fe80::1%eth0"])
def test_only_an_address_or_what_the_list_shows_can_be_lifted(app, runner, block):
    refused = runner.invoke(args=["ips", "lift", block])
    assert refused.exit_code == 1 and "is not an IP address" in refused.output


def test_lifting_something_that_is_no_address_is_one_line(app, database_url):
    refused = flask_cli(portal_env(database_url), "ips", "lift", "not-an-ip")
    assert refused.returncode == 1
    assert refused.stderr == "Error: 'not-an-ip' is not an IP address.\n"


def test_the_admin_page_lists_lifts_and_audits(app, auth, client):
    auth.create("root", is_admin=True)
    fail_from(app, OFFICE, 3)
    auth.login("root")
    page = client.get("/admin/ips").get_data(as_text=True)
    assert "203.0.113.7" in page and "Throttled now" in page
    assert "No throttle has been lifted" in page
    lifted = client.post("/admin/ips/lift", data={"ip": "203.0.113.7"})
    assert lifted.status_code == 302 and lifted.headers["Location"] == "/admin/ips"
    page = client.get(lifted.headers["Location"]).get_data(as_text=True)
    assert "Lifted the throttle on 203.0.113.7" in page and "No address is throttled" in page
    assert "Lifted lately" in page and "root" in page.split("Lifted lately")[1]
    client.post("/admin/ips/lift", data={"ip": "203.0.113.7"})
    assert "Nothing to lift" in client.get("/admin/ips").get_data(as_text=True)
    assert client.post("/admin/ips/lift", data={"ip": "<script>"}).status_code == 400


def test_the_ips_page_is_for_admins_only(auth, client):
    auth.create()
    auth.login()
    assert client.get("/admin/ips").status_code == 403
    assert client.post("/admin/ips/lift", data={"ip": "203.0.113.7"}).status_code == 403


@pytest.mark.settings(IP_ALLOWLIST="203.0.113.0/24, 2001:db8::/32", LOCKOUT_MAX_FAILURES=5)
def test_an_allowlisted_network_is_never_throttled_but_accounts_still_lock(app, auth):
    auth.create()
    assert 429 not in fail_from(app, OFFICE, 10)
    with app.app_context():
        assert IpThrottle.select().count() == 0
    office = app.test_client()
    for _ in range(5):
        office.post("/login", data={"username": "alice", "password": "wrong"},
                    environ_base=OFFICE)
    assert office.post("/login", data={"username": "alice", "password": auth.password},
                       environ_base=OFFICE).status_code == 200  # the account is locked


@pytest.mark.parametrize("value", ["10.0.0.0/33", "office", "10.0.0.0/8,,nope",
                                   "10.0.0.1/8", "0.0.0.0/0", "fe80::%eth0/64"])
def test_a_bad_allowlist_stops_start_up_naming_it(tmp_path, value):
    with pytest.raises(ConfigError, match="^PORTAL_IP_ALLOWLIST must be comma-separated"):
        create_app({**TEST_SETTINGS, "DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
                    "IP_ALLOWLIST": value})


def test_the_ips_commands_say_in_one_line_when_the_database_cannot_serve():
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nobody listens there
    refused = flask_cli(portal_env(url), "ips", "list")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "PORTAL_DATABASE_URL" in refused.stderr and "Traceback" not in refused.stderr
