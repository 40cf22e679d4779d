"""The flask CLI: init-db, users create (with the password rule) and list."""

import re

import pytest

from portal.accounts import passwords
from portal.models import LoginAttempt
from portal.models import User
from tests.server import flask_cli
from tests.server import portal_env


def test_init_db_is_idempotent(runner):
    assert "Schema ready" in runner.invoke(args=["init-db"]).output
    assert runner.invoke(args=["init-db"]).exit_code == 0


SEED = ["seed-demo", "--users", "3", "--attempts", "20"]


def test_seed_demo_refuses_a_database_with_accounts_it_did_not_create(app, runner, auth):
    auth.create("root", is_admin=True)
    result = runner.invoke(args=SEED)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "'root'" in result.output
    assert "password is published: add --yes" in result.output
    with app.app_context():
        assert [u.username for u in User.select()] == ["root"]
        assert LoginAttempt.select().count() == 0


def test_seed_demo_adds_to_its_own_accounts_and_to_others_only_with_yes(app, runner, auth):
    assert runner.invoke(args=SEED).exit_code == 0
    assert runner.invoke(args=[*SEED, "--seed", "2"]).exit_code == 0  # a second shared hash
    auth.create("root", is_admin=True)
    assert runner.invoke(args=SEED).exit_code == 1
    assert runner.invoke(args=[*SEED, "--yes"]).exit_code == 0
    with app.app_context():
        assert User.select().count() == 10


def test_a_demo_account_with_a_new_password_is_no_longer_the_demos(app, runner):
    assert runner.invoke(args=SEED).exit_code == 0
    with app.app_context():
        user = User.select().order_by(User.id.desc()).first()
        User.update(password_hash=passwords.hash_password("a password of its own")).where(
            User.id == user.id).execute()
    result = runner.invoke(args=SEED)
    assert result.exit_code == 1 and repr(user.username) in result.output


@pytest.mark.slow
def test_seed_demo_refuses_in_one_line_from_the_shell(app, database_url):
    env = portal_env(database_url)
    flask_cli(env, "users", "create", "root", "--admin", "--password-stdin",
              stdin="a long password\n")
    refused = flask_cli(env, *SEED)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("Error: ") and refused.stderr.count("\n") == 1
    assert "seed-demo did not create ('root')" in refused.stderr
    seeded = flask_cli(env, *SEED, "--yes")
    assert seeded.returncode == 0, seeded.stderr


def test_users_create_reads_the_password_from_stdin(app, runner, auth, client):
    result = runner.invoke(args=["users", "create", "Carol", "--admin", "--password-stdin"],
                           input="a long password\n")
    assert result.exit_code == 0 and "Created admin 'carol'" in result.output
    with app.app_context():
        assert User.get(User.username == "carol").is_admin
    assert auth.login("carol", "a long password").status_code == 302


def create(runner, name, password):
    """Run `users create NAME --password-stdin` with the password on stdin."""
    return runner.invoke(args=["users", "create", name, "--password-stdin"],
                         input=password + "\n")


def test_users_create_refuses_duplicates_and_bad_names(runner):
    create(runner, "dave", "a long password")
    for name, message in [("dave", "already exists"), ("bad name", "Invalid username")]:
        result = create(runner, name, "a long password")
        assert result.exit_code == 1 and message in result.output


@pytest.mark.parametrize(("password", "message"), [
    ("fourteen chars", "The password must be 15 to 1024 characters long."),
    ("x" * 1025, "The password must be 15 to 1024 characters long."),
    ("password1234567", "on a list of common and breached passwords"),
    ("PassWord1234567", "on a list of common and breached passwords"),
    # Fullwidth letters are the same password once NFKC-normalised.
    ("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44" "1234567",
     "on a list of common and breached passwords"),
    ("my name is Erin-Smith, hello", "must not contain the username or 'portal'"),
    ("my erin-smith@example.com", "must not contain the username or 'portal'"),
    ("the Portal is where I work", "must not contain the username or 'portal'"),
])
def test_users_create_refuses_a_password_the_rule_refuses_in_one_line(runner, password,
                                                                        message):
    result = create(runner, "erin-smith@example.com", password)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and message in line
    assert runner.invoke(args=["users", "list"]).output == "NAME\tROLE\tSTATE\tCREATED\n"


@pytest.mark.parametrize("password", ["fifteen chars!!", "a" + " long passphrase" * 4,
                                      "zoë’s ✓ sixteen", "x" * 1024])
def test_users_create_accepts_15_to_1024_characters_without_composition_rules(
        auth, runner, password):
    result = create(runner, "erin", password)
    assert result.exit_code == 0, result.output
    assert auth.login("erin", password).status_code == 302


def test_short_usernames_are_not_searched_for_in_passwords(runner):
    assert create(runner, "bob", "bobs long passphrase").exit_code == 0


@pytest.mark.settings(PASSWORD_MIN_LENGTH=20)
def test_the_minimum_length_is_a_setting(runner):
    result = create(runner, "erin", "nineteen characters")
    assert result.exit_code == 1 and "20 to 1024 characters" in result.stderr
    assert create(runner, "erin", "twenty characters ok").exit_code == 0


@pytest.mark.settings(LOCKOUT_MAX_FAILURES=1)
def test_users_list_has_a_header_and_separate_role_and_state_columns(app, auth, runner):
    for name in ("amy", "bob", "cat", "dan"):
        auth.create(name, is_admin=name == "amy")
    runner.invoke(args=["users", "lock", "amy", "--reason", "left", "--force"])  # the last admin
    runner.invoke(args=["users", "lock", "bob", "--reason", "away", "--hours", "2"])
    auth.login("cat", "wrong password")
    with app.app_context():
        User.update(review_flagged_at=User.created_at).where(User.username == "dan").execute()
    header, *rows = runner.invoke(args=["users", "list"]).output.splitlines()
    assert header == "NAME\tROLE\tSTATE\tCREATED"
    assert [row.split("\t")[:2] for row in rows] == [
        ["amy", "admin"], ["bob", "user"], ["cat", "user"], ["dan", "user"]]
    states = [row.split("\t")[2] for row in rows]
    assert states[0] == "locked by admin" and states[3] == "flagged for review"
    assert re.fullmatch(r"locked by admin until \d{4}-\d\d-\d\d \d\d:\d\d UTC", states[1])
    assert re.fullmatch(r"locked until \d{4}-\d\d-\d\d \d\d:\d\d UTC", states[2])
    assert all(row.endswith(" UTC") for row in rows)


@pytest.mark.parametrize(("args", "message"), [
    (["users", "lock", "amy", "--reason", "x", "--hours", "99999999999"],
     "Error: Invalid value for '--hours': 99999999999 is not in the range 1<=x<=876000."),
    (["prune", "--older-than", "1000000"],
     "Error: Invalid value for '--older-than': 1000000 is not in the range 1<=x<=36500."),
])
def test_numbers_past_what_a_date_can_hold_are_refused_in_one_line(auth, runner, args, message):
    auth.create("amy")
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and result.stderr.splitlines() == [message]


def test_the_largest_numbers_allowed_work(auth, runner):
    auth.create("amy")
    locked = runner.invoke(args=["users", "lock", "amy", "--reason", "x", "--hours", "876000"])
    assert locked.exit_code == 0, locked.output
    assert runner.invoke(args=["prune", "--older-than", "36500"]).exit_code == 0
