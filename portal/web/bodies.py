"""Request bodies: every POST is a form of text fields, as the portal's pages send.

No route takes JSON or a file. A body that is neither, or a file where a field goes
(Flask-WTF would hand the view the file as the field's value), is refused with 400
before any view runs: it checks no password and moves no counter, and it is logged.
"""

from flask import abort
from flask import request

from portal.web import security_events

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
TYPE_SHOWN_MAX = 100  # of the client's Content-Type, in the log line


def init_app(app):
    """Refuse unreadable POST bodies before the views see them."""
    app.before_request(refuse_unreadable_body)


def refuse_unreadable_body():
    """Answer 400 to a POST whose body is not a form of text fields."""
    if request.method != "POST" or is_form_body():
        return
    security_events.record(security_events.MALFORMED_FORM,
                           (request.mimetype or "none")[:TYPE_SHOWN_MAX])
    abort(400)


def is_form_body():
    """Return True when the body is a form whose fields are all text (or empty)."""
    if not request.content_length and not request.mimetype:
        return True  # a bodiless POST (a button with nothing to send)
    return request.mimetype in FORM_TYPES and not request.files
