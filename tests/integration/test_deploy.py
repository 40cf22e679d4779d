"""Deployment as the README describes it: deploy/nginx.conf in front of gunicorn's sync
workers (slow clients, forwarded headers, body limit), and workers that die with their
master. Runs once, on SQLite: what is tested is the processes, not the database."""

import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.nginx import NGINX
from tests.nginx import Nginx
from tests.nginx import SlowClients
from tests.server import GUNICORN
from tests.server import ROOT
from tests.server import Gunicorn
from tests.server import flask_cli
from tests.server import portal_env

pytestmark = pytest.mark.slow
SLOW_CLIENTS = 200
PASSWORD = "a long password"


def sqlite_portal(folder, **settings):
    """Return the environment of a portal on a new SQLite database, with one admin."""
    env = portal_env(f"sqlite:///{folder / 'portal.db'}", **settings)
    assert flask_cli(env, "init-db").returncode == 0
    created = flask_cli(env, "users", "create", "olga", "--admin", "--password-stdin",
                        stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    return env


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory):
    """Yield (nginx, database path): 2 sync workers behind the shipped config."""
    if not NGINX.exists():
        message = "nginx not found: apt-get install -y nginx"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("nginx")
    env = sqlite_portal(folder, TRUSTED_PROXIES=1, COOKIE_SECURE="true")
    with Gunicorn(env, workers=2) as server:
        with Nginx(server.url.removeprefix("http://"), folder) as nginx:
            yield nginx, folder / "portal.db"


def timed_get(get, path):
    """Return the seconds a GET took; fail unless it answered 200."""
    started = time.perf_counter()
    assert get(path).status_code == 200
    return time.perf_counter() - started


def test_behind_nginx_slow_clients_hold_no_worker(behind_nginx):
    nginx, _ = behind_nginx
    with SlowClients(nginx.port, SLOW_CLIENTS, tls=True) as slow:
        time.sleep(1)  # every slow client is well into its header
        took = [timed_get(nginx.get, path) for _ in range(5) for path in ("/login", "/healthz")]
        assert max(took) < 1, took
        assert slow.still_open() == SLOW_CLIENTS  # nginx held them all meanwhile


def test_straight_at_gunicorn_the_same_slow_clients_starve_it(tmp_path):
    env = sqlite_portal(tmp_path)
    with Gunicorn(env, workers=2) as server:
        port = int(server.url.rpartition(":")[2])
        with SlowClients(port, SLOW_CLIENTS):
            time.sleep(1)
            with pytest.raises(requests.Timeout):
                requests.get(f"{server.url}/healthz", timeout=1)
        # Once they hang up, the workers are free again.
        assert timed_get(lambda path: requests.get(server.url + path, timeout=5), "/healthz") < 1


def test_through_nginx_the_portal_sees_the_client_https_and_nginx_s_request_id(behind_nginx):
    nginx, database = behind_nginx
    http = requests.Session()
    # Per request: REQUESTS_CA_BUNDLE, where set, would override a Session's verify.
    page = http.get(f"{nginx.url}/login", verify=nginx.cert, timeout=10).text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]
    # A client's own X-Forwarded-For and X-Request-ID are not believed.
    answer = http.post(f"{nginx.url}/login", verify=nginx.cert, timeout=10, allow_redirects=False,
                       data={"csrf_token": token, "username": "olga", "password": PASSWORD},
                       headers={"Referer": f"{nginx.url}/login", "X-Request-ID": "forged-by-me",
                                "X-Forwarded-For": "198.51.100.7"})
    assert answer.status_code == 302, answer.text
    # Secure __Host- cookies: the portal knows the request came over HTTPS.
    assert any(c.name.startswith("__Host-") and c.secure for c in http.cookies)
    request_id = answer.headers["X-Request-ID"]
    assert re.fullmatch("[0-9a-f]{32}", request_id)  # nginx's $request_id
    with sqlite3.connect(database) as rows:
        ip, recorded = rows.execute("SELECT ip, request_id FROM login_attempts "
                                    "ORDER BY id DESC LIMIT 1").fetchone()
    assert (ip, recorded) == ("127.0.0.1", request_id)
    # nginx logs a request once it has sent the answer: a moment after the client has it.
    deadline = time.monotonic() + 5
    while request_id not in nginx.access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert request_id in nginx.access_log.read_text()


def test_nginx_refuses_a_body_over_the_portal_s_limit(behind_nginx):
    nginx, _ = behind_nginx
    over = requests.post(f"{nginx.url}/login", data=b"x" * (64 * 1024 + 1), verify=nginx.cert,
                         headers={"Content-Type": "application/x-www-form-urlencoded"},
                         timeout=10)
    assert over.status_code == 413 and "nginx" in over.text
    at_limit = requests.post(f"{nginx.url}/login", data=b"x" * (64 * 1024), verify=nginx.cert,
                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                             timeout=10)
    assert at_limit.status_code != 413


def alive(pid):
    """Return True while a process exists and is not a zombie."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def answers_on(port, env, log):
    """Start gunicorn binding 127.0.0.1:PORT itself, as a restart would; True once it answers."""
    command = [*GUNICORN, "--bind", f"127.0.0.1:{port}", "--workers", "1", "portal:create_app()"]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        # gunicorn retries a port in use for 5 s, then exits.
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
            except requests.ConnectionError:
                time.sleep(0.1)
        return False
    finally:
        process.terminate()
        process.wait(10)


def test_workers_die_with_their_master_under_load_and_the_port_is_free(tmp_path):
    env = sqlite_portal(tmp_path)
    stop, answered = threading.Event(), []

    def load(url):
        while not stop.is_set():
            try:
                answered.append(requests.get(f"{url}/login", timeout=2).status_code)
            except requests.RequestException:
                pass

    with Gunicorn(env, workers=2) as server:
        threads = [threading.Thread(target=load, args=(server.url,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            while len(answered) < 20:  # the workers are busy: none of them is idle
                time.sleep(0.05)
            workers = server.worker_pids()
            os.kill(server.process.pid, signal.SIGKILL)
            deadline = time.monotonic() + 3
            while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not [pid for pid in workers if alive(pid)]
        finally:
            stop.set()
            for thread in threads:
                thread.join(5)
    # The test's own copy of the listening socket is closed now: only a worker could hold it.
    with open(tmp_path / "gunicorn.log", "w+") as log:
        assert answers_on(int(server.url.rpartition(":")[2]), env, log), log.seek(0) or log.read()
