"""Every screen at a desktop's 1366x800 and a phone's 390x844: nothing scrolls sideways,
every control is on screen and usable, every table cell names its column (a phone shows it
as a card of labelled fields), and axe-core finds no violation.

To check a new page, add a Screen to SCREENS.
"""

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser import scene
from tests.browser.conftest import scene_context_args
from tests.browser.conftest import sign_in
from tests.browser.screens import VIEWPORTS
from tests.browser.screens import Screen
from tests.browser.screens import accessibility_violations
from tests.browser.screens import off_screen
from tests.browser.screens import sideways
from tests.browser.screens import unlabelled_cells
from tests.browser.screens import unusable_buttons

pytestmark = pytest.mark.browser

SCREENS = [
    Screen("login", "/login", user=None, buttons=("^Sign in$",)),
    Screen("sessions", "/account/sessions", user="alice",
           buttons=("^Sign out the session from Firefox on Linux, 2001:db8:85a3:8d3:",
                    "^Sign out the session from Mobile Safari on iOS, 198.51.100.77,",
                    r"^This wasn't me \(the sign-in from Firefox on Linux",
                    "^Sign out everywhere else$")),
    Screen("password", "/account/password", user="alice", buttons=("^Change password$",)),
    Screen("history", "/admin/history", buttons=("^Filter$",)),
    Screen("history chart", "/admin/history/chart"),
    Screen("users", "/admin/users", buttons=("^Lock alice$", "^Unlock bob.lee$")),
    Screen("admin-locked user", "/admin/users/bob.lee",
           buttons=("^Unlock account$", "^Set a temporary password$", "^Delete account$")),
    Screen("policy-locked user", "/admin/users/zoe.martin", buttons=("^Unlock account$",)),
    Screen("user with a report", "/admin/users/alice",
           buttons=("^Lock account$", "^Sign out alice’s session from Firefox on Linux, ",)),
    Screen("IP throttles", "/admin/ips",
           buttons=(r"^Lift the throttle on 2001:db8:4bad:7::\/64$",)),  # "\/": Playwright's parser
    Screen("audit log", "/admin/audit", buttons=("^Filter$",)),
    Screen("reports", "/admin/reports",
           buttons=("^Resolve the report on alice’s sign-in of ",
                    "^Resolve the report on bob.lee’s sign-in of ")),
    Screen("policy", "/admin/policy", buttons=("^Replay$",)),
    Screen("policy replayed", "/admin/policy?replay=1&LOCKOUT_MAX_FAILURES=2",
           buttons=("^Replay$",)),
    Screen("page not found", "/nowhere"),
]


def assert_fits_and_passes(page: Page):
    """Check what every screen must pass, whatever it shows."""
    assert sideways(page) == []
    assert off_screen(page) == []
    assert unlabelled_cells(page) == []
    assert unusable_buttons(page) == []
    assert accessibility_violations(page) == []


@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("screen", SCREENS, ids=lambda screen: screen.name)
def test_screen_fits_its_window_and_passes_axe(open_screen, screen: Screen, size):
    page = open_screen(screen.path, screen.user, VIEWPORTS[size])
    if screen.user:
        sign_out = page.get_by_role("banner").get_by_role("button", name="Sign out", exact=True)
        expect(sign_out).to_be_in_viewport()  # on the first screen, without scrolling
    for name in screen.buttons:
        expect(page.get_by_role("button", name=re.compile(name)).first).to_be_visible()
    assert_fits_and_passes(page)


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_sign_out_from_the_top_bar(browser, scene_server, size):
    context = browser.new_context(**scene_context_args(scene_server,
                                                       viewport=VIEWPORTS[size]))
    page = context.new_page()
    sign_in(page, "alice")
    page.get_by_role("banner").get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    context.close()


def test_sign_out_another_session_on_a_phone(open_screen, scene_server):
    other = scene.Device(scene_server.url, scene.CHROME_WINDOWS, "192.0.2.201")
    assert other.sign_in("alice").ok
    page = open_screen("/account/sessions", "alice", VIEWPORTS["phone"])
    button = page.get_by_role("button", name=re.compile(
        r"^Sign out the session from Chrome on Windows, 192\.0\.2\.201,"))
    button.click()
    expect(button).to_have_count(0)
    expect(page.locator("#notices")).to_contain_text("Signed out that session")
    expect(page.locator("#announcer")).to_contain_text("Signed out that session")
    assert other.get("/account/sessions").url.endswith("/login?next=/account/sessions")
    assert_fits_and_passes(page)


def test_a_confirmation_page_on_a_phone(open_screen):
    page = open_screen("/admin/users/bob.lee", "admin", VIEWPORTS["phone"])
    page.get_by_role("button", name="Delete account").click()  # a plain form: no dialog
    expect(page.get_by_role("heading", name="Delete bob.lee?")).to_be_visible()
    assert_fits_and_passes(page)


def test_password_errors_are_tied_to_their_fields(open_screen):
    page = open_screen("/account/password", "alice", VIEWPORTS["phone"])
    page.get_by_label("Current password").fill("not the current password")
    page.get_by_label("New password", exact=True).fill("portal keeps my secrets safe")
    page.get_by_label("New password again").fill("portal keeps my secrets safe")
    page.get_by_role("button", name="Change password").click()
    new = page.get_by_label("New password", exact=True)
    expect(new).to_have_attribute("aria-invalid", "true")
    expect(new).to_have_accessible_description(re.compile("must not contain your username"))
    assert_fits_and_passes(page)


def test_a_failed_sign_in_puts_the_cursor_in_the_password_field(open_screen):
    page = open_screen("/login", None, VIEWPORTS["phone"])
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("not a password anyone has")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect username or password")
    expect(page.get_by_label("Password")).to_be_focused()
    expect(page.get_by_label("Username")).to_have_value("carol")
    expect(page.get_by_label("Password")).to_have_accessible_description(
        re.compile("Incorrect username or password"))
    assert_fits_and_passes(page)


@pytest.mark.parametrize("javascript", [True, False])
def test_times_show_in_the_viewers_time_zone_with_utc_on_hover(browser, scene_server,
                                                                scene_sign_ins, javascript):
    context = browser.new_context(**scene_context_args(
        scene_server, timezone_id="Asia/Kolkata", java_script_enabled=javascript,
        storage_state=scene_sign_ins("alice")))
    page = context.new_page()
    page.goto("/account/sessions")
    time = page.locator("#account-sessions time").first
    utc = time.get_attribute("title")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", utc)
    if javascript:  # India is 5 h 30 min ahead of UTC, all year
        expect(time).to_have_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\+5:30"))
        hours, minutes = (int(part) for part in utc[11:16].split(":"))
        shown = time.inner_text()[11:16]
        local = (hours * 60 + minutes + 330) % 1440
        assert shown == f"{local // 60:02d}:{local % 60:02d}"
    else:
        expect(time).to_have_text(utc)
    context.close()
