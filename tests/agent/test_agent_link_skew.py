"""Clock skew from the service's HTTP Date header (whole seconds): no skew within its resolution,
a real offset estimated to within half a second."""

from offtake.agent.link import skew_from_date


def test_same_clock_is_no_skew_whatever_the_fraction():
    for frac in (0.0, 0.3, 0.999):
        local = 1_800_000_000.0 + frac
        assert skew_from_date(1_800_000_000.0, local) == 0.0


def test_real_offset_is_estimated_within_half_a_second():
    local = 1_800_000_000.25
    true_skew = 7.6
    server_header = float(int(local + true_skew))  # the Date header truncates
    est = skew_from_date(server_header, local)
    assert abs(est - true_skew) <= 0.5
    assert skew_from_date(float(int(local - 30.0)), local) < -29.0
