"""Sign in and sign out."""

from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for

from portal.sessions import current_user
from portal.sessions import store
from portal.views.forms import LoginForm
from portal.web import security_events

bp = Blueprint("auth", __name__)


@bp.get("/")
def index():
    """Send visitors to their sessions page (or, signed out, to the login form)."""
    return redirect(url_for("account.sessions"))


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the login form; on success start a session and go to `next`."""
    next_path = request.args.get("next")
    if g.user is not None and request.method == "GET":
        return redirect(current_user.safe_next(next_path))
    if request.method == "POST" and not is_form_body():
        # Not an attempt, like a CSRF failure: no counter moves, nothing is recorded.
        security_events.record(security_events.MALFORMED_FORM, request.mimetype or "none")
        abort(400)
    form = LoginForm()
    if form.validate_on_submit():
        replace_session(form.outcome.session)
        return redirect(current_user.safe_next(next_path))
    safe = next_path if current_user.is_local_path(next_path) else None
    page = render_template("auth/login.html", form=form, next_path=safe)
    retry_after = form.outcome and form.outcome.retry_after
    if retry_after:
        return page, 429, {"Retry-After": str(retry_after)}
    return page


def is_form_body():
    """Return True when the POST is a form whose fields are all text (what the page sends).

    A JSON body or a file where a field should be cannot come from the login page.
    """
    return request.mimetype in FORM_TYPES and not request.files


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def replace_session(new_session):
    """Make the new session this browser's, ending any old one, with a fresh CSRF secret."""
    if g.session is not None:
        store.end(g.session.id, "replaced")
    session.clear()
    current_user.sign_in(new_session)


@bp.post("/logout")
def logout():
    """End the current session at once and drop the cookie."""
    if g.session is not None:
        store.end(g.session.id, "logout")
    current_user.sign_out()
    session.clear()
    return redirect(url_for("auth.login"))
