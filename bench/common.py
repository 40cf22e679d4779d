"""What every benchmark needs: the portal under gunicorn on a fresh database, signed-in HTTP."""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server import Gunicorn  # noqa: E402  (the same launcher the tests use)
from tests.server import flask_cli  # noqa: E402

ADMIN, ADMIN_PASSWORD = "benchadmin", "bench admin password"


def portal_env(database_url, **settings):
    """Return a production-like environment (real argon2 cost) for the portal processes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({"PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "b" * 48,
                "PORTAL_COOKIE_SECURE": "false"})
    env.update({f"PORTAL_{k}": str(v) for k, v in settings.items()})
    return env


@contextmanager
def fresh_database(base_url, workdir):
    """Yield a new empty database URL: a SQLite file, or a PostgreSQL database dropped after."""
    if not base_url:
        workdir.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(base_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base_url.rpartition('/')[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def cli(env, *args, stdin=None):
    """Run a flask CLI command; stop the benchmark with its output if it fails."""
    result = flask_cli(env, *args, stdin=stdin, timeout=3600)
    if result.returncode:
        sys.exit(f"flask {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def seeded(env, attempts):
    """Create the schema, seed-demo `attempts` attempts and the admin; return the seconds."""
    cli(env, "init-db")
    seconds, _ = timed(lambda: cli(env, "seed-demo", "--users", "1000", "--attempts",
                                   str(attempts)))
    create_admin(env)
    return seconds


def create_admin(env):
    """Create the benchmark's admin account."""
    cli(env, "users", "create", ADMIN, "--admin", "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n")


def signed_in(base_url, username=ADMIN, password=ADMIN_PASSWORD):
    """Return a requests.Session signed in to the portal."""
    http = requests.Session()
    page = http.get(f"{base_url}/login", timeout=30).text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]
    response = http.post(f"{base_url}/login", timeout=30, allow_redirects=False,
                         data={"csrf_token": token, "username": username, "password": password})
    if response.status_code != 302:
        sys.exit(f"could not sign in as {username}: {response.status_code}")
    # Signing in starts a fresh CSRF secret; the first page sets its cookie, and a
    # browser sends it from then on (without it, every request would make a new one).
    http.get(f"{base_url}{response.headers['Location']}", timeout=30).raise_for_status()
    return http


def percentile(samples, p):
    """Return the p-th percentile (0-100) of the samples, by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def timed(call):
    """Return (seconds, result) of one call."""
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def mean(values):
    """Return the mean of the values."""
    return statistics.fmean(values)


def machine():
    """Describe the machine the figures come from."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "unknown CPU")
    return f"{os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}"


__all__ = ["Gunicorn", "ROOT"]


def server_ms(response):
    """Return the server's own time for a response (its Server-Timing header), in ms."""
    match = re.search(r"dur=([\d.]+)", response.headers.get("Server-Timing", ""))
    return float(match[1]) if match else float("nan")


def wrk_p99(url, cookies, headers, connections=16, seconds=5):
    """Return the p99 latency in ms under `connections` clients, measured by wrk."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    for name, value in {**headers, "Cookie": cookie}.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    output = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60).stdout
    match = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if not match or "Non-2xx" in output:
        sys.exit(f"wrk failed:\n{output}")
    scale = {"us": 0.001, "ms": 1, "s": 1000}[match[2]]
    requests_per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    return float(match[1]) * scale, requests_per_second


def have_wrk():
    """Return True when wrk (Debian package `wrk`) is installed."""
    return shutil.which("wrk") is not None
