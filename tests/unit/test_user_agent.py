"""User-agent strings named as people name them: browser, OS, device family and kind."""

import pytest

from portal.web.user_agent import describe

CASES = [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Mobile Safari 17", "iOS 17", "iPhone",
     "Mobile"),
    ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1", "Mobile Safari 16", "iOS 16", "iPad", "Tablet"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome Mobile 126", "Android 14", "Pixel 8",
     "Mobile"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge 126", "Windows 10", "Unknown",
     "Desktop"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0",
     "Firefox 128", "Mac OS X 10", "Mac", "Desktop"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "Chrome 126", "Linux", "Unknown", "Desktop"),
    ("Googlebot/2.1 (+http://www.google.com/bot.html)", "Googlebot 2", "Unknown", "Spider",
     "Bot"),
    ("curl/8.5.0", "curl 8", "Unknown", "Unknown", "Unknown"),
    ("", "Unknown", "Unknown", "Unknown", "Unknown"),
]


@pytest.mark.parametrize(("agent", "browser", "os", "device", "kind"), CASES)
def test_real_user_agents_are_named(agent, browser, os, device, kind):
    named = describe(agent)
    shown_browser = f"{named.browser} {named.browser_version}".strip()
    shown_os = f"{named.os} {named.os_version}".strip()
    assert (shown_browser, shown_os, named.device_family, named.kind) == (browser, os, device, kind)


def test_families_are_the_parsers_own_names():
    named = describe(CASES[0][0])
    assert (named.browser, named.os, named.device_family) == ("Mobile Safari", "iOS", "iPhone")
