"""The audit trail: admin actions and policy locks on user accounts, and IP lifts."""

from collections import namedtuple

from portal import clock
from portal.models import IP_MAX
from portal.models import LOCK_REASON_MAX
from portal.models import AuditEvent
from portal.models import bounded

LOCK, UNLOCK, REVOKE_SESSION = "lock", "unlock", "revoke_session"
POLICY_LOCK, POLICY_PERMANENT = "policy_lock", "policy_permanent"
LIFT_IP = "lift_ip"  # an admin lifted an address's IP throttle (target_ip, no account)
REVIEW_FLAG = "review_flag"  # locked by policy LOCKOUT_MAX_TEMPORARY times in a row
POLICY_ACTOR = "policy"
SET_PASSWORD, TEMPORARY_PASSWORD = "set_password", "temp_password"
ROLE, DELETE = "role", "delete"  # a role change's reason is the new role
RESOLVE_REPORT = "resolve_report"  # an admin resolved a "This wasn't me"; the reason is the note
ACTIONS = (LOCK, UNLOCK, REVOKE_SESSION, POLICY_LOCK, POLICY_PERMANENT, REVIEW_FLAG, LIFT_IP,
           SET_PASSWORD, TEMPORARY_PASSWORD, ROLE, DELETE, RESOLVE_REPORT)


def record(action, target_id, actor, actor_ip=None, reason="", until=None, failures=None,
           target_ip=None):
    """Write one audit event (about an account, or about an address) and return it."""
    return AuditEvent.create(at=clock.now(), action=action, target=target_id, actor=actor,
                             actor_ip=bounded(actor_ip, IP_MAX) if actor_ip else None,
                             reason=bounded(reason, LOCK_REASON_MAX), until=until,
                             failures=failures, target_ip=target_ip)


def name_target(target_id, username):
    """Write the account's name into its events, which outlive it (target becomes NULL)."""
    AuditEvent.update(target_name=username).where(AuditEvent.target == target_id).execute()


# An audit event as the user page lists it: plain values.
Event = namedtuple("Event", ["at", "actor", "actor_ip", "action", "reason", "until", "failures"])


def for_user(user_id, limit=50):
    """Return a user's audit Events, newest first."""
    query = (AuditEvent.select(*(getattr(AuditEvent, name) for name in Event._fields))
             .where(AuditEvent.target == user_id)
             .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
    return [Event(*row) for row in query.tuples()]


# An audit event about an address, as the IP throttles page lists it.
AddressEvent = namedtuple("AddressEvent", ["at", "actor", "actor_ip", "target_ip", "failures"])


def address_events(limit=20):
    """Return the latest IP lifts, newest first."""
    query = (AuditEvent.select(*(getattr(AuditEvent, name) for name in AddressEvent._fields))
             .where(AuditEvent.action == LIFT_IP)
             .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
    return [AddressEvent(*row) for row in query.tuples()]
