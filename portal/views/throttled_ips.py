"""The admin's IP throttles page: the throttled addresses, each liftable, and the lifts."""

from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import url_for

from portal.security import audit
from portal.security import ip_throttles
from portal.sessions.current_user import admin_required
from portal.views.forms import LiftForm
from portal.web import client
from portal.web import notices

bp = Blueprint("ips", __name__, url_prefix="/admin")


@bp.get("/ips")
@admin_required
def ip_list():
    """List the throttled addresses, each liftable, and the latest lifts."""
    return render_template("admin/ips.html", throttled=ip_throttles.throttled(),
                           lifts=audit.address_events())


@bp.post("/ips/lift")
@admin_required
def lift_ip():
    """Lift one address's IP throttle, on the audit trail."""
    form = LiftForm()
    try:
        key = ip_throttles.lift(form.ip.data or "", g.user.username, client.current().ip)
    except ip_throttles.NotAnAddress:
        abort(400)
    notices.notify("ip_lifted" if key else "ip_not_throttled", key or "")
    return redirect(url_for("ips.ip_list"))
