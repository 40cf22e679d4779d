"""The credential check behind the login form; every call records exactly one attempt.

It runs in three steps so that no row lock is held while argon2 works:
1. reserve (one short transaction): look the account up, refuse a throttled IP or
   a locked account, and otherwise count this attempt as a failure *in advance*, so
   a burst of parallel attempts can never get past the threshold; the attempt's row
   goes in with that count, reading `error` until it is settled;
2. verify the password (a dummy verification for unknown or locked accounts, so
   every failure takes the same time and reads the same);
3. settle (one short transaction): write the attempt's outcome; a success takes the
   advance failure back and resets the budget, a failure that locked the account is
   written to the audit trail (and ends the sessions of a locked known device).

A name that belongs to no account takes the same steps with the same queries
(its budget is keyed by the name), so neither the page nor its timing tells
whether an account exists.
"""

from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from peewee import JOIN

from portal import clock
from portal import db
from portal.accounts import passwords
from portal.accounts import users
from portal.accounts.users import Account
from portal.db import CompiledQuery
from portal.db import arg
from portal.history import attempts
from portal.models import TYPED_USERNAME_MAX
from portal.models import UNKNOWN_DEVICE
from portal.models import FailureBudget
from portal.models import User
from portal.models import bounded
from portal.security import audit
from portal.security import budgets
from portal.security import known_devices
from portal.security import policy
from portal.sessions import store
from portal.sessions.store import LiveSession

PROCEED = "proceed"


@dataclass(frozen=True)
class Outcome:
    """What an attempt came to: the user and new session on success, the reason, Retry-After."""

    user: Account | None
    reason: str
    retry_after: int | None = None
    session: LiveSession | None = None


@dataclass(frozen=True)
class Reservation:
    """What step 1 decided, and the budget and window values step 3 needs."""

    verdict: str
    pending: attempts.Pending
    user: Account | None = None
    device: str = UNKNOWN_DEVICE
    before: policy.Budget | None = None
    after: policy.Budget | None = None
    ip_window: policy.IpWindow | None = None
    retry_after: int | None = None
    review: bool = False  # a lock this failure makes flags the account for review


@dataclass(frozen=True)
class Attempt:
    """Who is being tried, from where: the typed name, its account key and the client."""

    typed: str
    account: str
    client: object
    device_id: str | None
    request_id: str


def account_key(typed):
    """Return the account name a typed username refers to, safe to use in any query."""
    return users.normalize_username(bounded(typed, TYPED_USERNAME_MAX))


def check_credentials(typed_username, password, client, request_id, device_id=None):
    """Sign in under the lockout policy: record the attempt, start a session on success."""
    attempt = Attempt(typed_username, account_key(typed_username), client, device_id,
                      request_id)
    reservation = reserve(attempt, clock.now(), rules_in_force())
    with logged(reservation.pending):
        reason = check(reservation, password)
        session = settle(attempt, reason, reservation)
    return Outcome(session.user if session else None, reason, reservation.retry_after, session)


@contextmanager
def logged(pending):
    """Write the attempt's JSON line when the block ends, however it ends.

    By then its settlement has committed, or failed and left the row reading `error`:
    either way the line says what the history says.
    """
    try:
        yield
    finally:
        pending.log()


def check(reservation, password):
    """Step 2 (password check) of a reservation: return the attempt's reason."""
    if reservation.verdict == PROCEED:
        return verify(reservation.user, password)
    if reservation.verdict == attempts.LOCKED:
        passwords.verify_dummy(password)  # a locked account answers as slowly as any other
        if reservation.user is None:
            return attempts.UNKNOWN_USER
    return reservation.verdict


def reserve(attempt, now, rules):
    """Step 1: refuse a throttled IP or locked account, else count a failure in advance."""
    # Its counts matter once the attempt is settled, whose commit waits for the disk
    # and so makes these durable too: this commit need not wait (one flush of the log
    # per sign-in instead of two).
    with db.transaction(asynchronous_commit=True):
        # Always one lookup of the account, whatever was typed and whatever stops the
        # attempt: unknown names cost what known ones cost.
        window = None
        ip_key = policy.counted_window(attempt.client.ip, rules)
        if ip_key is not None:
            window = budgets.load_window(ip_key)
            if policy.ip_throttled(window, now, rules):
                retry = policy.ip_retry_after(policy.ip_current(window, now, rules), now,
                                              rules)
                user = find_user(attempt.account)
                return Reservation(attempts.THROTTLED, begin(attempt, user, now), user,
                                   retry_after=retry)
            window = policy.ip_after_failure(window, now, rules)
            budgets.save_window(ip_key, window)
        known = known_devices.is_known(attempt.account, attempt.device_id)
        device = attempt.device_id if known else UNKNOWN_DEVICE
        budget, user = budget_and_user_under_row_lock(attempt.account, device)
        before = policy.forget_old(budget, now, rules)
        if (user and user.admin_lock.holds(now)) or policy.is_locked(before, now):
            pending = begin(attempt, user, now)  # counted against no budget
            return Reservation(attempts.LOCKED, pending, user, device=device, ip_window=window)
        pending = begin(attempt, user, now, attempts.KNOWN_DEVICE if device
                        else attempts.UNKNOWN_CLIENTS)
        after = policy.after_failure(before, now, rules)
        budgets.save(attempt.account, device, after)
        return Reservation(PROCEED, pending, user, device, before, after, window,
                           review=policy.needs_review(before, after, rules))


def begin(attempt, user, now, counted_on=None):
    """Record the attempt (as an `error` until settled) with the advance failure.

    At `now`, the time a lock it makes starts. `counted_on` names the budget the
    advance failure counts on (None: none), so the admin's "failures that led to the
    lock" are exactly those the lock counted.
    """
    return attempts.begin(attempt.typed, user, attempt.client, attempt.request_id, now,
                          attempt.device_id, counted_on)


# Every sign-in runs these; they are compiled once (portal.db.CompiledQuery).
USER_BY_NAME = CompiledQuery(
    lambda: User.select(*users.COLUMNS).where(User.username == arg("username")))
NOTE_SUCCESS = CompiledQuery(
    lambda: User.update(last_success_at=arg("at")).where(User.id == arg("id")))
NOTE_FAILURE = CompiledQuery(
    lambda: User.update(last_failure_at=arg("at")).where(User.username == arg("username")))


# The budget whose row lock the statement before took, and the account: one statement,
# run after that row lock with a snapshot of its own, so an unlock (which resets the
# budgets first) that the attempt waited for is seen and any admin lock is as fresh as
# can be. On PostgreSQL the row lock travels in the same message: one round trip for both.
BUDGET_AND_USER = CompiledQuery(lambda: (
    FailureBudget.select(*budgets.BUDGET_COLUMNS, *users.COLUMNS)
    .join(User, JOIN.LEFT_OUTER, on=(User.username == FailureBudget.account))
    .where(FailureBudget.account == arg("account"), FailureBudget.device == arg("device"))))


def find_user(account):
    """Return the Account named `account`, or None."""
    rows = USER_BY_NAME.rows(username=account)
    return users.from_columns(rows[0]) if rows else None


def budget_and_user_under_row_lock(account, device):
    """Take the row lock of (account, device)'s budget; return it and the Account or None."""
    budgets.hold_row(account, device)
    row = BUDGET_AND_USER.rows(account=account, device=device)[0]
    split = len(budgets.BUDGET_COLUMNS)
    return policy.Budget(*row[:split]), users.from_columns(row[split:])


def verify(user, password):
    """Step 2: return the attempt's reason (ok, bad_password or unknown_user)."""
    if user is None:
        passwords.verify_dummy(password)
        return attempts.UNKNOWN_USER
    if not passwords.verify(user.password_hash, password):
        return attempts.BAD_PASSWORD
    rehash_if_needed(user, password)
    return attempts.OK


def settle(attempt, reason, reservation):
    """Step 3: record the attempt, apply it to the budgets; return the new session or None."""
    with db.transaction():
        if reason == attempts.OK:
            session = succeed(attempt, reservation)
        else:
            session = None
            fail(attempt, reservation)
            reservation.pending.finish(reason)
    reservation.pending.settled()
    return session


def succeed(attempt, reservation):
    """Take the advance failure back, forget the budget, remember the device, start a session
    (and record the attempt as a success from that device)."""
    user, now = reservation.user, clock.now()
    take_back(reservation, attempt.client.ip)
    budgets.save(attempt.account, reservation.device, policy.after_success())
    device_id = attempt.device_id or known_devices.ensure_id()
    known_devices.remember(attempt.account, device_id)
    NOTE_SUCCESS.run(id=user.id, at=now)
    session = store.start(user, attempt.client.ip, attempt.client.user_agent, device_id)
    reservation.pending.finish(attempts.OK, session.id, device_id)
    return session


def fail(attempt, reservation):
    """Note the failure on the account; if it locked the account, apply the lock."""
    after = reservation.after
    locked_now = after is not None and policy.just_locked(reservation.before, after)
    if locked_now:
        # A success that settled meanwhile forgets the budget, lock included: then the
        # lock no longer stands, and nobody's sessions should end for it.
        current = budgets.load(attempt.account, reservation.device)
        locked_now = current.locked_at == after.locked_at and current.lockouts == after.lockouts
    NOTE_FAILURE.run(username=attempt.account, at=clock.now())
    if locked_now and reservation.user is not None:
        apply_policy_lock(reservation.user, after, reservation.device, reservation.review)


def take_back(reservation, ip):
    """Undo the failure counted in advance for an IP whose attempt succeeded."""
    if reservation.ip_window is not None:  # None: an allowlisted address counts nothing
        budgets.take_back_window(policy.ip_window_key(ip), reservation.ip_window)


def apply_policy_lock(user, after, device, review):
    """Apply a lock the policy just decided: audit it, end the locked device's sessions.

    A lock of the unknown-clients budget says nothing of sessions that had already
    signed in, so it ends none: otherwise anyone could sign the owner out by guessing
    wrong five times. A known device's lock ends that device's sessions only.
    """
    if device != UNKNOWN_DEVICE:
        store.end_all_on_device(user.id, device, "locked")
    action = audit.POLICY_PERMANENT if after.permanent else audit.POLICY_LOCK
    audit.record(action, user.id, audit.POLICY_ACTOR, reason="device" if device else "account",
                 until=after.locked_until, failures=after.failures)
    if review and flag_for_review(user.id):
        audit.record(audit.REVIEW_FLAG, user.id, audit.POLICY_ACTOR, failures=after.lockouts)


def rules_in_force():
    """Return the lockout policy of the current settings."""
    return policy.Policy.from_config(current_app.config)


def flag_for_review(user_id):
    """Flag an account for an admin's review; return False when it already was."""
    # RETURNING, not the row count: in a pipeline the count is unknown until the sync.
    return bool(list(User.update(review_flagged_at=clock.now())
                     .where(User.id == user_id, User.review_flagged_at.is_null())
                     .returning(User.id).tuples().execute()))


def rehash_if_needed(user, password):
    """Store a new hash when the hashing parameters changed since the last one."""
    if passwords.needs_rehash(user.password_hash):
        users.store_hash(user, passwords.hash_password(password))
