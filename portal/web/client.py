"""Who is on the other end: the client's IP (behind trusted proxies) and user agent."""

from dataclasses import dataclass

from flask import abort
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.web import ipaddr


@dataclass(frozen=True)
class Client:
    """The address and user agent of the current request."""

    ip: str
    user_agent: str


def init_app(app):
    """Trust X-Forwarded-For only as PORTAL_TRUSTED_PROXIES says; refuse NUL in URLs."""
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
