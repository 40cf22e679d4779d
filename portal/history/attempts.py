"""Login attempts: their outcomes and reasons, and recording one (table row and JSON line)."""

import hashlib
import json
import logging

from portal import db
from portal.accounts import users
from portal.db import CompiledQuery
from portal.db import arg
from portal.history import counts
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
# The budget an attempt counted against: its account's for unknown clients, or the known
# device's it came from (which device: the `device` column's hash, not the id itself).
UNKNOWN_CLIENTS, KNOWN_DEVICE = "unknown", "device"
REASONS = (OK, BAD_PASSWORD, UNKNOWN_USER, LOCKED, THROTTLED, ERROR)

ATTEMPT_FIELDS = ["at", "username", "user", "outcome", "reason", "ip", "user_agent",
                  "browser", "os", "device_family", "request_id", "device"]
# Every attempt runs these: compiled once (portal.db.CompiledQuery).
NEW_ATTEMPT = CompiledQuery(lambda: LoginAttempt.insert(
    {getattr(LoginAttempt, name): arg(name)
     for name in [*ATTEMPT_FIELDS, "username_key", "ip_key", "counted_on"]})
    .returning(LoginAttempt.id))
# `at` as well as `id`: on a partitioned table it names the one partition to look in.
FINISH_ATTEMPT = CompiledQuery(lambda: LoginAttempt.update(
    outcome=arg("outcome"), reason=arg("reason"), session=arg("session"), device=arg("device"))
    .where(LoginAttempt.id == arg("id"), LoginAttempt.at == arg("at")))
DROP_ATTEMPT = CompiledQuery(lambda: LoginAttempt.delete().where(
    LoginAttempt.id == arg("id"), LoginAttempt.at == arg("at")))

log = logging.getLogger("portal.attempts")


AGENT_COLUMNS = ("browser", "os", "device_family")  # as named by web.user_agent.describe


def agent_names(user_agent):
    """Return {column: name} of a user agent's AGENT_COLUMNS, cut to fit them."""
    agent = describe(user_agent)
    return {column: getattr(agent, column)[:AGENT_NAME_MAX] for column in AGENT_COLUMNS}


DROPPED = object()  # what Pending.finish() leaves for settled() after a drop()


def device_digest(device_id):
    """Return what an attempt records of a known-device id: a hash of it (None for none)."""
    if not device_id:
        return None
    return hashlib.blake2b(device_id.encode(), digest_size=16, person=b"portal-device").hexdigest()


def begin(typed, user, client, request_id, at, device_id=None, counted_on=None):
    """Record an attempt whose credential check begins, as an `error`; return its Pending.

    Call it in the transaction that counts the attempt as a failure in advance: the
    row and the count stand or fall together, so whatever stops the request later, the
    history shows every failure the counters hold. `device_id` is the known-device id
    the browser came with, if any; `counted_on` names the kind of budget that counts
    it (UNKNOWN_CLIENTS or KNOWN_DEVICE; None: no budget counts it).
    """
    row = {"at": at, "username": bounded(typed, TYPED_USERNAME_MAX),
           "user": user.id if user else None, "outcome": FAILURE, "reason": ERROR,
           "ip": bounded(client.ip, IP_MAX),
           "user_agent": bounded(client.user_agent, USER_AGENT_MAX),
           "request_id": request_id, "device": device_digest(device_id),
           **agent_names(client.user_agent)}
    keys = {"username_key": users.normalize_username(row["username"]),
            "ip_key": ipaddr.key(client.ip)}
    cursor = NEW_ATTEMPT.run(**row, **keys, counted_on=counted_on)
    return Pending({**row, **keys}, cursor)


class Pending:
    """An attempt recorded by begin(): finish() writes its outcome, log() its JSON line."""

    def __init__(self, row, cursor):
        self.row, self._cursor, self._id = row, cursor, None
        self._finished = None
        if not db.is_postgresql():
            self._id = self.id
        # On PostgreSQL the id is read later, after the transaction's other statements,
        # so that it travels back with their results instead of costing a round trip.

    @property
    def id(self):
        """Return the attempt's id."""
        if self._id is None:
            self._id = self._cursor.fetchall()[0][0]  # all: SQLite ends the statement then
        return self._id

    def finish(self, reason, session_id=None, device_id=None):
        """Write the attempt's reason (and the session a success started, and its device).

        The log line tells it only once settled() says the transaction committed. The
        hourly counts take it in the same transaction: a settlement that fails counts
        nothing, and its row stays `error`.
        """
        outcome = SUCCESS if reason == OK else FAILURE
        device = device_digest(device_id) or self.row["device"]
        FINISH_ATTEMPT.run(id=self.id, at=self.row["at"], outcome=outcome, reason=reason,
                           session=session_id, device=device)
        counts.count_settled(self.id, self.row["at"], self.row["username_key"],
                             self.row["ip_key"], reason)
        self._finished = {"outcome": outcome, "reason": reason}

    def drop(self):
        """Delete the attempt: it was no sign-in (a signed-in user confirming a password)."""
        DROP_ATTEMPT.run(id=self.id, at=self.row["at"])
        self._finished = DROPPED

    def settled(self):
        """Take what finish() or drop() wrote as done: their transaction has committed."""
        if self._finished is DROPPED:
            self.row = None
        elif self._finished:
            self.row.update(self._finished)

    def log(self):
        """Write the attempt's JSON line (none for a dropped one), as the history has it."""
        row = self.row
        if row is None:
            return
        log.info(json.dumps({
            "event": "login_attempt", "time": row["at"].isoformat() + "Z",
            "outcome": row["outcome"], "reason": row["reason"], "username": row["username"],
            "user_id": row["user"], "ip": row["ip"], "user_agent": row["user_agent"],
            "request_id": row["request_id"],
        }))
