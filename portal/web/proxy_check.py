"""The proxy check: requests whose forwarding headers say PORTAL_TRUSTED_PROXIES is wrong.

A request that carries X-Forwarded-For or Forwarded to a portal that trusts no proxy,
or fewer X-Forwarded-For addresses than the proxies it trusts, is recorded under the
wrong client address: every client behind the proxy then shares one address, and one
IP throttle. Each worker counts such requests in memory, so a request costs no query;
at most once a minute (SHARE_EVERY) it adds its counts to `proxy_observations` and
reads back what every process and host saw in the last hour (WINDOW), which the
admins' pages show. So the warning ends an hour after the last such request.

More addresses than trusted is normal: a client may send its own X-Forwarded-For,
which the proxy appends to. A stranger who forges the header can only make the
warning appear: what is kept is a count, the fewest addresses and the socket address
the request came from, never the header's text.
"""

import ipaddress
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from flask import request
from peewee import DatabaseError

from portal import clock
from portal.db import database
from portal.models import ProxyObservation
from portal.web import ipaddr

FORWARDED_FOR, FORWARDED = "X-Forwarded-For", "Forwarded"
ENVIRON_KEYS = {FORWARDED_FOR: "HTTP_X_FORWARDED_FOR", FORWARDED: "HTTP_FORWARDED"}
SHARE_EVERY = timedelta(minutes=1)
WINDOW = timedelta(hours=1)
# A monitor often asks gunicorn directly, and static files say nothing new.
UNCHECKED = {"health.healthz", "static"}
EXTENSION = "proxy_check"


# Where a reverse proxy of one's own stands: loopback aside, the networks RFC 1918 and
# RFC 4193 set aside for them (not Python's is_private, which counts the documentation
# ranges too).
OWN_NETWORKS = tuple(ipaddress.ip_network(block) for block in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


@dataclass(frozen=True)
class Finding:
    """What processes with one PORTAL_TRUSTED_PROXIES saw of one header in the last hour."""

    trusted: int
    header: str
    requests: int
    fewest: int
    peer: str
    last_seen: datetime
    current: bool  # True when this process runs with that setting

    @property
    def from_own_network(self):
        """Return True when the latest such request came from a loopback or private address,
        where a reverse proxy of one's own stands; from anywhere else, a client sent the
        header itself, and its count of addresses is no advice at all."""
        try:
            address = ipaddress.ip_address(self.peer)
        except ValueError:
            return False
        address = getattr(address, "ipv4_mapped", None) or address
        return address.is_loopback or any(address in network for network in OWN_NETWORKS)


class Tally:
    """One worker's counts since it last shared them, and what it last read back."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests, self.fewest, self.peers, self.last_seen = Counter(), {}, {}, {}
        self.shared, self.shared_at = [], None

    def note(self, header, hops, peer, now):
        """Count one request that carried too few (or untrusted) addresses in a header."""
        with self.lock:
            self.requests[header] += 1
            self.fewest[header] = min(hops, self.fewest.get(header, hops))
            self.peers[header], self.last_seen[header] = peer, now

    def pending(self):
        """Return the counts not shared yet, as rows of proxy_observations (without `trusted`)."""
        return [{"header": header, "requests": count, "fewest": self.fewest[header],
                 "peer": self.peers[header], "seen_at": self.last_seen[header]}
                for header, count in self.requests.items()]

    def take(self):
        """Return the counts not shared yet, and forget them."""
        with self.lock:
            rows = self.pending()
            self.requests, self.fewest, self.peers, self.last_seen = Counter(), {}, {}, {}
        return rows

    def claim(self, now):
        """Return True, once, when the last share is a minute old (or the clock went back)."""
        with self.lock:
            due = self.shared_at is None or not timedelta(0) <= now - self.shared_at < SHARE_EVERY
            if due:
                self.shared_at = now  # so that another thread of this worker waits its minute
        return due


def init_app(app):
    """Count every request's forwarding headers; share the counts as requests end."""
    app.extensions[EXTENSION] = Tally()
    app.before_request(note_request)
    app.teardown_request(share_when_due)


def note_request():
    """Count this request if its forwarding headers disagree with PORTAL_TRUSTED_PROXIES."""
    if request.endpoint in UNCHECKED:
        return
    trusted = current_app.config["TRUSTED_PROXIES"]
    seen = {header: hops(request.environ.get(key)) for header, key in ENVIRON_KEYS.items()}
    if trusted and seen[FORWARDED_FOR] >= trusted:
        return  # enough hops; a Forwarded header beside them is some proxy's extra
    tally, now = current_app.extensions[EXTENSION], clock.now()
    for header, count in seen.items():
        if count or (trusted and header == FORWARDED_FOR):
            tally.note(header, count, socket_peer(), now)


def hops(value):
    """Return how many addresses a list header holds, counted as ProxyFix counts them."""
    return len(value.split(",")) if value and value.strip() else 0


def socket_peer():
    """Return the address the request came from over the socket, before ProxyFix."""
    original = request.environ.get("werkzeug.proxy_fix.orig", request.environ)
    address = original.get("REMOTE_ADDR") or ""
    return address if ipaddr.is_address(address) else "unknown"


def share_when_due(exc=None):
    """Share this worker's counts once a minute, when a request ends that had any."""
    if exc is not None or request.endpoint in UNCHECKED:
        return
    tally = current_app.extensions[EXTENSION]
    if tally.requests and tally.claim(clock.now()):
        share(tally)


def findings():
    """Return what the proxy check found in the last hour, everywhere, as Findings.

    The shared part is at most a minute old; this worker's own counts since then are
    added, so its own requests show at once.
    """
    tally = current_app.extensions[EXTENSION]
    if tally.claim(clock.now()):
        share(tally)
    trusted = current_app.config["TRUSTED_PROXIES"]
    with tally.lock:
        rows = [*tally.shared, *({**row, "trusted": trusted} for row in tally.pending())]
    return summarise(rows, trusted)


def share(tally):
    """Add the worker's counts to the table and read back the last hour's, in one transaction."""
    now = clock.now()
    trusted = current_app.config["TRUSTED_PROXIES"]
    rows = [{**row, "trusted": trusted} for row in tally.take()]
    try:
        with database.atomic():
            ProxyObservation.delete().where(ProxyObservation.seen_at < now - WINDOW).execute()
            if rows:
                ProxyObservation.insert_many(rows).execute()
            tally.shared = list(ProxyObservation.select(*COLUMNS)
                                .where(ProxyObservation.seen_at >= now - WINDOW).dicts())
    # The database cannot serve now: the next minute tries again, and the counts taken
    # are lost (the next such request brings the warning back).
    except DatabaseError as error:
        logging.getLogger("portal.db").info("proxy check not shared: %s", error)


COLUMNS = (ProxyObservation.trusted, ProxyObservation.header, ProxyObservation.requests,
           ProxyObservation.fewest, ProxyObservation.peer, ProxyObservation.seen_at)


def summarise(rows, trusted):
    """Return one Finding per (setting, header) of the observation rows: this setting's first."""
    found = {}
    for row in sorted(rows, key=lambda row: row["seen_at"]):
        key = (row["trusted"], row["header"])
        earlier = found.get(key)
        found[key] = Finding(
            trusted=row["trusted"], header=row["header"], peer=row["peer"],
            requests=row["requests"] + (earlier.requests if earlier else 0),
            fewest=min(row["fewest"], earlier.fewest if earlier else row["fewest"]),
            last_seen=row["seen_at"], current=row["trusted"] == trusted)
    return sorted(found.values(),
                  key=lambda f: (not f.current, f.trusted, f.header != FORWARDED_FOR))
