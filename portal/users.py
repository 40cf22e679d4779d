"""Accounts: create with a checked name and password, list for admins and the CLI."""

import re

from peewee import IntegrityError

from portal import clock
from portal import passwords
from portal.models import USERNAME_MAX
from portal.models import User
from portal.models import database

USERNAME = re.compile(rf"[a-z0-9][a-z0-9._@-]{{0,{USERNAME_MAX - 1}}}")
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
# What a request and a sign-in read of an account, as plain columns (no model query):
# the sign-in's and the session check's prepared statements select these.
COLUMNS = [User.id, User.username, User.password_hash, User.is_admin, User.lock_reason,
           User.locked_at, User.locked_until, User.locked_by]


def from_columns(values):
    """Return the User of COLUMNS values, or None when they are NULLs (no such account)."""
    if values[0] is None:
        return None
    return User(**{column.name: value for column, value in zip(COLUMNS, values, strict=True)})


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


def check_username(username):
    """Raise UserError unless the name is 1-64 of a-z 0-9 . _ @ - (starting alphanumeric)."""
    if not USERNAME.fullmatch(username):
        raise UserError(f"Invalid username {username!r}: use 1-{USERNAME_MAX} characters "
                        "a-z 0-9 . _ @ -, starting with a letter or digit.")


def check_password(password):
    """Raise UserError unless the password has a sensible length."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise UserError(f"The password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long.")


def normalize_username(typed):
    """Return the account name a typed username refers to (case and edges ignored)."""
    return (typed or "").strip().lower()


def by_name(typed):
    """Return the account a typed name refers to, or None."""
    return User.get_or_none(User.username == normalize_username(typed))


def create(username, password, is_admin=False):
    """Create and return a user; raise UserError for a bad or taken name."""
    username = normalize_username(username)
    check_username(username)
    check_password(password)
    try:
        with database.atomic():
            return User.create(username=username, is_admin=is_admin, created_at=clock.now(),
                               password_hash=passwords.hash_password(password))
    except IntegrityError:
        raise UserError(f"A user named {username!r} already exists.") from None


def change_password(user, password):
    """Store a new password for the user."""
    check_password(password)
    User.update(password_hash=passwords.hash_password(password)).where(
        User.id == user.id).execute()


def admin_exists():
    """Return True when at least one admin account exists."""
    return User.select().where(User.is_admin == True).exists()  # noqa: E712 (SQL, not Python)
