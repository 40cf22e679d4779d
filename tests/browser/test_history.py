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


def test_a_half_typed_address_keeps_the_table_until_it_settles(page: Page):
    sign_in(page, "admin")
    page.goto("/admin/history")
    mark_the_rows(page)
    field = page.get_by_label("IP or CIDR")
    field.press_sequentially("127.0.0.", delay=40)
    expect(page.locator("#history-hint")).to_contain_text("Keep typing")
    expect(page.locator("#history-rows [role=alert]")).to_have_count(0)
    expect(page.locator("#history-rows[data-old]")).to_have_count(1)  # not replaced
    expect(page).to_have_url(re.compile(r"/admin/history$"))  # the URL stays with the table
    field.press("Enter")  # settled: now the value is wrong, and the table says so
    expect(page.locator("#history-rows [role=alert]")).to_contain_text("is not an IP address")
    field.press_sequentially("1", delay=40)
    expect(page.locator("#history-hint")).to_be_empty()
    expect(page.locator("#history-rows table.history tbody tr").first).to_contain_text("127.0.0.1")
    expect(page.locator("#history-rows [role=alert]")).to_have_count(0)


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


def mark_the_rows(page):
    """Mark the rows' element, so a test can tell whether it was replaced."""
    page.evaluate("document.getElementById('history-rows').dataset.old = 'yes'")


def typed_names(page):
    """Return the usernames of the rows shown."""
    return page.locator("#history-rows td.typed").all_inner_texts()


def test_typing_the_start_of_a_name_shows_its_attempts(page: Page):
    sign_in(page, "admin")
    page.goto("/admin/history")
    page.get_by_label("User", exact=True).press_sequentially("adm", delay=60)
    expect(page).to_have_url(re.compile(r"\?user=adm&prefix=yes$"))
    expect(page.locator("#history-rows td.typed").first).to_have_text("admin")
    assert set(typed_names(page)) == {"admin"}
    page.get_by_label("Names that start with it").uncheck()
    expect(page).to_have_url(re.compile(r"\?user=adm$"))  # the whole name
    expect(page.locator("#history-rows")).to_contain_text("No attempts match")


@pytest.mark.parametrize("failure", ["500", "network"])
def test_a_failed_request_says_so_over_the_last_rows(page: Page, failure):
    sign_in(page, "admin")
    page.goto("/admin/history")
    mark_the_rows(page)

    def fail(route):
        if route.request.headers.get("hx-request") != "true":
            return route.continue_()
        return route.fulfill(status=500, body="boom") if failure == "500" else route.abort()

    page.route(re.compile(r"/admin/history\?"), fail)
    page.get_by_label("User", exact=True).fill("admin")
    expect(page.locator("#history-error")).to_be_visible()
    expect(page.locator("#history-error")).to_contain_text("still those of the previous one")
    expect(page.locator("#history-rows")).to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator("#history-rows[data-old]")).to_have_count(1)  # not replaced
    assert "boom" not in page.content()
    page.unroute(re.compile(r"/admin/history\?"))
    page.get_by_role("button", name="Try again").click()
    expect(page.locator("#history-error")).to_be_hidden()
    expect(page.locator("#history-rows")).not_to_have_class(re.compile(r"\bstale\b"))
    assert set(typed_names(page)) == {"admin"}


def test_one_history_entry_per_settled_filter(page: Page):
    sign_in(page, "admin")
    page.goto("/admin/history")
    start = page.evaluate("history.length")
    page.get_by_label("User", exact=True).press_sequentially("adm", delay=400)  # three requests
    expect(page).to_have_url(re.compile(r"\?user=adm&prefix=yes$"))
    page.wait_for_timeout(1700)  # settled
    outcome = page.get_by_label("Outcome")
    outcome.focus()
    for _ in range(2):  # any -> success -> failure, a change (and a request) each
        page.keyboard.press("ArrowDown")
        page.wait_for_timeout(200)
    expect(page).to_have_url(re.compile(r"user=adm&outcome=failure&prefix=yes$"))
    page.wait_for_timeout(300)
    assert page.evaluate("history.length") == start + 2
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?user=adm&prefix=yes$"))
    expect(page.get_by_label("Outcome")).to_have_value("")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/admin/history$"))
    expect(page.get_by_label("User", exact=True)).to_have_value("")


def test_older_newer_and_newest_pages_return_to_the_top_of_the_table(page: Page):
    sign_in(page, "admin")
    page.set_viewport_size({"width": 1000, "height": 600})
    page.goto("/admin/history?outcome=failure")
    newest = typed_names(page)
    pager = page.get_by_role("navigation", name="Pages of attempts")
    pager.get_by_role("link", name="Older attempts").click()
    expect(page).to_have_url(re.compile(r"before="))
    second = typed_names(page)
    assert_table_at_top(page)
    pager.get_by_role("link", name="Older attempts").click()
    expect(page).to_have_url(re.compile(r"before="))
    expect(page.locator("#history-rows td.typed")).not_to_have_text(second)
    pager.get_by_role("link", name="Newer attempts").click()
    expect(page).to_have_url(re.compile(r"after="))
    expect(page.locator("#history-rows td.typed")).to_have_text(second)
    assert_table_at_top(page)
    pager.get_by_role("link", name="Newest attempts").click()
    expect(page).to_have_url(re.compile(r"\?outcome=failure$"))
    expect(page.locator("#history-rows td.typed")).to_have_text(newest)
    expect(pager.get_by_role("link", name="Newer attempts")).to_have_count(0)


def assert_table_at_top(page):
    """Check the table's top is at the top of the window (not where the link was)."""
    top = page.evaluate("document.getElementById('history-rows').getBoundingClientRect().top")
    assert abs(top) < 2, top


@pytest.fixture
def no_script(browser, base_url):
    """A browser with JavaScript off, signed in as the admin."""
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    plain = context.new_page()
    sign_in(plain, "admin")
    yield plain
    context.close()


def test_without_javascript_the_form_and_the_pages_work(no_script):
    page = no_script
    page.set_viewport_size({"width": 1000, "height": 600})
    page.goto("/admin/history")
    page.get_by_label("User", exact=True).fill("adm")
    page.get_by_label("Since (UTC)").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"user=adm&.*since=2020-01-01T00%3A00"))
    assert set(typed_names(page)) == {"admin"}
    expect(page.get_by_label("Since (UTC)")).to_have_value("2020-01-01T00:00")
    page.goto("/admin/history?outcome=failure")
    page.get_by_role("link", name="Older attempts").click()
    expect(page).to_have_url(re.compile(r"before=.*#history-rows$"))
    assert_table_at_top(page)
    page.get_by_role("link", name="Newer attempts").click()
    expect(page).to_have_url(re.compile(r"after=.*#history-rows$"))
    expect(page.get_by_role("link", name="Newest attempts")).to_have_count(0)  # the top again


def test_a_half_cleared_date_picker_keeps_the_table(page: Page):
    sign_in(page, "admin")
    page.goto("/admin/history?since=2020-01-01T00:00")
    mark_the_rows(page)
    since = page.get_by_label("Since (UTC)")
    since.focus()
    page.keyboard.press("Backspace")  # one part of the date gone: no value to send
    assert page.evaluate("document.getElementById('f-since').validity.badInput")
    expect(page.locator("#history-hint")).to_contain_text("Finish the date")
    expect(page.locator("#history-rows[data-old]")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"since=2020-01-01T00(%3A|:)00$"))


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
    # The pickers take a date and a time: midnight to midnight covers whole days.
    page.get_by_label("Since (UTC)").fill(f"{since.isoformat()}T00:00")
    page.get_by_label("Until (UTC)").fill(f"{(until + timedelta(days=1)).isoformat()}T00:00")
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
        "href", re.compile(f"since={since.isoformat()}T00(:|%3A)00"
                           f"&until={(until + timedelta(days=1)).isoformat()}T00(:|%3A)00&ip="))
    assert refused == []  # drawn without inline style or script: the strict CSP holds
