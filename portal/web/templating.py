"""Jinja filters and globals: times and durations as people read them, user agents named,
client-sent text with its invisible characters shown."""

from datetime import timedelta

from markupsafe import Markup

from portal import clock
from portal.web import ipaddr
from portal.web.user_agent import describe
from portal.web.visible import visible
from portal.web.visible import visible_text

UNITS = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))


def init_app(app):
    """Register the filters, and `describe` for naming a user agent."""
    # `visible` for element content, `visible_text` for attributes and <title>, where
    # markup would show as text.
    app.jinja_env.filters["visible"] = visible
    app.jinja_env.filters["visible_text"] = visible_text
    app.jinja_env.globals["describe"] = describe
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["ago"] = ago
    app.jinja_env.filters["utc"] = utc
    app.jinja_env.filters["address"] = address


def utc(at):
    """Return a stored (naive UTC) time as a <time> element, UTC in its text and title.

    static/portal.js rewrites the text to the viewer's time zone; the title keeps UTC.
    Every part is a datetime's own formatting (digits, '-', ':', 'T', '.', ' '), so
    there is nothing to escape; this runs for every row of the history.
    """
    shown = f"{at:%Y-%m-%d %H:%M:%S} UTC"
    return Markup(f'<time datetime="{at.isoformat()}Z" title="{shown}">{shown}</time>')


def address(text):
    """Return a client address as people read it (IPv4-mapped IPv6 as IPv4), made visible."""
    return visible(ipaddr.shown(text))


def duration(delta):
    """Return a timedelta (or seconds) as its largest unit or two: '1 h 30 min', '2 d'."""
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    parts = []
    for size, unit in UNITS:
        if seconds >= size and len(parts) < 2:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts) or "0 s"


def ago(at):
    """Return how long ago a (naive UTC) time was: 'just now', '5 min ago', 'in 3 h'."""
    seconds = (clock.now() - at).total_seconds()
    if abs(seconds) < 60:
        return "just now"
    largest = " ".join(duration(timedelta(seconds=abs(seconds))).split(" ")[:2])
    return f"{largest} ago" if seconds > 0 else f"in {largest}"
