"""Deployment as the README describes it: gunicorn workers that die with their master.
Runs once, on SQLite: what is tested is the processes, not the database."""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.server import GUNICORN
from tests.server import ROOT
from tests.server import Gunicorn
from tests.server import flask_cli
from tests.server import portal_env

pytestmark = pytest.mark.slow
PASSWORD = "a long password"


def sqlite_portal(folder, **settings):
    """Return the environment of a portal on a new SQLite database, with one admin."""
    env = portal_env(f"sqlite:///{folder / 'portal.db'}", **settings)
    assert flask_cli(env, "init-db").returncode == 0
    created = flask_cli(env, "users", "create", "olga", "--admin", "--password-stdin",
                        stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    return env


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
