"""Who is on the other end: client IP (behind trusted proxies) and the parsed user agent."""

import functools
from dataclasses import dataclass

import ua_parser
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix


@dataclass(frozen=True)
class Client:
    """The address and user agent of the current request."""

    ip: str
    user_agent: str


@dataclass(frozen=True)
class Device:
    """A user agent as people name it: browser, operating system and device family."""

    browser: str
    os: str
    device: str


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
    """Return the Device a user-agent string names (cached: parsing is slow)."""
    result = ua_parser.parse(user_agent or "")
    return Device(browser=_family(result.user_agent), os=_family(result.os),
                  device=_family(result.device))


def _family(part):
    """Return a parsed part's family with its major version where there is one."""
    if part is None or part.family == "Other":
        return "Unknown"
    major = getattr(part, "major", None)
    return f"{part.family} {major}" if major else part.family
