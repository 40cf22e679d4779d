"""The admin's login history: filterable rows (htmx partials), the CSV export, the chart."""

from flask import Blueprint
from flask import Response
from flask import abort
from flask import make_response
from flask import request
from flask import stream_with_context
from flask import url_for

from portal import clock
from portal.history import attempts
from portal.history import chart
from portal.history import export
from portal.history import queries
from portal.history.queries import Filters
from portal.sessions.current_user import admin_required
from portal.web.htmx import push_url
from portal.web.htmx import render_page_or_partial

bp = Blueprint("history", __name__, url_prefix="/admin")


@bp.app_template_global()
def ip_filter_prefix(filters):
    """Return the history URL of these filters with `ip=` last, for the value to follow."""
    others = {name: value for name, value in filters.args().items() if name != "ip"}
    url = url_for("history.history", **others)
    return url + ("&" if "?" in url else "?") + "ip="


@bp.get("/history", endpoint="history")
@admin_required
def history_page():
    """Show login attempts, newest first, under the filters in the query string."""
    filters = Filters.from_args(request.args)
    rows, next_cursor, bad_field = [], None, None
    try:
        rows, next_cursor = queries.page(filters, request.args.get("before"))
    except queries.BadFilter as bad:
        bad_field = bad.field
    before = request.args.get("before")
    page = render_page_or_partial(
        "admin/history.html", "partials/admin/_history_rows.html", rows=rows, filters=filters,
        next_cursor=next_cursor, bad_field=bad_field, paging=bool(before), reasons=attempts.REASONS)
    response = make_response(page, 400 if bad_field else 200)
    # The address bar shows only the filters that are set (the form sends empty ones too).
    return push_url(response, url_for("history.history", before=before, **filters.args()))


@bp.get("/history.csv")
@admin_required
def history_csv():
    """Stream the filtered history as CSV."""
    filters = Filters.from_args(request.args)
    try:
        queries.conditions(filters)
    except queries.BadFilter:
        abort(400)
    name = f"login-history-{clock.now():%Y%m%d-%H%M%S}.csv"
    return Response(stream_with_context(export.csv_chunks(queries.all_rows(filters))),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/history/chart")
@admin_required
def history_chart():
    """Render the chart of the filter's range and its top sources (loaded after the rows)."""
    filters = Filters.from_args(request.args)
    try:
        overview = chart.overview(filters)
    except queries.BadFilter:
        abort(400)
    return render_page_or_partial("admin/history_chart.html", "partials/admin/_history_chart.html",
                                  filters=filters, chart=overview, scan_limit=chart.SCAN_LIMIT)
