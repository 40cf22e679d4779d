"""Screenshots of the main screens on the scene (tests/browser/scene.py), for the README,
at a desktop's and a phone's size.

They go to a temporary folder, so a test run leaves the working tree as it was;
PORTAL_UPDATE_SCREENSHOTS=1 writes them to docs/screenshots/ instead:

    PORTAL_UPDATE_SCREENSHOTS=1 python -m pytest tests/browser/test_screenshots.py
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import scene_context_args
from tests.browser.screens import VIEWPORTS

pytestmark = pytest.mark.browser
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# (file name, who looks, path, what must be on the page first)
SHOTS = [("login", None, "/login", "Sign in"),
         ("sessions", "alice", "/account/sessions", "Signed in on"),
         ("history", "admin", "/admin/history", "Login history"),
         ("user", "admin", "/admin/users/bob.lee", "Lock state"),
         ("users", "admin", "/admin/users", "Users"),
         ("audit", "admin", "/admin/audit", "Audit log"),
         # The fragment scrolls to the replay's result, below the form.
         ("policy", "admin", "/admin/policy?replay=1&LOCKOUT_MAX_FAILURES=2#replay-result",
          "Replayed")]


@pytest.fixture
def shots(tmp_path):
    """The folder the screenshots go to: docs/screenshots/ only when asked."""
    return DOCS_SHOTS if os.environ.get("PORTAL_UPDATE_SCREENSHOTS") == "1" else tmp_path


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_screenshots_of_the_main_screens(browser, scene_server, scene_sign_ins, shots, size):
    suffix = "" if size == "desktop" else f"-{size}"
    for name, user, path, heading in SHOTS:
        context = browser.new_context(**scene_context_args(
            scene_server, viewport=VIEWPORTS[size], timezone_id="Europe/Berlin",
            storage_state=scene_sign_ins(user) if user else None))
        page = context.new_page()
        page.goto(path)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        page.wait_for_load_state("networkidle")  # the history's chart comes after its rows
        # A desktop's shot of an account's pages is the whole page; lists go on and on.
        full_page = size == "desktop" and name in ("sessions", "user")
        page.screenshot(path=shots / f"{name}{suffix}.png", full_page=full_page)
        context.close()
    assert all((shots / f"{name}{suffix}.png").stat().st_size > 10_000 for name, *_ in SHOTS)
