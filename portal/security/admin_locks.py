"""Administrators' actions on an account: lock it on every device, unlock it, end a session."""

from datetime import timedelta

from portal import clock
from portal.db import database
from portal.models import LOCK_REASON_MAX
from portal.models import User
from portal.models import bounded
from portal.security import audit
from portal.security import budgets
from portal.security import guards
from portal.security import lock_states
from portal.sessions import store

DURATIONS = {"": None, "1h": timedelta(hours=1), "1d": timedelta(days=1),
             "7d": timedelta(days=7), "30d": timedelta(days=30)}


def lock(user, reason, duration, actor, actor_ip, actor_id=None, force=False):
    """Lock an account (for `duration`, or until unlocked) and end all its sessions at once.

    Raise guards.Refused for the actor's own account or the last admin (unless `force`).
    """
    now = clock.now()
    until = now + duration if duration else None
    reason = bounded(reason.strip(), LOCK_REASON_MAX)
    with database.atomic():
        guards.check(user, actor_id, force)
        User.update(lock_reason=reason, locked_at=now, locked_until=until, locked_by=actor)\
            .where(User.id == user.id).execute()
        store.end_all_for_user(user.id, "locked")
        audit.record(audit.LOCK, user.id, actor, actor_ip, reason, until)


def unlock(user, actor, actor_ip):
    """Lift an admin lock and every policy lock, forgetting the failures that caused them.

    It also ends the account's review: unlocking is what an admin does after looking.
    Return False, changing nothing and writing no audit event, when there is nothing to
    unlock: no lock in force and no review.
    """
    if not is_locked_or_flagged(user):
        return False
    with database.atomic():  # budgets before the user row: the order of a sign-in's row locks
        budgets.reset_account(user.username)
        User.update(lock_reason=None, locked_at=None, locked_until=None, locked_by=None,
                    review_flagged_at=None).where(User.id == user.id).execute()
        audit.record(audit.UNLOCK, user.id, actor, actor_ip)
    return True


def is_locked_or_flagged(user):
    """Return True when a lock holds on the account (any device) or it awaits review."""
    state = lock_states.state_of(user)
    return state.kind != "open" or bool(state.flagged_at) or lock_states.locked_devices(user) > 0


def revoke_session(user, session_id, actor, actor_ip):
    """End one live session of the user, on the audit trail; return False when none ended."""
    with database.atomic():
        if not store.end_own(user.id, session_id, "revoked_by_admin"):
            return False
        audit.record(audit.REVOKE_SESSION, user.id, actor, actor_ip)
    return True
