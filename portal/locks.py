"""Administrators' locks: lock and unlock accounts, and explain each account's lock state."""

from datetime import timedelta

from flask import current_app

from portal import audit
from portal import clock
from portal import counters
from portal import lockout
from portal import sessions
from portal import users
from portal.db import database
from portal.models import LOCK_REASON_MAX
from portal.models import User
from portal.models import bounded

DURATIONS = {"": None, "1h": timedelta(hours=1), "1d": timedelta(days=1),
             "7d": timedelta(days=7), "30d": timedelta(days=30)}
LIST_LIMIT = 200


def lock(user, reason, duration, actor, actor_ip):
    """Lock an account (for `duration`, or until unlocked) and end all its sessions at once."""
    now = clock.now()
    until = now + duration if duration else None
    reason = bounded(reason.strip(), LOCK_REASON_MAX)
    with database.atomic():
        User.update(lock_reason=reason, locked_at=now, locked_until=until, locked_by=actor)\
            .where(User.id == user.id).execute()
        sessions.end_all_for_user(user.id, "locked")
        audit.record(audit.LOCK, user.id, actor, actor_ip, reason, until)


def unlock(user, actor, actor_ip):
    """Lift an admin lock and every policy lock, forgetting the failures that caused them."""
    with database.atomic():  # budgets before the user row: the order sign-ins lock them in
        counters.reset_account(user.username)
        User.update(lock_reason=None, locked_at=None, locked_until=None, locked_by=None)\
            .where(User.id == user.id).execute()
        audit.record(audit.UNLOCK, user.id, actor, actor_ip)


def state_of(user):
    """Return the LockState of one account (its budget for unknown clients)."""
    budgets = counters.account_budgets([user.username])
    return lockout.explain(lockout.AdminLock.of(user), budgets.get(user.username, lockout.Budget()),
                           clock.now(), lockout.Policy.from_config(current_app.config))


def _user_rows():
    """Select what the users list shows of each user."""
    return User.select(User.id, User.username, User.is_admin, User.created_at, User.lock_reason,
                       User.locked_at,
                       User.locked_until, User.locked_by, User.last_success_at,
                       User.last_failure_at)


def overview(search="", limit=LIST_LIMIT):
    """Return users matching `search` (at most `limit`; None: all) with their LockState."""
    query = _user_rows().order_by(User.username).limit(limit)
    if search:
        query = query.where(User.username.contains(users.normalize_username(search)))
    return with_states(list(query.dicts()))


def row_for(user_id):
    """Return one user's overview row."""
    return with_states([_user_rows().where(User.id == user_id).dicts().get()])[0]


def with_states(rows):
    """Attach each user's LockState to its row (one query for all budgets)."""
    budgets = counters.account_budgets(row["username"] for row in rows)
    now, policy = clock.now(), lockout.Policy.from_config(current_app.config)
    for row in rows:
        budget = budgets.get(row["username"], lockout.Budget())
        row["state"] = lockout.explain(lockout.AdminLock.of(row), budget, now, policy)
    return rows


def locked_devices(user):
    """Return how many known devices of the user are locked by the policy right now."""
    now = clock.now()
    return sum(1 for budget in counters.device_budgets(user.username)
               if lockout.is_locked(budget, now))
