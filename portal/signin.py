"""The credential check behind the login form; every call records one attempt."""

from dataclasses import dataclass

from portal import attempts
from portal import passwords
from portal import users
from portal.models import User


@dataclass(frozen=True)
class Outcome:
    """What a sign-in attempt came to: the user on success, and the recorded reason."""

    user: User | None
    reason: str


def normalize_username(typed):
    """Return the account name a typed username refers to (case and edges ignored)."""
    return (typed or "").strip().lower()


def find_user(typed):
    """Return the account a typed username names, or None."""
    name = normalize_username(typed)
    if not users.USERNAME.fullmatch(name):
        return None  # no account can have this name (and NUL would upset PostgreSQL)
    return User.get_or_none(User.username == name)


def check_credentials(typed_username, password, client, request_id):
    """Check a username and password, record the attempt and return its Outcome.

    An unknown username costs one dummy verification, so its response takes as
    long as a wrong password's and reads the same.
    """
    user = find_user(typed_username)
    if user is None:
        passwords.verify_dummy(password)
        reason = attempts.UNKNOWN_USER
    elif passwords.verify(user.password_hash, password):
        reason = attempts.OK
        rehash_if_needed(user, password)
    else:
        reason = attempts.BAD_PASSWORD
    attempts.record(typed_username, user, reason, client, request_id)
    return Outcome(user if reason == attempts.OK else None, reason)


def rehash_if_needed(user, password):
    """Store a new hash when the hashing parameters changed since the last one."""
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        User.update(password_hash=user.password_hash).where(User.id == user.id).execute()
