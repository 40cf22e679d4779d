"""The security log's limiter: a flood writes a bounded number of lines, then says so."""

from portal.web.security_events import Limiter


def test_a_flood_is_cut_to_the_limit_and_the_cut_is_reported():
    now = [0.0]
    limiter = Limiter(per_window=3, window=10, clock=lambda: now[0])
    assert [limiter.admit("csrf_failed") for _ in range(5)] == \
        [(True, 0)] * 3 + [(False, 0)] * 2
    assert limiter.admit("forbidden") == (True, 0)  # each event has its own budget
    now[0] = 10.0
    assert limiter.admit("csrf_failed") == (True, 2)  # the window ended: 2 were dropped
    assert limiter.admit("csrf_failed") == (True, 0)
