"""Drop the single-column foreign-key indexes that a composite index already serves."""

NAMES = ["session_user_id", "loginattempt_user_id", "auditevent_target_id"]


def up(migrator, db):
    """Drop them where they exist."""
    for name in NAMES:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')


def present(db):
    """Return True when none of them is left."""
    existing = {index.name for table in ("sessions", "login_attempts", "audit_events")
                for index in db.get_indexes(table)}
    return not existing & set(NAMES)
