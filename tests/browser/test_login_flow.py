"""Sign in, see the sessions page, sign out: in Debian's Chromium."""

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def csp_violations(page: Page):
    """Collect console errors (a CSP violation shows up as one)."""
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def test_sign_in_sessions_page_and_sign_out(page: Page, csp_violations):
    sign_in(page, "alice")
    expect(page).to_have_url(re.compile(r"/account/sessions$"))
    expect(page.get_by_role("heading", name="My sessions")).to_be_visible()
    expect(page.get_by_text("this device")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "portal_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "portal_session" not in page.evaluate("document.cookie")
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/account/sessions")
    expect(page).to_have_url(re.compile(r"/login\?next=/account/sessions$"))
    assert csp_violations == []


def test_wrong_password_shows_the_generic_message(page: Page):
    sign_in(page, "alice", "not it")
    expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")


def test_admin_filter_updates_rows_with_htmx_and_the_url(page: Page, csp_violations):
    sign_in(page, "admin")
    page.goto("/admin/history")
    assert page.evaluate("htmx.version") == "4.0.1"
    page.evaluate("window.__same_page = true")
    page.get_by_label("User", exact=True).fill("alice")
    expect(page).to_have_url(re.compile(r"/admin/history\?user=alice"))
    expect(page.locator("#history-rows td.typed").first).to_have_text("alice")
    assert page.evaluate("window.__same_page") is True  # rows swapped, no full page load
    page.get_by_label("Outcome").select_option("failure")
    expect(page).to_have_url(re.compile(r"outcome=failure"))
    assert csp_violations == []
