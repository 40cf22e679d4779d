"""The credential check behind the login form; every call records exactly one attempt.

It runs in three steps so that no lock is held while argon2 works:
1. reserve (one short transaction): refuse a throttled IP or a locked account, and
   otherwise count this attempt as a failure *in advance*, so a burst of parallel
   attempts can never get past the threshold;
2. verify the password (a dummy verification for unknown or locked accounts, so
   every failure takes the same time and reads the same);
3. settle (one short transaction): record the attempt; a success takes the
   advance failure back and resets the budget, a failure that locked the account
   ends its sessions and is written to the audit trail.
"""

from dataclasses import dataclass

from flask import current_app

from portal import attempts
from portal import audit
from portal import clock
from portal import counters
from portal import devices
from portal import lockout
from portal import passwords
from portal import sessions
from portal import users
from portal.db import database
from portal.models import UNKNOWN_DEVICE
from portal.models import Session
from portal.models import User

PROCEED = "proceed"


@dataclass(frozen=True)
class Outcome:
    """What an attempt came to: the user and new session on success, the reason, Retry-After."""

    user: User | None
    reason: str
    retry_after: int | None = None
    session: Session | None = None


@dataclass(frozen=True)
class Reservation:
    """What step 1 decided, and the counter values step 3 needs."""

    verdict: str
    device: str = UNKNOWN_DEVICE
    before: lockout.Budget | None = None
    after: lockout.Budget | None = None
    ip_window: lockout.IpWindow | None = None
    retry_after: int | None = None


def normalize_username(typed):
    """Return the account name a typed username refers to (case and edges ignored)."""
    return (typed or "").strip().lower()


def find_user(typed):
    """Return the account a typed username names, or None."""
    name = normalize_username(typed)
    if not users.USERNAME.fullmatch(name):
        return None  # no account can have this name (and NUL would upset PostgreSQL)
    return User.get_or_none(User.username == name)


def check_credentials(typed_username, password, client, request_id, device_id=None):
    """Sign in under the lockout policy: record the attempt, start a session on success."""
    user = find_user(typed_username)
    reservation, reason = check(user, password, client, device_id)
    session = settle(typed_username, user, reason, reservation, client, request_id, device_id)
    return Outcome(session.user if session else None, reason, reservation.retry_after, session)


def confirm_password(user, password, client, request_id, device_id=None):
    """Check a signed-in user's password (to change it); failures count like sign-in ones."""
    reservation, reason = check(user, password, client, device_id)
    if reason == attempts.OK:
        with database.atomic():
            take_back(reservation, client.ip)
            counters.save_budget(user.id, reservation.device, lockout.after_success())
        return True
    settle(user.username, user, reason, reservation, client, request_id, device_id)
    return False


def check(user, password, client, device_id):
    """Steps 1 and 2: return the reservation and the attempt's reason."""
    policy = lockout.Policy.from_config(current_app.config)
    reservation = reserve(user, client.ip, device_id, clock.now(), policy)
    if reservation.verdict == PROCEED:
        return reservation, verify(user, password)
    if reservation.verdict == attempts.LOCKED:
        passwords.verify_dummy(password)  # a locked account answers as slowly as any other
    return reservation, reservation.verdict


def reserve(user, ip, device_id, now, policy):
    """Step 1: refuse a throttled IP or locked account, else count a failure in advance."""
    with database.atomic():
        window = counters.load_ip(ip)
        if lockout.ip_throttled(window, now, policy):
            retry = lockout.ip_retry_after(lockout.ip_current(window, now, policy), now, policy)
            return Reservation(attempts.THROTTLED, retry_after=retry)
        window = lockout.ip_after_failure(window, now, policy)
        counters.save_ip(ip, window)
        if user is None:
            return Reservation(PROCEED, ip_window=window)
        device = device_id if counters.is_known_device(user.id, device_id) else UNKNOWN_DEVICE
        before = lockout.forget_old(counters.load_budget(user.id, device), now, policy)
        admin_lock = lockout.AdminLock.of(User.get_by_id(user.id))
        if admin_lock.holds(now) or lockout.is_locked(before, now):
            return Reservation(attempts.LOCKED, device=device, ip_window=window)
        after = lockout.after_failure(before, now, policy)
        counters.save_budget(user.id, device, after)
        return Reservation(PROCEED, device, before, after, window)


def verify(user, password):
    """Step 2: return the attempt's reason (ok, bad_password or unknown_user)."""
    if user is None:
        passwords.verify_dummy(password)
        return attempts.UNKNOWN_USER
    if not passwords.verify(user.password_hash, password):
        return attempts.BAD_PASSWORD
    rehash_if_needed(user, password)
    return attempts.OK


def settle(typed_username, user, reason, reservation, client, request_id, device_id):
    """Step 3: record the attempt, apply it to the counters; return the new session or None."""
    now, session = clock.now(), None
    with database.atomic():
        if reason == attempts.OK:
            take_back(reservation, client.ip)
            counters.save_budget(user.id, reservation.device, lockout.after_success())
            counters.remember_device(user.id, device_id or devices.ensure_id())
            User.update(last_success_at=now).where(User.id == user.id).execute()
            session = sessions.start(user, client.ip, client.user_agent)
        elif user is not None:
            User.update(last_failure_at=now).where(User.id == user.id).execute()
            if reservation.after and lockout.just_locked(reservation.before, reservation.after):
                apply_policy_lock(user, reservation.after, reservation.device)
        attempts.record(typed_username, user, reason, client, request_id,
                        session.id if session else None)
    return session


def take_back(reservation, ip):
    """Undo the failure counted in advance for an IP whose attempt succeeded."""
    window = counters.load_ip(ip)
    counters.save_ip(ip, lockout.ip_after_success(window, reservation.ip_window))


def apply_policy_lock(user, budget, device):
    """End the user's sessions and write the lock the policy just applied to the audit trail."""
    sessions.end_all_for_user(user.id, "locked")
    action = audit.POLICY_PERMANENT if budget.permanent else audit.POLICY_LOCK
    audit.record(action, user.id, audit.POLICY_ACTOR, reason="device" if device else "account",
                 until=budget.locked_until, failures=budget.failures)


def rehash_if_needed(user, password):
    """Store a new hash when the hashing parameters changed since the last one."""
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        User.update(password_hash=user.password_hash).where(User.id == user.id).execute()
