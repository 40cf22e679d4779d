"""Who is on the other end: client IP (behind trusted proxies) and the parsed user agent."""

import functools
from dataclasses import dataclass

import user_agents
from flask import abort
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.web import ipaddr


@dataclass(frozen=True)
class Client:
    """The address and user agent of the current request."""

    ip: str
    user_agent: str


@dataclass(frozen=True)
class Device:
    """A user agent as people name it: browser, operating system, device family and kind."""

    browser: str  # families as the parser names them: "Mobile Safari", "iOS", "iPhone"
    os: str
    device: str
    kind: str  # "Mobile", "Tablet", "Desktop", "Bot" or "Unknown"
    browser_version: str = ""
    os_version: str = ""


def init_app(app):
    """Trust X-Forwarded-For only as PORTAL_TRUSTED_PROXIES says; let templates describe UAs."""
    app.jinja_env.globals["describe"] = describe
    app.before_request(refuse_nul_in_url)
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)


def refuse_nul_in_url():
    """Answer 400 to a NUL in the path or query: no page takes one, and PostgreSQL cannot."""
    if "\x00" in request.path or any("\x00" in value for value in request.args.values()):
        abort(400)


def current():
    """Return the Client of the current request."""
    address = request.remote_addr or ""
    # A proxy may pass on whatever a client wrote in X-Forwarded-For: keep only real addresses.
    return Client(ip=address if ipaddr.is_address(address) else "unknown",
                  user_agent=request.headers.get("User-Agent", ""))


@functools.lru_cache(maxsize=4096)
def describe(user_agent):
    """Return the Device a user-agent string names (cached: parsing takes about 1 ms)."""
    parsed = user_agents.parse(user_agent or "")
    return Device(browser=_family(parsed.browser), os=_family(parsed.os),
                  device=_family(parsed.device), kind=_kind(parsed),
                  browser_version=_major(parsed.browser), os_version=_major(parsed.os))


def _family(part):
    """Return a parsed part's family ("Unknown" where the parser found none)."""
    return "Unknown" if part.family == "Other" else part.family


def _major(part):
    """Return a parsed part's major version, or ''."""
    return str(part.version[0]) if part.version else ""


def _kind(parsed):
    """Return what sort of device the parser recognised."""
    for kind, flag in (("Bot", parsed.is_bot), ("Tablet", parsed.is_tablet),
                       ("Mobile", parsed.is_mobile), ("Desktop", parsed.is_pc)):
        if flag:
            return kind
    return "Unknown"
