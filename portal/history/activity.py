"""An account's sessions and latest sign-in attempts, read in one query.

The sessions page (and the admin's user page) shows three lists: the most recently
active live sessions (with a count of them all), the latest ended ones and the latest
attempts. Each list is bounded, so an account with thousands of live sessions costs what
one with five does. As separate queries they would be round trips to PostgreSQL, each
about as costly as rendering a table; as one UNION ALL they are one. Both tables' rows
take one shape: a kind, then the columns below, NULL where a table has no such column.
"""

from collections import namedtuple
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from peewee import SQL
from peewee import fn

from portal import clock
from portal.db import CompiledQuery
from portal.db import arg
from portal.history.attempts import FAILURE
from portal.history.attempts import SUCCESS
from portal.models import LoginAttempt
from portal.models import Session

LIVE_SHOWN = 50
ENDED_SHOWN = 10
NOTICE_CAP = 1000  # "1000 failed attempts" says enough; counting further costs time
ATTEMPTS_SHOWN = 20
LIVE, LIVE_COUNT, ENDED, ATTEMPT = "live", "live_count", "ended", "attempt"
NULL = SQL("NULL")
NO_ID = SQL("CAST(NULL AS BIGINT)")  # PostgreSQL types a UNION's bare NULLs as text

# The shared row shape (after its kind), and the columns each list's rows take from it.
SHAPE = ["id", "at", "last_seen_at", "expires_at", "ended_at", "reason", "outcome", "ip",
         "user_agent", "session", "attempt_id"]
SESSION_KEYS = {"id": "id", "created_at": "at", "last_seen_at": "last_seen_at",
                "expires_at": "expires_at", "ended_at": "ended_at", "end_reason": "reason",
                "ip": "ip", "user_agent": "user_agent"}
TIMES = ["at", "last_seen_at", "expires_at", "ended_at"]
TIME = Session.created_at  # how every one of them is stored
ATTEMPT_KEYS = {"id": "attempt_id", **{key: key for key in ("at", "outcome", "reason", "ip",
                                                               "user_agent", "session")}}


# What the lists hold: plain values, named as the templates read them.
SessionRow = namedtuple("SessionRow", list(SESSION_KEYS))
AttemptRow = namedtuple("AttemptRow", list(ATTEMPT_KEYS))
LockCause = namedtuple("LockCause", ["at", "username", "reason", "ip", "user_agent"])


@dataclass(frozen=True)
class Activity:
    """What an account's pages list: SessionRows and AttemptRows, newest first."""

    live: list
    ended: list
    attempts: list
    live_count: int = 0  # all live sessions, of which `live` holds the LIVE_SHOWN newest


def _session_columns(source):
    """The shared shape, filled from session columns (of the table or a subquery)."""
    return [source.id, source.created_at, source.last_seen_at, source.expires_at,
            source.ended_at, source.end_reason, NULL, source.ip, source.user_agent, NULL, NO_ID]


def _attempt_columns(source):
    """The shared shape, filled from attempt columns (of a subquery)."""
    return [NULL, source.at, NULL, NULL, NULL, source.reason, source.outcome, source.ip,
            source.user_agent, source.session, source.id]


def _kind(kind):
    """The literal that tags a part's rows (one of our constants, never user input)."""
    return SQL(f"'{kind}'")


def _live(*columns):
    """Select from the account's live sessions."""
    return Session.select(*columns).where(
        Session.user == arg("user"), Session.ended_at.is_null(), Session.expires_at > arg("now"),
        Session.last_seen_at > arg("idle_since"))


def _activity():
    # SQLite takes no ORDER BY/LIMIT in a UNION's part, so the latest-first parts are
    # subqueries (named with a leading underscore).
    live = (_live(*[getattr(Session, key) for key in SESSION_KEYS])
            .order_by(Session.last_seen_at.desc()).limit(arg("live_shown")).alias("_latest_live"))
    counted = _live(_kind(LIVE_COUNT), *[NULL] * (len(SHAPE) - 1),
                    fn.COUNT(Session.id).cast("BIGINT"))
    ended = (Session.select(*[getattr(Session, key) for key in SESSION_KEYS])
             .where(Session.user == arg("user"), Session.ended_at.is_null(False))
             .order_by(Session.ended_at.desc()).limit(arg("ended_shown")).alias("_latest_ended"))
    tried = (LoginAttempt.select(LoginAttempt.id, LoginAttempt.at, LoginAttempt.outcome,
                                 LoginAttempt.reason, LoginAttempt.ip, LoginAttempt.user_agent,
                                 LoginAttempt.session)
             .where(LoginAttempt.user == arg("user"))
             .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
             .limit(arg("attempts_shown"))
             .alias("_latest_attempts"))
    return (Session.select(_kind(LIVE), *_session_columns(live.c)).from_(live)
            .union_all(counted)
            .union_all(Session.select(_kind(ENDED), *_session_columns(ended.c)).from_(ended))
            .union_all(LoginAttempt.select(_kind(ATTEMPT), *_attempt_columns(tried.c))
                       .from_(tried)))


ACTIVITY = CompiledQuery(_activity)


def of(user_id, attempts_shown=ATTEMPTS_SHOWN):
    """Return the account's newest live sessions (most recently active first) and their
    count, its latest ended sessions and its latest attempts."""
    now = clock.now()
    idle_since = now - timedelta(seconds=current_app.config["SESSION_IDLE"])
    lists, live_count = {LIVE: [], ENDED: [], ATTEMPT: []}, 0
    for kind, *values in ACTIVITY.rows(user=user_id, now=now, idle_since=idle_since,
                                       ended_shown=ENDED_SHOWN, attempts_shown=attempts_shown,
                                       live_shown=LIVE_SHOWN):
        row = dict(zip(SHAPE, values, strict=True))
        # The parts select from subqueries, whose columns carry no field types: SQLite
        # gives their times back as text.
        row.update({name: TIME.python_value(row[name]) for name in TIMES})
        if kind == LIVE_COUNT:
            live_count = int(row["attempt_id"])
            continue
        keys, shape = (ATTEMPT_KEYS, AttemptRow) if kind == ATTEMPT else (SESSION_KEYS, SessionRow)
        lists[kind].append(shape(*(row[column] for column in keys.values())))
    # A UNION ALL keeps no order: sort each list as its part was ordered.
    lists[LIVE].sort(key=lambda s: s.last_seen_at, reverse=True)
    lists[ENDED].sort(key=lambda s: s.ended_at, reverse=True)
    lists[ATTEMPT].sort(key=lambda a: (a.at, a.id), reverse=True)
    return Activity(lists[LIVE], lists[ENDED], lists[ATTEMPT], live_count)


def failures_since_previous_success(user_id, session_id, signed_in_at, recent):
    """Count failures against an account since the success before the one that started
    session `session_id` at `signed_in_at`.

    `recent` is the account's latest attempts, newest first (`of`): usually the
    previous success is among them and no query is needed. (An attempt's time is when
    it began, so the success that started the session is older than the session.)
    """
    for index, attempt in enumerate(recent):
        if attempt.outcome == SUCCESS and attempt.session != session_id \
                and attempt.at < signed_in_at:
            return sum(1 for newer in recent[:index] if newer.outcome == FAILURE)
    if len(recent) < ATTEMPTS_SHOWN:  # that was every attempt there is: no earlier success
        return sum(1 for attempt in recent if attempt.outcome == FAILURE)
    previous = (LoginAttempt.select(LoginAttempt.at)
                .where(LoginAttempt.user == user_id, LoginAttempt.outcome == SUCCESS,
                       LoginAttempt.at < signed_in_at,
                       LoginAttempt.session.is_null() | (LoginAttempt.session != session_id))
                .order_by(LoginAttempt.at.desc()).limit(1).scalar())
    failures = LoginAttempt.select().where(LoginAttempt.user == user_id,
                                           LoginAttempt.outcome == FAILURE)
    if previous is not None:
        failures = failures.where(LoginAttempt.at > previous)
    return failures.limit(NOTICE_CAP).count()


def counted_failures(account, counted_on, until, limit):
    """Return LockCauses: the latest failures that counted against one budget of an account
    name (counted_on: attempts.UNKNOWN_CLIENTS or KNOWN_DEVICE), up to `until`,
    newest first.

    By name, as budgets are kept: failures typed before the account existed count too.
    Attempts recorded before 0016 name no budget and are never among them.
    """
    query = (LoginAttempt.select(LoginAttempt.at, LoginAttempt.username, LoginAttempt.reason,
                                 LoginAttempt.ip, LoginAttempt.user_agent)
             .where(LoginAttempt.username_key == account, LoginAttempt.at <= until,
                    LoginAttempt.outcome == FAILURE,
                    LoginAttempt.counted_on == counted_on)
             .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc()).limit(limit))
    return [LockCause(*row) for row in query.tuples()]
