"""The flask CLI: init-db, users create and list."""

from portal.models import User


def test_init_db_is_idempotent(runner):
    assert "Schema ready" in runner.invoke(args=["init-db"]).output
    assert runner.invoke(args=["init-db"]).exit_code == 0


def test_users_create_reads_the_password_from_stdin(app, runner, auth, client):
    result = runner.invoke(args=["users", "create", "Carol", "--admin", "--password-stdin"],
                           input="a long password\n")
    assert result.exit_code == 0 and "Created admin 'carol'" in result.output
    with app.app_context():
        assert User.get(User.username == "carol").is_admin
    assert auth.login("carol", "a long password").status_code == 302


def test_users_create_refuses_duplicates_bad_names_and_short_passwords(runner):
    runner.invoke(args=["users", "create", "dave", "--password-stdin"], input="password1\n")
    for name, password, message in [("dave", "password1", "already exists"),
                                    ("bad name", "password1", "Invalid username"),
                                    ("erin", "short", "8 to 1024 characters")]:
        result = runner.invoke(args=["users", "create", name, "--password-stdin"],
                               input=password + "\n")
        assert result.exit_code == 1 and message in result.output


def test_users_list(runner):
    runner.invoke(args=["users", "create", "zed", "--password-stdin"], input="password1\n")
    runner.invoke(args=["users", "create", "amy", "--admin", "--password-stdin"],
                  input="password1\n")
    lines = runner.invoke(args=["users", "list"]).output.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["amy", "admin"], ["zed", "user"]]
