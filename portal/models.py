"""The tables: users, their sessions and every login attempt. No request logic here.

Times are naive UTC datetimes throughout (portal.clock.now()).
"""

from peewee import BigAutoField
from peewee import BooleanField
from peewee import CharField
from peewee import CompositeKey
from peewee import DateField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model

from portal.db import database

USERNAME_MAX = 64
TYPED_USERNAME_MAX = 150
USER_AGENT_MAX = 512
IP_MAX = 64
AGENT_NAME_MAX = 64
LOCK_REASON_MAX = 500
UNKNOWN_DEVICE = ""


class BaseModel(Model):
    """Every table lives in the one configured database."""

    class Meta:
        database = database


class User(BaseModel):
    """An account that can sign in."""

    username = CharField(max_length=USERNAME_MAX, unique=True)
    password_hash = CharField(max_length=255)
    is_admin = BooleanField(default=False)
    created_at = DateTimeField()
    # An administrator's lock (any device); null reason means not locked by an admin.
    lock_reason = CharField(max_length=LOCK_REASON_MAX, null=True)
    locked_at = DateTimeField(null=True)
    locked_until = DateTimeField(null=True)
    locked_by = CharField(max_length=USERNAME_MAX, null=True)
    last_success_at = DateTimeField(null=True)
    last_failure_at = DateTimeField(null=True)
    # Set when the policy has locked the account LOCKOUT_MAX_TEMPORARY times in a row;
    # cleared when an admin unlocks it.
    review_flagged_at = DateTimeField(null=True, index=True)  # the admins' navigation counts
    # Set with a temporary password: the next sign-in must choose a new one first.
    must_change_password = BooleanField(default=False)

    class Meta:
        table_name = "users"
        # The users list's filter of admins, of admin locks (the policy's are budgets).
        indexes = ((("is_admin", "username"), False), (("locked_at",), False))


class Session(BaseModel):
    """A signed-in session; its id is the `jti` of every token issued for it."""

    id = CharField(primary_key=True, max_length=32)
    # No index of its own: (user, ended_at) below serves every lookup by user.
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE", index=False)
    created_at = DateTimeField()
    last_seen_at = DateTimeField()
    expires_at = DateTimeField()
    ended_at = DateTimeField(null=True)
    end_reason = CharField(max_length=32, null=True)
    reported_at = DateTimeField(null=True)  # the user said "this wasn't me"
    ip = CharField(max_length=IP_MAX)
    user_agent = CharField(max_length=USER_AGENT_MAX)
    device = CharField(max_length=32, null=True)  # the known-device id it signed in from
    # An admin resolved the report (reported_at), with a note.
    report_resolved_at = DateTimeField(null=True)
    report_resolved_by = CharField(max_length=USERNAME_MAX, null=True)
    report_note = CharField(max_length=LOCK_REASON_MAX, null=True)

    class Meta:
        table_name = "sessions"
        indexes = ((("user", "ended_at"), False),)


class LoginAttempt(BaseModel):
    """One sign-in attempt, whatever its outcome; the username is kept as typed."""

    id = BigAutoField()
    at = DateTimeField()
    username = CharField(max_length=TYPED_USERNAME_MAX)
    # The account name the typed username refers to (lower case, no edges): what `user=` finds.
    username_key = CharField(max_length=TYPED_USERNAME_MAX)
    user = ForeignKeyField(User, null=True, backref="attempts", on_delete="SET NULL",
                           index=False)  # (user, at, id) below serves it
    outcome = CharField(max_length=8)
    reason = CharField(max_length=16)
    ip = CharField(max_length=IP_MAX)
    ip_key = CharField(max_length=32)  # portal.web.ipaddr.key(ip): CIDR filters are key ranges
    user_agent = CharField(max_length=USER_AGENT_MAX)
    # The user agent's names, parsed once when the attempt is recorded (web.user_agent).
    browser = CharField(max_length=AGENT_NAME_MAX, null=True)
    os = CharField(max_length=AGENT_NAME_MAX, null=True)
    device_family = CharField(max_length=AGENT_NAME_MAX, null=True)
    request_id = CharField(max_length=32)
    session = CharField(max_length=32, null=True)  # the session a success started
    # A hash of the known-device id the attempt came with (a success: its session's),
    # for the policy replay; never the id itself, which a device cookie carries.
    device = CharField(max_length=32, null=True)
    # The failure budget it counted against: "unknown" (clients) or "device" (a known
    # one's); NULL when it counted against none (or was recorded before 0016 noted it).
    counted_on = CharField(max_length=8, null=True)

    class Meta:
        table_name = "login_attempts"
        # Each history filter walks one of these newest-first, (at, id) being the page cursor.
        indexes = (
            (("at", "id"), False),
            (("username_key", "at", "id"), False),
            (("user", "at", "id"), False),
            (("outcome", "at", "id"), False),
            (("reason", "at", "id"), False),
            (("ip_key", "at", "id"), False),
        )


class FailureBudget(BaseModel):
    """A lockout budget: an account name's for unknown clients (device ''), or a known device's.

    It is keyed by the normalised name, not the user id, so an attempt on a name that
    does not exist does the same work as one on a real account (no timing oracle).
    """

    account = CharField(max_length=TYPED_USERNAME_MAX)
    device = CharField(max_length=32, default=UNKNOWN_DEVICE)
    failures = IntegerField(default=0)
    last_failure_at = DateTimeField(null=True)
    lockouts = IntegerField(default=0)
    locked_at = DateTimeField(null=True)
    locked_until = DateTimeField(null=True)
    permanent = BooleanField(default=False)

    class Meta:
        table_name = "failure_budgets"
        primary_key = CompositeKey("account", "device")
        # The users list's "locked". Not led by device: a planner could take that for a
        # lookup by (account, device), which the primary key serves.
        indexes = ((("locked_at",), False),)


class IpThrottle(BaseModel):
    """Failures from one client IP (an IPv6 /64) in its current window."""

    ip = CharField(primary_key=True, max_length=IP_MAX)
    started_at = DateTimeField(null=True)
    failures = IntegerField(default=0)

    class Meta:
        table_name = "ip_throttles"


class AuditEvent(BaseModel):
    """An admin action, or a lock the policy applied, on one user account (or one address)."""

    at = DateTimeField()
    actor = CharField(max_length=USERNAME_MAX)
    actor_ip = CharField(max_length=IP_MAX, null=True)
    action = CharField(max_length=16)
    # NULL once the account is deleted: the trail outlives it, under target_name.
    target = ForeignKeyField(User, backref="audit_events", null=True, on_delete="SET NULL",
                             index=False)  # (target, at) below serves it
    reason = CharField(max_length=LOCK_REASON_MAX, default="")
    until = DateTimeField(null=True)
    failures = IntegerField(null=True)
    target_name = CharField(max_length=USERNAME_MAX, null=True)  # written when it is deleted
    target_ip = CharField(max_length=IP_MAX, null=True)  # an event about an address

    class Meta:
        table_name = "audit_events"
        # The audit log walks one of these newest first, (at, id) being the page cursor.
        indexes = ((("target", "at"), False), (("at", "id"), False),
                   (("actor", "at", "id"), False), (("action", "at", "id"), False),
                   (("target_name", "at"), False), (("target_ip", "at"), False))


class DailySummary(BaseModel):
    """Attempts per day by reason, for all (kind 'all'), per account name or per IP.

    `prune` adds the rows it deletes here, so charts and totals outlive the raw rows.
    """

    day = DateField()
    kind = CharField(max_length=8)  # "all", "user" or "ip"
    key = CharField(max_length=TYPED_USERNAME_MAX)
    reason = CharField(max_length=16)
    count = IntegerField(default=0)

    class Meta:
        table_name = "daily_summaries"
        primary_key = CompositeKey("day", "kind", "key", "reason")


class AttemptCount(BaseModel):
    """Settled attempts per hour and reason, for all, per account name, per IP and per network.

    Kept as each attempt settles (portal.history.counts), so the chart reads these
    instead of the attempts. kind "all" counts every attempt per hour and "day" per day,
    each split over a few keys (the attempt's id modulo counts.SHARDS) so that parallel
    sign-ins do not queue for one row's lock; "user" is keyed by the account name,
    "ip" by the address's key and "net" by its /24 (IPv4) or /64 (IPv6) network's key;
    "uday" and "iday" count the account names and addresses per day.
    An attempt still reading `error` is not here: the chart counts those from the attempts.
    """

    kind = CharField(max_length=4)
    hour = DateTimeField()  # the start of the hour (of the day, for kinds "day", "uday", "iday")
    reason = CharField(max_length=16)
    key = CharField(max_length=TYPED_USERNAME_MAX)
    count = IntegerField()

    class Meta:
        table_name = "attempt_counts"
        # Time first: the totals and the top lists read every key of a range of hours.
        primary_key = CompositeKey("kind", "hour", "reason", "key")
        indexes = ((("kind", "key", "hour"), False),)  # one account's, address's or network's


class AttemptTotal(BaseModel):
    """Every settled attempt of one account name (kind "user") or address ("ip"), kept with
    attempt_counts: what bounds a key's count in any range, so that the top lists read
    the keys with the most first and stop when no other key can reach them.
    """

    kind = CharField(max_length=4)
    key = CharField(max_length=TYPED_USERNAME_MAX)
    failures = IntegerField()
    successes = IntegerField()

    class Meta:
        table_name = "attempt_totals"
        primary_key = CompositeKey("kind", "key")
        indexes = ((("kind", "failures"), False), (("kind", "successes"), False))


class HealthCheck(BaseModel):
    """One row that /healthz rewrites: a database that answers but cannot write fails it."""

    id = IntegerField(primary_key=True)
    checked_at = DateTimeField()

    class Meta:
        table_name = "health_checks"


class ProxyObservation(BaseModel):
    """Requests that one worker saw in about a minute whose forwarding header disagreed with
    its PORTAL_TRUSTED_PROXIES (web.proxy_check): rows of the last hour make the warning."""

    seen_at = DateTimeField(index=True)
    trusted = IntegerField()  # the PORTAL_TRUSTED_PROXIES of the worker that saw them
    header = CharField(max_length=16)  # X-Forwarded-For or Forwarded
    requests = IntegerField()
    fewest = IntegerField()  # the fewest addresses one of them carried in that header
    peer = CharField(max_length=IP_MAX)  # the socket address the latest came from

    class Meta:
        table_name = "proxy_observations"


# The users list's sorts: each key in both directions, ties by name (0016 names them).
User.add_index(User.index(User.last_failure_at, User.username, name="user_last_failure"))
User.add_index(User.index(User.last_failure_at.desc(), User.username,
                          name="user_last_failure_desc"))
User.add_index(User.index(User.last_success_at, User.username, name="user_last_success"))
User.add_index(User.index(User.last_success_at.desc(), User.username,
                          name="user_last_success_desc"))
FailureBudget.add_index(FailureBudget.index(
    FailureBudget.failures.desc(), FailureBudget.account, name="failurebudget_failures"))
# The reports queue reads reported sessions only; the navigation counts the open ones.
Session.add_index(Session.index(Session.reported_at, where=Session.reported_at.is_null(False),
                                name="session_reported"))
Session.add_index(Session.index(
    Session.reported_at, name="session_open_report",
    where=Session.reported_at.is_null(False) & Session.report_resolved_at.is_null()))

TABLES = [User, Session, LoginAttempt, FailureBudget, IpThrottle, AuditEvent, DailySummary,
          AttemptCount, AttemptTotal, HealthCheck, ProxyObservation]


def bounded(text, limit):
    """Return client-sent text that any column can store: NUL made visible, cut to `limit`.

    PostgreSQL text cannot hold NUL, so it becomes the visible symbol U+2400.
    """
    text = (text or "").replace("\x00", "\u2400")
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
