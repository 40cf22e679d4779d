"""Session rows: start, find the active one behind a token, touch, end, list.

A session ends when it is revoked, when PORTAL_SESSION_MAX_AGE has passed since
sign-in, or after PORTAL_SESSION_IDLE without a request. Ended sessions stay in
the table with when and why they ended; they never sign anyone in again.
"""

import uuid
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app

from portal import clock
from portal.accounts import users
from portal.accounts.users import Account
from portal.db import CompiledQuery
from portal.db import arg
from portal.db import database
from portal.models import IP_MAX
from portal.models import USER_AGENT_MAX
from portal.models import Session
from portal.models import User
from portal.models import bounded

# last_seen_at is written at most this often per session, not on every request.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class LiveSession:
    """A session that signs its user in: its id (the tokens' `jti`), times and account."""

    id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user: Account


NEW_SESSION = CompiledQuery(lambda: Session.insert(
    id=arg("id"), user=arg("user"), created_at=arg("now"), last_seen_at=arg("now"),
    expires_at=arg("expires_at"), ip=arg("ip"), user_agent=arg("user_agent"),
    device=arg("device")))


def start(user, ip, user_agent, device=None):
    """Create a new session for the Account (signed in from known-device id `device`)."""
    now = clock.now()
    session = LiveSession(uuid.uuid4().hex, now, now,
                          now + timedelta(seconds=current_app.config["SESSION_MAX_AGE"]), user)
    NEW_SESSION.run(id=session.id, user=user.id, now=now, expires_at=session.expires_at,
                    ip=bounded(ip, IP_MAX), user_agent=bounded(user_agent, USER_AGENT_MAX),
                    device=device)
    return session


SESSION_COLUMNS = [Session.id, Session.created_at, Session.last_seen_at, Session.expires_at]
# Runs on every signed-in request: compiled once (see portal.db.CompiledQuery).
LIVE_SESSION = CompiledQuery(lambda: (
    Session.select(*SESSION_COLUMNS, *users.COLUMNS).join(User)
    .where(Session.id == arg("id"), Session.user == arg("user"), Session.ended_at.is_null())))


def find_active(session_id, user_id):
    """Return the LiveSession behind a token's claims, or None."""
    if user_id is None:
        return None
    rows = LIVE_SESSION.rows(id=session_id, user=user_id)
    if not rows:
        return None
    session = as_session(rows[0])
    now = clock.now()
    # An admin lock ends sessions when it is set; checking here too closes the race
    # with a sign-in that was already past its checks when the lock came.
    reason = "locked" if session.user.admin_lock.holds(now) else ended_by_time(session, now)
    if reason:
        end(session.id, reason)
        return None
    return session


def end_reason(session_id, user_id):
    """Return why a session of this user ended (or "expired" once its maximum age has
    passed), "" while it is live, or None when there is no such session."""
    row = (Session.select(Session.ended_at, Session.end_reason, Session.expires_at)
           .where(Session.id == session_id, Session.user == user_id).tuples().first())
    if row is None:
        return None
    ended_at, reason, expires_at = row
    if ended_at:
        return reason or "ended"
    return "expired" if clock.now() >= expires_at else ""


def as_session(row):
    """Return the LiveSession (and its Account) of a LIVE_SESSION row."""
    split = len(SESSION_COLUMNS)
    return LiveSession(*row[:split], users.from_columns(row[split:]))


def ended_by_time(session, now):
    """Return why the session has run out ('expired' or 'idle'), or None while it is live."""
    if now >= session.expires_at:
        return "expired"
    if now - session.last_seen_at >= timedelta(seconds=current_app.config["SESSION_IDLE"]):
        return "idle"
    return None


def touch(session):
    """Record activity on the session, at most once a minute."""
    now = clock.now()
    if now - session.last_seen_at >= TOUCH_EVERY:
        (Session.update(last_seen_at=now)
         .where(Session.id == session.id, Session.last_seen_at <= now - TOUCH_EVERY)
         .execute())


def end(session_id, reason):
    """End one session now, keeping the row; return True when it was still live."""
    return bool(Session.update(ended_at=clock.now(), end_reason=reason)
                .where(Session.id == session_id, Session.ended_at.is_null())
                .execute())


def end_all_for_user(user_id, reason, keep=None):
    """End every live session of a user (but `keep`); return how many ended."""
    query = Session.update(ended_at=clock.now(), end_reason=reason).where(
        Session.user == user_id, Session.ended_at.is_null())
    if keep is not None:
        query = query.where(Session.id != keep)
    return query.execute()


def end_all_on_device(user_id, device, reason):
    """End every live session of a user that signed in from this known device."""
    return (Session.update(ended_at=clock.now(), end_reason=reason)
            .where(Session.user == user_id, Session.device == device,
                   Session.ended_at.is_null())
            .execute())


def end_own(user_id, session_id, reason):
    """End one session of this user; return False when it is not theirs (or not live)."""
    return bool(Session.update(ended_at=clock.now(), end_reason=reason)
                .where(Session.id == session_id, Session.user == user_id,
                       Session.ended_at.is_null())
                .execute())


def report(user_id, session_id):
    """Flag a session of this user as "not me" and end it; return False when not theirs."""
    now = clock.now()
    with database.atomic():
        flagged = (Session.update(reported_at=now)
                   .where(Session.id == session_id, Session.user == user_id).execute())
        if flagged:
            (Session.update(ended_at=now, end_reason="reported")
             .where(Session.id == session_id, Session.ended_at.is_null()).execute())
    return bool(flagged)


# A session its user reported as not theirs, as the admin's user page lists it.
Reported = namedtuple("Reported", ["id", "created_at", "reported_at", "ip", "user_agent"])


def list_reported(user_id, limit=20):
    """Return the Reported sessions of a user, newest first (for admins)."""
    query = (Session.select(Session.id, Session.created_at, Session.reported_at, Session.ip,
                            Session.user_agent)
             .where(Session.user == user_id, Session.reported_at.is_null(False))
             .order_by(Session.reported_at.desc()).limit(limit))
    return [Reported(*row) for row in query.tuples()]
