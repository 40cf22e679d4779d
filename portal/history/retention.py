"""Retention: delete old attempts in small batches, keeping daily summaries of them.

The hourly counts (history.counts) lose what each batch deletes, in its transaction:
they always count the attempts that remain, the daily summaries the ones deleted.

Each batch is its own short transaction, so sign-ins (which need the write lock
on SQLite, and the budgets' row locks on PostgreSQL) never wait long behind it.
"""

from collections import Counter
from datetime import timedelta

from flask import current_app
from peewee import EXCLUDED

from portal import clock
from portal.db import database
from portal.history import counts
from portal.history import partitions
from portal.models import DailySummary
from portal.models import LoginAttempt
from portal.models import Session

BATCH = 5000


def prune(older_than_days, batch_size=BATCH):
    """Delete attempts and ended sessions older than the cutoff; return what was deleted."""
    cutoff = clock.now() - timedelta(days=older_than_days)
    dropped = []
    if current_app.config["ATTEMPT_PARTITIONS"]:
        dropped = partitions.drop_months_before(cutoff)
        partitions.ensure_months(back=0)
    attempts, batches = 0, 0
    while deleted := prune_batch(cutoff, batch_size):
        attempts += deleted
        batches += 1
    with database.atomic():
        # Sessions that ran out unseen were never marked ended: their expiry says it.
        sessions = Session.delete().where((Session.ended_at < cutoff) | (
            Session.ended_at.is_null() & (Session.expires_at < cutoff))).execute()
    return {"attempts": attempts, "batches": batches, "sessions": sessions,
            "partitions": dropped}


def prune_batch(cutoff, batch_size):
    """Summarise and delete the oldest batch of attempts before the cutoff; return its size."""
    with database.atomic():
        rows = list(LoginAttempt
                    .select(LoginAttempt.id, LoginAttempt.at, LoginAttempt.username_key,
                            LoginAttempt.ip_key, LoginAttempt.reason)
                    .where(LoginAttempt.at < cutoff)
                    .order_by(LoginAttempt.at, LoginAttempt.id).limit(batch_size).tuples())
        if not rows:
            return 0
        add_to_summaries(rows)
        counts.uncount(rows)
        LoginAttempt.delete().where(LoginAttempt.id.in_([row[0] for row in rows])).execute()
    return len(rows)


def add_to_summaries(rows):
    """Add (id, at, username_key, ip_key, reason) rows to the daily counts: all, user, IP.

    IPs are counted by their key (portal.web.ipaddr), so any spelling of an address finds them.
    """
    counts = Counter()
    for _, at, username_key, ip_key, reason in rows:
        day = at.date()
        counts[(day, "all", "", reason)] += 1
        counts[(day, "user", username_key, reason)] += 1
        counts[(day, "ip", ip_key, reason)] += 1
    summary = [{"day": day, "kind": kind, "key": key, "reason": reason, "count": count}
               for (day, kind, key, reason), count in counts.items()]
    for start in range(0, len(summary), 500):
        (DailySummary.insert_many(summary[start:start + 500])
         .on_conflict(conflict_target=[DailySummary.day, DailySummary.kind, DailySummary.key,
                                       DailySummary.reason],
                      update={DailySummary.count: DailySummary.count + EXCLUDED.count})
         .execute())


def totals(kind="all", key=""):
    """Return {reason: count} kept in the summaries for a scope (for reports and tests)."""
    query = (DailySummary.select(DailySummary.reason, DailySummary.count)
             .where(DailySummary.kind == kind, DailySummary.key == key))
    found = Counter()
    for reason, count in query.tuples():
        found[reason] += count
    return dict(found)
