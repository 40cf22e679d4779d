"""Settings: defaults < instance/config.py < PORTAL_* environment < explicit overrides.

Every setting is declared once in SETTINGS with its type and bounds, so the
environment is parsed by type (never eval'd) and a bad value stops start-up
with a message that names the variable.
"""

import difflib
import functools
import ipaddress
import os
import traceback
from dataclasses import dataclass

import click
from gunicorn.errors import AppImportError

ENV_PREFIX = "PORTAL_"
MIN_SECRET_BYTES = 32
# PORTAL_* names read by the project's tools, not by the app, so no typos of settings:
# the tests' PostgreSQL server, gunicorn.conf.py's address and threads, and the switch
# that makes the browser tests rewrite docs/screenshots/.
TOOL_NAMES = {"TEST_DATABASE_URL", "BIND", "THREADS", "UPDATE_SCREENSHOTS"}


class ConfigError(click.ClickException, AppImportError):
    """A setting is missing or out of range; the message says which and why.

    Its two bases make each way of starting the portal print it as one line, with no
    traceback: click shows a ClickException from `flask --app portal ...` (whose app
    loads inside click's error handling) as "Error: ...", and gunicorn prints only the
    message of an AppImportError raised while a worker loads the app, then stops
    ("App failed to load") rather than showing the traceback of a worker that failed
    to boot. run.py catches it itself.
    """


@dataclass(frozen=True)
class Setting:
    """One documented setting: its default, type and allowed range."""

    default: object
    kind: type
    minimum: int | None = None
    maximum: int | None = None


DAY = 86400

SETTINGS = {
    "DATABASE_URL": Setting("sqlite:///instance/portal.db", str),
    "SECRET_KEY": Setting(None, str),
    "SECRET_KEY_PREVIOUS": Setting(None, str),
    "TOKEN_TTL": Setting(900, int, 30, DAY),
    "SESSION_IDLE": Setting(1800, int, 60, 30 * DAY),
    "SESSION_MAX_AGE": Setting(28800, int, 60, 365 * DAY),
    "TOKEN_LEEWAY": Setting(0, int, 0, 300),
    "COOKIE_SECURE": Setting(True, bool),
    "TRUSTED_PROXIES": Setting(0, int, 0, 10),
    "LOCKOUT_MAX_FAILURES": Setting(5, int, 1, 1000),
    "LOCKOUT_WAIT": Setting(300, int, 1, 30 * DAY),
    "LOCKOUT_WAIT_FACTOR": Setting(2, int, 1, 100),
    "LOCKOUT_MAX_WAIT": Setting(3600, int, 1, 365 * DAY),
    "LOCKOUT_MAX_TEMPORARY": Setting(5, int, 1, 1000),
    "LOCKOUT_PERMANENT": Setting(False, bool),
    "LOCKOUT_RESET_AFTER": Setting(43200, int, 1, 365 * DAY),
    "IP_MAX_FAILURES": Setting(50, int, 1, 1_000_000),
    "IP_WINDOW": Setting(900, int, 1, 30 * DAY),
    "IP_ALLOWLIST": Setting("", str),  # comma-separated CIDR blocks the IP throttle spares
    # The history's attack alarm (history.alarms): a share of the last hour's failures, in
    # percent; a multiple of the usual failures for that hour of the week; and the
    # failures an hour needs before either rule applies.
    "ALARM_SHARE": Setting(50, int, 1, 100),
    "ALARM_RATE_FACTOR": Setting(5, int, 2, 1000),
    "ALARM_MIN_FAILURES": Setting(20, int, 1, 1_000_000),
    # OWASP's argon2id parameters: 19 MiB, 2 passes, 1 lane.
    "PASSWORD_MEMORY_COST": Setting(19456, int, 8, 4 * 1024 * 1024),
    "PASSWORD_TIME_COST": Setting(2, int, 1, 100),
    "PASSWORD_PARALLELISM": Setting(1, int, 1, 64),
    # NIST SP 800-63B-4: 15 characters where the password is the only factor; 8 is its
    # floor, allowed only alongside another factor. Above 64 the minimum would exceed
    # the longest password NIST requires verifiers to accept.
    "PASSWORD_MIN_LENGTH": Setting(15, int, 8, 64),
    "DB_POOL_SIZE": Setting(8, int, 1, 1000),
    "DB_POOL_WAIT": Setting(10, int, 1, 600),
    "DB_STATEMENT_TIMEOUT": Setting(5000, int, 0, 3_600_000),
    "DB_SERVER_PREPARE": Setting(True, bool),
    "TOKEN_ISSUER": Setting("portal", str),
    "ATTEMPT_PARTITIONS": Setting(False, bool),
    "TOKEN_AUDIENCE": Setting("portal", str),
}

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def defaults():
    """Return the built-in value of every setting, plus Flask's own fixed ones."""
    values = {name: setting.default for name, setting in SETTINGS.items()}
    values.update(
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=3600,
        TEMPLATES_AUTO_RELOAD=False,
    )
    return values


def from_environment(environ=None):
    """Return the settings given as PORTAL_* variables, parsed by their declared type."""
    environ = os.environ if environ is None else environ
    found = {}
    for name, setting in SETTINGS.items():
        raw = environ.get(ENV_PREFIX + name)
        if raw is not None:
            found[name] = parse(name, raw, setting)
    return found


# Set by gunicorn.conf.py once the master has warned: its workers need not say it again.
NAMES_CHECKED = "_PORTAL_NAMES_CHECKED"


def unknown_names(environ=None):
    """Return a warning line for each PORTAL_* variable that is no setting, naming the nearest."""
    environ = os.environ if environ is None else environ
    known = [ENV_PREFIX + name for name in SETTINGS]
    lines = []
    for variable in sorted(environ):
        name = variable.removeprefix(ENV_PREFIX)
        if variable.startswith(ENV_PREFIX) and name not in SETTINGS and name not in TOOL_NAMES:
            nearest = difflib.get_close_matches(variable, known, n=1)
            hint = f"; did you mean {nearest[0]}?" if nearest else " (the README lists them)."
            lines.append(f"Warning: {variable} is not a setting and is ignored{hint}")
    return lines


def from_pyfile(flask_config, filename):
    """Load the instance folder's config file; one that cannot run stops start-up in one line."""
    path = os.path.join(flask_config.root_path, filename)
    try:
        flask_config.from_pyfile(filename, silent=True)
    except SyntaxError as error:
        raise ConfigError(f"{error.filename}:{error.lineno}: {error.msg}: correct that line "
                          "or remove the file.") from None
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror}: make it readable or remove it.") from None
    except Exception as error:  # the file is Python: it may raise anything
        lines = [f.lineno for f in traceback.extract_tb(error.__traceback__)
                 if f.filename == path]
        raise ConfigError(f"{path}:{lines[-1] if lines else '?'}: "
                          f"{type(error).__name__}: {error}: correct that line or remove "
                          "the file.") from None


def parse(name, raw, setting):
    """Turn one environment string into the setting's type, or raise ConfigError."""
    text = raw.strip()
    if setting.kind is str:
        return text or None
    if setting.kind is bool:
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise ConfigError(f"{ENV_PREFIX}{name} must be true or false, got {raw!r}.")
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name} must be a whole number, got {raw!r}.") from None


def validate(config):
    """Check every declared setting in a Flask config; raise ConfigError on the first bad one."""
    validate_settings(config, SETTINGS)
    validate_lockout(config)
    if config["ATTEMPT_PARTITIONS"] and not config["DATABASE_URL"].startswith("postgres"):
        raise ConfigError(f"{ENV_PREFIX}ATTEMPT_PARTITIONS needs PostgreSQL.")
    if config["TOKEN_TTL"] > config["SESSION_MAX_AGE"]:
        raise ConfigError(f"{ENV_PREFIX}TOKEN_TTL must not exceed {ENV_PREFIX}SESSION_MAX_AGE.")


def validate_settings(config, names):
    """Check the type and range of each of these settings; raise ConfigError on a bad one."""
    for name in names:
        setting, value = SETTINGS[name], config.get(name)
        if value is None and setting.default is None:
            continue
        check_type(name, value, setting)
        check_range(name, value, setting)


def validate_lockout(config):
    """Check what the lockout settings must be together; raise ConfigError if they are not."""
    for check in LOCKOUT_CHECKS.values():
        check(config)


def check_waits(config):
    """Raise ConfigError when the longest lock is shorter than the first."""
    if config["LOCKOUT_MAX_WAIT"] < config["LOCKOUT_WAIT"]:
        raise ConfigError(
            f"{ENV_PREFIX}LOCKOUT_MAX_WAIT must not be below {ENV_PREFIX}LOCKOUT_WAIT.")


def check_allowlist(config):
    """Raise ConfigError when IP_ALLOWLIST is not a list of networks that spare someone."""
    try:
        ip_networks(config["IP_ALLOWLIST"])
    except ValueError as error:
        raise ConfigError(f"{ENV_PREFIX}IP_ALLOWLIST must be comma-separated addresses or "
                          f"CIDR blocks (203.0.113.0/24, 2001:db8::/48): {error}.") from None


# Each check of the lockout settings together, by the setting it blames.
LOCKOUT_CHECKS = {"LOCKOUT_MAX_WAIT": check_waits, "IP_ALLOWLIST": check_allowlist}


@functools.lru_cache(maxsize=8)
def ip_networks(text):
    """Return the networks of a comma-separated list of addresses and CIDR blocks."""
    networks = tuple(ipaddress.ip_network(part.strip(), strict=True)
                     for part in (text or "").split(",") if part.strip())
    for network in networks:
        # Spares nobody in particular and everyone at once: a typo, never a policy.
        if network.prefixlen == 0:
            raise ValueError(f"{network} would spare every address")
        if "%" in str(network):
            raise ValueError(f"{network} carries an interface scope")
    return networks


def check_type(name, value, setting):
    """Raise ConfigError unless value has the setting's type (bool is not an int here)."""
    if setting.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{ENV_PREFIX}{name} must be a whole number, got {value!r}.")
    if not isinstance(value, setting.kind):
        raise ConfigError(f"{ENV_PREFIX}{name} must be a {setting.kind.__name__}, got {value!r}.")


def check_range(name, value, setting):
    """Raise ConfigError when a number lies outside the setting's bounds."""
    if setting.minimum is not None and value < setting.minimum:
        raise ConfigError(f"{ENV_PREFIX}{name} must be at least {setting.minimum}, got {value}.")
    if setting.maximum is not None and value > setting.maximum:
        raise ConfigError(f"{ENV_PREFIX}{name} must be at most {setting.maximum}, got {value}.")


def check_secret(name, secret):
    """Raise ConfigError when a master secret is shorter than 32 bytes."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"{ENV_PREFIX}{name} is too short: use at least {MIN_SECRET_BYTES} random bytes, "
            'e.g. python -c "import secrets; print(secrets.token_urlsafe(48))".'
        )
