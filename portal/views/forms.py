"""Flask-WTF forms. Their labels and messages live in the templates."""

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField

from portal.accounts import users
from portal.models import LOCK_REASON_MAX
from portal.security import known_devices
from portal.security import signin
from portal.security.admin_locks import DURATIONS
from portal.web import client
from portal.web import logs


class LoginForm(FlaskForm):
    """Username and password; validating it checks them and records the attempt."""

    username = StringField()
    password = PasswordField()
    user = None
    outcome = None

    def validate(self, extra_validators=None):
        """Return True when the credentials are right; set self.user and self.outcome."""
        self.user, self.outcome = None, None
        if not super().validate(extra_validators):
            return False
        self.outcome = signin.check_credentials(self.username.data or "",
                                                self.password.data or "",
                                                client.current(), logs.request_id(),
                                                known_devices.current_id())
        self.user = self.outcome.user
        return self.user is not None


class LiftForm(FlaskForm):
    """Lift an IP throttle: the address (or IPv6 /64) as the throttles page lists it."""

    ip = StringField()


class ConfirmForm(FlaskForm):
    """A destructive action's form: it is done only when `confirm` says "yes".

    htmx sends the field once its hx-confirm dialog is accepted; without JavaScript the
    confirmation page's form sends it.
    """

    confirm = StringField()

    @property
    def confirmed(self):
        """Return True when the request carries the confirmation."""
        return self.confirm.data == "yes"


class RoleForm(ConfirmForm):
    """An admin's change of another account's role."""

    role = StringField()

    def validate(self, extra_validators=None):
        """Return True when the role is "admin" or "user"."""
        if not super().validate(extra_validators):
            return False
        if self.role.data not in ("admin", "user"):
            self.role.errors = ["unknown"]
        return not self.role.errors


class LockForm(ConfirmForm):
    """An admin's lock: a reason (required) and how long (empty: until unlocked)."""

    reason = StringField()
    duration = StringField(default="")  # a key of admin_locks.DURATIONS; the template lists them

    def validate(self, extra_validators=None):
        """Return True when a reason is given and short enough; the template words the error."""
        if not super().validate(extra_validators):
            return False
        reason = (self.reason.data or "").strip()
        if not reason or len(reason) > LOCK_REASON_MAX:
            self.reason.errors = ["required"]
        if (self.duration.data or "") not in DURATIONS:
            self.duration.errors = ["unknown"]
        return not (self.reason.errors or self.duration.errors)


class PasswordForm(FlaskForm):
    """Change one's own password: the current one, and the new one twice."""

    current = PasswordField()
    new = PasswordField()
    confirm = PasswordField()

    def __init__(self, username, **kwargs):
        super().__init__(**kwargs)
        self.username = username
        self.min_length = current_app.config["PASSWORD_MIN_LENGTH"]
        self.max_length = users.PASSWORD_MAX

    def validate(self, extra_validators=None):
        """Check the new password's rules here; the view checks the current one (it counts)."""
        if not super().validate(extra_validators):
            return False
        if self.new.data != self.confirm.data:
            self.confirm.errors = ["mismatch"]
            return False
        if self.new.data == self.current.data:
            # Or a temporary password an admin set (and knows) could be "changed" to itself.
            self.new.errors = ["same"]
            return False
        try:
            users.check_password(self.new.data or "", self.username)
        except users.PasswordError as error:
            self.new.errors = [error.code]
        return not self.new.errors


class ResolveForm(FlaskForm):
    """An admin's resolution of a "This wasn't me" report: a note (required)."""

    note = StringField()

    def validate(self, extra_validators=None):
        """Return True when a note is given and short enough; the template words the error."""
        if not super().validate(extra_validators):
            return False
        note = (self.note.data or "").strip()
        if not note:
            self.note.errors = ["required"]
        elif len(note) > LOCK_REASON_MAX:
            self.note.errors = ["too_long"]
        return not self.note.errors
