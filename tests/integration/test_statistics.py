"""The query planner's statistics: SQLite gathers none by itself, so the portal does."""

import sqlite3
from datetime import timedelta

import pytest

from portal import clock
from portal import db


def forget_statistics(app):
    """Drop SQLite's statistics, from a connection of its own, as if none were ever made."""
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    db.database.close_all()  # pooled connections would keep what they read
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE IF EXISTS sqlite_stat1")
    connection.close()


def analyzed_tables():
    """Return the tables SQLite has statistics for."""
    if not db.database.table_exists("sqlite_stat1"):
        return set()
    return {row[0] for row in db.database.execute_sql("SELECT tbl FROM sqlite_stat1")}


@pytest.fixture
def sqlite_only(app):
    if db.is_postgresql():
        pytest.skip("PostgreSQL's autovacuum analyzes")


@pytest.mark.parametrize("command", [["init-db"], ["prune", "--older-than", "30"]])
def test_the_maintenance_commands_leave_statistics(app, runner, sqlite_only, command):
    assert runner.invoke(args=["seed-demo", "--users", "5", "--attempts", "300"]).exit_code == 0
    forget_statistics(app)
    assert runner.invoke(args=command).exit_code == 0
    with app.app_context():
        assert {"login_attempts", "users"} <= analyzed_tables()


@pytest.mark.settings(SESSION_IDLE=86400)
def test_a_portal_that_only_served_requests_gathers_them_within_the_hour(
        app, auth, client, runner, sqlite_only, monkeypatch):
    assert runner.invoke(args=["seed-demo", "--users", "5", "--attempts", "300"]).exit_code == 0
    forget_statistics(app)
    auth.create("root", "correct horse battery", is_admin=True)
    auth.login("root")
    later = clock.now() + timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.get("/admin/history?outcome=failure").status_code == 200
    with app.app_context():
        assert "login_attempts" in analyzed_tables()
