"""Security headers on every response."""

from flask import current_app
from flask import request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app):
    """Add the headers after every request."""
    app.after_request(add_security_headers)


def add_security_headers(response):
    """Set CSP, nosniff, referrer policy, HSTS (over HTTPS settings) and no-store."""
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if current_app.config["COOKIE_SECURE"]:
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static":
        # Pages carry CSRF tokens and, once signed in, private data: never cache them.
        headers["Cache-Control"] = "no-store"
    return response
