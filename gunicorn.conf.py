"""gunicorn settings for the portal; gunicorn reads this file when started in this folder.

    gunicorn "portal:create_app()"

Anything given on the command line (or in GUNICORN_CMD_ARGS) wins over these.
"""

import multiprocessing
import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
# Sign-ins are CPU-bound (argon2id): about two sync workers per core keep every core busy
# while some workers wait on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("PORTAL_THREADS", "1"))
timeout = 30
graceful_timeout = 20
keepalive = 5

# Each worker has its own connection pool: one connection per thread is all it can use.
# workers x threads must stay below PostgreSQL's max_connections (100 by default) across
# every host that shares the database.
os.environ.setdefault("PORTAL_DB_POOL_SIZE", str(threads))
