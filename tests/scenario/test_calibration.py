"""The built-in Pakistan scenario against the published FY25 figures (shared/facts/pakistan.md).

Two kinds of test: the data themselves (capacity, demand, profiles, hydro) and the baseline
dispatch (the plan without flexible loads, solved at 3-hour resolution, the resolution CI
can afford: one solve, ~10 s). If the data, their generator or the planning model drift,
these fail. Targets and tolerances are those of issue 11:

- generation share per fuel within +-3 percentage points of FY25 (generation of the whole
  country, K-Electric's own plants included, as the scenario's demand is; see PROVENANCE.md);
- total generation 127,159 GWh +-5 %;
- national-grid peak (all regions but KARACHI) 27-29 GW and K-Electric 3.5-4 GW, +-5 %;
- monthly mean load Dec 10,484, May 16,958, Aug 18,400 MW, +-10 %;
- largest southern generation curtailed by the south-north corridor 1,750 MW +-25 %
  (definition: ``offtake.scenario.calibration.corridor_curtailment_mw``);
- installed capacity by fuel +-2 % of the facts.
"""

from __future__ import annotations

import numpy as np
import pytest

from offtake.scenario import load_scenario
from offtake.scenario.calibration import baseline_dispatch, calibration_figures
from offtake.surplus import available_by_generator_mw

FY25_GWH = 127_159.0
FY25_SHARE = {"hydro": 0.314, "nuclear": 0.177, "rlng": 0.175, "coal_local": 0.122, "gas": 0.088,
              "coal_imported": 0.071, "wind": 0.030}
FY25_REST = 1.0 - sum(FY25_SHARE.values())  # "rest solar/bagasse/oil": 2.3 %


@pytest.fixture(scope="module")
def pk():
    return load_scenario("pakistan-2025")


@pytest.fixture(scope="module")
def figures(pk):
    r = baseline_dispatch(pk, resolution_h=3)
    return calibration_figures(pk, r), r


def test_shape(pk):
    assert len(pk.regions) == 7
    assert len(pk.snapshots) == 8760
    assert pk.snapshots[0].isoformat() == "2025-01-01T00:00:00+05:00"


def test_installed_capacity_by_fuel(pk):
    # 46,605 MW installed incl. ~2,813 MW net-metered solar (modelled inside demand)
    grid = pk.generators["capacity_mw"].sum()
    assert grid == pytest.approx(46605 - 2813, rel=0.05)
    by_fuel = pk.generators.groupby("fuel")["capacity_mw"].sum()
    assert by_fuel["coal_local"] + by_fuel["coal_imported"] == pytest.approx(8450, rel=0.02)
    assert by_fuel["coal_local"] == pytest.approx(2640, rel=0.02)  # Thar lignite
    assert by_fuel["rlng"] + by_fuel["gas"] + by_fuel["oil"] == pytest.approx(17390, rel=0.02)  # gas/RLNG (Ember)
    assert by_fuel["hydro"] == pytest.approx(11530, rel=0.02)
    assert by_fuel["nuclear"] == pytest.approx(3620, rel=0.02)
    assert by_fuel["wind"] == pytest.approx(1800, rel=0.02)
    assert by_fuel["solar"] == pytest.approx(1400, rel=0.02)
    assert by_fuel["bagasse"] == pytest.approx(430, rel=0.02)
    assert set(by_fuel.index) <= {"hydro", "nuclear", "rlng", "gas", "coal_local", "coal_imported", "oil", "wind",
                                  "solar", "bagasse"}


def test_annual_energy_and_monthly_means(pk):
    d = pk.demand_mw.sum(axis=1)
    assert d.sum() / 1e3 == pytest.approx(FY25_GWH, rel=0.05)  # GWh, FY25 generation
    monthly = d.groupby(d.index.month).mean()
    assert monthly[12] == pytest.approx(10484, rel=0.10)
    assert monthly[5] == pytest.approx(16958, rel=0.10)
    assert monthly[8] == pytest.approx(18400, rel=0.10)
    assert monthly.idxmax() in (6, 7, 8) and monthly.idxmin() in (12, 1)


def test_national_and_ke_peaks(pk):
    d = pk.demand_mw
    national = d.drop(columns=["KARACHI"]).sum(axis=1)
    assert 0.95 * 27000 <= national.max() <= 1.05 * 29000
    assert 0.95 * 3500 <= d["KARACHI"].max() <= 1.05 * 4000
    daily_peak = d.sum(axis=1).resample("D").max()
    winter = daily_peak[daily_peak.index.month.isin([12, 1, 2])]
    assert 0.85 * 12000 <= winter.min() <= 1.15 * 13000  # "winter minimum 12-13 GW" read as daily peaks


def test_midday_trough_and_evening_ramp(pk):
    d = pk.demand_mw.sum(axis=1)
    by_hour = d.groupby(d.index.hour).mean()
    assert by_hour[11] < by_hour[20] * 0.75  # rooftop solar trough
    assert by_hour[19] - by_hour[15] > 3000  # steep evening ramp [MW]


def test_hydro_seasonal_swing(pk):
    avail = available_by_generator_mw(pk)
    hydro = avail.loc[:, pk.generators["fuel"] == "hydro"].sum(axis=1)
    monthly = hydro.groupby(hydro.index.month).mean()
    assert monthly[1] == pytest.approx(1164, rel=0.15)
    assert monthly[8] == pytest.approx(8700, rel=0.15)


def test_nuclear_refuelling_and_take_or_pay_inputs(pk):
    a = pk.availability_table()
    assert (a.loc["KARACHI_nuclear"] < 1).sum() >= 2 and (a.loc["PUNJAB_C_nuclear"] < 1).sum() >= 2
    eb = pk.energy_budgets
    top = eb[eb["take_or_pay_mwh"] > 0]
    assert set(top.index.get_level_values("budget")) == {"rlng_national", "rlng_ke"}
    assert (eb.loc["gas_domestic", "max_mwh"].sum() / 1e3) == pytest.approx(0.088 * FY25_GWH, rel=0.01)


def test_wind_and_solar_capacity_factors(pk):
    cf = pk.profiles_pu.mean()
    assert cf["wind"] > 0.30  # Jhimpir-Gharo above 30%
    assert 0.15 < cf["solar"] < 0.25
    assert np.all((pk.profiles_pu.to_numpy() >= 0) & (pk.profiles_pu.to_numpy() <= 1))


def test_baseline_generation_mix_matches_fy25(figures):
    fig, r = figures
    assert fig["resolution"] == "3h"
    assert fig["unserved_mwh"] == 0.0
    share = fig["share_by_fuel"]
    off = {f: round(100 * (share[f] - FY25_SHARE[f]), 2) for f in FY25_SHARE}
    assert all(abs(v) <= 3.0 for v in off.values()), off
    rest = share["solar"] + share["bagasse"] + share["oil"]
    assert abs(rest - FY25_REST) <= 0.03, rest
    assert fig["generation_mwh_per_year"] / 1e3 == pytest.approx(FY25_GWH, rel=0.05)
    # the mix is annualised generation per fuel of the plan's own output table
    mix = r.fuel_mix()
    assert mix["with_flex_mwh_per_year"].sum() == pytest.approx(fig["generation_mwh_per_year"])


def test_baseline_corridor_curtailment(figures):
    fig, _ = figures
    assert 0.75 * 1750 <= fig["corridor_curtailed_max_mw"] <= 1.25 * 1750, fig["corridor_curtailed_max_mw"]


def test_baseline_takes_the_take_or_pay_lng(figures):
    # take-or-pay RLNG is paid anyway: the baseline burns (nearly) all of it
    _, r = figures
    top = r.take_or_pay(baseline=False)
    assert top["taken_mwh"].sum() >= 0.95 * top["contracted_mwh"].sum()


def test_generator_rebuilds_identical_data(tmp_path):
    pytest.importorskip("pvlib")
    from offtake.scenario.io import builtin_path
    from offtake.scenario.synth_pakistan import build

    build(tmp_path)
    for name in ("demand.csv", "profiles.csv", "generators.csv", "lines.csv", "energy_budgets.csv",
                 "availability.csv", "flex_loads.csv"):
        assert (tmp_path / name).read_text() == (builtin_path("pakistan-2025") / name).read_text(), name


def test_mix_beside_reference_for_the_report(pk, figures):
    from offtake.scenario.calibration import mix_beside_reference

    _, r = figures
    t = mix_beside_reference(pk, r)
    assert t.loc["hydro", "reference_share"] == 0.314 and t.loc["rest", "reference_share"] == pytest.approx(0.023)
    assert t.loc["rest", "baseline_mwh_per_year"] == pytest.approx(t.loc[["solar", "bagasse", "oil"],
                                                                         "baseline_mwh_per_year"].sum())
    assert t.loc[list(FY25_SHARE), "difference_pp"].abs().max() <= 3.0
    assert pk.config.reference_mix_source.startswith("NEPRA")


def test_corridor_curtailment_by_hand():
    """Two regions: A (the 'south') has 100 MW at 10 USD/MWh, B 100 MW at 50; corridor A->B 50 MW,
    demand A 20, B 40/45/60 MW. Hours 1-2: the corridor carries 40 and 45 MW, not full: nothing
    curtailed. Hour 3: it is full (50 MW), B's own plant sets B's price at 50, A's at 10 (rent 40):
    A's cheap plant has 100 - 20 - 50 = 30 MW unused that B would buy: 30 MW curtailed."""
    from offtake.examples import two_region_mining
    from offtake.plan import PlanOptions, plan
    from offtake.scenario.calibration import corridor_curtailment_mw

    s = two_region_mining()
    r = plan(s, PlanOptions(no_flex=True, baseline=False))
    np.testing.assert_allclose(corridor_curtailment_mw(s, r, south=("A",)).to_numpy(), [0.0, 0.0, 30.0], atol=1e-6)
    np.testing.assert_allclose(corridor_curtailment_mw(s, r, south=("B",)).to_numpy(), [0.0, 0.0, 0.0], atol=1e-6)
