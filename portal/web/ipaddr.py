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


def address(key_text):
    """Return the address a key stands for, IPv4 as IPv4 ('' for the key of no address)."""
    if not key_text:
        return ""
    found = ipaddress.IPv6Address(bytes.fromhex(key_text))
    return str(found.ipv4_mapped or found)


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


# An IPv4 address's key starts with the IPv4-mapped prefix; its /24 is the key's first 15
# bytes, an IPv6 address's /48 its first 6.
MAPPED_PREFIX = "0" * 20 + "ffff"
IPV4_NETWORK_DIGITS, IPV6_NETWORK_DIGITS = 30, 12


def network_of(prefix):
    """Return the CIDR block (IPv4 /24, IPv6 /48) whose keys start with the prefix."""
    address = ipaddress.IPv6Address(bytes.fromhex(prefix.ljust(KEY_LENGTH, "0")))
    if address.ipv4_mapped:
        return f"{address.ipv4_mapped}/24"
    return f"{address}/48"
