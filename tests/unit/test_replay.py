"""The replay engine on its own: sweeping forgotten counters changes no figure."""

import random
from datetime import datetime
from datetime import timedelta

from portal.history.timeline import Recorded
from portal.security import replay
from portal.security.policy import Policy


def attempts(count, seed=7):
    """A busy, mixed history: owners, a few attacked accounts, unknown names, shared IPs."""
    rng = random.Random(seed)
    at = datetime(2026, 11, 1)
    for _ in range(count):
        at += timedelta(seconds=rng.randrange(1, 30))
        # Ten accounts under attack take half the attempts; five hundred others share the rest.
        account = f"hot{rng.randrange(10)}" if rng.random() < 0.5 else f"user{rng.randrange(500)}"
        success = rng.random() < 0.4
        yield Recorded(at, account, rng.random() < 0.9, "success" if success else "failure",
                       "ok" if success else rng.choice(["bad_password", "locked", "error"]),
                       f"198.51.{rng.randrange(2)}.{rng.randrange(100)}",
                       rng.choice([None, f"{account}-phone", f"{account}-laptop"]))


def figures(rules, sweep_every, monkeypatch):
    monkeypatch.setattr(replay, "SWEEP_EVERY", sweep_every)
    engine = replay.Replay(rules)
    for attempt in attempts(5000):
        engine.feed(attempt)
    return engine.figures.as_dict(), len(engine.budgets), len(engine.windows)


def test_sweeping_forgotten_counters_changes_no_figure(monkeypatch):
    rules = Policy(max_failures=3, ip_max_failures=6, reset_after=timedelta(hours=2),
                   ip_window=timedelta(minutes=10))
    kept = figures(rules, 10**9, monkeypatch)
    swept = figures(rules, 7, monkeypatch)
    assert swept[0] == kept[0]
    assert kept[0]["locks"] > 10 and kept[0]["refused"] > 10  # the history does lock
    assert swept[1] < kept[1] and swept[2] < kept[2]  # and the sweep did forget
