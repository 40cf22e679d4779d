"""Attempts carry their user agent's names (browser, OS, device family), parsed on write.

The history and its CSV export show them for every row; parsing each row's user agent
on read cost the export most of its speed once the agents were many. Existing attempts
get them here, in batches by id, with the naming rule of this release (frozen below).
"""

import functools

from peewee import CharField
from ua_parser import parse

BATCH = 5000
NAME_MAX = 64
COLUMNS = ("browser", "os", "device_family")
atomic = False  # playhouse.migrations: up() makes its own transactions, one per batch


@functools.lru_cache(maxsize=65536)  # ua-parser's own cache keeps only 2,000 strings
def names(user_agent):
    """Return (browser, os, device family) of a user agent: "Unknown" where none is named."""
    parsed = parse(user_agent or "").with_defaults()
    return tuple(("Unknown" if part.family == "Other" else part.family)[:NAME_MAX]
                 for part in (parsed.user_agent, parsed.os, parsed.device))


def up(migrator, db):
    """Add the three columns and fill them for the attempts already recorded, batch by batch.

    Each batch commits on its own, so sign-ins wait for one batch at most, never for the
    whole fill; a fill cut short resumes where it stopped when init-db runs again.
    """
    existing = {column.name for column in db.get_columns("login_attempts")}
    missing = [column for column in COLUMNS if column not in existing]
    if missing:
        with db.atomic():
            migrator.migrate(*(migrator.add_column("login_attempts", column,
                                                   CharField(max_length=NAME_MAX, null=True))
                               for column in missing))
    last = 0
    while last is not None:
        with db.atomic():
            last = fill_batch(db, last)


def fill_batch(db, after):
    """Name the next BATCH unnamed attempts after id `after`; return the last id, or None."""
    mark = db.param
    rows = db.execute_sql(
        f'SELECT id, user_agent FROM "login_attempts" WHERE id > {mark} AND browser IS NULL '
        f"ORDER BY id LIMIT {BATCH}", (after,)).fetchall()
    if not rows:
        return None
    by_names = {}
    for attempt_id, user_agent in rows:
        by_names.setdefault(names(user_agent), []).append(attempt_id)
    for (browser, os, family), ids in by_names.items():
        db.execute_sql(f'UPDATE "login_attempts" SET browser = {mark}, os = {mark}, '
                       f'device_family = {mark} WHERE id IN ({", ".join(map(str, ids))})',
                       (browser, os, family))
    return rows[-1][0]


def present(db):
    """Return True when attempts carry their user agent's names."""
    return "browser" in {column.name for column in db.get_columns("login_attempts")}
