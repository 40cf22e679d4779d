"""The admin review screens."""

from flask import Blueprint
from flask import abort
from flask import request

from portal import attempts
from portal.auth import admin_required
from portal.htmx import render_page_or_partial

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/history")
@admin_required
def history():
    """Show login attempts, newest first, filtered by user and outcome."""
    filters = {"user": request.args.get("user", "").strip(),
               "outcome": request.args.get("outcome", "")}
    if filters["outcome"] not in ("", *attempts.OUTCOMES):
        abort(400)
    try:
        rows, next_cursor = attempts.history(before=request.args.get("before"), **filters)
    except attempts.BadCursor:
        abort(400)
    return render_page_or_partial("admin/history.html", "partials/admin/_history_rows.html",
                                  rows=rows, filters=filters, next_cursor=next_cursor)
