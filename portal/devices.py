"""The known-device cookie: a signed random id a browser gets when it signs in.

A device that has signed in to an account before keeps its own failure budget
for that account, so an attacker elsewhere who exhausts the account's budget
cannot lock the owner out of the browser they always use (OWASP's "device
cookies"). The id is random; the signature (a key derived for this use) only
stops a client from making up ids.
"""

import uuid

from flask import current_app
from flask import g
from flask import request
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer

from portal import cookies

COOKIE_NAME = "portal_device"
MAX_AGE = 365 * 24 * 3600
SALT = "portal-device"


def init_app(app):
    """Set the device cookie on responses that decided to give one."""
    app.after_request(set_cookie)


def cookie_name():
    """Return the device cookie's name."""
    return cookies.name(COOKIE_NAME)


def _serializer():
    return URLSafeSerializer(current_app.config["DEVICE_KEY"], salt=SALT)


def current_id():
    """Return this browser's device id, or None when it has none (or a forged one)."""
    value = request.cookies.get(cookie_name())
    if not value or len(value) > 200:
        return None
    try:
        device_id = _serializer().loads(value)
    except BadSignature:
        return None
    return device_id if isinstance(device_id, str) and len(device_id) == 32 else None


def ensure_id():
    """Return this browser's device id, giving it a new one (cookie set after the request)."""
    device_id = current_id()
    if device_id is None:
        device_id = g.new_device_id = uuid.uuid4().hex
    return device_id


def set_cookie(response):
    """Send the new device cookie, when this request made one."""
    device_id = g.get("new_device_id")
    if device_id:
        response.set_cookie(cookie_name(), _serializer().dumps(device_id),
                            **cookies.options(max_age=MAX_AGE))
    return response
