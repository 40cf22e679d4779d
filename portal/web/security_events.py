"""Security events: one JSON line each on the `portal.security` logger, for a SIEM.

A forged token, a failed CSRF check, an admin page refused, a body past the size limit,
a login form that cannot be read: each is a line with the event, its reason, the
client's IP, the user if signed in, the request id and the path. Never a token, a
cookie or a password.

A flood of them must not fill a disk, nor hide everyone else's: each worker writes at
most PER_SOURCE lines of one event per WINDOW seconds for one client address, and at
most PER_WINDOW of that event in all; the first line of that event after a window
that dropped some says how many ("suppressed").
"""

import json
import logging
import threading
import time
from collections import OrderedDict

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
PER_SOURCE = 20
SOURCES_MAX = 1024  # addresses remembered per worker; the oldest is forgotten first
PATH_MAX = 200

log = logging.getLogger("portal.security")


class Limiter:
    """Counts each event's lines in the current window, per worker (threads share it)."""

    def __init__(self, per_window=PER_WINDOW, per_source=PER_SOURCE, window=WINDOW,
                 clock=time.monotonic):
        self.per_window, self.per_source, self.window = per_window, per_source, window
        self.clock = clock
        self.lock = threading.Lock()
        self.windows = {}  # event: [window start, lines written, lines suppressed]
        self.sources = OrderedDict()  # (event, source): [window start, lines written]

    def admit(self, event, source):
        """Return (write this line?, lines of this event suppressed in the window just ended)."""
        now = self.clock()
        with self.lock:
            state = self.windows.get(event)
            suppressed = 0
            if state is None or now - state[0] >= self.window:
                suppressed = state[2] if state else 0
                state = self.windows[event] = [now, 0, 0]
            mine = self.sources.pop((event, source), None)
            if mine is None or now - mine[0] >= self.window:
                mine = [now, 0]
            self.sources[(event, source)] = mine
            if len(self.sources) > SOURCES_MAX:
                self.sources.popitem(last=False)
            if state[1] >= self.per_window or mine[1] >= self.per_source:
                state[2] += 1
                return False, suppressed
            state[1] += 1
            mine[1] += 1
            return True, suppressed


limiter = Limiter()


def record(event, reason):
    """Log one security event of the current request (rate-limited)."""
    about = about_request()
    write, suppressed = limiter.admit(event, about.get("ip"))
    if suppressed:
        log.warning(json.dumps({"event": "suppressed", "of": event, "count": suppressed,
                                "seconds": limiter.window, "time": now_text()}))
    if write:
        log.warning(json.dumps({"event": event, "reason": reason, "time": now_text(),
                                **about}))


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
