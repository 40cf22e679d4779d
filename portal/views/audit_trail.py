"""The admin's global audit log: every admin and policy action, filtered, paged, as CSV."""

from flask import Blueprint
from flask import abort
from flask import make_response
from flask import request
from flask import url_for

from portal.security import audit
from portal.security import audit_log
from portal.security.audit_log import BadFilter
from portal.security.audit_log import Filters
from portal.sessions.current_user import admin_required
from portal.web.downloads import csv_download
from portal.web.htmx import push_url
from portal.web.htmx import render_page_or_partial

bp = Blueprint("audit", __name__, url_prefix="/admin")


@bp.get("/audit", endpoint="audit_log")
@admin_required
def audit_page():
    """Show audit events, newest first, under the filters in the query string."""
    filters, before = Filters.from_args(request.args), request.args.get("before") or ""
    entries, next_cursor, bad_field = [], None, None
    try:
        entries, next_cursor = audit_log.page(filters, before)
    except BadFilter as bad:
        bad_field = bad.field
    page = render_page_or_partial(
        "admin/audit.html", "partials/admin/_audit_rows.html", entries=entries,
        filters=filters, next_cursor=next_cursor, bad_field=bad_field, paging=bool(before),
        actions=audit.ACTIONS)
    response = make_response(page, 400 if bad_field else 200)
    return push_url(response, url_for("audit.audit_log", before=before or None, **filters.args()))


@bp.get("/audit.csv")
@admin_required
def audit_csv():
    """Stream the filtered audit events as CSV."""
    filters = Filters.from_args(request.args)
    try:
        audit_log.conditions(filters)
    except BadFilter:
        abort(400)
    return csv_download("audit-log", audit_log.csv_chunks(filters))
