"""The history filter in a real browser: rows follow typing, the URL follows, back restores."""

import re
from datetime import date
from datetime import timedelta

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
    expect(page.locator("#history-rows table.history tbody tr").first).to_contain_text("203.0.113.")
    page.get_by_label("Outcome").select_option("failure")
    expect(page).to_have_url(re.compile(r"outcome=failure"))
    assert page.evaluate("window.__same_page") is True  # no full page load while filtering

    page.go_back()
    expect(page).to_have_url(re.compile(r"ip=203\.0\.113\.0(%2F|/)24$"))
    expect(page.get_by_label("Outcome")).to_have_value("")
    expect(page.get_by_label("IP or CIDR")).to_have_value("203.0.113.0/24")
    expect(page.locator("#history-rows table.history tbody tr").first).to_contain_text("203.0.113.")


def test_bad_filter_shows_its_explanation(page: Page):
    sign_in(page, "admin")
    page.goto("/admin/history")
    page.get_by_label("IP or CIDR").fill("999.1.1.1")
    expect(page.locator("#history-rows [role=alert]")).to_contain_text("is not an IP address")


def test_a_typed_bidi_override_shows_as_a_marked_code_point(page: Page):
    # Without the mark, "zoë" + RIGHT-TO-LEFT OVERRIDE + "gnp.exe" reads "zoëexe.png".
    sign_in(page, "zo\u00eb\u202egnp.exe\u200b", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("Incorrect username or password")
    sign_in(page, "admin")
    page.goto("/admin/history?q=gnp.exe")
    cell = page.locator("#history-rows td.typed").first
    expect(cell).to_have_text("zoë⟨U+202E⟩gnp.exe⟨U+200B⟩")
    mark = cell.locator(".invisible-char").first
    expect(mark).to_have_attribute("title", "U+202E RIGHT-TO-LEFT OVERRIDE")
    expect(mark).to_have_css("outline-style", "dashed")


def test_chart_follows_a_date_range_and_its_numbers_are_a_table(page: Page):
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in(page, "admin")
    page.goto("/admin/history")
    chart = page.locator("#history-chart")
    expect(chart.locator("h2")).to_contain_text("Attempts per hour")
    expect(chart.locator("svg g.bar")).to_have_count(24)
    today = date.today()
    since, until = today - timedelta(days=10), today - timedelta(days=3)
    page.get_by_label("Since (UTC)").fill(since.isoformat())
    page.get_by_label("Until (UTC)").fill(until.isoformat())
    expect(chart.locator("h2")).to_have_text(
        f"Attempts per day, {since.isoformat()} to {until.isoformat()} UTC")
    expect(chart.locator("svg g.bar")).to_have_count(8)
    expect(chart.locator("svg text.tick").first).to_be_visible()  # a labelled axis
    numbers = chart.locator("#chart-numbers")
    expect(numbers).to_be_hidden()
    chart.get_by_text("The numbers behind the chart").click()
    expect(numbers.locator("tbody tr")).to_have_count(8)
    expect(numbers.locator("tbody tr").first).to_contain_text(since.isoformat())
    # The top lists are the range's too, and their links keep it.
    expect(chart.locator("#top-sources tbody tr a").first).to_have_attribute(
        "href", re.compile(f"since={since.isoformat()}&until={until.isoformat()}&ip="))
    assert refused == []  # drawn without inline style or script: the strict CSP holds
