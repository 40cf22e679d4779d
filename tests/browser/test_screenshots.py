"""Screenshots of the main screens on seeded demo data, for the README.

They go to a temporary folder, so a test run leaves the working tree as it was;
PORTAL_UPDATE_SCREENSHOTS=1 writes them to docs/screenshots/ instead.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def shots(tmp_path):
    """The folder the screenshots go to: docs/screenshots/ only when asked."""
    return DOCS_SHOTS if os.environ.get("PORTAL_UPDATE_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def wide(page: Page):
    page.set_viewport_size({"width": 1280, "height": 900})
    return page


def test_screenshots_of_the_main_screens(wide: Page, shots: Path):
    wide.goto("/login")
    wide.screenshot(path=shots / "login.png")
    sign_in(wide, "admin")
    expect(wide.get_by_role("heading", name="My sessions")).to_be_visible()
    wide.screenshot(path=shots / "sessions.png", full_page=True)
    wide.goto("/admin/history")
    expect(wide.locator("#history-chart svg").first).to_be_visible()
    wide.screenshot(path=shots / "history.png")
    target = wide.locator("#top-targets tbody a").first.inner_text()
    wide.goto(f"/admin/users?q={target}")
    row = wide.locator("tr", has_text=target)
    row.get_by_placeholder("Reason").fill("Credential stuffing from 203.0.113.0/24")
    wide.once("dialog", lambda dialog: dialog.accept())  # hx-confirm's question
    row.get_by_role("button", name="Lock").click()
    expect(row.locator(".state")).to_have_text("locked by admin")
    wide.goto(f"/admin/users/{target}")
    expect(wide.get_by_role("heading", name="Lock state")).to_be_visible()
    wide.screenshot(path=shots / "user.png", full_page=True)
    assert all((shots / f"{name}.png").stat().st_size > 10_000
               for name in ("login", "sessions", "history", "user"))
