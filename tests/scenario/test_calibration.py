"""The built-in Pakistan scenario against the published figures (shared/facts/pakistan.md).

Tolerances: +-5% for published national totals, +-15% for figures marked [est] in the facts.
If the data or its generator drift, these fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from offtake.scenario import load_scenario
from offtake.surplus import available_by_generator_mw


@pytest.fixture(scope="module")
def pk():
    return load_scenario("pakistan-2025")


def test_shape(pk):
    assert len(pk.regions) == 7
    assert len(pk.snapshots) == 8760
    assert pk.snapshots[0].isoformat() == "2025-01-01T00:00:00+05:00"


def test_installed_capacity(pk):
    # 46,605 MW installed incl. ~2,813 MW net-metered solar (modelled inside demand)
    grid = pk.generators["capacity_mw"].sum()
    assert grid == pytest.approx(46605 - 2813, rel=0.05)
    by_tech = pk.generators.groupby("technology")["capacity_mw"].sum()
    assert by_tech["coal"] == pytest.approx(8450, rel=0.01)
    assert by_tech["gas"] == pytest.approx(17390, rel=0.01)
    assert by_tech["hydro"] == pytest.approx(11530, rel=0.01)
    assert by_tech["nuclear"] == pytest.approx(3620, rel=0.05)
    assert by_tech["wind"] == pytest.approx(1800, rel=0.05)
    assert by_tech["solar"] == pytest.approx(1400, rel=0.05)


def test_annual_energy_and_monthly_averages(pk):
    d = pk.demand_mw.sum(axis=1)
    assert d.sum() / 1e3 == pytest.approx(127159, rel=0.05)  # GWh, FY25 generation
    monthly = d.groupby(d.index.month).mean()
    assert monthly[12] == pytest.approx(10484, rel=0.05)
    assert monthly[5] == pytest.approx(16958, rel=0.05)
    assert monthly[8] == pytest.approx(18400, rel=0.05)
    assert monthly.idxmax() in (6, 7, 8) and monthly.idxmin() in (12, 1)


def test_peak_and_winter_minimum(pk):
    d = pk.demand_mw.sum(axis=1)
    # national grid peak ~27-29 GW plus K-Electric 3.5-4 GW [est, +-15%]; demand as served
    assert 0.85 * 27000 <= d.max() <= 1.15 * 33000
    daily_peak = d.resample("D").max()
    winter = daily_peak[daily_peak.index.month.isin([12, 1, 2])]
    assert 0.85 * 12000 <= winter.min() <= 1.15 * 13000  # "winter minimum 12-13 GW" read as daily peaks
    assert pk.demand_mw["KARACHI"].max() == pytest.approx(3750, rel=0.15)


def test_midday_trough_and_evening_ramp(pk):
    d = pk.demand_mw.sum(axis=1)
    by_hour = d.groupby(d.index.hour).mean()
    assert by_hour[11] < by_hour[20] * 0.75  # rooftop solar trough
    assert by_hour[19] - by_hour[15] > 3000  # steep evening ramp [MW]


def test_hydro_share_and_seasonal_swing(pk):
    avail = available_by_generator_mw(pk)
    hydro = avail.loc[:, pk.generators["technology"] == "hydro"].sum(axis=1)
    monthly = hydro.groupby(hydro.index.month).mean()
    assert monthly[1] == pytest.approx(1164, rel=0.15)
    assert monthly[8] == pytest.approx(8700, rel=0.15)
    share = hydro.sum() / pk.demand_mw.to_numpy().sum()
    assert share == pytest.approx(0.314, rel=0.05)


def test_wind_and_solar_capacity_factors(pk):
    cf = pk.profiles_pu.mean()
    assert cf["wind"] > 0.30  # Jhimpir-Gharo above 30%
    assert 0.15 < cf["solar"] < 0.25
    assert np.all((pk.profiles_pu.to_numpy() >= 0) & (pk.profiles_pu.to_numpy() <= 1))


def test_generator_rebuilds_identical_data(tmp_path):
    pytest.importorskip("pvlib")
    from offtake.scenario.synth_pakistan import build
    from offtake.scenario.io import builtin_path

    build(tmp_path)
    for name in ("demand.csv", "profiles.csv", "generators.csv", "lines.csv", "hydro_budgets.csv", "flex_loads.csv"):
        assert (tmp_path / name).read_text() == (builtin_path("pakistan-2025") / name).read_text(), name
