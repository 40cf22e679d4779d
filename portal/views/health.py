"""Liveness for load balancers: is the database answering?"""

from flask import Blueprint

from portal import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 `ok` when the database runs a query, 503 otherwise."""
    if not db.ping():
        return "unavailable\n", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
