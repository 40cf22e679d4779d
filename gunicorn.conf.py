"""gunicorn settings for the portal; gunicorn reads this file when started in this folder.

    gunicorn "portal:create_app()"

Anything given on the command line (or in GUNICORN_CMD_ARGS) wins over these.
"""

import multiprocessing
import os
import sys


def count(variable, default):
    """Return a whole number of at least 1 from the environment, or stop in one line."""
    raw = os.environ.get(variable, str(default)).strip()
    if not raw.isdigit() or int(raw) < 1:
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
