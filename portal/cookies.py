"""The portal's own cookies: names and flags in one place."""

from flask import current_app


def name(base):
    """Return a cookie's name: `__Host-` (bound to this host, HTTPS only) when Secure."""
    return f"__Host-{base}" if current_app.config["COOKIE_SECURE"] else base


def options(**extra):
    """Return the flags every portal cookie carries (HttpOnly, SameSite=Lax, Path=/)."""
    return {"httponly": True, "samesite": "Lax", "path": "/",
            "secure": current_app.config["COOKIE_SECURE"], **extra}
