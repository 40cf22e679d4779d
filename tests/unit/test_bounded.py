"""Client text is made storable: NUL visible, length bounded."""

from portal.models import bounded


def test_nul_becomes_visible_symbol():
    assert bounded("a\x00b", 10) == "a\u2400b"


def test_long_text_is_cut_with_an_ellipsis():
    cut = bounded("x" * 10_000, 150)
    assert len(cut) == 150 and cut.endswith("\u2026")


def test_short_text_is_unchanged():
    assert bounded("مرحبا 🙂", 150) == "مرحبا 🙂"
    assert bounded(None, 5) == ""


def test_an_ipv6_scope_is_no_address():
    from portal.web import ipaddr
    assert ipaddr.is_address("fe80::1") and ipaddr.is_address("203.0.113.7")
    assert not ipaddr.is_address("fe80::1%eth0") and not ipaddr.is_address("fe80::1%\x1b[2J")
