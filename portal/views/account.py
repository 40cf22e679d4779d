"""The signed-in user's own pages."""

from flask import Blueprint
from flask import g
from flask import render_template

from portal import attempts
from portal import sessions
from portal.auth import login_required

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/sessions", endpoint="sessions")
@login_required
def sessions_page():
    """List the user's active sessions and the latest attempts against the account."""
    return render_template("account/sessions.html",
                           sessions=sessions.list_active(g.user.id),
                           current_id=g.session.id,
                           attempts=attempts.for_user(g.user.id))
