"""Login attempts: their outcomes and reasons, and recording one (table row and JSON line)."""

import json
import logging

from portal import clock
from portal.accounts import users
from portal.db import CompiledQuery
from portal.db import arg
from portal.models import AGENT_NAME_MAX
from portal.models import IP_MAX
from portal.models import TYPED_USERNAME_MAX
from portal.models import USER_AGENT_MAX
from portal.models import LoginAttempt
from portal.models import bounded
from portal.web import ipaddr
from portal.web.user_agent import describe

SUCCESS, FAILURE = "success", "failure"
OK, BAD_PASSWORD, UNKNOWN_USER = "ok", "bad_password", "unknown_user"
LOCKED, THROTTLED = "locked", "throttled"
OUTCOMES = (SUCCESS, FAILURE)
REASONS = (OK, BAD_PASSWORD, UNKNOWN_USER, LOCKED, THROTTLED)

ATTEMPT_FIELDS = ["at", "username", "user", "outcome", "reason", "ip", "user_agent",
                  "browser", "os", "device_family", "request_id", "session"]
# Every attempt runs this: compiled once (portal.db.CompiledQuery).
NEW_ATTEMPT = CompiledQuery(lambda: LoginAttempt.insert(
    {getattr(LoginAttempt, name): arg(name)
     for name in [*ATTEMPT_FIELDS, "username_key", "ip_key"]}))

log = logging.getLogger("portal.attempts")


AGENT_COLUMNS = ("browser", "os", "device_family")  # as named by web.user_agent.describe


def agent_names(user_agent):
    """Return {column: name} of a user agent's AGENT_COLUMNS, cut to fit them."""
    agent = describe(user_agent)
    return {column: getattr(agent, column)[:AGENT_NAME_MAX] for column in AGENT_COLUMNS}


def record(username, user, reason, client, request_id, session_id=None):
    """Insert one attempt and write its JSON log line."""
    outcome = SUCCESS if reason == OK else FAILURE
    row = {"at": clock.now(), "username": bounded(username, TYPED_USERNAME_MAX),
           "user": user.id if user else None, "outcome": outcome, "reason": reason,
           "ip": bounded(client.ip, IP_MAX), "user_agent": bounded(client.user_agent,
                                                                   USER_AGENT_MAX),
           "request_id": request_id, "session": session_id, **agent_names(client.user_agent)}
    NEW_ATTEMPT.run(**row, username_key=users.normalize_username(row["username"]),
                    ip_key=ipaddr.key(client.ip))
    log.info(json.dumps({
        "event": "login_attempt", "time": row["at"].isoformat() + "Z", "outcome": outcome,
        "reason": reason, "username": row["username"], "user_id": row["user"],
        "ip": row["ip"], "user_agent": row["user_agent"], "request_id": request_id,
    }))
