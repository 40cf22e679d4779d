"""The lockout policy: pure functions over plain values, with the clock passed in.

Two kinds of budget are kept:

- an account budget (one for unknown clients, and one per device that has signed
  in to the account before): after LOCKOUT_MAX_FAILURES consecutive failures it is
  locked for LOCKOUT_WAIT, each further lock LOCKOUT_WAIT_FACTOR times longer up to
  LOCKOUT_MAX_WAIT. Every policy lock ends by itself: a stranger who keeps guessing
  can delay the owner, never shut them out. After LOCKOUT_MAX_TEMPORARY locks in a
  row the account is flagged for an administrator's review; only with
  LOCKOUT_PERMANENT (off by default) is the lock after them permanent instead.
  Failures are forgotten LOCKOUT_RESET_AFTER after the last one; a success resets
  the budget. Failures while locked are not counted, so they never extend a lock.
- an IP window: an address that has failed IP_MAX_FAILURES times within IP_WINDOW
  (counted from its first failure in the window) is throttled until the window ends.

portal.security.budgets stores these values under row locks; this module only decides.
"""

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING
from typing import NamedTuple

from portal.config import ip_networks

if TYPE_CHECKING:  # only named in a type: the policy stays free of the database
    from portal.accounts.users import AdminLock


@dataclass(frozen=True)
class Policy:
    """The lockout settings, as durations."""

    max_failures: int = 5
    wait: timedelta = timedelta(minutes=5)
    wait_factor: int = 2
    max_wait: timedelta = timedelta(hours=1)
    max_temporary: int = 5
    permanent: bool = False
    reset_after: timedelta = timedelta(hours=12)
    ip_max_failures: int = 50
    ip_window: timedelta = timedelta(minutes=15)
    ip_allowlist: tuple = ()  # networks the IP throttle spares (ipaddress networks)

    @classmethod
    def from_config(cls, config):
        """Build the policy from PORTAL_LOCKOUT_* and PORTAL_IP_* settings."""
        seconds = timedelta(seconds=1)
        return cls(max_failures=config["LOCKOUT_MAX_FAILURES"],
                   wait=config["LOCKOUT_WAIT"] * seconds,
                   wait_factor=config["LOCKOUT_WAIT_FACTOR"],
                   max_wait=config["LOCKOUT_MAX_WAIT"] * seconds,
                   max_temporary=config["LOCKOUT_MAX_TEMPORARY"],
                   permanent=config["LOCKOUT_PERMANENT"],
                   reset_after=config["LOCKOUT_RESET_AFTER"] * seconds,
                   ip_max_failures=config["IP_MAX_FAILURES"],
                   ip_window=config["IP_WINDOW"] * seconds,
                   ip_allowlist=ip_networks(config["IP_ALLOWLIST"]))


# Budget and IpWindow are named tuples, not dataclasses: a policy replay makes millions
# of them, and a tuple is made several times faster.
class Budget(NamedTuple):
    """The failure budget of an account (or of an account on one known device)."""

    failures: int = 0
    last_failure_at: datetime | None = None
    lockouts: int = 0
    locked_at: datetime | None = None
    locked_until: datetime | None = None
    permanent: bool = False


class IpWindow(NamedTuple):
    """Failures from one client IP since the start of its current window."""

    started_at: datetime | None = None
    failures: int = 0


def forget_old(budget, now, policy):
    """Return the budget with failures forgotten once RESET_AFTER has passed since the last.

    A permanent lock stands only while LOCKOUT_PERMANENT is on; otherwise (one made
    before the setting was turned off, or by an older release) it reads as a lock of
    LOCKOUT_MAX_WAIT from when it began.
    """
    if budget.permanent and not policy.permanent:
        budget = budget._replace(permanent=False,
                                 locked_until=(budget.locked_at or now) + policy.max_wait)
    if budget.permanent or budget.last_failure_at is None:
        return budget
    if now - budget.last_failure_at >= policy.reset_after and not is_locked(budget, now):
        return Budget()
    return budget


def is_locked(budget, now):
    """Return True while the budget is locked."""
    if budget.permanent:
        return True
    return budget.locked_until is not None and now < budget.locked_until


def lock_wait(lockouts, policy):
    """Return how long the n-th temporary lock lasts (n starts at 1)."""
    # In float seconds: a long streak would overflow timedelta (the cap is far below).
    growth = float(policy.wait_factor) ** min(lockouts - 1, 64)
    seconds = min(policy.wait.total_seconds() * growth, policy.max_wait.total_seconds())
    return timedelta(seconds=seconds)


def after_failure(budget, now, policy):
    """Return the budget after one more failure (the caller has checked it is not locked)."""
    budget = forget_old(budget, now, policy)
    failures = budget.failures + 1
    if failures % policy.max_failures:
        return Budget(failures, now, budget.lockouts, budget.locked_at, budget.locked_until,
                      budget.permanent)
    lockouts = budget.lockouts + 1
    if policy.permanent and lockouts > policy.max_temporary:
        return Budget(failures, now, lockouts, locked_at=now, locked_until=None, permanent=True)
    return Budget(failures, now, lockouts, locked_at=now,
                  locked_until=now + lock_wait(lockouts, policy))


def needs_review(before, after, policy):
    """Return True when a failure made a lock that is LOCKOUT_MAX_TEMPORARY or more in a row."""
    return just_locked(before, after) and after.lockouts >= policy.max_temporary


def after_success():
    """Return the budget after a successful sign-in: everything forgotten."""
    return Budget()


def just_locked(before, after):
    """Return True when a failure moved the budget into a new lock."""
    return after.lockouts > before.lockouts


def ip_current(window, now, policy):
    """Return the IP's window, started afresh when the old one has run out."""
    if window.started_at is None or now - window.started_at >= policy.ip_window:
        return IpWindow()
    return window


def ip_throttled(window, now, policy):
    """Return True when the IP has used up its failures for the current window."""
    return ip_current(window, now, policy).failures >= policy.ip_max_failures


def ip_retry_after(window, now, policy):
    """Return the whole seconds until a throttled IP's window ends (at least 1)."""
    remaining = window.started_at + policy.ip_window - now
    return max(1, int(remaining.total_seconds() + 0.999))


def ip_after_failure(window, now, policy):
    """Return the IP's window with one more failure in it."""
    window = ip_current(window, now, policy)
    return IpWindow(started_at=window.started_at or now, failures=window.failures + 1)


def ip_exempt(text, policy):
    """Return True when the address lies in a network of IP_ALLOWLIST (no IP throttle).

    Only the IP throttle: failures from there still count against the account.
    """
    return exempt(client_address(text), policy)


def counted_window(text, policy):
    """Return the key of the IP window an attempt from this address counts in, or None
    when IP_ALLOWLIST spares it (the address is read once: this runs for every attempt)."""
    address = client_address(text)
    return None if exempt(address, policy) else window_key(address)


def exempt(address, policy):
    """Return True when an address (or None for junk) lies in a network of IP_ALLOWLIST."""
    return address is not None and any(address in network for network in policy.ip_allowlist)


def ip_window_key(text):
    """Return what an IP window counts by: the IPv4 address, or the IPv6 /64 network."""
    return window_key(client_address(text))


def window_key(address):
    """Return an address's IP window key ("invalid" for None, junk), as ip_window_key says.

    One IPv6 client usually holds a whole /64, so counting single addresses would
    give it 2**64 budgets.
    """
    if address is None:
        return "invalid"
    if address.version == 4:
        return str(address)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def client_address(text):
    """Return the client's address (an IPv4-mapped IPv6 one as IPv4), or None for junk."""
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    return address.ipv4_mapped or address if address.version == 6 else address


@dataclass(frozen=True)
class LockState:
    """Why an account is (or is not) locked, for the admin screens to explain."""

    kind: str  # "admin", "permanent", "temporary" or "open"
    since: datetime | None
    until: datetime | None
    failures: int
    lockouts: int
    failures_left: int
    next_wait: timedelta | None  # None: the next lock is permanent (LOCKOUT_PERMANENT)
    temporary_left: int  # locks before the account is flagged (or, opted in, permanent)
    admin: "AdminLock"
    flagged_at: datetime | None = None  # flagged for review since
    permanent_opt_in: bool = False


def explain(admin, budget, now, policy, flagged_at=None):
    """Return the LockState of an account: the rule in force, when it ends, what comes next."""
    budget = forget_old(budget, now, policy)
    left = policy.max_failures - budget.failures % policy.max_failures
    permanent_next = policy.permanent and budget.lockouts >= policy.max_temporary
    nxt = None if permanent_next else lock_wait(budget.lockouts + 1, policy)
    if admin.holds(now):
        kind, since, until = "admin", admin.since, admin.until
    elif budget.permanent:
        kind, since, until = "permanent", budget.locked_at, None
    elif is_locked(budget, now):
        kind, since, until = "temporary", budget.locked_at, budget.locked_until
    else:
        kind, since, until = "open", None, None
    temporary_left = max(0, policy.max_temporary - budget.lockouts)
    return LockState(kind, since, until, budget.failures, budget.lockouts, left, nxt,
                     temporary_left, admin, flagged_at, policy.permanent)
