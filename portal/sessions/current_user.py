"""The current user behind the session cookie, access decorators and safe redirects."""

import functools
import time
from urllib.parse import urlsplit

from flask import abort
from flask import current_app
from flask import g
from flask import request
from flask import url_for

from portal.sessions import cookies
from portal.sessions import store
from portal.sessions import tokens
from portal.web import htmx
from portal.web import notices
from portal.web import security_events

COOKIE_NAME = "portal_session"


def init_app(app):
    """Read the session cookie before each request and refresh it after."""
    app.before_request(load_current_user)
    app.after_request(refresh_cookie)


def cookie_name():
    """Return the session cookie's name."""
    return cookies.name(COOKIE_NAME)


def load_current_user():
    """Set g.user and g.session from a valid token whose session is still live."""
    g.user = g.session = None
    if request.endpoint == "static":
        return
    token = request.cookies.get(cookie_name())
    try:
        claims = tokens.read(token)
    except tokens.Rejected as rejected:
        security_events.record(security_events.TOKEN_REJECTED, rejected.reason)
        claims = None
    session = claims and store.find_active(claims["jti"], _user_id(claims["sub"]))
    if not session:
        g.clear_cookie = bool(token)
        if token:
            say_why_it_ended(claims or tokens.expired(token))
        return
    g.user, g.session = session.user, session
    store.touch(session)
    # Re-issue (same jti) once half the token's life is gone, so an active user stays in;
    # a token accepted only thanks to the leeway has expired and is never renewed.
    remaining = claims["exp"] - time.time()
    g.renew_token = 0 < remaining < current_app.config["TOKEN_TTL"] / 2


def say_why_it_ended(claims):
    """Tell the browser whose session ran out of time why it is signed out (a notice).

    Only a browser that holds a genuine token of that session learns it, once (its cookie
    is dropped), and the notice is a fixed key: nothing a stranger could read or word.
    A token that has run out while its session is live means no request came while it
    could have been renewed: the browser was idle.
    """
    if not claims:
        return
    reason = store.end_reason(claims["jti"], _user_id(claims["sub"]))
    if reason in ("", "idle"):
        notices.notify("ended_idle")
    elif reason == "expired":
        notices.notify("ended_expired")


def _user_id(subject):
    """Return the user id in a token's `sub`, or None when it is not a number."""
    return int(subject) if subject.isdigit() else None


def sign_in(session):
    """Make the response of this request carry a fresh token for the new session."""
    g.user, g.session = session.user, session
    g.renew_token = True


def sign_out():
    """Make the response of this request drop the session cookie."""
    g.user = g.session = None
    g.renew_token, g.clear_cookie = False, True


def refresh_cookie(response):
    """Set, renew or clear the session cookie as this request decided."""
    if g.get("renew_token") and g.get("session"):
        response.set_cookie(cookie_name(), tokens.issue(g.user.id, g.session.id),
                            **cookies.options())
    elif g.get("clear_cookie"):
        response.delete_cookie(cookie_name(), **cookies.options())
    return response


def login_required(view):
    """Send anyone not signed in to the login page, coming back here afterwards."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            here = request.full_path.rstrip("?") if request.method == "GET" else None
            return htmx.redirect(url_for("auth.login", next=here))
        return view(**kwargs)
    return wrapped


def admin_required(view):
    """Allow admins only: others signed in get 403."""
    @functools.wraps(view)
    @login_required
    def wrapped(**kwargs):
        if not g.user.is_admin:
            security_events.record(security_events.FORBIDDEN, "admin_only")
            abort(403)
        return view(**kwargs)
    return wrapped


def safe_next(target):
    """Return target when it is a path on this site, else the sessions page."""
    if is_local_path(target):
        return target
    return url_for("account.sessions")


def is_local_path(target):
    """Return True for "/path?query" and nothing that a browser could read as another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
