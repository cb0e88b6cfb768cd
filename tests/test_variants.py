"""Scenario variants: hand-checked numbers on the tiny scenario, and bad values."""

from __future__ import annotations

import pytest

from offtake.errors import InputError
from offtake.scenario import load_scenario
from offtake.scenario.tiny import GENERATORS_CSV, profiles_frame, write_tiny_scenario
from offtake.variants import (
    BitcoinFleet,
    apply_variant,
    check_variant,
    with_btc_price,
    with_demand_growth,
    with_hydrology,
    with_programme_cap,
    with_rooftop_solar,
    with_tariff,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    # a run-of-river fleet on a 'hydro_ror' profile, so the hydrology variant has a profile to scale
    gens = GENERATORS_CSV + "north_ror,north,hydro,hydro,100,1,0,0,hydro_ror,\n"
    prof = profiles_frame()
    prof["hydro_ror"] = 0.5
    prof.loc[0, "hydro_ror"] = 0.95
    flex = ("name,kind,load_type,value_usd_per_mwh,capex_usd_per_mw_year,max_mw_per_region,min_site_mw,window_h,"
            "max_off_share,backup_cost_usd_per_mwh,regions\nmining,interruptible,bitcoin_mining,60,100000,400,0,24,1,0,\n")
    folder = write_tiny_scenario(tmp_path_factory.mktemp("tiny"),
                                 {"generators.csv": gens, "profiles.csv": prof.to_csv(index=False), "flex_loads.csv": flex})
    return load_scenario(folder)


def test_tariff_and_programme_cap_change_config_only(tiny):
    v = with_programme_cap(with_tariff(tiny, 25.5), 250)
    assert v.config.tariffs.offered_pkr_per_kwh == 25.5
    assert v.config.programme_cap_mw == 250
    assert tiny.config.tariffs.offered_pkr_per_kwh == 22.98  # input untouched
    assert tiny.config.programme_cap_mw == 500
    assert v.demand_mw is tiny.demand_mw


def test_btc_price_recomputes_mining_value(tiny):
    from offtake.economics.bitcoin import MINERS, MiningCase
    from offtake.economics.valuation import mining_economics, scenario_economics

    # the default fleet: the row's BTC price input is set and its override value cleared, so the
    # planner values it over the machine life (56.13 USD/MWh at 100,000 USD; first month 93.76)
    v = with_btc_price(tiny, 100_000)
    assert v.flex_loads.loc["mining", "btc_price_usd"] == 100_000
    assert scenario_economics(v.flex_loads)["mining"].value_usd_per_mwh == pytest.approx(56.125, abs=1e-3)
    assert tiny.flex_loads.loc["mining", "value_usd_per_mwh"] == 60.0
    # a 13.5 J/TH fleet without pool fee at 200,000 USD: the lifetime value of that case
    v2 = with_btc_price(tiny, 200_000, BitcoinFleet(efficiency_j_per_th=13.5, pool_fee_share=0.0))
    miner = MINERS["S21"].__class__("x", 200.0, 13.5, price_usd=2800.0)
    want = mining_economics("m", MiningCase(miner=miner, btc_price_usd=200_000, pool_fee_share=0.0)).value_usd_per_mwh
    assert v2.flex_loads.loc["mining", "value_usd_per_mwh"] == pytest.approx(want, rel=1e-12)
    # revenue scales with price / efficiency: twice the price, 17.5 / 13.5 the efficiency, no 2 % fee
    assert want == pytest.approx(56.125 * 2 * 17.5 / 13.5 / 0.98, rel=1e-4)


def test_btc_price_at_the_reference_reproduces_the_builtin_value():
    from offtake.economics.valuation import scenario_economics

    s = load_scenario()
    v = with_btc_price(s, 100_000)  # the built-in scenario's own BTC price input
    before, after = scenario_economics(s.flex_loads), scenario_economics(v.flex_loads)
    for name in ("bitcoin_mining", "ai_training", "ai_inference"):
        assert after[name].value_usd_per_mwh == pytest.approx(before[name].value_usd_per_mwh, rel=1e-12)


def test_btc_price_needs_a_mining_row(tiny):
    # renaming is not enough to stop being mining (the load type is declared); declaring none is
    renamed = tiny.flex_loads.rename(index={"mining": "gpu_cluster"})
    from dataclasses import replace as _replace

    assert with_btc_price(_replace(tiny, flex_loads=renamed), 90_000).flex_loads.loc["gpu_cluster", "btc_price_usd"] == 90_000
    no_mining = renamed.assign(load_type=None)
    from dataclasses import replace

    with pytest.raises(InputError, match="no flexible-load type with load_type bitcoin_mining"):
        with_btc_price(replace(tiny, flex_loads=no_mining), 90_000)


def test_hydrology_scales_budgets_and_clips_profile(tiny):
    wet = with_hydrology(tiny, "wet")
    assert wet.energy_budgets.loc[("north_hydro", 1), "max_mwh"] == pytest.approx(372_000 * 1.15)
    assert wet.profiles_pu["hydro_ror"].iloc[1] == pytest.approx(0.575)
    assert wet.profiles_pu["hydro_ror"].iloc[0] == 1.0  # 0.95 x 1.15 clipped
    assert (wet.profiles_pu["solar"] == tiny.profiles_pu["solar"]).all()  # not a hydro profile
    dry = with_hydrology(tiny, "Dry")
    assert dry.energy_budgets.loc[("north_hydro", 7), "max_mwh"] == pytest.approx(372_000 * 0.8)
    assert with_hydrology(tiny, 0.5).profiles_pu["hydro_ror"].iloc[1] == pytest.approx(0.25)
    assert tiny.profiles_pu["hydro_ror"].iloc[0] == 0.95


def test_rooftop_solar_deepens_midday_trough(tiny):
    # 48 h: north 18 h x 100 + 6 h x 150 a day = 2,700 MWh/day, south 18 x 500 + 6 x 700 = 13,200
    share_north = 2700 / 15900
    v = with_rooftop_solar(tiny, 500)
    noon = 12
    assert v.demand_mw["north"].iloc[noon] == pytest.approx(100 - 500 * 0.8 * share_north)  # 32.08
    assert v.demand_mw["south"].iloc[noon] == pytest.approx(500 - 500 * 0.8 * (1 - share_north))
    assert v.demand_mw["south"].iloc[20] == 700  # evening: no sun, no change
    big = with_rooftop_solar(tiny, 10_000)
    assert big.demand_mw.iloc[noon].tolist() == [0.0, 0.0]  # floored at 0
    assert (big.demand_mw.index == tiny.demand_mw.index).all()
    assert tiny.demand_mw["north"].iloc[noon] == 100


def test_demand_growth_and_combined_order(tiny):
    assert with_demand_growth(tiny, 0.1).demand_mw["south"].iloc[20] == pytest.approx(770)
    # growth first, then rooftop PV: (100 x 1.1) - 100 x 0.8 x share, share of the grown demand
    v = apply_variant(tiny, {"rooftop_solar_growth_mw": 100, "demand_growth_share": 0.1})
    assert v.demand_mw["north"].iloc[12] == pytest.approx(110 - 100 * 0.8 * 2700 / 15900)


@pytest.mark.parametrize("variant, text", [
    ({"tarif_pkr_per_kwh": 20}, "unknown axis 'tarif_pkr_per_kwh'"),
    ({"hydrology": "soggy"}, "hydrology must be one of dry, normal, wet"),
    ({"hydrology": -1}, "hydrology must be > 0"),
    ({"tariff_pkr_per_kwh": -3}, "tariff_pkr_per_kwh must be >= 0"),
    ({"btc_price_usd": 0}, "btc_price_usd must be > 0"),
    ({"programme_cap_mw": float("nan")}, "programme_cap_mw must be finite"),
    ({"rooftop_solar_growth_mw": "lots"}, "rooftop_solar_growth_mw must be a number"),
    ({"demand_growth_share": -1.0}, "demand_growth_share must be > -1"),
    ({"programme_cap_mw": True}, "programme_cap_mw must be a number"),
])
def test_bad_variants_are_input_errors(tiny, variant, text):
    with pytest.raises(InputError) as info:
        apply_variant(tiny, variant)
    assert text in info.value.message
    assert info.value.exit_code == 2


def test_check_variant_lists_every_problem():
    with pytest.raises(InputError) as info:
        check_variant({"foo": 1, "tariff_pkr_per_kwh": -1, "hydrology": "wet"})
    msg = info.value.message
    assert "unknown axis 'foo'" in msg and "tariff_pkr_per_kwh must be >= 0" in msg
