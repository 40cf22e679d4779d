"""An admin locks a user from the users list (htmx swap) once the browser's confirmation is
accepted; the user's open page signs out."""

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_lock_from_users_list_signs_the_user_out_on_next_click(page: Page, alice_elsewhere):
    user_page = alice_elsewhere
    sign_in(page, "admin")
    page.goto("/admin/users")
    page.evaluate("window.__same_page = true")
    row = page.locator("tr", has_text="alice")
    row.get_by_placeholder("Reason").fill("suspicious activity")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()  # the first time the admin thinks better of it
        else:
            dialog.accept()

    page.on("dialog", answer)
    row.get_by_role("button", name="Lock").click()
    expect(row.locator(".state")).to_have_text("active")
    row.get_by_role("button", name="Lock").click()
    expect(row.locator(".state")).to_have_text("locked by admin")
    expect(page.locator("tr", has_text="alice")).to_have_count(1)  # the row replaced itself
    assert asked == ["Lock alice? Every session of the account ends at once."] * 2
    expect(page.locator("#notices")).to_contain_text("Locked alice")
    expect(row.get_by_role("button", name="Unlock")).to_be_visible()
    assert page.evaluate("window.__same_page") is True  # swapped in place, no reload

    user_page.get_by_role("link", name="My sessions").click()
    expect(user_page).to_have_url(re.compile(r"/login\?next=/account/sessions$"))

    row.get_by_role("button", name="Unlock").click()
    expect(row.locator(".state")).to_have_text("active")
    sign_in(user_page, "alice")
    expect(user_page).to_have_url(re.compile(r"/account/sessions$"))
