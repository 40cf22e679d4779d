"""The signed-in user's own pages: sessions, sign-in activity, password."""

from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from portal.history import activity
from portal.security import known_devices
from portal.security import password_change
from portal.sessions import store
from portal.sessions.current_user import login_required
from portal.views.forms import ConfirmForm
from portal.views.forms import PasswordForm
from portal.web import client
from portal.web import htmx
from portal.web import logs
from portal.web import notices
from portal.web.htmx import is_htmx
from portal.web.htmx import render_page_or_partial
from portal.web.notices import with_notices

bp = Blueprint("account", __name__, url_prefix="/account")


# What a user with a temporary password may still reach before choosing their own.
BEFORE_NEW_PASSWORD = {"account.password", "auth.logout", "static", "health.healthz"}


@bp.before_app_request
def require_new_password():
    """Send a user whose password an admin set to the password page until they change it."""
    user = g.get("user")
    if user is not None and user.must_change_password and \
            request.endpoint not in BEFORE_NEW_PASSWORD:
        return htmx.redirect(url_for("account.password"))
    return None


@bp.get("/sessions", endpoint="sessions")
@login_required
def sessions_page():
    """List the user's sessions and the latest sign-in activity on the account."""
    return render_page_or_partial("account/sessions.html", "partials/account/_sessions.html",
                                  **sessions_context())


def sessions_context():
    """Return what the sessions page and its partial show."""
    user_id = g.user.id
    listed = activity.of(user_id)
    return {"sessions": listed.live, "live_count": listed.live_count,
            "current_id": g.session.id, "ended": listed.ended,
            "attempts": listed.attempts,
            "failures_since": activity.failures_since_previous_success(
                user_id, g.session.id, g.session.created_at, listed.attempts)}


@bp.post("/sessions/<session_id>/revoke")
@login_required
def revoke(session_id):
    """Sign out one other session of the user at once."""
    if session_id == g.session.id or not store.end_own(g.user.id, session_id, "revoked"):
        abort(404)
    notices.notify("signed_out_one")
    return sessions_changed()


@bp.post("/sessions/revoke-others")
@login_required
def revoke_others():
    """Sign out every session of the user but this one, once confirmed."""
    if not ConfirmForm().confirmed:
        if is_htmx():
            notices.notify("unconfirmed")
            return sessions_changed(), 400
        return render_template("account/confirm_sign_out.html"), 400
    store.end_all_for_user(g.user.id, "revoked", keep=g.session.id)
    notices.notify("signed_out_others")
    return sessions_changed()


@bp.post("/sessions/<session_id>/report")
@login_required
def report(session_id):
    """Flag a sign-in as "this wasn't me" for the admins and end its session."""
    if session_id == g.session.id or not store.report(g.user.id, session_id):
        abort(404)
    notices.notify("reported")
    return sessions_changed()


def sessions_changed():
    """Answer a change: the updated sessions part for htmx, the page otherwise."""
    if is_htmx():
        return with_notices(render_template("partials/account/_sessions.html",
                                            **sessions_context()))
    return redirect(url_for("account.sessions"))


@bp.route("/password", methods=("GET", "POST"))
@login_required
def password():
    """Change the password (the current one is required); other sessions end."""
    form, wrong_current = PasswordForm(g.user.username), False
    if form.validate_on_submit():
        if password_change.confirm_password(g.user, form.current.data or "",
                                            client.current(), logs.request_id(),
                                            known_devices.current_id()):
            password_change.change_password(g.user, form.new.data, keep_session=g.session.id)
            return render_template("account/password_changed.html")
        wrong_current = True
    status = 400 if form.errors or wrong_current else 200
    return render_template("account/password.html", form=form,
                           wrong_current=wrong_current), status
