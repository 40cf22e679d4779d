"""Screenshots of the main screens on seeded demo data, for the README (docs/screenshots/)."""

from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def wide(page: Page):
    page.set_viewport_size({"width": 1280, "height": 900})
    SHOTS.mkdir(parents=True, exist_ok=True)
    return page


def test_screenshots_of_the_main_screens(wide: Page):
    wide.goto("/login")
    wide.screenshot(path=SHOTS / "login.png")
    sign_in(wide, "admin")
    expect(wide.get_by_role("heading", name="My sessions")).to_be_visible()
    wide.screenshot(path=SHOTS / "sessions.png", full_page=True)
    wide.goto("/admin/history")
    expect(wide.locator("#history-chart svg").first).to_be_visible()
    wide.screenshot(path=SHOTS / "history.png")
    target = wide.locator(".tops div", has_text="Most targeted").locator("a").first.inner_text()
    wide.goto(f"/admin/users?q={target}")
    row = wide.locator("tr", has_text=target)
    row.get_by_placeholder("Reason").fill("Credential stuffing from 203.0.113.0/24")
    row.get_by_role("button", name="Lock").click()
    expect(row.locator(".state")).to_have_text("locked by admin")
    wide.goto(f"/admin/users/{target}")
    expect(wide.get_by_role("heading", name="Lock state")).to_be_visible()
    wide.screenshot(path=SHOTS / "user.png", full_page=True)
    assert all((SHOTS / f"{name}.png").stat().st_size > 10_000
               for name in ("login", "sessions", "history", "user"))
