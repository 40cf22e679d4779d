"""Password hashing with argon2id (argon2-cffi), parameters from the settings."""

import secrets

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app

EXTENSION = "portal.passwords"


class Passwords:
    """An argon2id hasher plus a dummy hash with the same cost, for unknown users."""

    def __init__(self, memory_cost, time_cost, parallelism):
        self.hasher = PasswordHasher(memory_cost=memory_cost, time_cost=time_cost,
                                     parallelism=parallelism, type=Type.ID)
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))


def init_app(app):
    """Build the hasher from PORTAL_PASSWORD_* settings."""
    app.extensions[EXTENSION] = Passwords(app.config["PASSWORD_MEMORY_COST"],
                                          app.config["PASSWORD_TIME_COST"],
                                          app.config["PASSWORD_PARALLELISM"])


def _passwords():
    return current_app.extensions[EXTENSION]


def hash_password(password):
    """Return an argon2id hash of the password."""
    return _passwords().hasher.hash(password)


def verify(password_hash, password):
    """Return True when the password matches the hash; never raise on a bad hash."""
    try:
        return _passwords().hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_dummy(password):
    """Spend the same time as a real check, for a username that does not exist."""
    verify(_passwords().dummy_hash, password)
    return False


def needs_rehash(password_hash):
    """Return True when the hash was made with other parameters than the current ones."""
    try:
        return _passwords().hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
