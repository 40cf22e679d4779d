"""Login attempts: their outcomes and reasons, and recording one (table row and JSON line)."""

import json
import logging

from portal import db
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
# What an attempt reads while it runs, and for good if its request fails before the end
# (an exception, a killed worker, a lost database): it was counted as a failure.
ERROR = "error"
OUTCOMES = (SUCCESS, FAILURE)
REASONS = (OK, BAD_PASSWORD, UNKNOWN_USER, LOCKED, THROTTLED, ERROR)

ATTEMPT_FIELDS = ["at", "username", "outcome", "reason", "ip", "user_agent",
                  "browser", "os", "device_family", "request_id"]
# Every attempt runs these: compiled once (portal.db.CompiledQuery).
NEW_ATTEMPT = CompiledQuery(lambda: LoginAttempt.insert(
    {getattr(LoginAttempt, name): arg(name)
     for name in [*ATTEMPT_FIELDS, "username_key", "ip_key"]}).returning(LoginAttempt.id))
# `at` as well as `id`: on a partitioned table it names the one partition to look in.
FINISH_ATTEMPT = CompiledQuery(lambda: LoginAttempt.update(
    user=arg("user"), outcome=arg("outcome"), reason=arg("reason"), session=arg("session"))
    .where(LoginAttempt.id == arg("id"), LoginAttempt.at == arg("at")))
DROP_ATTEMPT = CompiledQuery(lambda: LoginAttempt.delete().where(
    LoginAttempt.id == arg("id"), LoginAttempt.at == arg("at")))

log = logging.getLogger("portal.attempts")


AGENT_COLUMNS = ("browser", "os", "device_family")  # as named by web.user_agent.describe


def agent_names(user_agent):
    """Return {column: name} of a user agent's AGENT_COLUMNS, cut to fit them."""
    agent = describe(user_agent)
    return {column: getattr(agent, column)[:AGENT_NAME_MAX] for column in AGENT_COLUMNS}


class Pending:
    """An attempt recorded as an `error` when its credential check begins.

    The row goes in with the transaction that counts the attempt as a failure in
    advance, so whatever stops the request later, the history shows every failure the
    counters hold. finish() writes the real outcome with the transaction that settles it.
    """

    def __init__(self, typed, client, request_id, at):
        self.row = {"at": at, "username": bounded(typed, TYPED_USERNAME_MAX),
                    "outcome": FAILURE, "reason": ERROR, "ip": bounded(client.ip, IP_MAX),
                    "user_agent": bounded(client.user_agent, USER_AGENT_MAX),
                    "request_id": request_id, **agent_names(client.user_agent)}
        self.user_id, self._id = None, None
        # On PostgreSQL the id is read after the transaction's other statements, so
        # that it travels back with their results instead of costing a round trip.
        self._cursor = NEW_ATTEMPT.run(
            **self.row, username_key=users.normalize_username(self.row["username"]),
            ip_key=ipaddr.key(client.ip))
        self._id = None if db.is_postgresql() else self.id

    @property
    def id(self):
        """Return the attempt's id."""
        if self._id is None:
            self._id = self._cursor.fetchall()[0][0]  # all: SQLite ends the statement then
        return self._id

    def finish(self, reason, user, session_id=None):
        """Write the attempt's reason (and user, and the session a success started)."""
        self.row.update(outcome=SUCCESS if reason == OK else FAILURE, reason=reason)
        self.user_id = user.id if user else None
        FINISH_ATTEMPT.run(id=self.id, at=self.row["at"], user=self.user_id,
                           outcome=self.row["outcome"], reason=reason, session=session_id)

    def drop(self):
        """Delete the attempt: it was no sign-in (a signed-in user confirming a password)."""
        DROP_ATTEMPT.run(id=self.id, at=self.row["at"])

    def log(self):
        """Write the attempt's JSON line; call it once its transaction has committed."""
        row = self.row
        log.info(json.dumps({
            "event": "login_attempt", "time": row["at"].isoformat() + "Z",
            "outcome": row["outcome"], "reason": row["reason"], "username": row["username"],
            "user_id": self.user_id, "ip": row["ip"], "user_agent": row["user_agent"],
            "request_id": row["request_id"],
        }))
