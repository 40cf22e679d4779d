"""An admin tries a stricter policy on the recorded history: the replay answers in place
(htmx), the address bar keeps the candidate, and a bad value is one alert on its field."""

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_replay_answers_in_place_and_a_bad_value_is_marked(page: Page):
    sign_in(page, "admin")
    page.get_by_role("link", name="Policy").click()
    expect(page.get_by_role("heading", name="Lockout policy")).to_be_visible()
    page.evaluate("window.__same_page = true")
    failures = page.get_by_label("Failures in a row before a lock")
    expect(failures).to_have_value("5")
    failures.fill("2")
    page.get_by_role("button", name="Replay").click()
    result = page.get_by_role("region", name="Replay result")
    expect(result).to_contain_text("Replayed")
    expect(result).to_contain_text("LOCKOUT_MAX_FAILURES=2")
    locks = result.locator("tr", has_text="Locks")
    in_force, candidate = (int(cell.replace(",", "")) for cell in
                           locks.locator("td").all_inner_texts())
    assert candidate >= in_force  # stricter: at least as many locks
    expect(page).to_have_url(re.compile(r"/admin/policy\?.*LOCKOUT_MAX_FAILURES=2"))
    assert page.evaluate("window.__same_page") is True

    page.get_by_label("Networks never throttled").fill("0.0.0.0/0")
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("alert")).to_contain_text("would spare every address")
    expect(page.get_by_label("Networks never throttled")).to_have_attribute(
        "aria-invalid", "true")
    expect(page.get_by_role("region", name="Replay result")).to_have_count(0)
