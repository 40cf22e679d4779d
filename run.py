"""Run the portal for development on the embedded SQLite default: `python run.py`.

On first start it creates the instance folder, a persistent secret key in it,
the schema, and (when no admin exists) an `admin` account whose random password
is printed once. Production runs under gunicorn instead (see the README).
"""

import argparse
import os
import secrets
from pathlib import Path

INSTANCE = Path(__file__).resolve().parent / "instance"
SECRET_FILE = INSTANCE / "secret_key"


def instance_secret():
    """Return the development secret key, generating it (mode 0600) on first use."""
    INSTANCE.mkdir(exist_ok=True)
    if not SECRET_FILE.exists():
        fd = os.open(SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return SECRET_FILE.read_text().strip()


def ensure_admin(app):
    """Create or upgrade the schema; create an `admin` with a printed password if none exists."""
    from portal import schema
    from portal.accounts import users

    with app.app_context():
        schema.upgrade()
        if users.admin_exists():
            return
        # 6 random bits a character, and never shorter than the minimum length in force.
        password = secrets.token_urlsafe(48)[:max(16, app.config["PASSWORD_MIN_LENGTH"])]
        users.create("admin", password, is_admin=True)
    print(f"\n  Created the first administrator.\n  username: admin\n  password: {password}\n"
          "  (shown only this once: keep it somewhere safe)\n", flush=True)


def main():
    """Start the development server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("PORTAL_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORTAL_PORT", "5000")))
    args = parser.parse_args()
    # Development defaults; anything set in the environment wins.
    os.environ.setdefault("PORTAL_SECRET_KEY", instance_secret())
    os.environ.setdefault("PORTAL_COOKIE_SECURE", "false")
    from portal import create_app

    app = create_app()
    ensure_admin(app)
    print(f"  Portal running on http://{args.host}:{args.port}/login", flush=True)
    app.run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
