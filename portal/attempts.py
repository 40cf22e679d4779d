"""Recording login attempts (table row and JSON log line); an account's own attempts."""

import json
import logging

from portal import clock
from portal import ipaddr
from portal import users
from portal.activity import ATTEMPTS_SHOWN
from portal.db import Prepared
from portal.db import arg
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

ATTEMPT_FIELDS = ["at", "username", "user", "outcome", "reason", "ip", "user_agent",
                  "request_id", "session"]
# Every attempt runs this; it is compiled once (portal.db.Prepared).
NEW_ATTEMPT = Prepared(lambda: LoginAttempt.insert(
    {**{getattr(LoginAttempt, name): arg(n) for n, name in enumerate(ATTEMPT_FIELDS)},
     LoginAttempt.username_key: arg(len(ATTEMPT_FIELDS)),
     LoginAttempt.ip_key: arg(len(ATTEMPT_FIELDS) + 1)}))
NOTICE_CAP = 1000  # "1000 failed attempts" says enough; counting further costs time

log = logging.getLogger("portal.attempts")


def record(username, user, reason, client, request_id, session_id=None):
    """Insert one attempt and write its JSON log line."""
    outcome = SUCCESS if reason == OK else FAILURE
    row = {"at": clock.now(), "username": bounded(username, TYPED_USERNAME_MAX),
           "user": user.id if user else None, "outcome": outcome, "reason": reason,
           "ip": bounded(client.ip, IP_MAX), "user_agent": bounded(client.user_agent,
                                                                   USER_AGENT_MAX),
           "request_id": request_id, "session": session_id}
    NEW_ATTEMPT.write(*[row[name] for name in ATTEMPT_FIELDS],
                      users.normalize_username(row["username"]), ipaddr.key(client.ip))
    log.info(json.dumps({
        "event": "login_attempt", "time": row["at"].isoformat() + "Z", "outcome": outcome,
        "reason": reason, "username": row["username"], "user_id": row["user"],
        "ip": row["ip"], "user_agent": row["user_agent"], "request_id": request_id,
    }))


def failures_since_previous_success(user_id, signed_in_at, recent):
    """Count failures against an account since the success before the one at `signed_in_at`.

    `recent` is the account's latest attempts, newest first (activity.of): usually the
    previous success is among them and no query is needed.
    """
    for index, attempt in enumerate(recent):
        if attempt["outcome"] == SUCCESS and attempt["at"] < signed_in_at:
            return sum(1 for newer in recent[:index] if newer["outcome"] == FAILURE)
    if len(recent) < ATTEMPTS_SHOWN:  # that was every attempt there is: no earlier success
        return sum(1 for attempt in recent if attempt["outcome"] == FAILURE)
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
