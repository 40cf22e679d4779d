"""Each account's lock state, explained: for the users list, the user page and the CLI."""

from collections import namedtuple
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from portal import clock
from portal.accounts.users import AdminLock
from portal.history import activity
from portal.history import attempts
from portal.models import User
from portal.security import budgets
from portal.security import policy

CAUSES_SHOWN = 50
# An attempt's time is taken before it waits for its budget's row lock, so a failure
# counted just before the locking one may carry a later time than the lock's. The wait
# is bounded by the statement timeout; a minute is far more, and meanwhile the lock lets
# no failure count.
COUNTED_AFTER_LOCK = timedelta(minutes=1)

# What the users list shows of an account: plain values, its LockState last.
UserRow = namedtuple("UserRow", ["id", "username", "is_admin", "created_at", "last_success_at",
                                 "last_failure_at", "state"])
LIST_COLUMNS = [User.id, User.username, User.is_admin, User.created_at, User.last_success_at,
                User.last_failure_at, User.lock_reason, User.locked_at, User.locked_until,
                User.locked_by, User.review_flagged_at]


def state_of(user):
    """Return the LockState of one Account (its budget for unknown clients)."""
    found = budgets.unknown_client_budgets([user.username])
    flagged_at = User.select(User.review_flagged_at).where(User.id == user.id).scalar()
    return policy.explain(user.admin_lock, found.get(user.username, policy.Budget()),
                          clock.now(), policy.Policy.from_config(current_app.config),
                          flagged_at)


def user_rows():
    """Return the UserRow of every account, by name (the CLI's `users list`)."""
    return with_states(list(User.select(*LIST_COLUMNS).order_by(User.username).tuples()))


def row_for(user_id):
    """Return one account's UserRow."""
    return with_states([User.select(*LIST_COLUMNS).where(User.id == user_id).tuples().get()])[0]


def with_states(rows):
    """Return UserRows of LIST_COLUMNS tuples, each with its LockState (one query for all)."""
    found = budgets.unknown_client_budgets(row[1] for row in rows)
    now, rules = clock.now(), policy.Policy.from_config(current_app.config)
    return [UserRow(*row[:6], policy.explain(AdminLock(*row[6:10]),
                                             found.get(row[1], policy.Budget()), now, rules,
                                             row[10]))
            for row in rows]


def flagged_count():
    """Return how many accounts are flagged for review (the admin's navigation shows it)."""
    return User.select().where(User.review_flagged_at.is_null(False)).count()


def locked_devices(user):
    """Return how many known devices of the Account are locked by the policy right now."""
    now, rules = clock.now(), policy.Policy.from_config(current_app.config)
    return sum(1 for budget in budgets.device_budgets(user.username)
               if policy.is_locked(policy.forget_old(budget, now, rules), now))


@dataclass(frozen=True)
class LockCauses:
    """The failures a policy lock counted (or the open budget holds), for the user page."""

    counted: int  # how many failures the budget holds: the lock's own count
    failures: list  # activity.LockCause, newest first, at most CAUSES_SHOWN
    unnoted: int = 0  # counted failures recorded before 0016, which cannot be named
    reset_after: timedelta = timedelta(0)  # LOCKOUT_RESET_AFTER, which the page words


def causes_of(user, state):
    """Return the LockCauses of an account's budget for unknown clients, in `state`.

    The budget counts its failures since it was last reset (a success from an unknown
    client, an unlock, or LOCKOUT_RESET_AFTER without a failure), and counts none while
    locked: so they are exactly its newest `state.failures` counted failures, each
    attempt naming the budget it counted against (login_attempts.counted_on).
    """
    if not state.failures:
        return LockCauses(0, [])
    until = (state.since or clock.now()) + COUNTED_AFTER_LOCK
    wanted = min(state.failures, CAUSES_SHOWN)
    found = activity.counted_failures(user.username, attempts.UNKNOWN_CLIENTS, until, wanted)
    reset_after = policy.Policy.from_config(current_app.config).reset_after
    return LockCauses(state.failures, found, wanted - len(found), reset_after)
