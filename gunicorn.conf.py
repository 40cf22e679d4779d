"""gunicorn settings for the portal; gunicorn reads this file when started in this folder.

    gunicorn "portal:create_app()"

Anything given on the command line (or in GUNICORN_CMD_ARGS) wins over these.
"""

import ctypes
import multiprocessing
import os
import signal
import sys


def count(variable, default):
    """Return a whole number of at least 1 from the environment, or stop in one line."""
    raw = os.environ.get(variable, str(default)).strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        sys.exit(f"Error: {variable} must be a whole number of at least 1, got {raw!r}.")
    return int(raw)


bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
# Sign-ins are CPU-bound (argon2id, 19 MiB per hash): one sync worker per core. More
# hashing processes than cores only take turns on the cores, and each switch evicts the
# other's 19 MiB from the caches (bench/RESULTS.md has the comparison). With the database
# on another host, add threads (PORTAL_THREADS) so a worker serves another request while
# it waits; see the README on long CSV exports, and on keep-alive connections, which
# stay with the threaded worker that accepted them.
workers = count("WEB_CONCURRENCY", multiprocessing.cpu_count())
threads = count("PORTAL_THREADS", 1)
# A sync worker is restarted when one request runs longer than this, a CSV export
# included: 120 s streams a few million rows (bench/RESULTS.md); raise it
# (GUNICORN_CMD_ARGS="--timeout 600") to export more in one file.
timeout = 120
graceful_timeout = 20
keepalive = 5

# Each worker has its own connection pool: one connection per thread is all it can use.
# workers x threads must stay below PostgreSQL's max_connections (100 by default) across
# every host that shares the database.
os.environ.setdefault("PORTAL_DB_POOL_SIZE", str(threads))


def on_starting(server):
    """Warn once, in the master, of PORTAL_* names that are no setting (each worker would)."""
    from portal import config

    for line in config.unknown_names():
        server.log.warning(line)
    os.environ[config.NAMES_CHECKED] = "1"


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def post_worker_init(worker):
    """On Linux, have the kernel SIGKILL this worker the moment its master dies."""
    # A sync worker looks for its master only when no connection is waiting, so under
    # load a worker whose master was SIGKILLed goes on serving, unsupervised, and keeps
    # the port: a new gunicorn cannot bind it until the worker leaves. SIGKILL, not
    # SIGTERM: with no master, nothing would follow up on a worker that a slow request
    # keeps from finishing. Linux only; under systemd, KillMode=mixed in
    # deploy/portal.service does the same from outside. (The kernel watches the thread
    # that forked the worker: gunicorn's master forks from its main thread.)
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        worker.log.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    elif os.getppid() != worker.ppid:  # the master died before the prctl: no signal comes
        os._exit(1)
