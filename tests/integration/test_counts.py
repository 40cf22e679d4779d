"""The hourly counts (history.counts) equal a direct count of the attempts, whatever happened.

Every test ends by comparing attempt_counts, row by row, with a count made from the
attempts table as it stands: after sign-ins of every outcome, a request that died
midway, a password confirmation, prune, seed-demo. The upgrade's backfill is checked
in test_upgrade.py.
"""

from datetime import datetime
from datetime import timedelta

import pytest
from peewee import OperationalError

from portal import clock
from portal.history import attempts as attempts_module
from portal.history import retention
from portal.models import AttemptCount
from portal.models import DailySummary
from portal.models import LoginAttempt
from portal.sessions import store
from tests.conftest import counts_agree

pytestmark = pytest.mark.settings(IP_MAX_FAILURES=4, LOCKOUT_MAX_FAILURES=2)


def assert_counts_agree(app):
    with app.app_context():
        kept, direct = counts_agree()
    assert kept == direct
    return kept


def post(app, name, password, ip):
    return app.test_client().post("/login", data={"username": name, "password": password},
                                  environ_base={"REMOTE_ADDR": ip}).status_code


def test_every_outcome_is_counted_once_as_it_settles(app, auth):
    auth.create("alice")
    assert post(app, "alice", auth.password, "198.51.100.1") == 302  # ok
    assert post(app, "Alice ", "wrong password here", "198.51.100.2") == 200  # bad_password
    assert post(app, "ghost", "wrong password here", "2001:db8::5") == 200  # unknown_user
    assert post(app, "alice", "wrong password here", "198.51.100.2") == 200  # locks alice
    assert post(app, "alice", auth.password, "198.51.100.3") == 200  # locked
    for n in range(4):
        post(app, f"bot{n}", "wrong password here", "203.0.113.9")
    assert post(app, "bot9", "wrong password here", "203.0.113.9") == 429  # throttled
    kept = assert_counts_agree(app)
    with app.app_context():
        reasons = {reason for (reason,) in LoginAttempt.select(LoginAttempt.reason).tuples()}
    assert reasons == {"ok", "bad_password", "unknown_user", "locked", "throttled"}
    totals = {}
    for (kind, _, reason, _), count in kept.items():
        if kind == "all":
            totals[reason] = totals.get(reason, 0) + count
    assert totals == {"ok": 1, "bad_password": 2, "unknown_user": 5, "locked": 1,
                      "throttled": 1}
    nets = {key for (kind, _, _, key) in kept if kind == "net"}
    assert "00000000000000000000ffffc6336400" in nets  # 198.51.100.0/24
    assert "20010db8000000000000000000000000" in nets  # 2001:db8::/64


@pytest.mark.parametrize("failing", [(store, "start"), (attempts_module.Pending, "finish")])
def test_a_request_that_dies_midway_is_counted_nowhere_and_its_row_says_error(
        app, auth, monkeypatch, failing):
    auth.create("alice")
    owner, name = failing
    original = getattr(owner, name)

    def fail(*args, **kwargs):
        original(*args, **kwargs)
        raise OperationalError("disk I/O error")
    monkeypatch.setattr(owner, name, fail)
    assert auth.login().status_code == 503
    monkeypatch.undo()
    assert auth.login().status_code == 302
    kept = assert_counts_agree(app)
    assert {reason for (_, _, reason, _) in kept} == {"ok"}  # the error row is not in them
    with app.app_context():
        assert LoginAttempt.select().where(LoginAttempt.reason == "error").count() == 1


def test_a_confirmed_password_is_no_attempt_and_no_count(app, auth, client):
    auth.create("alice")
    auth.login()
    client.post("/account/password", data={"current": auth.password,
                                           "new": "another horse battery staple",
                                           "confirm": "another horse battery staple"})
    assert_counts_agree(app)


def test_prune_takes_the_deleted_attempts_off_the_counts(app, auth, monkeypatch):
    auth.create("alice")
    long_ago = datetime(2026, 10, 1, 9, 30)
    monkeypatch.setattr(clock, "now", lambda: long_ago)
    assert post(app, "alice", auth.password, "198.51.100.1") == 302
    assert post(app, "ghost", "wrong password here", "198.51.100.1") == 200
    monkeypatch.setattr(clock, "now", lambda: long_ago + timedelta(days=40))
    assert post(app, "alice", auth.password, "198.51.100.1") == 302
    with app.app_context():
        before = AttemptCount.select().count()
        assert retention.prune(30, batch_size=1)["attempts"] == 2
        assert AttemptCount.select().count() < before  # emptied rows go
        assert DailySummary.select().count() > 0  # the deleted ones live on, per day
    kept = assert_counts_agree(app)
    assert {reason for (_, _, reason, _) in kept} == {"ok"} and kept


def test_seed_demo_counts_what_it_loads(app, auth, runner):
    auth.create("alice")
    auth.login()  # one real attempt before: counted once, not again by the load
    assert runner.invoke(args=["seed-demo", "--users", "5", "--attempts", "400",
                               "--yes"]).exit_code == 0
    kept = assert_counts_agree(app)
    assert sum(count for (kind, _, _, _), count in kept.items() if kind == "all") == 401
