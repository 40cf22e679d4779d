"""The one source of "now", so tests can move time instead of waiting for it."""

from datetime import UTC
from datetime import datetime


def now():
    """Return the current time as a naive UTC datetime (how the tables store time)."""
    return datetime.now(UTC).replace(tzinfo=None)
