"""Recording login attempts (table row and JSON log line) and reading them back."""

import json
import logging
import re
from datetime import datetime

from peewee import Tuple

from portal import clock
from portal.models import IP_MAX
from portal.models import TYPED_USERNAME_MAX
from portal.models import USER_AGENT_MAX
from portal.models import LoginAttempt
from portal.models import bounded

SUCCESS, FAILURE = "success", "failure"
OK, BAD_PASSWORD, UNKNOWN_USER = "ok", "bad_password", "unknown_user"
LOCKED, THROTTLED = "locked", "throttled"
OUTCOMES = (SUCCESS, FAILURE)
REASONS = (OK, BAD_PASSWORD, UNKNOWN_USER, LOCKED, THROTTLED)

PAGE_SIZE = 50
NOTICE_CAP = 1000  # "1000 failed attempts" says enough; counting further costs time
CURSOR = re.compile(r"^(\d{8}T\d{6}\.\d{6})-(\d{1,19})$")
CURSOR_TIME = "%Y%m%dT%H%M%S.%f"

log = logging.getLogger("portal.attempts")


class BadCursor(ValueError):
    """The `before` cursor of a history page is not one this module made."""


def record(username, user, reason, client, request_id, session_id=None):
    """Insert one attempt and write its JSON log line; return the row."""
    outcome = SUCCESS if reason == OK else FAILURE
    attempt = LoginAttempt.create(
        at=clock.now(), username=bounded(username, TYPED_USERNAME_MAX), user=user,
        outcome=outcome, reason=reason, ip=bounded(client.ip, IP_MAX),
        user_agent=bounded(client.user_agent, USER_AGENT_MAX), request_id=request_id,
        session=session_id)
    log.info(json.dumps({
        "event": "login_attempt", "time": attempt.at.isoformat() + "Z", "outcome": outcome,
        "reason": reason, "username": attempt.username, "user_id": user.id if user else None,
        "ip": attempt.ip, "user_agent": attempt.user_agent, "request_id": request_id,
    }))
    return attempt


def history(user=None, outcome=None, before=None, limit=PAGE_SIZE):
    """Return (rows, next cursor) of attempts matching the filters, newest first."""
    query = LoginAttempt.select(
        LoginAttempt.id, LoginAttempt.at, LoginAttempt.username, LoginAttempt.outcome,
        LoginAttempt.reason, LoginAttempt.ip, LoginAttempt.user_agent)
    if user:
        query = query.where(LoginAttempt.username == user)
    if outcome:
        query = query.where(LoginAttempt.outcome == outcome)
    if before:
        query = query.where(Tuple(LoginAttempt.at, LoginAttempt.id) < Tuple(*parse_cursor(before)))
    rows = list(query.order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
                .limit(limit + 1).dicts())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (make_cursor(rows[-1]) if more else None)


def for_user(user_id, limit=20):
    """Return the latest attempts against one account, newest first."""
    return list(LoginAttempt.select(LoginAttempt.at, LoginAttempt.outcome, LoginAttempt.reason,
                                    LoginAttempt.ip, LoginAttempt.user_agent,
                                    LoginAttempt.session)
                .where(LoginAttempt.user == user_id)
                .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
                .limit(limit).dicts())


def failures_since_previous_success(user_id, signed_in_at):
    """Count failures against an account since the success before the one at `signed_in_at`."""
    previous = (LoginAttempt.select(LoginAttempt.at)
                .where(LoginAttempt.user == user_id, LoginAttempt.outcome == SUCCESS,
                       LoginAttempt.at < signed_in_at)
                .order_by(LoginAttempt.at.desc()).limit(1).scalar())
    failures = LoginAttempt.select().where(LoginAttempt.user == user_id,
                                           LoginAttempt.outcome == FAILURE)
    if previous is not None:
        failures = failures.where(LoginAttempt.at > previous)
    return failures.limit(NOTICE_CAP).count()


def failures_before(user_id, at, limit):
    """Return the failures against an account up to `at` (what caused a lock), newest first."""
    return list(LoginAttempt.select(LoginAttempt.at, LoginAttempt.username, LoginAttempt.reason,
                                    LoginAttempt.ip, LoginAttempt.user_agent)
                .where(LoginAttempt.user == user_id, LoginAttempt.at <= at,
                       LoginAttempt.outcome == FAILURE)
                .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
                .limit(limit).dicts())


def make_cursor(row):
    """Return the opaque cursor that continues a page after this row."""
    return f"{row['at'].strftime(CURSOR_TIME)}-{row['id']}"


def parse_cursor(cursor):
    """Return (time, id) from a cursor, or raise BadCursor."""
    match = CURSOR.match(cursor)
    if not match:
        raise BadCursor(cursor)
    return datetime.strptime(match[1], CURSOR_TIME), int(match[2])
