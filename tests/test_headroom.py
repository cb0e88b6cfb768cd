"""Curtailment-enabled headroom: exact root, hand-computed cases, the forward check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offtake.errors import InputError
from offtake.headroom import curtailment_headroom, curtailment_rate


def _series(values, start="2021-01-01"):
    idx = pd.date_range(start, periods=len(values), freq="h", tz="UTC")
    return pd.Series(np.asarray(values, float), index=idx)


def _two_years(rng):
    idx = pd.date_range("2022-01-01", "2023-12-31 23:00", freq="h", tz="UTC")
    base = 1000 + 300 * np.sin(2 * np.pi * (idx.day_of_year.to_numpy() - 105) / 365) + 100 * np.sin(2 * np.pi * idx.hour.to_numpy() / 24)
    return pd.Series(base + rng.normal(0, 30, len(idx)), index=idx)


def test_hand_computed_single_spike():
    # One year, flat 100 MW except one 150 MW hour in July.  Summer threshold 150, winter 100.
    idx = pd.date_range("2023-01-01", "2023-12-31 23:00", freq="h", tz="UTC")
    d = pd.Series(100.0, index=idx)
    d[pd.Timestamp("2023-07-10 18:00", tz="UTC")] = 150.0
    res = curtailment_headroom(d, [0.005])
    p = res.points[0]
    # Winter hours (Nov-Mar) have gap 0: every MW of load there is curtailed.
    # Winter hours = Jan..Mar + Nov..Dec = 90 + 61 = 151 days.
    winter_h = 151 * 24
    # with L <= 50: curtailed = winter_h * L + (L - 0) for the spike hour, rate = (winter_h + 1) / 8760 > 0.5%
    assert res.winter_threshold_mw == 100 and res.summer_threshold_mw == 150
    assert p.headroom_mw == 0.0
    assert (winter_h + 1) / 8760 > 0.005


def test_hand_computed_summer_only():
    # Summer and winter both peak at 200 once; all other hours 100.  L in (0, 100]:
    # curtailed MWh = 2 * L (the two peak hours), rate = 2L / (L * 8760) = 2/8760 = 0.0228%.
    idx = pd.date_range("2023-01-01", "2023-12-31 23:00", freq="h", tz="UTC")
    d = pd.Series(100.0, index=idx)
    d[pd.Timestamp("2023-07-10 18:00", tz="UTC")] = 200.0
    d[pd.Timestamp("2023-01-10 18:00", tz="UTC")] = 200.0
    res = curtailment_headroom(d, [0.0005])
    # For L > 100 every hour is curtailed by L - 100 too: rate = (2L + 8758 (L-100)) / (8760 L) = 0.0005
    # -> L * (8760 - 8760*0.0005) = 875800 -> L = 875800 / 8755.62
    expected = 8758 * 100 / (8760 - 8760 * 0.0005)
    assert res.points[0].headroom_mw == pytest.approx(expected, rel=1e-12)
    assert res.points[0].curtailed_hours_per_year == 8760


def test_matches_bisection_and_forward_rate():
    rng = np.random.default_rng(3)
    d = _two_years(rng)
    res = curtailment_headroom(d)
    for p in res.points:
        assert curtailment_rate(d, p.headroom_mw) == pytest.approx(p.rate, rel=1e-9)
        assert curtailment_rate(d, p.headroom_mw * 1.0001) > p.rate
        lo, hi = 1e-6, 1e5  # straightforward bisection on the forward function
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if curtailment_rate(d, mid) <= p.rate else (lo, mid)
        assert p.headroom_mw == pytest.approx(lo, rel=1e-7)
    hs = [p.headroom_mw for p in res.points]
    assert hs == sorted(hs)
    assert res.years == (2022, 2023)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1000), min_size=24 * 40, max_size=24 * 40), st.floats(0.001, 0.2))
def test_property_root_is_the_largest_feasible_load(values, rate):
    # 40 days starting 2021-03-01 cover March (winter) and April (summer threshold applies).
    idx = pd.date_range("2021-03-01", periods=len(values), freq="h", tz="UTC")
    # add one summer-window (May) hour so both thresholds exist
    d = pd.Series(values, index=idx)
    d = pd.concat([d, pd.Series([500.0], index=[pd.Timestamp("2021-05-01", tz="UTC")])]).sort_index()
    d = d.reindex(pd.date_range(d.index[0], d.index[-1], freq="h", tz="UTC"), fill_value=0.0)
    res = curtailment_headroom(d, [rate])
    L = res.points[0].headroom_mw
    if L > 0:
        assert curtailment_rate(d, L) <= rate * (1 + 1e-9)
        assert curtailment_rate(d, L * 1.001 + 1e-6) > rate


def test_json_shape():
    res = curtailment_headroom(_two_years(np.random.default_rng(1)), [0.0025, 0.005, 0.01, 0.05])
    data = json.loads(res.to_json())
    assert set(data["rates"]) == {"0.25", "0.5", "1", "5"}
    assert set(data["rates"]["0.5"]) >= {"headroom_mw", "curtailed_hours_per_year", "mean_event_hours"}
    assert data["years"] == [2022, 2023]
    ev = data["rates"]["5"]
    assert ev["mean_run_hours"] == pytest.approx(2 * ev["mean_event_hours"], rel=0.1)


@pytest.mark.parametrize("rates", [[], [0.0], [1.5], [float("nan")]])
def test_bad_rates(rates):
    with pytest.raises(InputError):
        curtailment_headroom(_series(np.ones(24 * 400)), rates)
