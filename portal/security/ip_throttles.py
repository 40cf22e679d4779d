"""IP throttles as an admin sees them: which addresses are throttled now, and lifting one.

An address is throttled while its window (portal.security.policy) holds IP_MAX_FAILURES
failures; lifting it forgets the window, so the address starts afresh. IPv6 clients
are counted by /64 network, and listed and lifted so.
"""

import ipaddress
from collections import namedtuple

from flask import current_app

from portal import clock
from portal.db import database
from portal.models import IpThrottle
from portal.security import audit
from portal.security import policy

LIST_LIMIT = 500

# One throttled address (or IPv6 /64): plain values for the page and the CLI.
Throttled = namedtuple("Throttled", ["ip", "failures", "started_at", "ends_at"])


class NotAnAddress(ValueError):
    """What was given to lift is neither an IP address nor a /64 network."""


def rules():
    """Return the policy of the current settings."""
    return policy.Policy.from_config(current_app.config)


def throttled(limit=LIST_LIMIT):
    """Return the addresses throttled right now, the latest to end first (at most `limit`)."""
    now, current = clock.now(), rules()
    query = (IpThrottle.select(IpThrottle.ip, IpThrottle.failures, IpThrottle.started_at)
             .where(IpThrottle.failures >= current.ip_max_failures,
                    IpThrottle.started_at > now - current.ip_window)
             .order_by(IpThrottle.started_at.desc()).limit(limit))
    return [Throttled(ip, failures, started, started + current.ip_window)
            for ip, failures, started in query.tuples()]


def key_of(text):
    """Return the window key an address (or a /32, or an IPv6 /64 as listed) names.

    Raise NotAnAddress for anything else: a wider block holds many windows, and lifting
    one of them while saying the block was lifted would mislead.
    """
    text = (text or "").strip()
    if "/" in text:
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError:
            raise NotAnAddress(text) from None
        if network.prefixlen != (32 if network.version == 4 else 64):
            raise NotAnAddress(text)
        text = str(network.network_address)
    key = policy.ip_window_key(text)
    if key == "invalid" or "%" in text:
        raise NotAnAddress(text)
    return key


def lift(text, actor, actor_ip=None):
    """Lift the throttle on an address (audited); return its key, or None if not throttled."""
    key = key_of(text)
    now, current = clock.now(), rules()
    with database.atomic():
        lifted = [failures for (failures,) in IpThrottle.delete().where(
            IpThrottle.ip == key, IpThrottle.failures >= current.ip_max_failures,
            IpThrottle.started_at > now - current.ip_window,
        ).returning(IpThrottle.failures).tuples().execute()]
        if not lifted:
            return None
        audit.record(audit.LIFT_IP, None, actor, actor_ip, target_ip=key, failures=lifted[0])
    return key
