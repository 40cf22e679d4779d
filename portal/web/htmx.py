"""The only module that reads htmx request headers (and the one our own script adds)."""

from flask import redirect as http_redirect
from flask import render_template
from flask import request


def is_htmx():
    """Return True when htmx sent this request (and wants a fragment back)."""
    return request.headers.get("HX-Request") == "true" and not is_history_restore()


def is_history_restore():
    """Return True when htmx re-fetches a page for the back button (it needs the full page)."""
    return request.headers.get("HX-History-Restore-Request") == "true"


def is_typing():
    """Return True when the history's script says the admin is still typing in a filter.

    Its own header (static/js/history.js), sent with a request that typing started rather
    than a change that settled (leaving the field, Enter, a choice): a value that is not
    valid yet then gets a hint instead of the explanation that replaces the table.
    """
    return is_htmx() and request.headers.get("Portal-Typing") == "true"


def render_page_or_partial(page, partial, **context):
    """Render the partial for htmx, the whole page otherwise."""
    return render_template(partial if is_htmx() else page, **context)


def push_url(response, location):
    """Have htmx show this (canonical) URL in the address bar instead of the raw request's."""
    if is_htmx():
        response.headers["HX-Push-Url"] = location
    return response


def redirect(location):
    """Redirect the whole window, for htmx as for a plain request."""
    if is_htmx():
        return "", 204, {"HX-Redirect": location}
    return http_redirect(location)
