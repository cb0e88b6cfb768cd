"""Tariff impact on other consumers, the IMF full-cost test and the viable window."""

from __future__ import annotations

import json
import math

import pytest

from offtake.economics.bitcoin import MiningCase, value_mining
from offtake.economics.tariff import (
    TariffFigures,
    breakeven_tariff_pkr_per_kwh,
    contribution_pkr_per_year,
    energy_cost_pkr_per_kwh,
    investor_npv_at_tariff,
    tariff_impact,
    viable_tariff_window,
)
from offtake.errors import InputError

MWH_1000_MW = 1000 * 8760 * 0.9  # 1,000 MW at 90 % uptime = 7,884,000 MWh


def test_impact_by_hand_at_proposed_tariff() -> None:
    imp = tariff_impact(22.98, MWH_1000_MW)
    # issue #12: the network charge is not a contribution, and the spread is over units SOLD
    contrib = (22.98 - 1.0 - 9.67) * 7_884_000 * 1000  # PKR/yr = Rs 97.05 bn
    sold_kwh = 1806e9 / 14.3 * (1 - 0.16)  # FY25 purchases (126.3 TWh) less DISCO losses [est 16 %] = 106.1 TWh
    assert imp.contribution_pkr_per_year == pytest.approx(contrib)
    assert imp.contribution_usd_per_year == pytest.approx(contrib / 284.36)
    assert imp.other_consumers_change_pkr_per_kwh == pytest.approx(-contrib / sold_kwh)
    assert imp.other_consumers_change_pkr_per_kwh == pytest.approx(-0.9148, abs=1e-4)
    assert imp.industrial_change_share == pytest.approx(-contrib / sold_kwh / 34.0)
    assert imp.full_cost_pkr_per_kwh == pytest.approx(9.67 + 1.0 + 16.67)
    assert not imp.recovers_full_cost and imp.others_tariffs_fall


def test_full_cost_tariff_passes_imf_test() -> None:
    assert tariff_impact(27.34, 1.0).recovers_full_cost
    assert not tariff_impact(27.33, 1.0).recovers_full_cost


def test_tariff_below_energy_cost_raises_others_tariffs() -> None:
    imp = tariff_impact(8.0, 1000.0)
    assert imp.contribution_pkr_per_year == pytest.approx((8.0 - 1.0 - 9.67) * 1e6)
    assert imp.other_consumers_change_pkr_per_kwh > 0 and not imp.others_tariffs_fall


def test_plan_extra_generation_cost_replaces_reference_energy() -> None:
    ce = energy_cost_pkr_per_kwh(MWH_1000_MW, TariffFigures(), 100e6)
    assert ce == pytest.approx(100e6 * 284.36 / 7_884_000_000)
    imp = tariff_impact(22.98, MWH_1000_MW, extra_generation_cost_usd_per_year=100e6)
    assert imp.energy_cost_pkr_per_kwh == pytest.approx(ce)


def test_figures_overridable_and_serialisable() -> None:
    figures = TariffFigures(network_pkr_per_kwh=0.0, pkr_per_usd=300.0)
    imp = tariff_impact(26.34, 1000.0, figures)
    assert imp.recovers_full_cost
    assert imp.contribution_usd_per_year == pytest.approx((26.34 - 9.67) * 1e6 / 300.0)
    assert json.loads(imp.to_json())["tariff_pkr_per_kwh"] == 26.34
    assert imp.to_frame().columns[0] == "tariff_pkr_per_kwh"
    assert contribution_pkr_per_year([10.0, 20.0], 1.0, 10.0).tolist() == [0.0, 10_000.0]


def test_window_from_linear_npv() -> None:
    w = viable_tariff_window(lambda t: 1e6 * (30.0 - t), 1000.0)
    assert w.lower_pkr_per_kwh == 9.67
    assert w.upper_pkr_per_kwh == pytest.approx(30.0)
    assert not w.is_empty and w.imf_compliant
    narrow = viable_tariff_window(lambda t: 1e6 * (20.0 - t), 1000.0)
    assert not narrow.is_empty and not narrow.imf_compliant
    nothing = viable_tariff_window(lambda t: -1.0 - t, 1000.0)
    assert math.isnan(nothing.upper_pkr_per_kwh) and nothing.is_empty
    assert nothing.to_dict()["is_empty"] is True
    below = viable_tariff_window(lambda t: 5.0 - t, 1000.0)
    assert below.is_empty  # investor needs a tariff under the energy cost


def test_breakeven_is_capped_at_high() -> None:
    assert breakeven_tariff_pkr_per_kwh(lambda t: 1.0, high_pkr_per_kwh=50.0) == 50.0
    with pytest.raises(InputError, match="need 0 <= low < high"):
        breakeven_tariff_pkr_per_kwh(lambda t: 1.0, low_pkr_per_kwh=5.0, high_pkr_per_kwh=5.0)


def test_breakeven_of_a_mining_case_zeroes_its_npv() -> None:
    case = MiningCase(btc_price_usd=150_000.0, hashrate_growth_per_year=0.1)
    t = breakeven_tariff_pkr_per_kwh(investor_npv_at_tariff(case))
    assert 0.0 < t < 100.0
    from dataclasses import replace
    v = value_mining(replace(case, electricity_usd_per_mwh=t * 1000 / 284.36))
    assert abs(v.npv_usd) < 1.0  # USD, on a ~200 M USD investment


@pytest.mark.parametrize("call, message", [
    (lambda: tariff_impact(-1.0, 1000.0), "tariff_pkr_per_kwh must be >= 0"),
    (lambda: tariff_impact(20.0, -5.0), "mwh_per_year must be >= 0"),
    (lambda: TariffFigures(capacity_charges_pkr_per_year=0.0), "must be > 0"),
    (lambda: energy_cost_pkr_per_kwh(0.0, TariffFigures(), 1e6), "needs mwh_per_year > 0"),
    (lambda: investor_npv_at_tariff(object()), "expected a MiningCase or AidcCase"),
])
def test_bad_input(call: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()  # type: ignore[operator]


def test_full_cost_uses_the_same_energy_cost_as_the_contribution() -> None:
    # plan basis: 100 M USD of extra generation for 7,884 GWh = Rs 3.607/kWh
    imp = tariff_impact(22.98, MWH_1000_MW, extra_generation_cost_usd_per_year=100e6)
    ce = 100e6 * 284.36 / 7_884_000_000
    assert imp.full_cost_pkr_per_kwh == pytest.approx(ce + 1.0 + 16.67)
    assert imp.contribution_pkr_per_year == pytest.approx((22.98 - 1.0 - ce) * 7_884_000_000)
    assert imp.recovers_full_cost  # 22.98 >= 3.607 + 1.0 + 16.67 = 21.28


def test_pool_impact_by_hand() -> None:
    from offtake.economics.tariff import ImpactFigures, pool_impact

    f = ImpactFigures(pkr_per_usd=280.0, units_purchased_kwh=1e9, disco_loss_share=0.2, units_sold_kwh=8e8,
                      ke_regions=("KARACHI",), ke_units_sold_kwh=1e8, ke_loss_share=0.15, network_pkr_per_kwh=1.5,
                      capacity_share_pkr_per_kwh=16.67, energy_reference_pkr_per_kwh=9.67)
    # 1 GWh sold for Rs 20 M, energy cost caused Rs 5.6/kWh: (20 - (1.5 + 5.6) x 1) = Rs 12.9 M
    r = pool_impact(20e6, 1e6, 5.6, f, f.units_sold_kwh)
    assert r["contribution_pkr"] == pytest.approx(12.9e6)
    assert r["others_change_pkr_per_kwh"] == pytest.approx(-12.9e6 / 8e8)
    # the same sale in K-Electric's pool moves its (smaller) base 8x more
    ke = pool_impact(20e6, 1e6, 5.6, f, f.ke_units_sold_kwh)
    assert ke["others_change_pkr_per_kwh"] == pytest.approx(8 * r["others_change_pkr_per_kwh"])
    assert pool_impact(0.0, 0.0, float("nan"), f, 8e8) == {"contribution_pkr": 0.0, "others_change_pkr_per_kwh": 0.0}
