"""Independent keys derived from the master secret (HKDF-SHA256, one label per use).

A leak of one derived key (say, the Flask session key) reveals nothing about the
others or about the master secret.
"""

import secrets

import click
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal import config

# CLI commands that serve requests, and so sign cookies that must outlive the process.
SERVING_COMMANDS = {"run"}

LABELS = {
    "SECRET_KEY": b"portal/flask-session",
    "WTF_CSRF_SECRET_KEY": b"portal/csrf",
    "JWT_KEY": b"portal/jwt-hs256",
    "JWT_KID": b"portal/jwt-key-id",
    "DEVICE_KEY": b"portal/device-cookie",
}


def derive(master, label, length=32):
    """Return `length` bytes derived from the master secret for one labelled use."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label)
    return hkdf.derive(master.encode())


def key_id(master):
    """Return a short public name for a master secret's JWT key (the token's `kid`)."""
    return derive(master, LABELS["JWT_KID"], 8).hex()


def install(app):
    """Replace the master secret in app.config by the derived keys; refuse a missing one.

    With SECRET_KEY_PREVIOUS, every key derived from it still verifies (and none signs):
    JWTs by their `kid`, the Flask session through Flask's SECRET_KEY_FALLBACKS, CSRF
    tokens and device cookies through itsdangerous key lists (the newest, last, signs).
    So a rotation signs nobody out, drops no form and forgets no device.
    """
    master = app.config.get("SECRET_KEY") or throwaway_secret_for_cli(app)
    config.check_secret("SECRET_KEY", master)
    masters = [master]
    previous = app.config.get("SECRET_KEY_PREVIOUS")
    if previous:
        config.check_secret("SECRET_KEY_PREVIOUS", previous)
        masters.insert(0, previous)

    def oldest_to_newest(use):
        return [derive(secret, LABELS[use]) for secret in masters]

    app.config.update(
        SECRET_KEY=derive(master, LABELS["SECRET_KEY"]),
        SECRET_KEY_FALLBACKS=oldest_to_newest("SECRET_KEY")[:-1],
        WTF_CSRF_SECRET_KEY=oldest_to_newest("WTF_CSRF_SECRET_KEY"),
        DEVICE_KEY=oldest_to_newest("DEVICE_KEY"),
        JWT_KID=key_id(master),
        JWT_KEYRING={key_id(secret): derive(secret, LABELS["JWT_KEY"]) for secret in masters},
        SECRET_KEY_PREVIOUS=None,
    )


def throwaway_secret_for_cli(app):
    """Return a random secret for `flask --app portal ...` commands, or refuse to start.

    The CLI commands sign nothing that outlives the process, so they need no
    configured secret; a served app (gunicorn, `python run.py`) always does.
    """
    context = click.get_current_context(silent=True)
    if context is None or context.info_name in SERVING_COMMANDS:
        raise config.ConfigError(
            "PORTAL_SECRET_KEY is not set. The portal signs its cookies with it and will not "
            "start without one: set it to 32 or more random bytes, e.g. "
            'python -c "import secrets; print(secrets.token_urlsafe(48))". '
            "(`python run.py` generates one into the instance folder for development.)"
        )
    app.logger.debug("PORTAL_SECRET_KEY unset: the CLI uses a throwaway key.")
    return secrets.token_urlsafe(48)
