"""Accounts: create with a checked name and password, find by name, change the password.

Every new password passes `check_password`, the one place the password rule lives;
sign-in never applies it, so passwords set under an older rule keep working.

An account is read as an `Account`, a frozen value: the columns a request and a sign-in
need, with the admin lock stored on the row. Nothing writes through it.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from peewee import IntegrityError

from portal import clock
from portal.accounts import blocklist
from portal.accounts import passwords
from portal.db import database
from portal.models import TYPED_USERNAME_MAX
from portal.models import USERNAME_MAX
from portal.models import User

USERNAME = re.compile(rf"[a-z0-9][a-z0-9._@-]{{0,{USERNAME_MAX - 1}}}")
PASSWORD_MAX = 1024
PRODUCT_NAME = "portal"
# A shorter name is too likely to occur by chance in a long passphrase ("al", "bob").
NAME_MATCH_MIN = 4
# No 0/o, 1/l/i: a temporary password is read off a screen and typed by someone else.
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True)
class AdminLock:
    """An administrator's lock on an account, as stored on the user row."""

    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    by: str | None = None

    def holds(self, now):
        """Return True while the lock is in force."""
        return self.reason is not None and (self.until is None or now < self.until)


@dataclass(frozen=True)
class Account:
    """What a request and a sign-in read of a user: who it is and its admin lock."""

    id: int
    username: str
    password_hash: str
    is_admin: bool
    admin_lock: AdminLock
    must_change_password: bool = False


# The columns of an Account, in order: prepared statements elsewhere select them too.
COLUMNS = [User.id, User.username, User.password_hash, User.is_admin, User.lock_reason,
           User.locked_at, User.locked_until, User.locked_by, User.must_change_password]


def from_columns(values):
    """Return the Account of COLUMNS values, or None when they are NULLs (no such account)."""
    if values[0] is None:
        return None
    return Account(*values[:4], AdminLock(*values[4:8]), bool(values[8]))


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


def check_username(username):
    """Raise UserError unless the name is 1-64 of a-z 0-9 . _ @ - (starting alphanumeric)."""
    if not USERNAME.fullmatch(username):
        raise UserError(f"Invalid username {username!r}: use 1-{USERNAME_MAX} characters "
                        "a-z 0-9 . _ @ -, starting with a letter or digit.")


class PasswordError(UserError):
    """A new password breaks the rule; `code` names which part, for a template to word."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def password_problem(password, username, min_length):
    """Return why a new password is refused ("length", "common", "contains_name"), or None.

    Length counts code points as typed, with no composition rules (NIST SP 800-63B-4).
    """
    if not min_length <= len(password) <= PASSWORD_MAX:
        return "length"
    if blocklist.is_common(password):
        return "common"
    typed = blocklist.comparable(password)
    if any(name in typed for name in context_names(username)):
        return "contains_name"
    return None


def context_names(username):
    """Return what a password must not contain: the product, the username and its local part."""
    names = {PRODUCT_NAME, username, username.partition("@")[0]}
    return [name for name in names if len(name) >= NAME_MATCH_MIN]


PASSWORD_MESSAGES = {
    "length": "The password must be {min} to {max} characters long.",
    "common": "That password is on a list of common and breached passwords: choose another.",
    "contains_name": f"The password must not contain the username or {PRODUCT_NAME!r}.",
}


def check_password(password, username):
    """Raise PasswordError unless the password may be set for the (normalised) username."""
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    code = password_problem(password, username, min_length)
    if code is not None:
        raise PasswordError(code, PASSWORD_MESSAGES[code].format(min=min_length,
                                                                 max=PASSWORD_MAX))


def normalize_username(typed):
    """Return the account name a typed username refers to (case and edges ignored).

    Cut to the column's length after lowering: some letters grow ("İ" is two
    characters in lower case), and the key must fit where the typed name fits.
    """
    return (typed or "").strip().lower()[:TYPED_USERNAME_MAX]


def by_name(typed):
    """Return the Account a typed name refers to, or None."""
    row = (User.select(*COLUMNS).where(User.username == normalize_username(typed))
           .tuples().first())
    return from_columns(row) if row else None


def create(username, password, is_admin=False):
    """Create and return an Account; raise UserError for a bad or taken name."""
    username = normalize_username(username)
    check_username(username)
    check_password(password, username)
    try:
        with database.atomic():
            user = User.create(username=username, is_admin=is_admin, created_at=clock.now(),
                               password_hash=passwords.hash_password(password))
    except IntegrityError:
        raise UserError(f"A user named {username!r} already exists.") from None
    return Account(user.id, user.username, user.password_hash, user.is_admin, AdminLock())


def change_password(account, password):
    """Store a new password for the account; raise PasswordError when the rule refuses it."""
    store_password(account, checked_hash(account, password))


def checked_hash(account, password):
    """Return the hash of a new password for the account, once the rule has allowed it."""
    check_password(password, account.username)
    return passwords.hash_password(password)


def store_hash(account, password_hash):
    """Replace the account's hash, unchecked: for a rehash at sign-in, not a new password."""
    User.update(password_hash=password_hash).where(User.id == account.id).execute()


def store_password(account, password_hash, temporary=False):
    """Replace the account's password; the next sign-in must change a temporary one."""
    User.update(password_hash=password_hash, must_change_password=temporary)\
        .where(User.id == account.id).execute()


def by_id(user_id):
    """Return the Account with this id, or None."""
    row = User.select(*COLUMNS).where(User.id == user_id).tuples().first()
    return from_columns(row) if row else None


def temporary_password(username):
    """Return a random password the rule allows: groups of 5, at least 4 (about 99 bits)."""
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    groups = max(4, -(-(min_length + 1) // 6))  # "xxxxx-" per group, the last one without
    while True:
        password = "-".join("".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(5))
                            for _ in range(groups))
        if password_problem(password, username, min_length) is None:
            return password


def admin_exists():
    """Return True when at least one admin account exists."""
    return User.select().where(User.is_admin == True).exists()  # noqa: E712 (SQL, not Python)
