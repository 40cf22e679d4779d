"""The portal's own cookies: names and flags in one place."""

import copy
import functools
import time

from flask import current_app
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

SESSION_SERIALIZER = "portal.session_serializer"


def name(base):
    """Return a cookie's name: `__Host-` (bound to this host, HTTPS only) when Secure."""
    return f"__Host-{base}" if current_app.config["COOKIE_SECURE"] else base


def options(**extra):
    """Return the flags every portal cookie carries (HttpOnly, SameSite=Lax, Path=/)."""
    return {"httponly": True, "samesite": "Lax", "path": "/",
            "secure": current_app.config["COOKIE_SECURE"], **extra}


class CsrfSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, which holds only Flask-WTF's CSRF secret here.

    Flask builds its cookie serializer anew for every request, and the constructor
    serializes a test value to learn the output type, a sizeable part of a trivial
    request. The serializer depends only on the app's fixed secret and
    settings, so each app builds it once. A browser sends the same cookie with every
    request, so its signature is checked once per worker too (`opened`); its age is
    still checked on every request, as Flask does.
    """

    def get_signing_serializer(self, app):
        """Return the app's serializer, built on first use."""
        serializer = app.extensions.get(SESSION_SERIALIZER)
        if serializer is None:
            serializer = app.extensions[SESSION_SERIALIZER] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app, request):
        """Return the session in the request's cookie; an empty one if it is bad or too old."""
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data, signed_at = opened(self.get_signing_serializer(app), value)
        except BadSignature:
            return self.session_class()
        age = int(time.time()) - signed_at
        if not 0 <= age <= app.permanent_session_lifetime.total_seconds():
            return self.session_class()
        return self.session_class(copy.deepcopy(data))  # the request may change its copy


@functools.lru_cache(maxsize=4096)
def opened(serializer, value):
    """Return the data of a session cookie and when it was signed (raise if forged).

    Only cookies whose signature holds are remembered: a forged one raises every time.
    """
    data, signed_at = serializer.loads(value, return_timestamp=True)
    return data, int(signed_at.timestamp())
