"""Behind PgBouncer in transaction mode (Debian's pgbouncer): sign in, page, export.

PgBouncer hands each transaction to whichever server connection is free, so nothing
may rely on a session: no server-side prepared statements (PORTAL_DB_SERVER_PREPARE
off, below PgBouncer 1.21) and no startup `options` (ignore_startup_parameters; the
statement timeout is then the role's or the database's, set by ALTER ROLE/DATABASE).
"""

import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import PG_BASE_URL
from tests.conftest import new_pg_database
from tests.pgcluster import free_port
from tests.server import Gunicorn
from tests.server import flask_cli
from tests.server import portal_env

pytestmark = pytest.mark.slow
PASSWORD = "a long password"


def listening(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def pgbouncer():
    """Start PgBouncer in transaction mode in front of the test server; yield its port."""
    if not PG_BASE_URL:
        pytest.skip("needs PostgreSQL (set PORTAL_TEST_DATABASE_URL)")
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        pytest.skip("Debian's pgbouncer is not installed")
    server = psycopg.conninfo.conninfo_to_dict(PG_BASE_URL)
    folder = Path(tempfile.mkdtemp(prefix="portal-pgbouncer-"))
    port = free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(f"""[databases]
* = host={server.get("host", "127.0.0.1")} port={server.get("port", 5432)}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
ignore_startup_parameters = options
default_pool_size = 4
logfile = {folder}/pgbouncer.log
""")
    shutil.chown(folder, "postgres", "postgres")
    for path in folder.iterdir():
        shutil.chown(path, "postgres", "postgres")
    # PgBouncer will not run as root.
    process = subprocess.Popen(["runuser", "-u", "postgres", "--", binary,
                                str(folder / "pgbouncer.ini")])
    try:
        deadline = time.monotonic() + 10
        while not listening(port):
            assert time.monotonic() < deadline and process.poll() is None, "no pgbouncer"
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def test_sign_in_pages_and_export_through_pgbouncer_in_transaction_mode(pgbouncer):
    with new_pg_database("portal_bouncer") as direct_url:
        name = direct_url.rpartition("/")[2]
        direct = portal_env(direct_url)
        # Migrations go to PostgreSQL itself: they lift the session's statement timeout.
        assert flask_cli(direct, "init-db").returncode == 0
        made = flask_cli(direct, "users", "create", "olga", "--admin", "--password-stdin",
                         stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        env = portal_env(f"postgresql://postgres@127.0.0.1:{pgbouncer}/{name}",
                         DB_SERVER_PREPARE="false")
        with Gunicorn(env, workers=2, threads=4) as server:
            http = requests.Session()
            page = http.get(f"{server.url}/login", timeout=10).text
            token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]
            for password in ("wrong", PASSWORD):
                response = http.post(f"{server.url}/login", allow_redirects=False, timeout=10,
                                     data={"csrf_token": token, "username": "olga",
                                           "password": password})
            assert response.status_code == 302
            for path in ("/account/sessions", "/admin/history", "/admin/users",
                         "/admin/history/chart", "/admin/users/olga"):
                assert http.get(f"{server.url}{path}", timeout=10).status_code == 200, path
            export = http.get(f"{server.url}/admin/history.csv", timeout=10)
            assert export.status_code == 200
            assert export.text.count(",olga,olga,") == 2  # the failure and the success
            assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
            log = server.read_log()
        assert "Traceback" not in log and "unavailable" not in log
