"""Real portals under gunicorn for the browser tests: one with an admin and a user, which
the tests change, and one set as a scene (tests/browser/scene.py) for the screens tests
and screenshots, which they only look at."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import scene
from tests.server import Gunicorn
from tests.server import flask_cli
from tests.server import portal_env

ACCOUNTS = scene.ACCOUNTS  # the test server creates only admin and alice


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Start gunicorn on a fresh SQLite database with the ACCOUNTS created by the CLI."""
    env = portal_env(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'portal.db'}")
    flask_cli(env, "init-db")
    assert flask_cli(env, "seed-demo", "--users", "40", "--attempts", "4000").returncode == 0
    for name in ("admin", "alice"):
        password = ACCOUNTS[name]
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


@pytest.fixture(scope="session")
def scene_server(tmp_path_factory):
    """Start gunicorn on a seeded SQLite database filled with the scene."""
    env = portal_env(f"sqlite:///{tmp_path_factory.mktemp('scene') / 'portal.db'}",
                     **scene.SETTINGS)
    flask_cli(env, "init-db")
    assert flask_cli(env, "seed-demo", "--users", "40", "--attempts", "6000").returncode == 0
    scene.create_accounts(env)
    with Gunicorn(env, workers=2, threads=2) as server:
        scene.build(server.url)
        yield server


@pytest.fixture(scope="session")
def scene_sign_ins(browser, scene_server, tmp_path_factory):
    """Return storage_state(user): the cookies of one sign-in per user on the scene server,
    from scene.DESKTOP, so every screen a test opens shares that session."""
    folder, states = tmp_path_factory.mktemp("states"), {}

    def storage_state(user):
        if user not in states:
            context = browser.new_context(**scene_context_args(scene_server))
            page = context.new_page()
            sign_in(page, user)
            expect(page).to_have_url(re.compile(r"/account/sessions$"))
            states[user] = context.storage_state(path=folder / f"{user}.json")
            context.close()
        return states[user]
    return storage_state


def scene_context_args(server, **extra):
    """Context arguments for a browser on the scene server, as scene.DESKTOP."""
    user_agent, ip = scene.DESKTOP
    return {"base_url": server.url, "user_agent": user_agent,
            "extra_http_headers": {"X-Forwarded-For": ip}, **extra}


@pytest.fixture
def open_screen(browser, scene_server, scene_sign_ins):
    """Return open(path, user, viewport): a new page at that size, signed in as `user`
    (None: signed out), with axe-core allowed past the CSP (bypass_csp, tests only)."""
    contexts = []

    def open_page(path, user, viewport):
        state = scene_sign_ins(user) if user else None
        context = browser.new_context(**scene_context_args(
            scene_server, viewport=viewport, bypass_csp=True, storage_state=state))
        contexts.append(context)
        page = context.new_page()
        page.goto(path)
        page.wait_for_load_state("networkidle")  # htmx's deferred parts (the chart) too
        return page
    yield open_page
    for context in contexts:
        context.close()
