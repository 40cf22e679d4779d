"""portal: a login-security console for Flask."""

import os
import sys

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from portal import cli
from portal import config
from portal import db
from portal import keys
from portal import maintenance
from portal.accounts import passwords
from portal.security import known_devices
from portal.sessions import cookies
from portal.sessions import current_user
from portal.views import account
from portal.views import admin
from portal.views import audit_trail
from portal.views import auth
from portal.views import health
from portal.views import lockout_policy
from portal.views import login_history
from portal.views import report_queue
from portal.views import throttled_ips
from portal.web import bodies
from portal.web import client
from portal.web import headers
from portal.web import logs
from portal.web import proxy_check
from portal.web import templating
from portal.web.errors import register_errorhandlers

csrf = CSRFProtect()


def create_app(overrides=None):
    """Create and configure the portal application."""
    app = Flask(__name__, instance_relative_config=True,
                template_folder="../templates", static_folder="../static")
    load_config(app, overrides)
    keys.install(app)
    app.session_interface = cookies.CsrfSessionInterface()
    logs.init_app(app)
    client.init_app(app)
    db.init_app(app)
    maintenance.init_app(app)
    proxy_check.init_app(app)
    passwords.init_app(app)
    csrf.init_app(app)
    current_user.init_app(app)
    bodies.init_app(app)  # after the user is known: the log line names them
    known_devices.init_app(app)
    templating.init_app(app)
    headers.init_app(app)
    register_blueprints(app)
    register_errorhandlers(app)
    cli.init_app(app)
    return app


def load_config(app, overrides):
    """Layer defaults < instance/config.py < PORTAL_* environment < overrides, then check."""
    app.config.update(config.defaults())
    config.from_pyfile(app.config, "config.py")
    app.config.update(config.from_environment())
    if not os.environ.get(config.NAMES_CHECKED):
        for line in config.unknown_names():
            print(line, file=sys.stderr, flush=True)
    app.config.update(overrides or {})
    config.validate(app.config)
    secure = app.config["COOKIE_SECURE"]
    app.config.update(SESSION_COOKIE_SECURE=secure,
                      SESSION_COOKIE_NAME="__Host-portal_csrf" if secure else "portal_csrf")


def register_blueprints(app):
    """Mount the pages."""
    for blueprint in (auth.bp, account.bp, admin.bp, login_history.bp, throttled_ips.bp,
                      lockout_policy.bp, audit_trail.bp, report_queue.bp, health.bp):
        app.register_blueprint(blueprint)
