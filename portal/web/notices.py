"""Notices: one line that says what an action did, on the page that follows it.

A notice is Flask's flash message (in the session cookie) holding only a fixed key and
an account name (or an address the code has checked), never typed text;
templates/partials/_notices.html words each key.
"""

from flask import flash
from flask import render_template


def notify(key, name=""):
    """Queue notice `key` about the account `name` for the next page (or this fragment)."""
    flash(name, key)


def with_notices(fragment):
    """Return an htmx fragment followed by the queued notices, swapped in out of band."""
    return fragment + render_template("partials/_notices.html", oob=True)
