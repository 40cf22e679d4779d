"""The portal's own cookies: names and flags in one place."""

from flask import current_app
from flask.sessions import SecureCookieSessionInterface

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
    serializes a test value to learn the output type: a tenth of the cost of a
    trivial request. The serializer depends only on the app's fixed secret and
    settings, so each app builds it once.
    """

    def get_signing_serializer(self, app):
        """Return the app's serializer, built on first use."""
        serializer = app.extensions.get(SESSION_SERIALIZER)
        if serializer is None:
            serializer = app.extensions[SESSION_SERIALIZER] = super().get_signing_serializer(app)
        return serializer
