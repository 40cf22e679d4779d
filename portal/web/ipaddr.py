"""Client IPs as sortable keys, so an address or a CIDR block is one index range."""

import functools
import ipaddress

KEY_LENGTH = 32  # 16 bytes as hex: IPv4 is stored as its IPv4-mapped IPv6 address


@functools.lru_cache(maxsize=131072)
def key(text):
    """Return the sortable key of an IP address, or '' when the text is not one (cached)."""
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


def throttle_key(text):
    """Return what the IP throttle counts by: the IPv4 address, or the IPv6 /64 network.

    One IPv6 client usually holds a whole /64, so counting single addresses would
    give it 2**64 budgets.
    """
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return "invalid"
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def is_address(text):
    """Return True when the text is one IP address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
