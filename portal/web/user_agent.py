"""What a user-agent string names: browser, operating system, device family and kind."""

import functools
from dataclasses import dataclass

from ua_parser import parse

# The kind rules are those of the user-agents package (2.2.0), which wrapped ua-parser.
TABLET_DEVICES = frozenset({"iPad", "BlackBerry Playbook", "Blackberry Playbook", "Kindle",
                            "Kindle Fire", "Kindle Fire HD", "Galaxy Tab", "Xoom", "Dell Streak"})
MOBILE_DEVICES = frozenset({"iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone",
                            "PlayStation Vita", "iOS-Device"})
MOBILE_BROWSERS = frozenset({"IE Mobile", "Opera Mobile", "Opera Mini", "Chrome Mobile",
                             "Chrome Mobile WebView", "Chrome Mobile iOS"})
# Android, Firefox OS and BlackBerry OS are mobile only once the tablet rules have said no,
# which _kind guarantees by asking those first.
MOBILE_OSES = frozenset({"Android", "Firefox OS", "BlackBerry OS", "Windows Phone",
                         "Windows Phone OS", "Symbian OS", "Bada", "Windows CE", "Windows Mobile",
                         "Maemo"})
# Feature phones (J2ME, MIDP) and Google's mobile crawler, for which the parser names no mobile OS.
MOBILE_MARKERS = ("J2ME", "MIDP", "iPhone;", "Googlebot-Mobile")
DESKTOP_OSES = frozenset({"Windows 95", "Windows 98", "Solaris"})


@dataclass(frozen=True)
class UserAgent:
    """A user agent as people name it: browser, operating system, device family and kind."""

    browser: str  # families as the parser names them: "Mobile Safari", "iOS", "iPhone"
    os: str
    device_family: str
    kind: str  # "Mobile", "Tablet", "Desktop", "Bot" or "Unknown"
    browser_version: str = ""  # major version only: "126"
    os_version: str = ""


# A browser sends the same string with every request, and the history's pages and exports
# describe one per row. ua-parser keeps its own parse of recent strings, but a hit there
# still builds our value and runs the kind rules: whole answers are kept here, per worker.
@functools.lru_cache(maxsize=4096)
def describe(user_agent):
    """Return the UserAgent a user-agent string names."""
    parsed = parse(user_agent or "").with_defaults()  # a part the parser misses is "Other"
    return UserAgent(browser=_family(parsed.user_agent), os=_family(parsed.os),
                     device_family=_family(parsed.device), kind=_kind(parsed),
                     browser_version=_major(parsed.user_agent), os_version=_major(parsed.os))


def _family(part):
    """Return a parsed part's family ("Unknown" where the parser found none)."""
    return "Unknown" if part.family == "Other" else part.family


def _major(part):
    """Return a parsed part's major version, or ''."""
    major = part.major or ""
    # Written as a number, as user-agents did ("07" -> "7"); int() refuses over 4,300 digits.
    return str(int(major)) if major.isdecimal() and len(major) < 100 else major


def _is_bot(parsed):
    """Tell whether the parser took the user agent for a crawler."""
    return parsed.device.family == "Spider"


def _is_tablet(parsed):
    """Tell whether the user agent is a tablet's."""
    browser, os = parsed.user_agent.family, parsed.os.family
    return (parsed.device.family in TABLET_DEVICES
            # Android phones send "Mobile Safari" (or run Firefox Mobile); tablets do not.
            or os == "Android" and "Mobile Safari" not in parsed.string
            and browser != "Firefox Mobile"
            or os == "Windows" and (parsed.os.major or "").startswith("RT")
            or os == "Firefox OS" and "Mobile" not in browser)


def _is_mobile(parsed):
    """Tell whether the user agent is a phone's (asked only once _is_tablet has said no)."""
    # user-agents' "Spider with a Mobile browser" rule is left out: _is_bot has taken those.
    text = parsed.string
    return (parsed.device.family in MOBILE_DEVICES or parsed.user_agent.family in MOBILE_BROWSERS
            or parsed.os.family in MOBILE_OSES or any(mark in text for mark in MOBILE_MARKERS)
            or "NokiaBrowser" in text and "Mobile" in text)


def _is_desktop(parsed):
    """Tell whether the user agent is a Windows, Mac, Linux or Chrome OS computer's."""
    os, text = parsed.os.family, parsed.string
    return ("Windows NT" in text or os in DESKTOP_OSES or (os, parsed.os.major) == ("Windows", "ME")
            # Kindles in desktop mode say Mac OS X; Silk gives them away.
            or os == "Mac OS X" and "Silk" not in text
            # Maemo phones say Linux and X11 too.
            or "Maemo" not in text and ("Chrome OS" in os or "Linux" in text and "X11" in text))


# In this order: the first rule that holds names the kind.
KIND_RULES = (("Bot", _is_bot), ("Tablet", _is_tablet), ("Mobile", _is_mobile),
              ("Desktop", _is_desktop))


def _kind(parsed):
    """Return "Bot", "Tablet", "Mobile", "Desktop" or "Unknown"."""
    return next((kind for kind, holds in KIND_RULES if holds(parsed)), "Unknown")
