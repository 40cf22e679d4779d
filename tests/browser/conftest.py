"""A real portal under gunicorn for the browser tests, with an admin and a user."""

import re

import pytest
from playwright.sync_api import expect

from tests.server import Gunicorn
from tests.server import flask_cli
from tests.server import portal_env

ACCOUNTS = {"admin": "staple lantern orbit", "alice": "violet harbour maple"}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Start gunicorn on a fresh SQLite database with the ACCOUNTS created by the CLI."""
    env = portal_env(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'portal.db'}")
    flask_cli(env, "init-db")
    assert flask_cli(env, "seed-demo", "--users", "40", "--attempts", "4000").returncode == 0
    for name, password in ACCOUNTS.items():
        extra = ["--admin"] if name == "admin" else []
        result = flask_cli(env, "users", "create", name, *extra, "--password-stdin",
                           stdin=password + "\n")
        assert result.returncode == 0, result.stderr
    with Gunicorn(env, workers=2, threads=2) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-playwright opens every page relative to the live server."""
    return live_server.url


def sign_in(page, username, password=None):
    """Sign in through the login form (with the account's password unless told another)."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or ACCOUNTS[username])
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def alice_elsewhere(browser, base_url):
    """A second browser (its own cookies) signed in as alice, on her sessions page."""
    context = browser.new_context(base_url=base_url)
    other = context.new_page()
    sign_in(other, "alice")
    expect(other).to_have_url(re.compile(r"/account/sessions$"))
    yield other
    context.close()
