"""A bad setting, database or instance folder stops each way of starting the portal in one line.

The flask CLI, run.py and gunicorn run as real subprocesses. Cases that need the instance
folder run a copy of the project in tmp_path, whose instance folder is its own.
"""

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from tests.conftest import PG_BASE_URL
from tests.server import ROOT
from tests.server import Gunicorn
from tests.server import flask_cli
from tests.server import portal_env

pytestmark = pytest.mark.slow

# Root writes in a read-only folder anyway: drop that privilege for the read-only cases.
UNPRIVILEGED = (["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
                if os.geteuid() == 0 else [])
needs_unprivileged = pytest.mark.skipif(UNPRIVILEGED and not shutil.which("setpriv"),
                                        reason="running as root without setpriv")
needs_postgresql = pytest.mark.skipif(not PG_BASE_URL, reason="set PORTAL_TEST_DATABASE_URL")


def run(env, *command, cwd=ROOT, unprivileged=False):
    """Run `python COMMAND` and return the completed process."""
    return subprocess.run([*(UNPRIVILEGED if unprivileged else []), sys.executable, *command],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def the_line(done):
    """Return the one line a failed command printed, after checking that it failed so."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def gunicorn_output(env, cwd=ROOT):
    """Start gunicorn, which must stop; return its output and exit status."""
    server = Gunicorn(env, workers=1, cwd=cwd)
    with pytest.raises(RuntimeError) as failed:
        server.__enter__()
    return str(failed.value), server.process.returncode


@pytest.fixture
def project(tmp_path):
    """A copy of the project (the package, its templates, run.py): its own instance folder."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "portal", copy / "portal",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("templates", "static"):
        (copy / folder).symlink_to(ROOT / folder)
    for name in ("run.py", "gunicorn.conf.py"):
        shutil.copy(ROOT / name, copy / name)
    (copy / "instance").mkdir()
    yield copy
    (copy / "instance").chmod(0o755)


def read_only(folder):
    """Make a folder read-only (for everyone but a privileged root) and world-traversable."""
    folder.mkdir(exist_ok=True)
    folder.chmod(0o555)
    return folder


def closed_port():
    """Return a socket that holds a loopback port without listening: connections are refused."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder


def pg_url(user=None, database=None, port=None):
    """Return the test server's URL with another user, database or port."""
    parts = urlsplit(PG_BASE_URL or "postgresql://postgres@127.0.0.1:5432/postgres")
    user = user or parts.username
    return (f"postgresql://{user}@{parts.hostname}:{port or parts.port or 5432}/"
            f"{database or parts.path.lstrip('/')}")


@pytest.mark.parametrize(("settings", "args", "line"), [
    ({"TOKEN_TTL": "abc"}, ["users", "list"],
     "Error: PORTAL_TOKEN_TTL must be a whole number, got 'abc'."),
    ({"LOCKOUT_MAX_FAILURES": "0"}, ["init-db"],
     "Error: PORTAL_LOCKOUT_MAX_FAILURES must be at least 1, got 0."),
    ({"DATABASE_URL": "mysql://root@localhost/portal"}, ["init-db"],
     "Error: PORTAL_DATABASE_URL: unsupported database 'mysql' (use sqlite:///path or "
     "postgresql://user@host/name)."),
    ({}, ["users", "lock", "olga", "--reason", "x", "--hours", "99999999999"],
     "Error: Invalid value for '--hours': 99999999999 is not in the range 1<=x<=876000."),
    ({}, ["prune", "--older-than", "1000000"],
     "Error: Invalid value for '--older-than': 1000000 is not in the range 1<=x<=36500."),
])
def test_the_cli_stops_in_one_line(tmp_path, settings, args, line):
    env = portal_env(f"sqlite:///{tmp_path}/p.db", **settings)
    assert the_line(flask_cli(env, *args)) == line


def test_a_sqlite_database_in_a_missing_folder_stops_the_cli_in_one_line(tmp_path):
    done = flask_cli(portal_env(f"sqlite:///{tmp_path}/nowhere/p.db"), "init-db")
    assert the_line(done) == (
        f"Error: PORTAL_DATABASE_URL: cannot use {tmp_path}/nowhere for the SQLite database "
        "(no such folder): create the folder, make it writable by this user, or name another "
        "path.")


@needs_unprivileged
def test_a_sqlite_database_in_a_read_only_folder_stops_the_cli_in_one_line(tmp_path):
    tmp_path.chmod(0o755)
    folder = read_only(tmp_path / "ro")
    env = portal_env(f"sqlite:///{folder}/p.db")
    line = the_line(run(env, "-m", "flask", "--app", "portal", "init-db", unprivileged=True))
    assert line.startswith(f"Error: PORTAL_DATABASE_URL: cannot use {folder} for the SQLite")
    assert "(this user may not write in it)" in line


def test_an_unreachable_postgresql_stops_the_cli_in_one_line():
    with closed_port() as holder:
        port = holder.getsockname()[1]
        done = flask_cli(portal_env(pg_url(port=port)), "init-db")
    assert the_line(done) == (
        f"Error: PORTAL_DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:{port} (Connection "
        "refused): start it, or correct the host and port in the URL.")


@needs_postgresql
@pytest.mark.parametrize(("url", "line"), [
    (pg_url(database="no_such_db"), "has no database 'no_such_db': create it (createdb "
                                    "no_such_db), or correct the URL."),
    (pg_url(user="nobody"), "has no role 'nobody': create it (createuser nobody), or correct "
                            "the URL's user."),
])
def test_a_missing_postgresql_database_or_role_stops_the_cli_in_one_line(url, line):
    done = the_line(flask_cli(portal_env(url), "users", "list"))
    assert done.startswith("Error: PORTAL_DATABASE_URL: PostgreSQL at ") and done.endswith(line)


def test_a_syntax_error_in_the_instance_config_stops_the_cli_with_its_line(project):
    (project / "instance" / "config.py").write_text("TOKEN_TTL = 600\nLOCKOUT_WAIT = = 5\n")
    done = run(portal_env("sqlite:///instance/portal.db"), "-m", "flask", "--app", "portal",
               "init-db", cwd=project)
    assert the_line(done) == (f"Error: {project}/instance/config.py:2: invalid syntax: "
                              "correct that line or remove the file.")


@needs_unprivileged
def test_a_read_only_instance_folder_stops_the_cli_in_one_line(project):
    project.parent.chmod(0o755)
    read_only(project / "instance")
    done = run(portal_env("sqlite:///instance/portal.db"), "-m", "flask", "--app", "portal",
               "init-db", cwd=project, unprivileged=True)
    assert the_line(done).startswith(
        f"Error: PORTAL_DATABASE_URL: cannot use {project}/instance for the SQLite database")


def test_an_unknown_setting_is_a_one_line_warning_naming_the_nearest(tmp_path):
    env = portal_env(f"sqlite:///{tmp_path}/p.db", LOCKOUT_MAX_FAILRES="3", THREADS="2",
                     BIND="127.0.0.1:9000", TEST_DATABASE_URL="sqlite://")
    done = flask_cli(env, "users", "list")
    assert done.returncode == 0 and done.stdout.startswith("NAME\t")
    assert done.stderr.splitlines() == [
        "Warning: PORTAL_LOCKOUT_MAX_FAILRES is not a setting and is ignored; did you mean "
        "PORTAL_LOCKOUT_MAX_FAILURES?"]


def test_gunicorn_warns_of_an_unknown_setting_once_not_once_per_worker(tmp_path):
    env = portal_env(f"sqlite:///{tmp_path}/p.db", LOCKOUT_MAX_FAILRES="3")
    assert flask_cli(env, "init-db").returncode == 0
    with Gunicorn(env, workers=3) as server:
        while len(server.worker_pids()) < 3 or "Booting worker" not in server.read_log():
            time.sleep(0.1)
        time.sleep(1)  # each worker has loaded the app
    assert server.output.count("PORTAL_LOCKOUT_MAX_FAILRES is not a setting") == 1


def test_the_sqlite_database_and_its_journal_files_are_private(tmp_path):
    env = portal_env(f"sqlite:///{tmp_path}/p.db")
    assert flask_cli(env, "init-db").returncode == 0
    with Gunicorn(env, workers=1):  # /healthz wrote: its pooled connection keeps the journal
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()}
    assert modes == {"p.db": 0o600, "p.db-wal": 0o600, "p.db-shm": 0o600}


def run_py(project, *args, unprivileged=False, **settings):
    """Run the project's run.py with a development environment; return the process."""
    env = portal_env("sqlite:///instance/portal.db", **settings)
    for name in ("SECRET_KEY", "DATABASE_URL", "COOKIE_SECURE"):
        if name not in settings:
            env.pop(f"PORTAL_{name}")
    return run(env, "run.py", *args, cwd=project, unprivileged=unprivileged)


@pytest.mark.parametrize("port", ["99999", "0", "abc", "²"])
def test_run_py_refuses_a_port_out_of_range_in_one_line(project, port):
    assert the_line(run_py(project, "--port", port)) == (
        f"Error: argument --port: the port must be a number from 1 to 65535, got '{port}'.")


def test_run_py_on_a_busy_port_says_so_in_one_line_and_never_claims_to_run(project):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = run_py(project, "--port", str(port))
    assert the_line(done) == (f"Error: port {port} on 127.0.0.1 is in use by another program: "
                              "stop it, or choose another port with --port.")
    assert done.stdout == ""


@pytest.mark.parametrize(("settings", "line"), [
    ({"PORT": "abc", "TOKEN_TTL": "abc"},
     "Error: PORTAL_TOKEN_TTL must be a whole number, got 'abc'."),
    ({"DATABASE_URL": "mysql://root@localhost/portal"},
     "Error: PORTAL_DATABASE_URL: unsupported database 'mysql' (use sqlite:///path or "
     "postgresql://user@host/name)."),
])
def test_run_py_stops_on_a_bad_setting_in_one_line(project, settings, line):
    done = run_py(project, "--port", str(free_port()), **settings)
    assert done.returncode != 0 and done.stdout == ""
    # PORTAL_PORT is no setting: its warning comes first, the refusal is the last line.
    assert done.stderr.splitlines()[-1] == line and "Traceback" not in done.stderr


def free_port():
    """Return a loopback port that nothing listens on now."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def test_run_py_stops_on_a_syntax_error_in_the_instance_config_in_one_line(project):
    (project / "instance" / "config.py").write_text("TOKEN_TTL = (\n")
    line = the_line(run_py(project, "--port", str(free_port())))
    assert line.startswith(f"Error: {project}/instance/config.py:1: ")


@needs_unprivileged
@pytest.mark.parametrize(("settings", "start"), [
    ({}, "Error: cannot keep the development secret key in {instance}/secret_key (Permission "
         "denied): make the folder writable, or set PORTAL_SECRET_KEY."),
    ({"SECRET_KEY": "s" * 48},
     "Error: PORTAL_DATABASE_URL: cannot use {instance} for the SQLite database"),
])
def test_run_py_in_a_read_only_instance_folder_stops_in_one_line(project, settings, start):
    project.parent.chmod(0o755)
    instance = read_only(project / "instance")
    line = the_line(run_py(project, "--port", str(free_port()), unprivileged=True, **settings))
    assert line.startswith(start.format(instance=instance))


@needs_postgresql
def test_run_py_on_a_missing_postgresql_database_stops_in_one_line(project):
    done = run_py(project, "--port", str(free_port()), DATABASE_URL=pg_url(database="no_such_db"))
    assert "has no database 'no_such_db'" in the_line(done)


@pytest.mark.parametrize(("settings", "line"), [
    ({"TOKEN_TTL": "abc"}, "PORTAL_TOKEN_TTL must be a whole number, got 'abc'."),
    ({"DATABASE_URL": "mysql://root@localhost/portal"},
     "PORTAL_DATABASE_URL: unsupported database 'mysql'"),
    ({"DATABASE_URL": "sqlite:////nowhere/at/all/p.db"},
     "PORTAL_DATABASE_URL: cannot use /nowhere/at/all for the SQLite database (no such folder)"),
])
def test_gunicorn_stops_on_a_bad_setting_with_one_clear_line(tmp_path, settings, line):
    output, status = gunicorn_output(portal_env(f"sqlite:///{tmp_path}/p.db", **settings))
    assert line in output and "Traceback" not in output
    assert "App failed to load" in output and status == 4


def test_gunicorn_stops_on_a_syntax_error_in_the_instance_config_with_its_line(project):
    (project / "instance" / "config.py").write_text("TOKEN_TTL = = 5\n")
    output, status = gunicorn_output(portal_env("sqlite:///instance/portal.db"), cwd=project)
    assert f"{project}/instance/config.py:1: invalid syntax" in output
    assert "Traceback" not in output and status == 4


def test_gunicorn_conf_refuses_a_bad_thread_count_in_one_line(tmp_path):
    output, status = gunicorn_output(portal_env(f"sqlite:///{tmp_path}/p.db", THREADS="abc"))
    assert output.splitlines()[1:] == [
        "Error: PORTAL_THREADS must be a whole number of at least 1, got 'abc'."]
    assert status == 1
