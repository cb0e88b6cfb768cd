"""Link-loss timer and under-frequency trip (times passed in, no sleeping)."""

from __future__ import annotations

from offtake.agent.failsafe import FrequencyGuard, LinkWatch


def test_link_lost_only_after_the_timeout():
    w = LinkWatch(timeout_s=30.0, last_contact=100.0)
    assert not w.lost(129.9)
    assert not w.lost(130.0)
    assert w.lost(130.1)
    w.touch(131.0)
    assert not w.lost(160.0)
    w.touch(120.0)          # an out-of-order touch never moves contact back
    assert w.last_contact == 131.0


def test_underfrequency_trips_at_once_and_holds_after_recovery():
    g = FrequencyGuard(threshold_hz=49.7, hold_s=10.0)
    assert g.observe(50.0, 0.0) is None
    assert g.observe(49.69, 1.0) == "trip"
    assert g.tripped
    assert g.observe(49.5, 1.5) is None          # already tripped: one event only
    assert g.observe(49.8, 2.0) is None          # recovered, hold starts
    assert g.observe(49.6, 5.0) is None          # dips again: hold restarts
    assert g.observe(49.9, 6.0) is None
    assert g.observe(49.9, 15.9) is None and g.tripped
    assert g.observe(49.9, 16.0) == "clear"
    assert not g.tripped


def test_threshold_itself_does_not_trip_and_garbage_is_ignored():
    g = FrequencyGuard(threshold_hz=49.7, hold_s=0.0)
    assert g.observe(49.7, 0.0) is None
    assert g.observe(float("nan"), 0.1) is None
    assert g.observe(0.0, 0.2) is None           # a dead meter is not a grid event
    assert g.observe(-1.0, 0.3) is None
    assert not g.tripped
