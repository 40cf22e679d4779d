"""Known devices: a browser that has signed in to an account keeps a budget of its own.

The browser gets a signed random id in an HttpOnly cookie when it signs in, and the
account gets a failure budget for that id, so an attacker elsewhere who exhausts the
account's budget for unknown clients cannot lock the owner out of the browser they
always use (OWASP's "device cookies"). The id is random; the signature (a key derived
for this use) only stops a client from making up ids.
"""

import uuid

from flask import current_app
from flask import g
from flask import request
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer

from portal.db import CompiledQuery
from portal.db import arg
from portal.models import FailureBudget
from portal.sessions import cookies

COOKIE_NAME = "portal_device"
MAX_AGE = 365 * 24 * 3600
SALT = "portal-device"
ID_LENGTH = 32
MAX_COOKIE_LENGTH = 200

# Every sign-in runs these: compiled once (portal.db.CompiledQuery).
DEVICE_BUDGET = CompiledQuery(lambda: FailureBudget.select(FailureBudget.device).where(
    FailureBudget.account == arg("account"), FailureBudget.device == arg("device")).limit(1))
NEW_DEVICE_BUDGET = CompiledQuery(lambda: FailureBudget.insert(
    account=arg("account"), device=arg("device")).on_conflict_ignore())


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
    if not value or len(value) > MAX_COOKIE_LENGTH:
        return None
    try:
        device_id = _serializer().loads(value)
    except BadSignature:
        return None
    return device_id if isinstance(device_id, str) and len(device_id) == ID_LENGTH else None


def ensure_id():
    """Return this browser's device id, giving it a new one (cookie set after the request)."""
    device_id = current_id()
    if device_id is None:
        device_id = g.new_device_id = uuid.uuid4().hex
    return device_id


def set_cookie(response):
    """Send the device cookie, when this request made or renewed one."""
    device_id = g.get("new_device_id")
    if device_id:
        response.set_cookie(cookie_name(), _serializer().dumps(device_id),
                            **cookies.options(max_age=MAX_AGE))
    return response


def is_known(account, device_id):
    """Return True when this device has signed in to this account before."""
    return bool(device_id) and bool(DEVICE_BUDGET.rows(account=account, device=device_id))


def remember(account, device_id):
    """Give a device that just signed in its own budget for this account.

    Its cookie is sent again too: a year from this sign-in, and signed with the current
    key, so that after a key rotation the old key is soon needed by no device in use.
    """
    NEW_DEVICE_BUDGET.run(account=account, device=device_id)
    g.new_device_id = device_id
