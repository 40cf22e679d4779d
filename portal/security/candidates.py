"""Candidate policies: the settings in force with some of the lockout settings changed.

`policy replay --set NAME=VALUE` and the replay form on /admin/policy both name a
setting as the README does, without its PORTAL_ prefix, and each value is parsed and
checked exactly as the environment's would be (portal.config), so a candidate is always
a policy the portal could run.
"""

import difflib

from portal import config
from portal.config import SETTINGS
from portal.config import ConfigError
from portal.security.policy import Policy

# The settings Policy.from_config reads, in the order the README explains them.
POLICY_SETTINGS = ("LOCKOUT_MAX_FAILURES", "LOCKOUT_WAIT", "LOCKOUT_WAIT_FACTOR",
                   "LOCKOUT_MAX_WAIT", "LOCKOUT_MAX_TEMPORARY", "LOCKOUT_PERMANENT",
                   "LOCKOUT_RESET_AFTER", "IP_MAX_FAILURES", "IP_WINDOW", "IP_ALLOWLIST")


class BadCandidate(ValueError):
    """A candidate setting cannot be used; the message says which and why, in one line.

    `name` is the setting at fault, when it is one alone.
    """

    def __init__(self, message, name=None):
        super().__init__(message)
        self.name = name


def in_force(app_config):
    """Return {name: value} of the policy settings in force."""
    return {name: app_config[name] for name in POLICY_SETTINGS}


def changed(app_config, changes):
    """Return (settings, Policy) of the settings in force with `changes` ({name: text}).

    Raise BadCandidate when a name is no policy setting or a value is out of its range.
    """
    settings = in_force(app_config)
    for name, text in changes.items():
        settings[name] = parse(name, text)
        try:
            config.validate_settings(settings, [name])
        except ConfigError as error:
            raise BadCandidate(error.message, name) from None
    for name, check in config.LOCKOUT_CHECKS.items():
        try:
            check(settings)
        except ConfigError as error:
            raise BadCandidate(error.message, name) from None
    return settings, Policy.from_config(settings)


def parse(name, text):
    """Return a policy setting's value from its text, or raise BadCandidate."""
    if name not in POLICY_SETTINGS:
        raise BadCandidate(unknown(name))
    try:
        value = config.parse(name, text, SETTINGS[name])
    except ConfigError as error:
        raise BadCandidate(error.message, name) from None
    return "" if value is None else value  # IP_ALLOWLIST: empty spares no address


def shown(value):
    """Return a setting's value as the environment (and the replay form) gives it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def unknown(name):
    """Return the line that refuses a name which is no policy setting."""
    nearest = difflib.get_close_matches(name.upper(), POLICY_SETTINGS, n=1)
    hint = f"; did you mean {nearest[0]}?" if nearest else ""
    return (f"{name} is not a lockout policy setting (they are {', '.join(POLICY_SETTINGS)})"
            f"{hint}")


def assignments(texts):
    """Return {name: text} from NAME=VALUE texts, or raise BadCandidate."""
    changes = {}
    for text in texts:
        name, equals, value = text.partition("=")
        if not equals or not name.strip():
            raise BadCandidate(f"give NAME=VALUE (e.g. LOCKOUT_MAX_FAILURES=3), not {text!r}")
        name = name.strip().removeprefix(config.ENV_PREFIX)
        if name in changes:
            raise BadCandidate(f"{name} is set twice")
        changes[name] = value
    return changes
