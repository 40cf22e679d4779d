"""The lockout rules, rule by rule, with an injected clock."""

import ipaddress
from datetime import datetime
from datetime import timedelta

import pytest

from portal.security import policy
from portal.security.policy import Budget
from portal.security.policy import IpWindow
from portal.security.policy import Policy

T0 = datetime(2026, 1, 1, 12, 0, 0)
POLICY = Policy()
MIN = timedelta(minutes=1)


def fail(budget, times, now=T0, rules=POLICY):
    for _ in range(times):
        assert not policy.is_locked(budget, now)
        budget = policy.after_failure(budget, now, rules)
    return budget


def test_four_failures_do_not_lock_and_the_fifth_does():
    four = fail(Budget(), 4)
    assert four.failures == 4 and not policy.is_locked(four, T0)
    five = policy.after_failure(four, T0, POLICY)
    assert policy.is_locked(five, T0) and policy.just_locked(four, five)
    assert five.locked_until == T0 + 5 * MIN and five.lockouts == 1


def test_temporary_lock_ends_exactly_at_its_time():
    locked = fail(Budget(), 5)
    assert policy.is_locked(locked, T0 + 5 * MIN - timedelta(microseconds=1))
    assert not policy.is_locked(locked, T0 + 5 * MIN)


def test_each_further_lock_doubles_up_to_the_maximum():
    budget, now, waits = Budget(), T0, []
    for _ in range(5):
        budget = fail(budget, 5, now)
        waits.append(budget.locked_until - now)
        now = budget.locked_until
    assert waits == [5 * MIN, 10 * MIN, 20 * MIN, 40 * MIN, 60 * MIN]


def test_a_policy_lock_always_ends_by_itself_by_default():
    budget, now, flagged = Budget(), T0, []
    for _ in range(50):
        before = fail(budget, 4, now)
        budget = policy.after_failure(before, now, POLICY)
        flagged.append(policy.needs_review(before, budget, POLICY))
        assert not budget.permanent and budget.locked_until - now <= timedelta(hours=1)
        now = budget.locked_until
    assert not policy.is_locked(budget, now)
    assert flagged == [False] * 4 + [True] * 46  # from the fifth lock in a row on


def test_with_the_opt_in_the_lock_after_max_temporary_ones_is_permanent():
    rules = Policy(permanent=True)
    budget, now = Budget(), T0
    for _ in range(5):
        budget = fail(budget, 5, now, rules)
        now = budget.locked_until
    assert not budget.permanent
    budget = fail(budget, 5, now, rules)
    assert budget.permanent and budget.locked_until is None
    assert policy.is_locked(budget, now + timedelta(days=365))
    assert policy.forget_old(budget, now + timedelta(days=365), rules) == budget


def test_failures_are_forgotten_reset_after_the_last_one():
    three = fail(Budget(), 3)
    assert policy.forget_old(three, T0 + timedelta(hours=12) - MIN, POLICY) == three
    assert policy.forget_old(three, T0 + timedelta(hours=12), POLICY) == Budget()
    later = policy.after_failure(three, T0 + timedelta(hours=12), POLICY)
    assert later.failures == 1


def test_lockouts_are_forgotten_with_the_failures():
    budget = fail(Budget(), 5)
    budget = policy.forget_old(budget, T0 + timedelta(hours=13), POLICY)
    assert budget.lockouts == 0
    assert fail(budget, 5, T0 + timedelta(hours=13)).locked_until == \
        T0 + timedelta(hours=13) + 5 * MIN


def test_success_resets_everything():
    assert policy.after_success() == Budget()


@pytest.mark.parametrize(("lockouts", "minutes"), [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60),
                                                   (60, 60), (1000, 60)])
def test_lock_wait_growth(lockouts, minutes):
    assert policy.lock_wait(lockouts, POLICY) == minutes * MIN


def test_wait_factor_one_keeps_locks_equal():
    rules = Policy(wait_factor=1)
    assert policy.lock_wait(4, rules) == rules.wait


def test_policy_from_config():
    config = {"LOCKOUT_MAX_FAILURES": 3, "LOCKOUT_WAIT": 60, "LOCKOUT_WAIT_FACTOR": 3,
              "LOCKOUT_MAX_WAIT": 600, "LOCKOUT_MAX_TEMPORARY": 2, "LOCKOUT_RESET_AFTER": 7200,
              "LOCKOUT_PERMANENT": True, "IP_MAX_FAILURES": 10, "IP_WINDOW": 300,
              "IP_ALLOWLIST": "10.0.0.0/8, 2001:db8::/32"}
    rules = Policy.from_config(config)
    assert rules.max_failures == 3 and rules.wait == MIN and rules.ip_window == 5 * MIN
    assert rules.permanent


@pytest.mark.parametrize(("address", "exempt"), [
    ("10.1.2.3", True), ("::ffff:10.1.2.3", True), ("2001:db8:1::7", True),
    ("11.1.2.3", False), ("2001:db9::1", False), ("unknown", False), ("", False),
])
def test_the_allowlist_spares_its_networks_from_the_ip_throttle(address, exempt):
    rules = Policy(ip_allowlist=(ipaddress.ip_network("10.0.0.0/8"),
                                 ipaddress.ip_network("2001:db8::/32")))
    assert policy.ip_exempt(address, rules) is exempt
    assert not policy.ip_exempt(address, Policy())


def test_ip_is_throttled_after_max_failures_in_the_window():
    rules = Policy(ip_max_failures=3)
    window = IpWindow()
    for _ in range(3):
        assert not policy.ip_throttled(window, T0, rules)
        window = policy.ip_after_failure(window, T0, rules)
    assert policy.ip_throttled(window, T0, rules)
    assert policy.ip_retry_after(window, T0, rules) == 15 * 60
    assert policy.ip_retry_after(window, T0 + 15 * MIN - timedelta(seconds=0.5), rules) == 1


def test_ip_window_runs_from_its_first_failure():
    rules = Policy(ip_max_failures=2)
    window = policy.ip_after_failure(IpWindow(), T0, rules)
    window = policy.ip_after_failure(window, T0 + 10 * MIN, rules)
    assert policy.ip_throttled(window, T0 + 14 * MIN, rules)
    assert not policy.ip_throttled(window, T0 + 15 * MIN, rules)
    fresh = policy.ip_after_failure(window, T0 + 15 * MIN, rules)
    assert fresh == IpWindow(started_at=T0 + 15 * MIN, failures=1)
