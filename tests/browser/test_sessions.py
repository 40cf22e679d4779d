"""Two browsers signed in: the first signs the second out, which lands on the login page."""

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_sign_the_other_browser_out_from_the_sessions_page(page: Page, alice_elsewhere):
    other = alice_elsewhere
    sign_in(page, "alice")
    page.evaluate("window.__same_page = true")
    active = page.locator("section", has_text="Signed in on").locator("tbody tr")
    before = active.count()
    assert before >= 2
    with page.expect_request(re.compile(r"/revoke$")) as sent:
        active.filter(has_not_text="this device").first.get_by_role(
            "button", name=re.compile(r"^Sign out the session from ")).click()
    # htmx 4 inherits only what says so: <body>'s CSRF header and the component's target.
    assert sent.value.headers.get("x-csrftoken")
    expect(active).to_have_count(before - 1)
    expect(page.locator("#account-sessions")).to_have_count(1)  # replaced, not nested
    assert page.evaluate("window.__same_page") is True  # htmx swapped the list in place

    other.get_by_role("link", name="My sessions").click()
    expect(other).to_have_url(re.compile(r"/login\?next=/account/sessions$"))
