"""Flask-WTF forms. Their labels and messages live in the templates."""

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField

from portal import client
from portal import devices
from portal import logs
from portal import signin


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
                                                devices.current_id())
        self.user = self.outcome.user
        return self.user is not None


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change state."""
