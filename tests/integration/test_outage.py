"""When PostgreSQL hangs, is read-only or full: 503s within a bound, the cause in the log,
and recovery without a restart. Through gunicorn and real HTTP, on a private cluster."""

import re
import subprocess
import time

import psycopg
import pytest
import requests

from tests.pgcluster import PrivateCluster
from tests.pgcluster import unavailable_reason
from tests.server import Gunicorn
from tests.server import flask_cli
from tests.server import portal_env

pytestmark = pytest.mark.slow

# The bounds the README promises with the default settings (statement timeout 5 s).
HEALTH_BOUND = 2.5
REQUEST_BOUND = 6.5
PASSWORD = "a long password"


@pytest.fixture(scope="module")
def cluster():
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with PrivateCluster() as cluster:
        yield cluster


def new_database(cluster, name):
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return cluster.url(name)


def ready_portal(url):
    """Return the environment of a portal on `url`, with its schema and a user made."""
    env = portal_env(url)
    assert flask_cli(env, "init-db").returncode == 0
    made = flask_cli(env, "users", "create", "olga", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    return env


def sign_in(base_url, password=PASSWORD):
    http = requests.Session()
    page = http.get(f"{base_url}/login", timeout=30).text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]
    response = http.post(f"{base_url}/login", timeout=30, allow_redirects=False, data={
        "csrf_token": token, "username": "olga", "password": password})
    return http, response


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_frozen_database_gives_503s_within_the_bound_and_recovery_needs_no_restart(cluster):
    env = ready_portal(new_database(cluster, "frozen"))
    with Gunicorn(env, workers=2, threads=2) as server:
        http, response = sign_in(server.url)
        assert response.status_code == 302
        cluster.freeze()
        try:
            health, waited = timed(lambda: requests.get(f"{server.url}/healthz", timeout=30))
            assert health.status_code == 503 and waited < HEALTH_BOUND
            # One after another: a request queued behind others in a worker waits for them.
            for _ in range(4):
                page, waited = timed(lambda: http.get(f"{server.url}/account/sessions",
                                                      timeout=30))
                assert page.status_code == 503 and waited < REQUEST_BOUND
                assert "Temporarily unavailable" in page.text
            response, waited = timed(lambda: sign_in(server.url)[1])
            assert response.status_code == 503 and waited < REQUEST_BOUND * 2
        finally:
            cluster.thaw()
        deadline = time.monotonic() + 15
        while requests.get(f"{server.url}/healthz", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "the portal did not recover"
            time.sleep(0.2)
        assert http.get(f"{server.url}/account/sessions", timeout=30).status_code == 200
        assert sign_in(server.url)[1].status_code == 302
        log = server.read_log()
    assert "database unavailable (not answering)" in log
    assert "health check failed: database not answering" in log
    assert "Traceback" not in log


def test_a_read_only_database_gives_503_and_a_failing_health_check(cluster):
    url = new_database(cluster, "readonly")
    env = ready_portal(url)
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute('ALTER DATABASE "readonly" SET default_transaction_read_only = on')
    with Gunicorn(env, workers=1, ready="/login") as server:
        assert requests.get(f"{server.url}/healthz", timeout=30).status_code == 503
        assert sign_in(server.url)[1].status_code == 503
        log = server.read_log()
    assert "health check failed: database read-only" in log
    assert "database unavailable (read-only)" in log
    assert "Traceback" not in log


def mount_small_disk(folder, size="16m"):
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {mounted.stderr.strip()}")


def fill(folder):
    """Write a file that takes every free byte of the disk under folder."""
    # Unbuffered: a buffered file's close would write its last chunk again and raise.
    with open(folder / "filler", "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass


def test_a_full_disk_under_sqlite_gives_503_and_a_failing_health_check(tmp_path):
    disk = tmp_path / "disk"
    mount_small_disk(disk)
    try:
        env = ready_portal(f"sqlite:///{disk}/portal.db")
        with Gunicorn(env, workers=1) as server:
            fill(disk)
            assert requests.get(f"{server.url}/healthz", timeout=30).status_code == 503
            assert sign_in(server.url)[1].status_code == 503
            (disk / "filler").unlink()
            assert requests.get(f"{server.url}/healthz", timeout=30).status_code == 200
            assert sign_in(server.url)[1].status_code == 302
            log = server.read_log()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    assert "health check failed: database disk full" in log
    assert "database unavailable (disk full)" in log
    assert "Traceback" not in log


def test_a_full_tablespace_under_postgresql_gives_503_with_its_cause(cluster):
    disk = cluster.folder / "tablespace"  # where the postgres user can reach it
    mount_small_disk(disk)
    try:
        subprocess.run(["chown", "postgres:postgres", str(disk)], check=True)
        with psycopg.connect(cluster.url(), autocommit=True) as admin:
            admin.execute(f"CREATE TABLESPACE small LOCATION '{disk}'")
            admin.execute('CREATE DATABASE "full" TABLESPACE small')
        env = ready_portal(cluster.url("full"))
        with Gunicorn(env, workers=1) as server:
            fill(disk)
            # Rows go into the pages the tables have until one must grow: then it fails.
            statuses = set()
            for _ in range(400):
                status = sign_in(server.url, password="wrong")[1].status_code
                statuses.add(status)
                if status == 503:
                    break
            assert 503 in statuses
            (disk / "filler").unlink()
            assert sign_in(server.url)[1].status_code == 302
            assert requests.get(f"{server.url}/healthz", timeout=30).status_code == 200
            log = server.read_log()
    finally:
        with psycopg.connect(cluster.url(), autocommit=True) as admin:
            admin.execute('DROP DATABASE IF EXISTS "full" WITH (FORCE)')
            admin.execute("DROP TABLESPACE IF EXISTS small")
        subprocess.run(["umount", "-l", str(disk)], check=False)
    assert "database unavailable (disk full)" in log
    assert "Traceback" not in log
