"""Request ids and the JSON-lines log of attempts (one line each, ready for a SIEM)."""

import logging
import re
import secrets
import sys
import time

from flask import current_app
from flask import g
from flask import request

# A request id from a trusted proxy is kept when it looks like one; anything else is replaced.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,32}$")


def init_app(app):
    """Give each request an id and send portal.* log lines to stderr, one per line."""
    app.before_request(assign_request_id)
    app.after_request(echo_request_id)
    portal_log = logging.getLogger("portal")
    if not portal_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        portal_log.addHandler(handler)
        portal_log.setLevel(logging.INFO)
        portal_log.propagate = False


def assign_request_id():
    """Take the proxy's X-Request-ID when proxies are trusted, else make one; start the clock."""
    g.started = time.perf_counter()
    offered = request.headers.get("X-Request-ID", "")
    trusted = current_app.config["TRUSTED_PROXIES"] > 0 and REQUEST_ID.match(offered)
    g.request_id = offered if trusted else secrets.token_hex(16)


def request_id():
    """Return this request's id."""
    return g.get("request_id") or secrets.token_hex(16)


def echo_request_id(response):
    """Let the client quote the id when it reports a problem; say how long the server took."""
    response.headers["X-Request-ID"] = request_id()
    # How long the server took tells a stranger which names exist and how hard a
    # password was checked: admins only.
    user = g.get("user")
    if "started" in g and user is not None and user.is_admin:
        elapsed = (time.perf_counter() - g.started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.2f}"
    return response
