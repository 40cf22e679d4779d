"""Who is on the other end: client IP (behind trusted proxies) and the parsed user agent."""

import functools
from dataclasses import dataclass

import user_agents
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix


@dataclass(frozen=True)
class Client:
    """The address and user agent of the current request."""

    ip: str
    user_agent: str


@dataclass(frozen=True)
class Device:
    """A user agent as people name it: browser, operating system, device family and kind."""

    browser: str
    os: str
    device: str
    kind: str  # "Mobile", "Tablet", "Desktop", "Bot" or "Unknown"


def init_app(app):
    """Trust X-Forwarded-For only as PORTAL_TRUSTED_PROXIES says; let templates describe UAs."""
    app.jinja_env.globals["describe"] = describe
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)


def current():
    """Return the Client of the current request."""
    return Client(ip=request.remote_addr or "unknown",
                  user_agent=request.headers.get("User-Agent", ""))


@functools.lru_cache(maxsize=4096)
def describe(user_agent):
    """Return the Device a user-agent string names (cached: parsing takes about 1 ms)."""
    parsed = user_agents.parse(user_agent or "")
    return Device(browser=_family(parsed.browser), os=_family(parsed.os),
                  device=_family(parsed.device), kind=_kind(parsed))


def _family(part):
    """Return a parsed part's family with its major version where there is one."""
    if part.family == "Other":
        return "Unknown"
    version = getattr(part, "version", ())
    return f"{part.family} {version[0]}" if version else part.family


def _kind(parsed):
    """Return what sort of device the parser recognised."""
    for kind, flag in (("Bot", parsed.is_bot), ("Tablet", parsed.is_tablet),
                       ("Mobile", parsed.is_mobile), ("Desktop", parsed.is_pc)):
        if flag:
            return kind
    return "Unknown"
