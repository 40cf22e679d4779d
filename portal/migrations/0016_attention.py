"""What needs an admin's attention: users listed at scale, an audit log, a reports queue,
and the exact failures behind a lock.

- login_attempts.counted_on names the failure budget an attempt counted against:
  'unknown' (its account's for unknown clients) or 'device' (a known device's); NULL
  when it counted against none, or was recorded before this step (which did not note it).
- sessions.report_resolved_at/_by/_note: an admin resolved a "This wasn't me" report.
- Indexes for the users list's sorts and filters, the audit log's filters and the
  reports queue (the open reports have one of their own: the navigation counts them).
"""

from peewee import CharField
from peewee import DateTimeField

INDEXES = [
    ('"user_last_failure"', '"users" ("last_failure_at", "username")'),
    ('"user_last_failure_desc"', '"users" ("last_failure_at" DESC, "username")'),
    ('"user_last_success"', '"users" ("last_success_at", "username")'),
    ('"user_last_success_desc"', '"users" ("last_success_at" DESC, "username")'),
    ('"user_is_admin_username"', '"users" ("is_admin", "username")'),
    ('"user_locked_at"', '"users" ("locked_at")'),
    ('"failurebudget_failures"', '"failure_budgets" ("failures" DESC, "account")'),
    ('"failurebudget_locked_at"', '"failure_budgets" ("locked_at")'),
    ('"auditevent_at_id"', '"audit_events" ("at", "id")'),
    ('"auditevent_actor_at_id"', '"audit_events" ("actor", "at", "id")'),
    ('"auditevent_action_at_id"', '"audit_events" ("action", "at", "id")'),
    ('"auditevent_target_name_at"', '"audit_events" ("target_name", "at")'),
    ('"auditevent_target_ip_at"', '"audit_events" ("target_ip", "at")'),
    ('"session_reported"', '"sessions" ("reported_at") WHERE ("reported_at" IS NOT NULL)'),
    ('"session_open_report"', '"sessions" ("reported_at") WHERE (("reported_at" IS NOT NULL) '
                              'AND ("report_resolved_at" IS NULL))'),
]


def up(migrator, db):
    """Add the columns, then the indexes."""
    migrator.migrate(
        migrator.add_column("login_attempts", "counted_on", CharField(max_length=8, null=True)),
        migrator.add_column("sessions", "report_resolved_at", DateTimeField(null=True)),
        migrator.add_column("sessions", "report_resolved_by", CharField(max_length=64, null=True)),
        migrator.add_column("sessions", "report_note", CharField(max_length=500, null=True)),
    )
    for name, target in INDEXES:
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def present(db):
    """Return True when attempts name their budget and reports can be resolved."""
    return ("counted_on" in {column.name for column in db.get_columns("login_attempts")}
            and "report_resolved_at" in {column.name for column in db.get_columns("sessions")})
