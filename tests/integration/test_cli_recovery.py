"""The flask CLI's recovery commands: users set-password, role, delete, and the guards."""

import csv
import io
import itertools
import re
import threading

import pytest

from portal.models import AuditEvent
from portal.models import FailureBudget
from portal.models import LoginAttempt
from portal.models import Session
from portal.models import User
from portal.security import admin_locks
from portal.security import guards
from portal.security import recovery
from tests.integration.test_upgrade import LONG_AGO
from tests.integration.test_upgrade import empty_url  # noqa: F401 (a fixture)
from tests.integration.test_upgrade import fill_like_87302ba
from tests.integration.test_upgrade import init_db
from tests.integration.test_upgrade import insert
from tests.integration.test_upgrade import load
from tests.integration.test_upgrade import portal_on
from tests.server import flask_cli
from tests.server import portal_env

NEW_PASSWORD = "quiet lantern orchard"


@pytest.fixture
def accounts(auth):
    """An admin root and a user alice, both with auth's password."""
    auth.create("root", is_admin=True)
    auth.create("alice")
    return auth


def invoke(runner, *args, stdin=None):
    """Run a `users` command; return the result."""
    return runner.invoke(args=["users", *args], input=stdin)


def one_line_error(result):
    """Return the single line a refused command wrote to stderr (it exits 1)."""
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and "Traceback" not in result.output
    return line


def actions(app):
    """Return (action, actor prefix, target name) of every audit event, oldest first."""
    with app.app_context():
        return [(e.action, e.actor.partition(":")[0], e.target_name)
                for e in AuditEvent.select().order_by(AuditEvent.id)]


def test_set_password_replaces_it_ends_sessions_and_is_audited(app, accounts, runner):
    signed_in = app.test_client()
    signed_in.post("/login", data={"username": "alice", "password": accounts.password})
    result = invoke(runner, "set-password", "Alice", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Set a new password for 'alice'; its sessions have ended." in result.output
    assert signed_in.get("/account/sessions").status_code == 302
    assert accounts.login("alice").status_code == 200  # the old password no longer works
    assert accounts.login("alice", NEW_PASSWORD).status_code == 302
    assert actions(app) == [("set_password", "cli", None)]


@pytest.mark.parametrize(("name", "password", "message"), [
    ("alice", "short", "The password must be 15 to 1024 characters long."),
    ("alice", "alice in wonderland", "must not contain the username"),
    ("ghost", NEW_PASSWORD, "No user named 'ghost'."),
])
def test_set_password_refuses_in_one_line(app, accounts, runner, name, password, message):
    result = invoke(runner, "set-password", name, "--password-stdin", stdin=password + "\n")
    assert message in one_line_error(result)
    assert accounts.login("alice").status_code == 302 and actions(app) == []


def test_role_promotes_and_demotes_on_the_audit_trail(app, accounts, runner):
    assert "'alice' is now an admin." in invoke(runner, "role", "alice", "admin").output
    assert "'alice' is already an admin." in invoke(runner, "role", "alice", "admin").output
    assert "'root' is now a user." in invoke(runner, "role", "root", "user").output
    with app.app_context():
        assert [u.username for u in User.select().where(User.is_admin == True)] == ["alice"]  # noqa: E712
        assert [(e.action, e.reason) for e in AuditEvent.select().order_by(AuditEvent.id)] == \
            [("role", "admin"), ("role", "user")]
    assert invoke(runner, "role", "alice", "owner").exit_code == 2  # click: not a choice


@pytest.mark.parametrize("command", [["role", "root", "user"], ["delete", "root"],
                                     ["lock", "root", "--reason", "leaving"]])
def test_the_last_admin_is_kept_unless_forced(app, accounts, runner, command):
    line = one_line_error(invoke(runner, *command))
    assert "'root' is the last admin who can sign in" in line and "--force" in line
    assert accounts.login("root").status_code == 302 and actions(app) == []
    assert invoke(runner, *command, "--force").exit_code == 0
    assert actions(app)[-1][0] in ("role", "delete", "lock")


def test_an_admin_locked_out_does_not_count_as_another_admin(app, accounts, runner):
    invoke(runner, "create", "bob", "--admin", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert invoke(runner, "lock", "bob", "--reason", "on leave").exit_code == 0
    assert "last admin" in one_line_error(invoke(runner, "role", "root", "user"))
    assert invoke(runner, "unlock", "bob").exit_code == 0
    assert invoke(runner, "role", "root", "user").exit_code == 0


def test_delete_keeps_the_attempts_by_the_name_typed_and_the_audit_trail(app, accounts, runner,
                                                                          client):
    app.test_client().post("/login", data={"username": "alice", "password": accounts.password})
    accounts.login(" Alice", "wrong")
    assert invoke(runner, "lock", "alice", "--reason", "left the company").exit_code == 0
    result = invoke(runner, "delete", "alice")
    assert result.exit_code == 0
    assert "Deleted 'alice'; its attempts and audit events are kept." in result.output
    with app.app_context():
        assert not User.select().where(User.username == "alice").exists()
        assert Session.select().count() == 0
        assert [(a.username, a.user_id) for a in LoginAttempt.select().order_by(
            LoginAttempt.id)] == [("alice", None), (" Alice", None)]
        assert [e.target_id for e in AuditEvent.select()] == [None, None]
    assert actions(app) == [("lock", "cli", "alice"), ("delete", "cli", "alice")]
    accounts.login("root")
    page = client.get("/admin/history?user=alice").get_data(as_text=True)
    assert len(re.findall(r'<td class="typed"[^>]*>', page)) == 2
    rows = list(csv.reader(io.StringIO(client.get("/admin/history.csv?user=alice")
                                       .get_data(as_text=True))))
    assert [row[1] for row in rows[1:]] == [" Alice", "alice"]
    assert client.get("/admin/users/alice").status_code == 404
    assert "No user named 'alice'." in one_line_error(invoke(runner, "delete", "alice"))


def test_a_deleted_name_can_be_created_again_with_no_old_failures(app, accounts, runner):
    for _ in range(5):
        accounts.login("alice", "wrong")
    invoke(runner, "delete", "alice")
    accounts.create("alice")
    assert accounts.login("alice").status_code == 302


def test_a_deleted_accounts_devices_are_not_the_next_ones(app, accounts, runner):
    browser = app.test_client()
    assert browser.post("/login", data={"username": "alice", "password": accounts.password}
                        ).status_code == 302  # a known device of this alice
    invoke(runner, "delete", "alice")
    with app.app_context():
        assert FailureBudget.select().where(FailureBudget.account == "alice").count() == 0


@pytest.mark.parametrize("args", [["users", "role", "alice", "superuser"],
                                  ["users", "lock", "alice"], ["ips", "lift"],
                                  ["users", "delete", "alice", "--nope"], ["prune"],
                                  ["seed-demo", "--users", "many"], ["users", "--nope"]])
def test_a_usage_mistake_is_one_line(app, accounts, runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith("Error: ") and "Usage" not in result.output


def test_unlock_of_an_open_account_writes_nothing(app, accounts, runner):
    result = invoke(runner, "unlock", "alice")
    assert result.exit_code == 0 and "Nothing to unlock: 'alice' is not locked." in result.output
    assert actions(app) == []


def test_an_upgraded_database_keeps_the_audit_trail_of_a_deleted_user(empty_url):  # noqa: F811
    app = portal_on(empty_url)
    load(app, "87302ba")
    fill_like_87302ba(app)
    with app.app_context():  # the old release's own audit event, which 0012 must carry over
        insert("audit_events", at=LONG_AGO, actor="root", actor_ip="127.0.0.1", action="lock",
               target_id=2, reason="stolen laptop")
    assert init_db(app).exit_code == 0
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "delete", "bob"]).exit_code == 0  # admin-locked
    assert actions(app) == [("lock", "root", "bob"), ("delete", "cli", "bob")]


@pytest.mark.slow
def test_a_lost_admin_password_is_reset_from_the_shell(app, accounts, database_url):
    env = portal_env(database_url)
    reset = flask_cli(env, "users", "set-password", "root", "--password-stdin",
                      stdin=NEW_PASSWORD + "\n")
    assert reset.returncode == 0, reset.stderr
    assert accounts.login("root", NEW_PASSWORD).status_code == 302
    refused = flask_cli(env, "users", "delete", "root")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == [
        "Error: 'root' is the last admin who can sign in: make another admin first. "
        "(--force does it anyway)"]


def test_two_admins_removing_each_other_at_once_leave_one(app, accounts):
    """Each check of "is another admin left?" and its change hold the admins' rows: of
    two admins demoting, locking or deleting each other at once, one is refused."""
    changes = [lambda target, actor: recovery.set_role(target, False, "t", actor.id),
               lambda target, actor: admin_locks.lock(target, "r", None, "t", None,
                                                      actor_id=actor.id),
               lambda target, actor: recovery.delete(target, "t", actor.id)]
    for first, second in itertools.product(changes, repeat=2):
        with app.app_context():
            Session.delete().execute()
            User.delete().where(User.username.in_(["aaaa", "bbbb"])).execute()
            User.update(is_admin=False).where(User.is_admin == True).execute()  # noqa: E712
        one, other = accounts.create("aaaa", is_admin=True), accounts.create("bbbb", is_admin=True)
        start, outcomes = threading.Barrier(2), []
        threads = [threading.Thread(target=at_once, args=(app, start, outcomes, *plan))
                   for plan in ((first, other, one), (second, one, other))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with app.app_context():
            left = User.select().where(User.is_admin == True,  # noqa: E712
                                       User.lock_reason.is_null()).count()
        assert sorted(outcomes) == ["done", "refused"] and left == 1


def at_once(app, start, outcomes, change, target, actor):
    """Make the change as soon as the other thread is ready too; note how it went."""
    with app.app_context():
        start.wait()
        try:
            change(target, actor)
            outcomes.append("done")
        except guards.Refused:
            outcomes.append("refused")
