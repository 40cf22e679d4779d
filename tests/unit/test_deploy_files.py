"""deploy/portal.service and deploy/nginx.conf agree with the portal and with the README.

tests/integration/test_deploy.py runs nginx.conf for real; systemd cannot run here, so
the unit's settings are checked as written, and by systemd-analyze where it is installed.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from portal import config
from portal.web import logs

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "deploy" / "portal.service"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def service_settings():
    """Return {key: value} of the unit's [Service] section (each key is set once there)."""
    section, settings = None, {}
    for line in SERVICE.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            assert key not in settings, key
            settings[key] = value
    return settings


def nginx_directives():
    """Return {directive: [its values, one string per occurrence]} of the shipped config."""
    found = {}
    for line in NGINX_CONF.read_text().splitlines():
        statement = line.split("#", 1)[0].strip()
        if statement.endswith(";"):
            name, _, value = statement[:-1].partition(" ")
            found.setdefault(name, []).append(value.strip())
    return found


def test_the_unit_runs_gunicorn_from_the_checkout_with_the_production_settings():
    unit = service_settings()
    assert unit["ExecStart"].endswith('gunicorn "portal:create_app()"')
    assert unit["ExecStart"].startswith(unit["WorkingDirectory"])  # its virtualenv
    assert unit["EnvironmentFile"]
    assert unit["User"] not in ("", "root") and unit["Type"] == "notify"


def test_the_unit_takes_the_workers_down_with_the_master_and_restarts():
    unit = service_settings()
    assert unit["KillMode"] in ("mixed", "control-group")
    assert unit["Restart"] == "on-failure"
    graceful = int(re.search(r"^graceful_timeout = (\d+)$",
                             (ROOT / "gunicorn.conf.py").read_text(), re.MULTILINE)[1])
    assert int(unit["TimeoutStopSec"]) > graceful


def test_the_unit_is_hardened_and_can_still_write_sqlite():
    unit = service_settings()
    assert unit["NoNewPrivileges"] == unit["PrivateTmp"] == "yes"
    assert unit["ProtectSystem"] == "strict"
    assert unit["ReadWritePaths"] == f"-{unit['WorkingDirectory']}/instance"


def test_systemd_accepts_the_unit(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze not installed")
    # verify insists that ExecStart's program exists: point it at one that does.
    unit = tmp_path / "portal.service"
    gunicorn = shutil.which("gunicorn") or sys.executable
    unit.write_text(re.sub(r"^ExecStart=\S+", f"ExecStart={gunicorn}", SERVICE.read_text(),
                           flags=re.MULTILINE))
    verified = subprocess.run([analyze, "verify", unit], capture_output=True, text=True,
                              timeout=60)
    assert verified.returncode == 0 and str(unit) not in verified.stderr, verified.stderr


def test_nginx_buffers_both_ways_and_cuts_off_slow_clients():
    nginx = nginx_directives()
    assert nginx["proxy_buffering"] == nginx["proxy_request_buffering"] == ["on"]
    assert {"client_header_timeout", "client_body_timeout"} <= set(nginx)


def test_nginx_s_body_limit_is_the_portal_s():
    (limit,) = nginx_directives()["client_max_body_size"]
    assert limit.endswith("k") and int(limit[:-1]) * 1024 == config.defaults()[
        "MAX_CONTENT_LENGTH"]


def test_nginx_forwards_what_the_portal_trusts_from_one_proxy_hop():
    headers = dict(value.split(" ", 1) for value in nginx_directives()["proxy_set_header"])
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Request-ID"] == "$request_id"
    assert logs.REQUEST_ID.match("0123456789abcdef" * 2)  # $request_id: 32 hex digits


def test_the_readme_deploys_with_both_files_and_says_the_proxy_is_required():
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("## Production"):readme.index("## Upgrading")]
    assert "deploy/nginx.conf" in production and "deploy/portal.service" in production
    assert "```nginx" not in readme  # the configuration lives in the file, tested
    assert "A buffering reverse proxy in front of gunicorn is required" in production
