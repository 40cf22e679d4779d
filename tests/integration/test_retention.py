"""prune (batches, summaries that keep the chart's counts), seed-demo and admin session revoke."""

from datetime import timedelta

from portal import clock
from portal import db
from portal.history import chart
from portal.history import retention
from portal.history.queries import Filters
from portal.models import DailySummary
from portal.models import LoginAttempt
from portal.models import Session
from portal.models import User
from portal.web import ipaddr
from tests.conftest import insert_attempts


def add_old(app, days_ago, count, reason="bad_password", ip="10.1.1.1", name="alice"):
    at = clock.now() - timedelta(days=days_ago)
    with app.app_context():
        insert_attempts([{
            "at": at, "username": name, "username_key": name, "outcome":
            "success" if reason == "ok" else "failure", "reason": reason, "ip": ip,
            "ip_key": ipaddr.key(ip), "user_agent": "x", "request_id": "r"}
            for _ in range(count)])


def test_prune_deletes_in_batches_and_keeps_daily_summaries(app, runner):
    add_old(app, 40, 7)
    add_old(app, 35, 3, reason="ok")
    add_old(app, 35, 2, reason="unknown_user", ip="10.9.9.9", name="ghost")
    add_old(app, 5, 4)
    result = runner.invoke(args=["prune", "--older-than", "30", "--batch", "100"])
    assert result.exit_code == 0 and "Deleted 12 attempts in 1 batches" in result.output
    with app.app_context():
        assert LoginAttempt.select().count() == 4
        assert retention.totals() == {"bad_password": 7, "ok": 3, "unknown_user": 2}
        assert retention.totals("user", "alice") == {"bad_password": 7, "ok": 3}
        assert retention.totals("ip", ipaddr.key("10.9.9.9")) == {"unknown_user": 2}


def test_prune_batches_are_bounded_and_summaries_add_up(app):
    add_old(app, 50, 25)
    with app.app_context():
        done = retention.prune(30, batch_size=10)
        assert done["attempts"] == 25 and done["batches"] == 3
        add_old(app, 50, 5)
        retention.prune(30, batch_size=10)
        assert retention.totals() == {"bad_password": 30}
        assert DailySummary.select().count() == 3  # one day: all, user alice, ip


def failures_per_day(**filters):
    """Return the failures the chart counts over the last 30 days, per day, for the filters."""
    since = (clock.now() - timedelta(days=30)).date().isoformat()
    found = chart.overview(Filters(since=since, **filters))
    assert found.span.unit == "day"
    return found.failures


def test_chart_keeps_pruned_days(app):
    add_old(app, 10, 6)
    with app.test_request_context():
        before = failures_per_day()
        retention.prune(7)
        after = failures_per_day()
        for_user = failures_per_day(user="alice")
    assert before == after == for_user == 6


def test_prune_removes_old_ended_sessions_only(app, auth, client):
    auth.create()
    auth.login()
    with app.app_context():
        Session.update(ended_at=clock.now() - timedelta(days=60), end_reason="logout").execute()
        retention.prune(30)
        assert Session.select().count() == 0


def test_seed_demo_fills_realistic_history(app, runner):
    result = runner.invoke(args=["seed-demo", "--users", "20", "--attempts", "3000"])
    assert result.exit_code == 0 and "Created 20 demo users" in result.output
    with app.app_context():
        assert User.select().count() == 20
        assert LoginAttempt.select().count() == 3000
        reasons = {r for (r,) in LoginAttempt.select(LoginAttempt.reason).distinct().tuples()}
        assert {"ok", "bad_password", "unknown_user", "locked"} <= reasons
        assert LoginAttempt.select().where(LoginAttempt.ip.startswith("203.0.113.")).count() > 300
        oldest = LoginAttempt.select().order_by(LoginAttempt.at).first().at
        assert clock.now() - oldest > timedelta(days=80)
        assert User.select().where(User.last_success_at.is_null(False)).count() > 10
        if db.is_postgresql():  # vacuumed after the load: index-only scans skip the table
            (all_visible,) = db.database.execute_sql(
                "SELECT relallvisible FROM pg_class WHERE relname = 'login_attempts'").fetchone()
            assert all_visible > 0
            assert db.database.execute_sql("SHOW statement_timeout").fetchone()[0] == "5s"


def test_after_seed_demo_free_text_finds_old_and_new_attempts(app, auth, client, runner):
    assert runner.invoke(args=["seed-demo", "--users", "5", "--attempts", "500"]).exit_code == 0
    auth.create("root", "correct horse battery", is_admin=True)
    client.post("/login", data={"username": "zq-fresh-name", "password": "x"})
    auth.login("root")
    assert client.get("/admin/history?q=zq-fresh").get_data(as_text=True).count(
        "zq-fresh-name") == 1  # recorded after the load: the text index still follows
    assert "@example.com" in client.get("/admin/history?q=example.com").get_data(as_text=True)


def test_admin_signs_a_users_session_out(app, auth, client):
    auth.create("root", "correct horse battery", is_admin=True)
    auth.create()
    alice = app.test_client()
    alice.post("/login", data={"username": "alice", "password": "correct horse battery"})
    auth.login("root")
    with app.app_context():
        session_id = Session.get(Session.user == User.get(User.username == "alice").id).id
    assert "Sign out" in client.get("/admin/users/alice").get_data(as_text=True)
    response = client.post(f"/admin/users/alice/sessions/{session_id}/revoke")
    assert response.status_code == 302
    assert alice.get("/account/sessions").status_code == 302
    assert client.post(f"/admin/users/root/sessions/{session_id}/revoke").status_code == 404
    assert "signed a session out" in client.get("/admin/users/alice").get_data(as_text=True)


def test_pruned_ip_counts_are_found_by_any_spelling_of_the_address(app):
    add_old(app, 10, 2, ip="2001:db8::1")
    with app.test_request_context():
        retention.prune(5)
        for spelling in ["2001:db8::1", "2001:DB8:0::1", "2001:db8::1/128"]:
            assert failures_per_day(ip=spelling) == 2


def test_prune_removes_sessions_that_ran_out_unseen(app, auth):
    auth.create()
    auth.login()
    with app.app_context():
        Session.update(expires_at=clock.now() - timedelta(days=60)).execute()
        assert retention.prune(30)["sessions"] == 1


def test_prune_forgets_budgets_and_ip_windows_that_ran_out_and_keeps_the_rest(app, runner):
    from portal.models import FailureBudget
    from portal.models import IpThrottle
    now = clock.now()
    day = timedelta(days=1)
    with app.app_context():
        for account, device, values in [
                ("ran-out", "", {"failures": 3, "last_failure_at": now - 2 * day}),
                ("never-failed", "", {}),
                ("recent", "", {"failures": 2, "last_failure_at": now - timedelta(hours=1)}),
                ("locked", "", {"failures": 5, "last_failure_at": now - 2 * day,
                                "locked_until": now + timedelta(hours=1)}),
                # Permanent locks read as LOCKOUT_MAX_WAIT (1 h) ones: LOCKOUT_PERMANENT is off.
                ("long-over", "", {"failures": 30, "last_failure_at": now - 9 * day,
                                   "locked_at": now - 9 * day, "permanent": True}),
                ("for-now", "", {"failures": 30, "last_failure_at": now - 2 * day,
                                 "locked_at": now - timedelta(minutes=10), "permanent": True}),
                ("ran-out", "d" * 32, {"failures": 1, "last_failure_at": now - 2 * day})]:
            FailureBudget.create(account=account, device=device, **values)
        IpThrottle.create(ip="203.0.113.1", started_at=now - timedelta(hours=2), failures=9)
        IpThrottle.create(ip="203.0.113.2", started_at=now - timedelta(minutes=5), failures=9)
    result = runner.invoke(args=["prune", "--older-than", "30"])
    assert result.exit_code == 0 and "3 failure budgets and 1 IP windows" in result.output
    with app.app_context():
        kept = sorted((b.account, b.device) for b in FailureBudget.select())
        assert kept == [("for-now", ""), ("locked", ""), ("ran-out", "d" * 32), ("recent", "")]
        assert [w.ip for w in IpThrottle.select()] == ["203.0.113.2"]
