"""Policy replay: what a set of lockout settings would have done to the recorded attempts.

The recorded attempts are fed, oldest first, through the live policy's own functions
(portal.security.policy), in the order portal.security.signin applies them and under
the same keys: the IP window (IPv4 address or IPv6 /64) first, then the account's
budget for unknown clients or for the known device. A device is known to an account
once a replayed success from it has happened, so a success the candidate refuses makes
no device known. What cannot be replayed, and how it is counted:

- an attempt recorded without a password check (refused as locked or throttled, or
  interrupted: reason `error`) has no known outcome; where a policy would check its
  password, it counts as a wrong guess (a refusal's attempts are most often guesses);
- a name that is no account has a budget, as it has live, but its locks hit nobody and
  its attempts are no guesses at a password: only the IP throttle's refusals of them
  count (live, a locked unknown name answers as any unknown name does);
- the counters start empty at the start of the range; admin locks are not part of the
  policy and are not replayed;
- attempts recorded before devices were recorded (migration 0014) come from unknown
  clients.
"""

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

from portal import clock
from portal.history import queries
from portal.history import timeline
from portal.history.attempts import SUCCESS
from portal.models import UNKNOWN_DEVICE
from portal.security import policy

# The reasons of attempts whose password was checked: the others' outcome is unknown.
CHECKED_REASONS = {"ok", "bad_password", "unknown_user"}
# How many attempts pass between sweeps of the counters a policy has forgotten anyway.
SWEEP_EVERY = 50_000
IP_CACHE_SIZE = 100_000
DEFAULT_DAYS = 30  # a replay's period when none is given: about last month

EMPTY_BUDGET = policy.Budget()
EMPTY_WINDOW = policy.IpWindow()
EXEMPT = None  # the window key of an address IP_ALLOWLIST spares
UNSEEN = object()  # an address not in Replay.window_keys yet


@dataclass
class Figures:
    """What a policy did over a replay: the keys of the --json output, and their values."""

    accounts_locked: set = field(default_factory=set)
    locks: int = 0
    refused: int = 0
    owners_refused: int = 0
    guesses_checked: int = 0
    ips_throttled: set = field(default_factory=set)

    def as_dict(self):
        """Return the figures with sorted lists for the sets."""
        return {"accounts_locked": sorted(self.accounts_locked), "locks": self.locks,
                "refused": self.refused, "owners_refused": self.owners_refused,
                "guesses_checked": self.guesses_checked,
                "ips_throttled": sorted(self.ips_throttled)}


class Replay:
    """One policy's counters over a replay, fed one recorded attempt at a time."""

    def __init__(self, rules, known_devices=(), window_keys=None):
        self.rules = rules
        self.figures = Figures()
        self.budgets = {}  # (account, device hash or UNKNOWN) -> policy.Budget
        self.windows = {}  # IP window key -> policy.IpWindow
        self.known = set(known_devices)  # (account, device hash)
        # Address as recorded -> its window key, or EXEMPT; two replays whose allowlists
        # agree share it.
        self.window_keys = {} if window_keys is None else window_keys
        self.fed = 0

    def feed(self, attempt):
        """Decide one recorded attempt as the policy would have, and count what it did.

        The steps and their order are portal.security.signin's: reserve (the IP window,
        then the account's budget), then settle by the recorded outcome.
        """
        at, account, is_account, outcome, _reason, ip, device = attempt
        self.fed += 1
        if self.fed % SWEEP_EVERY == 0:
            self.sweep(at)
        key = self.window_keys.get(ip, UNSEEN)
        if key is UNSEEN:
            key = self.window_key(ip)
        window = None
        if key is not EXEMPT:
            window = self.windows.get(key, EMPTY_WINDOW)
            if policy.ip_throttled(window, at, self.rules):
                self.figures.ips_throttled.add(key)
                self.refuse(outcome)
                return
            window = self.windows[key] = policy.ip_after_failure(window, at, self.rules)
        known = device is not None and (account, device) in self.known
        budget_key = (account, device if known else UNKNOWN_DEVICE)
        before = policy.forget_old(self.budgets.get(budget_key, EMPTY_BUDGET), at, self.rules)
        if policy.is_locked(before, at):
            if is_account:  # a locked name that is no account answers as any unknown name
                self.refuse(outcome)
        elif outcome == SUCCESS:
            self.succeed(account, device, budget_key, key, window)
        else:  # a failure, or an attempt of unknown outcome taken as one
            self.fail(account, is_account, budget_key, before, at)

    def succeed(self, account, device, budget_key, window_key, window):
        """A success: the failure counted in advance taken back, the budget forgotten
        (policy.after_success() is an empty one), the device known from now on."""
        if window is not None:
            self.windows[window_key] = policy.IpWindow(window.started_at, window.failures - 1)
        self.budgets.pop(budget_key, None)
        if device is not None:
            self.known.add((account, device))

    def fail(self, account, is_account, budget_key, before, at):
        """A failure: counted against the budget, perhaps locking it."""
        after = self.budgets[budget_key] = policy.after_failure(before, at, self.rules)
        if is_account:  # a name that is no account has a budget, but guards nobody
            self.figures.guesses_checked += 1
            if policy.just_locked(before, after):
                self.figures.locks += 1
                self.figures.accounts_locked.add(account)

    def refuse(self, outcome):
        """Count an attempt the policy refuses without a password check."""
        self.figures.refused += 1
        if outcome == SUCCESS:
            self.figures.owners_refused += 1

    def window_key(self, ip):
        """Return the address's IP window key, or EXEMPT, and remember it: parsing an
        address costs more than the rest of a decision, and addresses repeat."""
        if len(self.window_keys) >= IP_CACHE_SIZE:
            self.window_keys.clear()
        key = policy.counted_window(ip, self.rules)  # None: EXEMPT
        self.window_keys[ip] = key
        return key

    def sweep(self, now):
        """Drop counters that read as empty by now, so memory stays bounded over any range."""
        rules = self.rules
        self.windows = {key: window for key, window in self.windows.items()
                        if policy.ip_current(window, now, rules) is window}
        self.budgets = {key: budget for key, budget in self.budgets.items()
                        if policy.forget_old(budget, now, rules) is budget}


@dataclass(frozen=True)
class Comparison:
    """Two policies replayed over the same attempts: the current one and a candidate."""

    since: datetime
    until: datetime
    attempts: int
    unknown_outcomes: int  # attempts recorded without a password check (CHECKED_REASONS)
    current: Figures
    candidate: Figures
    complete: bool = True  # False: stopped at `until` after `limit` attempts

    def as_dict(self):
        """Return the comparison as the CLI's --json prints it."""
        return {"since": iso(self.since), "until": iso(self.until), "attempts": self.attempts,
                "unknown_outcomes": self.unknown_outcomes,
                "current": self.current.as_dict(), "candidate": self.candidate.as_dict()}

    def differing_accounts(self):
        """Return (locked only under the candidate, locked only under the current), sorted."""
        current, candidate = self.current.accounts_locked, self.candidate.accounts_locked
        return sorted(candidate - current), sorted(current - candidate)


def period(since_text, until_text):
    """Return (since, until) of a replay from texts as typed (defaults: the last
    DEFAULT_DAYS days to now; a bare until date includes that day).

    Raise BadFilter naming "since" or "until" for text that is no time, or "range"
    when since is not before until.
    """
    until = (queries.parse_time("until", until_text, end_of_day=True) if until_text.strip()
             else clock.now())
    since = (queries.parse_time("since", since_text) if since_text.strip()
             else until - timedelta(days=DEFAULT_DAYS))
    if since >= until:
        raise queries.BadFilter("range")
    return since, until


def compare(current_rules, candidate_rules, since, until, limit=None):
    """Replay the attempts from `since` up to `until` under both policies, reading them once.

    With `limit`, stop after that many attempts: the comparison then ends at the last
    one's time (complete=False).
    """
    known = timeline.devices_known_before(since)
    shared = {} if current_rules.ip_allowlist == candidate_rules.ip_allowlist else None
    current = Replay(current_rules, known, shared)
    candidate = Replay(candidate_rules, known, shared)
    attempts = unknown = 0
    end = until
    for batch in timeline.batches(since, until):
        if limit is not None and attempts + len(batch) > limit:
            end = batch[limit - attempts].at  # the first attempt left out
            batch = batch[:limit - attempts]
        attempts += len(batch)
        unknown += sum(attempt.reason not in CHECKED_REASONS for attempt in batch)
        for engine in (current, candidate):
            for attempt in batch:
                engine.feed(attempt)
        if end != until:
            break
    return Comparison(since, end, attempts, unknown, current.figures, candidate.figures,
                      complete=end == until)


def iso(moment):
    """Return a UTC time as ISO 8601 with its Z."""
    return moment.isoformat() + "Z"
