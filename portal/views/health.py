"""Liveness for load balancers: does the database answer and take writes?"""

from flask import Blueprint
from flask import current_app

from portal import availability

bp = Blueprint("health", __name__)
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/healthz")
def healthz():
    """Answer 200 `ok` when the database takes a write within about 2 s, else 503."""
    cause = availability.check()
    if cause is not None:
        current_app.logger.warning("health check failed: database %s", cause)
        return "unavailable\n", 503, TEXT
    return "ok\n", 200, TEXT
