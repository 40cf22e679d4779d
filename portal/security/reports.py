"""The reports queue: sessions their owners said were not theirs ("This wasn't me"),
newest first, each resolved by an admin with a note on the audit trail.

A report is a session's reported_at; an admin's resolution is its report_resolved_*
columns. The open ones have an index of their own (0016), so the admins' navigation
counts them on every page without reading the sessions table.
"""

from collections import namedtuple

from peewee import Tuple

from portal import clock
from portal.db import database
from portal.history import paging
from portal.models import LOCK_REASON_MAX
from portal.models import Session
from portal.models import User
from portal.models import bounded
from portal.security import audit

PAGE_SIZE = 50
STATUSES = ("open", "resolved", "all")
SESSION_ID = r"[0-9a-f]{32}"

# A report as the queue lists it: plain values.
Report = namedtuple("Report", ["id", "reported_at", "created_at", "ip", "user_agent",
                               "username", "resolved_at", "resolved_by", "note"])


def open_reports():
    """Return the condition of a report that no admin has resolved (the partial index's)."""
    return Session.reported_at.is_null(False) & Session.report_resolved_at.is_null()


def open_count():
    """Return how many reports are open (the admins' navigation shows it)."""
    return Session.select().where(open_reports()).count()


class BadCursor(ValueError):
    """A page link the queue cannot read."""


def make_cursor(report):
    """Return the cursor that continues the queue after this Report (history.paging's form)."""
    return paging.encode(report.reported_at, report.id)


def parse_cursor(text):
    """Return (reported_at, id) of a cursor, or raise BadCursor."""
    try:
        return paging.decode(text, "before", SESSION_ID)
    except paging.BadFilter:
        raise BadCursor(text) from None


def queue(status="open", before=None, limit=PAGE_SIZE):
    """Return (Reports newest first, the cursor of the next page or None).

    `before` is a cursor (make_cursor); raise BadCursor when it is not one.
    """
    query = (Session.select(Session.id, Session.reported_at, Session.created_at, Session.ip,
                            Session.user_agent, User.username, Session.report_resolved_at,
                            Session.report_resolved_by, Session.report_note)
             .join(User).where(Session.reported_at.is_null(False)))
    if status == "open":
        query = query.where(Session.report_resolved_at.is_null())
    elif status == "resolved":
        query = query.where(Session.report_resolved_at.is_null(False))
    if before:
        query = query.where(Tuple(Session.reported_at, Session.id) < Tuple(*parse_cursor(before)))
    rows = [Report(*row) for row in query.order_by(Session.reported_at.desc(),
                                                   Session.id.desc()).limit(limit + 1).tuples()]
    return rows[:limit], make_cursor(rows[limit - 1]) if len(rows) > limit else None


def resolve(session_id, note, actor, actor_ip):
    """Resolve one open report with a note, on the owner's audit trail; return the owner's
    name, or None when there is no such open report."""
    note = bounded(note.strip(), LOCK_REASON_MAX)
    with database.atomic():
        owner = (User.select(User.id, User.username).join(Session)
                 .where(Session.id == session_id, open_reports()).tuples().first())
        # Checked again by the update: of two admins resolving at once, one does it.
        if owner is None or not Session.update(
                report_resolved_at=clock.now(), report_resolved_by=actor, report_note=note,
        ).where(Session.id == session_id, open_reports()).execute():
            return None
        audit.record(audit.RESOLVE_REPORT, owner[0], actor, actor_ip, note)
    return owner[1]
