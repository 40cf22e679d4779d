"""One renderer for every error page; never a stack trace to the user."""

from flask import render_template
from flask import request
from flask_wtf.csrf import CSRFError
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.exceptions import ServiceUnavailable

from portal import availability
from portal.web import security_events

PAGES = (400, 403, 404, 405, 413, 429, 500, 503)


def register_errorhandlers(app):
    """Render templates/errors/<code>.html for HTTP errors, 503 when the database is down."""
    app.register_error_handler(CSRFError, render_csrf_error)
    app.register_error_handler(RequestEntityTooLarge, render_too_large)
    app.register_error_handler(HTTPException, render_error)
    for error in availability.UNAVAILABLE:
        app.register_error_handler(error, database_unavailable(app))
    app.register_error_handler(Exception, unexpected_error(app))


def render_error(error):
    """Render the page for an HTTP error, keeping the headers it brings (Retry-After, Allow)."""
    code = error.code or 500
    template = f"errors/{code}.html" if code in PAGES else "errors/error.html"
    try:
        body = render_template(template, error=error)
    except TemplateNotFound:
        body = render_template("errors/error.html", error=error)
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return body, code, headers


def render_csrf_error(error):
    """Explain an expired or missing form token; nothing was done, it is logged."""
    security_events.record(security_events.CSRF_FAILED, error.description)
    return render_template("errors/csrf.html", error=error), 400


def render_too_large(error):
    """Log a body refused by the size limits, and say so."""
    limit = request.max_content_length
    over = request.content_length is not None and limit and request.content_length > limit
    security_events.record(security_events.TOO_LARGE,
                           f"over {limit} bytes" if over else "form too large")
    return render_error(error)


def database_unavailable(app):
    """Return a handler that logs a database failure and its cause, and shows 503.

    SQLite raises a missing table or column under the same class as a busy or full
    database: that is the code's fault, not the database's, so it is a 500 with its
    traceback in the log.
    """
    def handler(error):
        cause = availability.unavailable_cause(error)
        if cause is None:
            app.logger.exception("database schema error (run init-db?)")
            return render_error(InternalServerError())
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        app.logger.error("database unavailable (%s): %s", cause, first_line)
        return render_error(ServiceUnavailable())
    return handler


def unexpected_error(app):
    """Return a handler that logs an unexpected exception and shows 500."""
    def handler(error):
        app.logger.exception("unhandled error")
        return render_error(InternalServerError())
    return handler
