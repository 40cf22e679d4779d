"""The global audit log: every admin and policy action, filtered, in keyset pages, as CSV.

Filters map onto audit_events' (column, at, id) indexes (0016), and pages continue
from an (at, id) cursor as the login history's do (history.paging's cursor format).
"""

import ipaddress
from collections import namedtuple
from dataclasses import dataclass

from peewee import JOIN
from peewee import Tuple

from portal.accounts import users
from portal.history import export
from portal.history import paging
from portal.history import queries
from portal.history.queries import BadFilter
from portal.models import AuditEvent
from portal.models import User
from portal.security import audit
from portal.security import policy
from portal.web.query_args import TypedFilters

PAGE_SIZE = 50
EXPORT_BATCH = 2000
NAME_MAX = 150

# An event as the log lists it: `target` names what it is about (the account, by the name
# kept once it is deleted, or the address); `account` is the account's name while it exists.
Entry = namedtuple("Entry", ["id", "at", "actor", "actor_ip", "action", "target", "reason",
                             "until", "failures", "target_ip", "account"])
CSV_COLUMNS = ["time_utc", "actor", "actor_ip", "action", "target", "details", "until_utc",
               "failures"]


@dataclass(frozen=True)
class Filters(TypedFilters):
    """The audit log's filters as typed (strings), to show back in the form."""

    actor: str = ""
    target: str = ""
    action: str = ""
    since: str = ""
    until: str = ""


def conditions(filters):
    """Return the WHERE conditions of the filters; raise BadFilter for the first bad one."""
    found = []
    if filters.actor:
        if len(filters.actor) > NAME_MAX:
            raise BadFilter("actor")
        found.append(AuditEvent.actor == users.normalize_username(filters.actor))
    if filters.target:
        found.append(target_condition(filters.target))
    if filters.action:
        queries.choice("action", filters.action, audit.ACTIONS)
        found.append(AuditEvent.action == filters.action)
    if filters.since:
        found.append(AuditEvent.at >= queries.parse_time("since", filters.since))
    if filters.until:
        found.append(AuditEvent.at < queries.parse_time("until", filters.until, end_of_day=True))
    return found


def target_condition(text):
    """Match the events about an address or network, or about an account by name: the
    account of that name now, and any deleted one that had it."""
    if len(text) > NAME_MAX:
        raise BadFilter("target")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return account_condition(users.normalize_username(text))
    # Events name an address as its IP window does (policy.ip_window_key): an IPv6
    # address by its /64.
    keys = {str(network)} if "/" in text else {str(network), policy.ip_window_key(text)}
    return AuditEvent.target_ip.in_(sorted(keys))


def account_condition(name):
    """Match the events about the account of this name and about deleted ones that had it.

    Each is one index, read in time order; both at once (an OR) only when both exist,
    since the planner then collects and sorts them all.
    """
    current = User.select(User.id).where(User.username == name).scalar()
    deleted = AuditEvent.select().where(AuditEvent.target_name == name).exists()
    if current is not None and deleted:
        return (AuditEvent.target == current) | (AuditEvent.target_name == name)
    if current is not None:
        return AuditEvent.target == current
    return AuditEvent.target_name == name


def matching(filters, before=None):
    """Return the query of the events matching the filters, newest first."""
    query = (AuditEvent.select(AuditEvent.id, AuditEvent.at, AuditEvent.actor,
                               AuditEvent.actor_ip, AuditEvent.action,
                               AuditEvent.target_name, AuditEvent.reason,
                               AuditEvent.until, AuditEvent.failures, AuditEvent.target_ip,
                               User.username)
             .join(User, JOIN.LEFT_OUTER, on=(AuditEvent.target == User.id)))
    for condition in conditions(filters):
        query = query.where(condition)
    if before:
        query = query.where(Tuple(AuditEvent.at, AuditEvent.id) <
                            Tuple(*paging.parse_cursor(before, "before")))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def as_entry(row):
    """Return the Entry of a matching() row: the target named however the event names it."""
    entry = Entry(*row)
    return entry._replace(target=entry.account or entry.target or entry.target_ip)


def page(filters, before=None, limit=PAGE_SIZE):
    """Return (Entries, cursor of the next page or None); raise BadFilter."""
    rows = [as_entry(row) for row in matching(filters, before).limit(limit + 1).tuples()]
    return rows[:limit], paging.make_cursor(rows[limit - 1]) if len(rows) > limit else None


def all_entries(filters):
    """Yield every matching Entry, newest first, in keyset batches (constant memory)."""
    before = None
    while True:
        rows, before = page(filters, before, EXPORT_BATCH)
        yield from rows
        if before is None:
            return


def csv_cells(entry):
    """Return one entry's CSV cells in CSV_COLUMNS order (times in UTC, ISO 8601)."""
    return [entry.at.isoformat() + "Z", entry.actor, entry.actor_ip or "", entry.action,
            entry.target or "", entry.reason, entry.until.isoformat() + "Z" if entry.until
            else "", "" if entry.failures is None else str(entry.failures)]


def csv_chunks(filters):
    """Yield the CSV of the matching events, header first (cells made safe by export)."""
    return export.csv_chunks(all_entries(filters), CSV_COLUMNS, csv_cells)
