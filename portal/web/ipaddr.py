"""Client IPs as sortable keys, so an address or a CIDR block is one index range."""

import functools
import ipaddress

KEY_LENGTH = 32  # 16 bytes as hex: IPv4 is stored as its IPv4-mapped IPv6 address


@functools.lru_cache(maxsize=131072)
def key(text):
    """Return the sortable key of an IP address, or '' when the text is not one.

    A pure function of its text, so each worker remembers the latest answers.
    """
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return ""
    return _hex(address)


def key_range(text):
    """Return the (lowest, highest) keys of an address or CIDR block; raise ValueError."""
    network = ipaddress.ip_network(text.strip(), strict=False)
    return _hex(network.network_address), _hex(network.broadcast_address)


def _hex(address):
    if address.version == 4:
        address = ipaddress.IPv6Address(f"::ffff:{address}")
    return address.packed.hex()


def shown(text):
    """Return an address as people write it: `::ffff:198.51.100.7` is 198.51.100.7.

    Anything else (another address, a /64 network, junk) comes back as it was.
    """
    try:
        mapped = ipaddress.IPv6Address(text).ipv4_mapped
    except (ValueError, TypeError):
        return text
    return str(mapped) if mapped else text


def is_address(text):
    """Return True when the text is one IP address, without an IPv6 scope (`%eth0`).

    A scope is free text that a forwarded header could fill with anything, and no
    address a client is seen from on the internet carries one.
    """
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return "%" not in text
