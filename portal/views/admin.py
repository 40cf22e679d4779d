"""The admin review screens: login history, users and their locks."""

from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from portal import attempts
from portal import audit
from portal import client
from portal import locks
from portal import sessions
from portal.auth import admin_required
from portal.forms import ConfirmForm
from portal.forms import LockForm
from portal.htmx import is_htmx
from portal.htmx import render_page_or_partial
from portal.models import User

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


@bp.get("/users")
@admin_required
def user_list():
    """List users with their lock state; htmx searches get only the rows."""
    search = request.args.get("q", "").strip()
    return render_page_or_partial("admin/user_list.html", "partials/admin/_user_rows.html",
                                  users=locks.overview(search), search=search,
                                  form=LockForm(formdata=None), confirm=ConfirmForm())


@bp.get("/users/<username>")
@admin_required
def user_detail(username):
    """Show one user: lock state explained, lock controls, audit trail, attempts, sessions."""
    return render_user_page(user_or_404(username), LockForm(formdata=None))


@bp.post("/users/<username>/lock")
@admin_required
def lock_user(username):
    """Lock an account with a reason (and an optional expiry); its sessions end at once."""
    user, form = user_or_404(username), LockForm()
    if not form.validate():
        if is_htmx():
            return render_user_row(user, form)
        return render_user_page(user, form, 400)
    duration = locks.DURATIONS[form.duration.data or ""]
    locks.lock(user, form.reason.data, duration, g.user.username, client.current().ip)
    return after_lock_change(user)


@bp.post("/users/<username>/unlock")
@admin_required
def unlock_user(username):
    """Unlock an account and forget its failures."""
    user = user_or_404(username)
    locks.unlock(user, g.user.username, client.current().ip)
    return after_lock_change(user)


def user_or_404(username):
    """Return the user with this name or answer 404."""
    user = User.get_or_none(User.username == username)
    if user is None:
        abort(404)
    return user


def after_lock_change(user):
    """Answer a lock change: the user's row for htmx, the user's page otherwise."""
    if is_htmx():
        return render_user_row(user, LockForm(formdata=None))
    return redirect(url_for("admin.user_detail", username=user.username))


def render_user_row(user, form):
    """Render one row of the users list (the htmx component)."""
    return render_template("partials/admin/_user_row.html", u=locks.row_for(user.id),
                           form=form, confirm=ConfirmForm())


def render_user_page(user, form, status=200):
    """Render the user page with the given lock form (and its errors)."""
    state = locks.state_of(user)
    caused_by = attempts.failures_before(user.id, state.since, 20) if state.since else []
    return render_template(
        "admin/user_detail.html", user=user, state=state, form=form, confirm=ConfirmForm(),
        caused_by=caused_by, events=audit.for_user(user.id),
        attempts=attempts.for_user(user.id, 50), sessions=sessions.list_active(user.id),
        reported=sessions.list_reported(user.id),
        locked_devices=locks.locked_devices(user.id)), status
