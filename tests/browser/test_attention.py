"""At scale, in a browser: paging through 300 users reaches the last one, and a "This
wasn't me" report reaches the admins' queue and is resolved there."""

import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ACCOUNTS
from tests.server import Gunicorn
from tests.server import flask_cli
from tests.server import portal_env

pytestmark = pytest.mark.browser
CROWD = 300


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    """A portal of its own: admin, alice and CROWD more accounts (crowd000 ...)."""
    path = tmp_path_factory.mktemp("crowd") / "portal.db"
    env = portal_env(f"sqlite:///{path}")
    flask_cli(env, "init-db")
    for name, password in ACCOUNTS.items():
        extra = ["--admin"] if name == "admin" else []
        assert flask_cli(env, "users", "create", name, *extra, "--password-stdin",
                         stdin=password + "\n").returncode == 0
    with sqlite3.connect(path) as connection:  # the crowd only needs to be listed
        (hashed,) = connection.execute("SELECT password_hash FROM users").fetchone()
        connection.executemany(
            "INSERT INTO users (username, password_hash, is_admin, created_at, "
            "must_change_password) VALUES (?, ?, 0, '2026-11-01 09:00:00', 0)",
            [(f"crowd{n:03d}", hashed) for n in range(CROWD)])
    connection.close()
    with Gunicorn(env, workers=2, threads=2) as server:
        yield server


def open_as(browser, crowd, username):
    """Return a page in a browser context of its own, signed in as `username`."""
    page = browser.new_context(base_url=crowd.url).new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(ACCOUNTS[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/sessions$"))
    return page


def test_paging_through_300_users_reaches_the_last_one(browser, crowd):
    page = open_as(browser, crowd, "admin")
    page.goto("/admin/users")
    expect(page.locator("#user-count")).to_have_text(f"{CROWD + len(ACCOUNTS)} accounts")
    pages = 1
    while page.get_by_role("link", name="Next page").count():
        first_before = page.locator("#user-rows tbody tr").first.inner_text()
        page.get_by_role("link", name="Next page").click()
        expect(page.locator("#user-rows tbody tr").first).not_to_have_text(first_before)
        pages += 1
    names = sorted([*ACCOUNTS, *(f"crowd{n:03d}" for n in range(CROWD))])
    assert pages == -(-len(names) // 50)  # 50 a page
    expect(page.locator("#user-rows tbody tr").last).to_contain_text(names[-1])
    shown = page.locator("#user-rows tbody tr td:first-child a").all_inner_texts()
    assert shown == names[(pages - 1) * 50:]  # the last page holds the last names, in order
    expect(page).to_have_url(re.compile(r"after="))  # the page is a link of its own
    page.get_by_role("link", name="First page").click()
    expect(page.locator("#user-rows tbody tr").first).to_contain_text("admin")


def test_a_report_reaches_the_queue_and_is_resolved(browser, crowd):
    stranger = open_as(browser, crowd, "alice")
    owner = open_as(browser, crowd, "alice")
    owner.get_by_role("button", name="This wasn't me").first.click()
    expect(owner.locator("#notices")).to_contain_text("the administrators can see your report")
    admin = open_as(browser, crowd, "admin")
    expect(admin.get_by_role("link", name=re.compile(r"Reports\s+1 open"))).to_be_visible()
    admin.get_by_role("link", name=re.compile(r"^Reports")).click()
    row = admin.locator("#report-rows tbody tr", has_text="alice")
    expect(row).to_have_count(1)
    row.get_by_label("Note").fill("Called alice: it was her old phone; password reset")
    row.get_by_role("button", name=re.compile(r"^Resolve the report on alice")).click()
    expect(admin.locator("#notices")).to_contain_text("Resolved the report on alice")
    expect(admin.locator("#report-rows")).to_contain_text("No open reports.")
    expect(admin.get_by_role("link", name=re.compile(r"1 open"))).to_have_count(0)
    admin.get_by_role("link", name="Resolved").click()
    expect(admin.locator("#report-rows")).to_contain_text("it was her old phone")
    admin.get_by_role("link", name="Audit log").click()
    expect(admin.locator("#audit-rows tbody tr").first).to_contain_text("resolved a report")
    stranger.context.close()
