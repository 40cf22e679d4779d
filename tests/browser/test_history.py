"""The history filter in a real browser: rows follow typing, the URL follows, back restores."""

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_filter_follows_typing_and_back_restores_the_previous_filter(page: Page):
    sign_in(page, "admin")
    page.goto("/admin/history")
    expect(page.locator("#history-chart svg").first).to_be_visible()  # chart loaded after rows
    page.evaluate("window.__same_page = true")
    page.get_by_label("IP or CIDR").fill("203.0.113.0/24")
    expect(page).to_have_url(re.compile(r"ip=203\.0\.113\.0(%2F|/)24"))
    expect(page.locator("#history-rows tbody tr").first).to_contain_text("203.0.113.")
    page.get_by_label("Outcome").select_option("failure")
    expect(page).to_have_url(re.compile(r"outcome=failure"))
    assert page.evaluate("window.__same_page") is True  # no full page load while filtering

    page.go_back()
    expect(page).to_have_url(re.compile(r"ip=203\.0\.113\.0(%2F|/)24$"))
    expect(page.get_by_label("Outcome")).to_have_value("")
    expect(page.get_by_label("IP or CIDR")).to_have_value("203.0.113.0/24")
    expect(page.locator("#history-rows tbody tr").first).to_contain_text("203.0.113.")


def test_bad_filter_shows_its_explanation(page: Page):
    sign_in(page, "admin")
    page.goto("/admin/history")
    page.get_by_label("IP or CIDR").fill("999.1.1.1")
    expect(page.locator("#history-rows [role=alert]")).to_contain_text("is not an IP address")
