"""Sign in and sign out."""

from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for

from portal.sessions import current_user
from portal.sessions import store
from portal.views.forms import LoginForm

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
