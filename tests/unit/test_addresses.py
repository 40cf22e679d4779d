"""Addresses as people read them."""

import pytest

from portal.web import ipaddr


@pytest.mark.parametrize(("stored", "shown"), [
    ("::ffff:198.51.100.77", "198.51.100.77"), ("::FFFF:10.0.0.1", "10.0.0.1"),
    ("198.51.100.77", "198.51.100.77"), ("2001:db8::1", "2001:db8::1"),
    ("2001:db8:4bad:7::/64", "2001:db8:4bad:7::/64"), ("unknown", "unknown"), ("", "")])
def test_an_ipv4_mapped_address_reads_as_ipv4_and_nothing_else_changes(stored, shown):
    assert ipaddr.shown(stored) == shown
