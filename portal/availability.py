"""Can the database serve? The errors that mean it cannot, their causes, the health check."""

from peewee import EXCLUDED
from peewee import InterfaceError
from peewee import InternalError
from peewee import OperationalError
from playhouse.pool import MaxConnectionsExceeded

from portal import clock
from portal import postgres
from portal.db import database
from portal.models import HealthCheck
from portal.postgres import answer_within

# The errors that may mean "the database cannot serve now" (503); unavailable_cause()
# tells them from the schema errors that SQLite raises under the same class (500).
# PostgreSQL reports a read-only server as an InternalError: only that one is a 503.
UNAVAILABLE = (OperationalError, InterfaceError, InternalError, MaxConnectionsExceeded)
SCHEMA_ERRORS = ("no such table", "no such column", "has no column named", "syntax error")
CAUSES = [("full", "disk full"), ("no space", "disk full"), ("disk i/o", "disk error"),
          ("readonly", "read-only"), ("read-only", "read-only"),
          ("did not answer", "not answering"), ("timeout expired", "not answering"),
          ("database is locked", "busy past its timeout"),
          ("canceling statement", "busy past its timeout"), ("deadlock", "busy (deadlock)"),
          ("too many clients", "out of connections")]
HEALTH_CHECK_WAIT = 1.5  # seconds for each answer: /healthz fails within about 2 s


def unavailable_cause(error):
    """Return why the database could not serve, in a few words, or None for a schema error."""
    if isinstance(error, MaxConnectionsExceeded):
        return "every pooled connection is busy"
    text = str(error).lower()
    if any(marker in text for marker in SCHEMA_ERRORS):
        return None
    refused = postgres.refused_cause(error)
    cause = f"refuses us: {refused}" if refused else next(
        (cause for marker, cause in CAUSES if marker in text), None)
    if isinstance(error, InternalError):
        return cause if cause == "read-only" else None  # otherwise the code's own fault
    return cause or "unreachable"


def check():
    """Return None when the database answers and takes a write, else the cause in a few words.

    The write is real (one row, rewritten in place): a read-only server and a full disk
    answer reads but not writes.
    """
    try:
        with answer_within(HEALTH_CHECK_WAIT), database.atomic():
            (HealthCheck.insert(id=1, checked_at=clock.now())
             .on_conflict(conflict_target=[HealthCheck.id],
                          update={HealthCheck.checked_at: EXCLUDED.checked_at}).execute())
    except UNAVAILABLE as error:
        return unavailable_cause(error) or "schema out of date"
    return None
