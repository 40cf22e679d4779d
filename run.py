"""Run the portal for development on the embedded SQLite default: `python run.py`.

On first start it creates the instance folder, a persistent secret key in it,
the schema, and (when no admin exists) an `admin` account whose random password
is printed once. Production runs under gunicorn instead (see the README).
"""

import argparse
import errno
import os
import secrets
import socket
import sys
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
    from portal import db
    from portal import schema
    from portal.accounts import users

    with app.app_context():
        db.check_connection()
        schema.upgrade()
        if users.admin_exists():
            return
        # Random, easy to read off the screen, and always one the password rule allows.
        password = users.temporary_password("admin")
        users.create("admin", password, is_admin=True)
    print(f"\n  Created the first administrator.\n  username: admin\n  password: {password}\n"
          "  (shown only this once: keep it somewhere safe)\n", flush=True)


class Arguments(argparse.ArgumentParser):
    """argparse, stopping in one line like the portal's other commands (usage: --help)."""

    def error(self, message):
        """Stop with the message alone."""
        sys.exit(f"Error: {message}.")


def port_number(text):
    """Return a TCP port number, 1 to 65535."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"the port must be a number from 1 to 65535, got {text!r}")
    return int(text)


def listen(host, port):
    """Bind the address now, so a busy port stops run.py before it claims to be running."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host
                                    else socket.AF_INET)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            sys.exit(f"Error: port {port} on {host} is in use by another program: stop it, "
                     "or choose another port with --port.")
        sys.exit(f"Error: cannot listen on {host} port {port} ({error.strerror or error}): "
                 "choose another --host or --port.")


def development_settings():
    """Set the development defaults; anything set in the environment wins."""
    if not os.environ.get("PORTAL_SECRET_KEY"):
        try:
            os.environ["PORTAL_SECRET_KEY"] = instance_secret()
        except OSError as error:
            sys.exit(f"Error: cannot keep the development secret key in {error.filename} "
                     f"({error.strerror}): make the folder writable, or set PORTAL_SECRET_KEY.")
    os.environ.setdefault("PORTAL_COOKIE_SECURE", "false")


def main():
    """Start the development server."""
    parser = Arguments(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port_number, default=5000, help="port, 1-65535")
    args = parser.parse_args()
    listening = listen(args.host, args.port)
    development_settings()
    from portal import create_app
    from portal.config import ConfigError
    from portal.schema import SchemaError

    try:
        app = create_app()
        ensure_admin(app)
    except (ConfigError, SchemaError) as error:
        sys.exit(f"Error: {error}")
    serve(app, listening, args)


def serve(app, listening, args):
    """Serve the app with Werkzeug's development server on the socket already bound."""
    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, app, threaded=True, fd=listening.fileno())
    print(f"  Portal running on http://{args.host}:{args.port}/login", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
