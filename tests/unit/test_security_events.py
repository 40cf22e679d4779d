"""The security log's limiter: a flood writes a bounded number of lines, then says so."""

from portal.web.security_events import Limiter


def test_a_flood_is_cut_to_the_limit_and_the_cut_is_reported():
    now = [0.0]
    limiter = Limiter(per_window=5, per_source=3, window=10, clock=lambda: now[0])
    assert [limiter.admit("csrf_failed", "a") for _ in range(4)] == \
        [(True, 0)] * 3 + [(False, 0)]
    # One flooding address does not silence the others, until the event's own cap.
    assert [limiter.admit("csrf_failed", "b") for _ in range(3)] == \
        [(True, 0)] * 2 + [(False, 0)]
    assert limiter.admit("forbidden", "a") == (True, 0)  # each event has its own budget
    now[0] = 10.0
    assert limiter.admit("csrf_failed", "a") == (True, 2)  # the window ended: 2 dropped
    assert limiter.admit("csrf_failed", "a") == (True, 0)
