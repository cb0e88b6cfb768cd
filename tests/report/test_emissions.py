"""CO2 of the extra generation, checked by hand on a two-generator, two-hour plan."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from offtake.emissions import FUELS, factor_t_per_mwh, generator_fuels, plan_emissions
from offtake.errors import InputError


def _plan(fuel_col: bool = True) -> SimpleNamespace:
    idx = pd.date_range("2026-01-01", periods=2, freq="h", tz="Asia/Karachi")
    gens = pd.DataFrame({"technology": ["coal", "gas", "hydro"], "capacity_mw": [500.0, 400.0, 300.0]},
                        index=["c1", "g1", "h1"])
    if fuel_col:
        gens["fuel"] = ["coal_imported", "rlng", "hydro"]
    base = pd.DataFrame([[100.0, 50.0, 300.0], [100.0, 50.0, 300.0]], index=idx, columns=gens.index)
    after = base + pd.DataFrame([[40.0, 20.0, 0.0], [60.0, 0.0, 0.0]], index=idx, columns=gens.index)
    weight = pd.Series([4380.0, 4380.0], index=idx)  # two snapshots standing for one year
    cons = pd.DataFrame({("north", "bitcoin_mining"): [58.0, 58.0]}, index=idx)
    return SimpleNamespace(generators=gens, baseline_dispatch_mw=base, dispatch_mw=after, weight_h=weight,
                           horizon_years=1.0, consumption_mw=cons)


def test_factors_are_heat_rate_times_ipcc_co2_per_gj() -> None:
    assert factor_t_per_mwh("coal_imported") == pytest.approx(9.0 * 0.0946)  # 0.8514 t/MWh
    assert factor_t_per_mwh("rlng") == pytest.approx(6.5 * 0.0561)  # 0.36465 t/MWh
    assert factor_t_per_mwh("coal_local") == pytest.approx(10.3 * 0.1010)  # lignite, 1.0403 t/MWh
    for zero in ("hydro", "nuclear", "wind", "solar", "bagasse"):
        assert factor_t_per_mwh(zero) == 0.0
    vocabulary = {"hydro", "nuclear", "rlng", "gas", "coal_local", "coal_imported", "oil", "wind", "solar", "bagasse"}
    assert vocabulary <= set(FUELS)  # every fuel of generators.csv has a factor


def test_extra_co2_by_hand() -> None:
    em = plan_emissions(_plan())
    # coal: (40 + 60) MW x 4380 h = 438,000 MWh x 0.8514 = 372,913.2 t
    # rlng: 20 MW x 4380 h = 87,600 MWh x 0.36465 = 31,943.34 t
    assert em.by_fuel.loc["coal_imported", "extra_mwh_per_year"] == pytest.approx(438_000.0)
    assert em.extra_tco2_per_year == pytest.approx(372_913.2 + 31_943.34)
    assert em.extra_generation_mwh_per_year == pytest.approx(525_600.0)
    assert em.tco2_per_mwh_generated == pytest.approx((372_913.2 + 31_943.34) / 525_600.0)
    # the loads drew 58 MW x 8760 h = 508,080 MWh; the rest of the extra generation covers losses
    assert em.tco2_per_mwh_drawn == pytest.approx((372_913.2 + 31_943.34) / 508_080.0)
    d = em.to_dict()
    assert d["by_fuel"]["rlng"]["extra_tco2_per_year"] == pytest.approx(31_943.34)


def test_without_fuel_column_the_technology_is_the_fuel() -> None:
    em = plan_emissions(_plan(fuel_col=False))
    assert em.extra_tco2_per_year == pytest.approx(438_000 * 9.5 * 0.0946 + 87_600 * 8.5 * 0.0561)


def test_unknown_fuel_is_a_clear_error_and_no_baseline_gives_nan() -> None:
    gens = pd.DataFrame({"technology": ["coal"], "fuel": ["peat"]}, index=["x"])
    with pytest.raises(InputError, match="no emission factor for fuel 'peat'"):
        generator_fuels(gens)
    p = _plan()
    p.baseline_dispatch_mw = None
    assert np.isnan(plan_emissions(p).extra_tco2_per_year)
