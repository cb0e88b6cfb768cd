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
    folder = write_tiny_scenario(tmp_path_factory.mktemp("tiny"),
                                 {"generators.csv": gens, "profiles.csv": prof.to_csv(index=False)})
    return load_scenario(folder)


def test_tariff_and_programme_cap_change_config_only(tiny):
    v = with_programme_cap(with_tariff(tiny, 25.5), 250)
    assert v.config.tariffs.offered_pkr_per_kwh == 25.5
    assert v.config.programme_cap_mw == 250
    assert tiny.config.tariffs.offered_pkr_per_kwh == 22.98  # input untouched
    assert tiny.config.programme_cap_mw == 500
    assert v.demand_mw is tiny.demand_mw


def test_btc_price_recomputes_mining_value(tiny):
    # first month of a valuation from 1 Jan 2026: difficulty 155e12 grown 25 %/yr for half a
    # month, subsidy 3.125 BTC (the 2028 halving is far off), pool fee 2 %, S21 at 17.5 J/TH
    difficulty = 155e12 * 1.25 ** (0.5 / 12)
    hashprice = 86400e12 / (difficulty * 2**32) * 3.125 * 100_000  # USD per TH/s per day
    expected = hashprice * 0.98 / (24e-6 * 17.5)  # 93.76 USD/MWh
    v = with_btc_price(tiny, 100_000)
    assert v.flex_loads.loc["mining", "value_usd_per_mwh"] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(93.76, abs=0.005)
    assert tiny.flex_loads.loc["mining", "value_usd_per_mwh"] == 60.0
    # twice the price, twice the value; a 13.5 J/TH fleet without pool fee
    v2 = with_btc_price(tiny, 200_000, BitcoinFleet(efficiency_j_per_th=13.5, pool_fee_share=0.0))
    assert v2.flex_loads.loc["mining", "value_usd_per_mwh"] == pytest.approx(
        2 * hashprice / (24e-6 * 13.5), rel=1e-12)


def test_btc_price_at_the_reference_reproduces_the_builtin_value():
    s = load_scenario()
    v = with_btc_price(s, 100_000)  # the price the built-in value was derived at
    assert v.flex_loads.loc["bitcoin_mining", "value_usd_per_mwh"] == pytest.approx(
        s.flex_loads.loc["bitcoin_mining", "value_usd_per_mwh"], abs=0.005)
    assert (v.flex_loads.loc[["ai_training", "ai_inference"], "value_usd_per_mwh"]
            == s.flex_loads.loc[["ai_training", "ai_inference"], "value_usd_per_mwh"]).all()


def test_btc_price_needs_a_mining_row(tiny):
    no_mining = tiny.flex_loads.rename(index={"mining": "gpu_cluster"})
    from dataclasses import replace

    with pytest.raises(InputError, match="no Bitcoin-mining"):
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
