"""The admin's reports queue: "This wasn't me" reports, newest first, each resolvable."""

from flask import Blueprint
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from portal.security import reports
from portal.sessions.current_user import admin_required
from portal.views.forms import ResolveForm
from portal.web import client
from portal.web import notices

bp = Blueprint("reports", __name__, url_prefix="/admin")


@bp.get("/reports")
@admin_required
def report_list():
    """List the reports of one status (open by default), newest first, in keyset pages."""
    status, before = request.args.get("status") or "open", request.args.get("before") or ""
    return render_queue(status, before, ResolveForm(formdata=None))


@bp.post("/reports/<session_id>/resolve")
@admin_required
def resolve(session_id):
    """Resolve one open report with a note, on the owner's audit trail."""
    form = ResolveForm()
    if not form.validate():
        return render_queue("open", "", form, status_code=400, failed=session_id)
    owner = reports.resolve(session_id, form.note.data, g.user.username, client.current().ip)
    notices.notify("report_resolved" if owner else "report_gone", owner or "")
    return redirect(url_for("reports.report_list"))


def render_queue(status, before, form, status_code=200, failed=None):
    """Render the queue page; a status or page link it cannot read is a 400 that says so."""
    found, next_cursor, bad_field = [], None, None
    if status not in reports.STATUSES:
        status, bad_field = "open", "status"
    else:
        try:
            found, next_cursor = reports.queue(status, before)
        except reports.BadCursor:
            bad_field = "before"
    page = render_template("admin/reports.html", reports=found, status=status,
                           next_cursor=next_cursor, bad_field=bad_field, form=form,
                           failed=failed, statuses=reports.STATUSES)
    return make_response(page, 400 if bad_field else status_code)
