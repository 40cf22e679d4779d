"""Security events: one JSON line each on the `portal.security` logger, for a SIEM.

A forged token, a failed CSRF check, an admin page refused, a body past the size limit,
a login form that cannot be read: each is a line with the event, its reason, the
client's IP, the user if signed in, the request id and the path. Never a token, a
cookie or a password.

A flood of them must not fill a disk: each worker writes at most PER_WINDOW lines of
one event per WINDOW seconds, and the first line after a window that dropped some says
how many ("suppressed").
"""

import json
import logging
import threading
import time

from flask import g
from flask import has_request_context
from flask import request

from portal import clock
from portal.web import client
from portal.web import logs

CSRF_FAILED = "csrf_failed"
TOKEN_REJECTED = "token_rejected"
FORBIDDEN = "forbidden"
TOO_LARGE = "too_large"
MALFORMED_FORM = "malformed_form"

WINDOW = 60.0
PER_WINDOW = 100
PATH_MAX = 200

log = logging.getLogger("portal.security")


class Limiter:
    """Counts each event's lines in the current window, per worker (threads share it)."""

    def __init__(self, per_window=PER_WINDOW, window=WINDOW, clock=time.monotonic):
        self.per_window, self.window, self.clock = per_window, window, clock
        self.lock = threading.Lock()
        self.windows = {}  # event: [window start, lines written, lines suppressed]

    def admit(self, event):
        """Return (write this line?, lines of this event suppressed in the window just ended)."""
        now = self.clock()
        with self.lock:
            state = self.windows.get(event)
            suppressed = 0
            if state is None or now - state[0] >= self.window:
                suppressed = state[2] if state else 0
                state = self.windows[event] = [now, 0, 0]
            if state[1] >= self.per_window:
                state[2] += 1
                return False, suppressed
            state[1] += 1
            return True, suppressed


limiter = Limiter()


def record(event, reason):
    """Log one security event of the current request (rate-limited)."""
    write, suppressed = limiter.admit(event)
    if suppressed:
        log.warning(json.dumps({"event": "suppressed", "of": event, "count": suppressed,
                                "seconds": limiter.window, "time": now_text()}))
    if write:
        log.warning(json.dumps({"event": event, "reason": reason, "time": now_text(),
                                **about_request()}))


def about_request():
    """Return who and where, for the line: IP, user, request id, path."""
    if not has_request_context():
        return {}
    user = g.get("user")
    return {"ip": client.current().ip, "user": user.username if user else None,
            "request_id": logs.request_id(), "path": request.path[:PATH_MAX],
            "method": request.method}


def now_text():
    """Return the time now, as the attempt lines write it."""
    return clock.now().isoformat() + "Z"
