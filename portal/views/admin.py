"""The admin's users screens: the list, one user's page, and what an admin does to an account."""

import functools

from flask import Blueprint
from flask import abort
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from portal.accounts import users
from portal.history import activity
from portal.security import admin_locks
from portal.security import audit
from portal.security import guards
from portal.security import lock_states
from portal.security import recovery
from portal.security import reports
from portal.security import user_listing
from portal.sessions import store
from portal.sessions.current_user import admin_required
from portal.views.forms import ConfirmForm
from portal.views.forms import LockForm
from portal.views.forms import RoleForm
from portal.web import client
from portal.web import notices
from portal.web import proxy_check
from portal.web.htmx import is_htmx
from portal.web.htmx import push_url
from portal.web.htmx import render_page_or_partial
from portal.web.notices import with_notices

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_app_request
def count_for_navigation():
    """Give an admin's full pages the accounts flagged for review and the open reports
    (the navigation shows both; each an index's count).

    Counted before the view rather than while rendering, so an error page (the database
    gone, say) never runs a query.
    """
    if is_admin_page():
        g.review_count = lock_states.flagged_count()
        g.report_count = reports.open_count()


@bp.before_app_request
def check_proxies():
    """Give an admin's full pages what the proxy check found (shared once a minute)."""
    if is_admin_page():
        g.proxy_findings = proxy_check.findings()


def is_admin_page():
    """Return True for a full page (not htmx, not a file) that an admin asked for."""
    user = g.get("user")
    page = request.method == "GET" and request.endpoint != "static" and not is_htmx()
    return page and user is not None and user.is_admin


def answers_refusals(view):
    """Answer a change that a guard refuses (guards.Refused) with the page that says why."""
    @functools.wraps(view)
    def wrapped(username, **kwargs):
        try:
            return view(username, **kwargs)
        except guards.Refused as refused:
            return refused_change(user_or_404(username), refused)
    return wrapped


@bp.get("/users")
@admin_required
def user_list():
    """List users: search, sort, state filters and keyset pages; htmx gets only the rows."""
    query, listed, bad_field = user_listing.Query(), None, None
    try:
        query = user_listing.Query.from_args(request.args)
        listed = user_listing.page(query)
    except user_listing.BadQuery as bad:
        bad_field = bad.field
    page = render_page_or_partial("admin/user_list.html", "partials/admin/_user_rows.html",
                                  query=query, listed=listed, bad_field=bad_field,
                                  form=LockForm(formdata=None))
    response = make_response(page, 400 if bad_field else 200)
    return push_url(response, url_for("admin.user_list", **query.args()))


@bp.get("/users/<username>")
@admin_required
def user_detail(username):
    """Show one user: lock state explained, lock controls, audit trail, attempts, sessions."""
    return render_user_page(user_or_404(username), LockForm(formdata=None))


@bp.post("/users/<username>/lock")
@admin_required
@answers_refusals
def lock_user(username):
    """Lock an account with a reason (and an optional expiry); its sessions end at once."""
    user, form = user_or_404(username), LockForm()
    if not form.validate():
        if is_htmx():
            return render_user_row(user, form)
        return render_user_page(user, form, 400)
    if stop := before_change(user, "lock", form):
        return stop
    duration = admin_locks.DURATIONS[form.duration.data or ""]
    admin_locks.lock(user, form.reason.data, duration, g.user.username, client.current().ip,
                     actor_id=g.user.id)
    notices.notify("locked", user.username)
    return after_lock_change(user)


@bp.post("/users/<username>/unlock")
@admin_required
def unlock_user(username):
    """Unlock an account and forget its failures; say so when nothing was locked."""
    user = user_or_404(username)
    done = admin_locks.unlock(user, g.user.username, client.current().ip)
    notices.notify("unlocked" if done else "nothing_to_unlock", user.username)
    return after_lock_change(user)


@bp.post("/users/<username>/temporary-password")
@admin_required
@answers_refusals
def temporary_password(username):
    """Set a random password to change at the next sign-in, and show it this once."""
    user, form = user_or_404(username), ConfirmForm()
    if stop := before_change(user, "temporary_password", form):
        return stop
    password = recovery.set_temporary_password(user, g.user.username, g.user.id,
                                               client.current().ip)
    return render_template("admin/temporary_password.html", user=user, password=password)


@bp.post("/users/<username>/role")
@admin_required
@answers_refusals
def set_role(username):
    """Make an account an admin or a plain user."""
    user, form = user_or_404(username), RoleForm()
    if not form.validate():
        abort(400)
    if stop := before_change(user, "role", form):
        return stop
    changed = recovery.set_role(user, form.role.data == "admin", g.user.username, g.user.id,
                                client.current().ip)
    notices.notify(f"role_{form.role.data}" if changed else "role_unchanged", user.username)
    return redirect(url_for("admin.user_detail", username=user.username))


@bp.post("/users/<username>/delete")
@admin_required
@answers_refusals
def delete_user(username):
    """Delete an account; its attempts and audit events stay."""
    user, form = user_or_404(username), ConfirmForm()
    if stop := before_change(user, "delete", form):
        return stop
    recovery.delete(user, g.user.username, g.user.id, client.current().ip)
    notices.notify("deleted", user.username)
    return redirect(url_for("admin.user_list"))


@bp.post("/users/<username>/sessions/<session_id>/revoke")
@admin_required
def revoke_session(username, session_id):
    """Sign out one session of a user at once, on the audit trail."""
    user = user_or_404(username)
    if not admin_locks.revoke_session(user, session_id, g.user.username, client.current().ip):
        abort(404)
    notices.notify("session_revoked", user.username)
    return redirect(url_for("admin.user_detail", username=user.username))


def user_or_404(username):
    """Return the user with this name or answer 404."""
    user = users.by_name(username)
    if user is None:
        abort(404)
    return user


def after_lock_change(user):
    """Answer a lock change: the user's row for htmx, the user's page otherwise."""
    if is_htmx():
        return render_user_row(user, LockForm(formdata=None))
    return redirect(url_for("admin.user_detail", username=user.username))


def render_user_row(user, form, problem=None):
    """Render one row of the users list (the htmx component) and the notices."""
    return with_notices(render_template("partials/admin/_user_row.html",
                                        u=lock_states.row_for(user.id), form=form,
                                        problem=problem))


# htmx swaps a 400 (base.html's noSwap leaves it out), so the row can say what went wrong.
def unconfirmed(user, action, form):
    """Refuse a destructive action sent without its confirmation: ask for it (400)."""
    if is_htmx():
        notices.notify("unconfirmed")  # worded where the account's pages word it too
        return render_user_row(user, form), 400
    return render_template("admin/confirm.html", user=user, action=action, form=form), 400


def before_change(user, action, form):
    """Return the answer that stops a destructive change before it starts, or None.

    One's own account is refused at once: asking to confirm what the guards will refuse
    anyway would mislead (they check again, under lock). Otherwise the change waits
    for its confirmation.
    """
    if user.id == g.user.id:
        raise guards.Refused(guards.SELF, user.username)
    if not form.confirmed:
        return unconfirmed(user, action, form)
    return None


def refused_change(user, refused):
    """Answer a change that a guard refused: the row (htmx) or the user page says why."""
    if refused.code == guards.GONE:
        abort(404)
    if is_htmx():
        return render_user_row(user, LockForm(formdata=None), refused.code), 400
    return render_user_page(user, LockForm(formdata=None), 403, refused.code)


def render_user_page(user, form, status=200, problem=None):
    """Render the user page with the given lock form (and its errors, or a guard's)."""
    state = lock_states.state_of(user)
    listed = activity.of(user.id, attempts_shown=50)
    return render_template(
        "admin/user_detail.html", user=user, state=state, form=form,
        causes=lock_states.causes_of(user, state), events=audit.for_user(user.id),
        attempts=listed.attempts, sessions=listed.live, live_count=listed.live_count,
        problem=problem,
        reported=store.list_reported(user.id),
        locked_devices=lock_states.locked_devices(user)), status
