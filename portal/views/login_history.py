"""The admin's login history: filterable rows (htmx partials), the CSV export, the chart."""

from flask import Blueprint
from flask import abort
from flask import make_response
from flask import render_template
from flask import request
from flask import url_for

from portal.history import alarms
from portal.history import attempts
from portal.history import chart
from portal.history import export
from portal.history import paging
from portal.history import queries
from portal.history.queries import Filters
from portal.sessions.current_user import admin_required
from portal.web.downloads import csv_download
from portal.web.htmx import is_htmx
from portal.web.htmx import is_typing
from portal.web.htmx import push_url
from portal.web.htmx import render_page_or_partial

bp = Blueprint("history", __name__, url_prefix="/admin")


@bp.app_template_global()
def ip_filter_prefix(filters):
    """Return the history URL of these filters with `ip=` last, for the value to follow."""
    others = {name: value for name, value in filters.args().items() if name != "ip"}
    url = url_for("history.history", **others)
    return url + ("&" if "?" in url else "?") + "ip="


@bp.app_template_filter()
def picker_time(text, field):
    """Return a since/until filter as a date picker's value (UTC), or the text if it is no time.

    A bare `until` date includes that day, so its picker shows the midnight that ends it.
    """
    try:
        moment = queries.parse_time(field, text, end_of_day=field == "until")
    except queries.BadFilter:
        return text
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


@bp.get("/history", endpoint="history")
@admin_required
def history_page():
    """Show login attempts, newest first, under the filters in the query string."""
    filters = Filters.from_args(request.args)
    cursors = {name: request.args.get(name) for name in ("before", "after")}
    found, bad_field = paging.Page([], None, None), None
    try:
        found = paging.page(filters, **cursors)
    except queries.BadFilter as bad:
        bad_field = bad.field
    if bad_field and is_typing():
        # Half typed: the table stays as it is, a hint says why, and the URL stays.
        return render_template("partials/admin/_history_hint.html", hint=bad_field,
                               filters=filters, oob=True), 400
    body = render_page_or_partial(
        "admin/history.html", "partials/admin/_history_rows.html", rows=found.rows,
        filters=filters, pager=found, bad_field=bad_field, reasons=attempts.REASONS, oob=is_htmx(),
        alarms=[] if is_htmx() else alarms.current(), weeks=alarms.WEEKS)
    response = make_response(body, 400 if bad_field else 200)
    return push_url(response, canonical_url(filters, cursors, found))


def canonical_url(filters, cursors, found):
    """Return the URL of the page shown: the filters that are set, and its cursor if not the newest.

    (The form sends empty filters too, and a Newer link that reaches the top shows the newest page.)
    """
    kept = {name: value for name, value in cursors.items() if value} if found.newer else {}
    return url_for("history.history", **kept, **filters.args())


@bp.get("/history.csv")
@admin_required
def history_csv():
    """Stream the filtered history as CSV."""
    filters = Filters.from_args(request.args)
    try:
        queries.check(filters)
    except queries.BadFilter:
        abort(400)
    return csv_download("login-history", export.csv_chunks(paging.all_rows(filters)))


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
