"""Bitcoin mining economics against hand-computed values."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from offtake.economics.bitcoin import (
    MINERS,
    Fleet,
    Miner,
    MiningCase,
    block_height_on,
    breakeven_electricity_usd_per_mwh,
    difficulty_from_hashrate_ths,
    hashprice_usd_per_th_day,
    hashrate_ths_from_difficulty,
    mining_cashflows_usd,
    revenue_usd_per_mwh,
    subsidy_btc,
    value_mining,
)
from offtake.errors import InputError


def test_hashprice_by_hand_nov_2025() -> None:
    # One TH/s does 86400 s x 1e12 H/s = 8.64e16 hashes a day.  A block takes on
    # average 155e12 x 2^32 = 6.6571993088e23 hashes, so 1 TH/s finds
    # 8.64e16 / 6.6571993088e23 = 1.297843e-7 blocks/day, each worth
    # 3.125 BTC x 100,000 USD = 312,500 USD -> 0.0405576 USD/TH/day = 40.56 USD/PH/day.
    blocks_per_day = 8.64e16 / 6.6571993088e23
    expected_usd_per_th_day = blocks_per_day * 312_500.0
    got = hashprice_usd_per_th_day(100_000.0, 155e12)
    assert got == pytest.approx(expected_usd_per_th_day, rel=1e-12)
    assert got * 1000 == pytest.approx(40.5576, abs=1e-3)  # USD per PH/s per day
    # inside the 2025 range in markets.md (below $35 in Nov at a lower price, $64 peak)
    assert 35.0 < got * 1000 < 64.0


def test_hashprice_equals_144_blocks_over_network_hashrate() -> None:
    d = 155e12
    h_ths = hashrate_ths_from_difficulty(d)
    assert 144 * 3.125 * 100_000 / h_ths == pytest.approx(hashprice_usd_per_th_day(1e5, d))
    assert difficulty_from_hashrate_ths(h_ths) == pytest.approx(d)


def test_fees_and_block_height() -> None:
    base = hashprice_usd_per_th_day(1e5, 155e12)
    assert hashprice_usd_per_th_day(1e5, 155e12, fees_btc_per_block=3.125) == pytest.approx(2 * base)
    assert hashprice_usd_per_th_day(1e5, 155e12, block_height=839_999) == pytest.approx(2 * base)
    assert hashprice_usd_per_th_day(1e5, 155e12, block_height=1_049_999) == pytest.approx(base)
    assert hashprice_usd_per_th_day(1e5, 155e12, block_height=1_050_000) == pytest.approx(base / 2)


def test_subsidy_schedule() -> None:
    heights = np.array([0, 209_999, 210_000, 840_000, 1_050_000, 32 * 210_000, 33 * 210_000,
                        70 * 210_000])
    assert subsidy_btc(heights).tolist() == [50.0, 50.0, 25.0, 3.125, 1.5625, 1e-8, 0.0, 0.0]


def test_vectorised_shapes() -> None:
    out = hashprice_usd_per_th_day(np.array([5e4, 1e5, 2e5]), np.array([[100e12], [200e12]]))
    assert out.shape == (2, 3)
    assert out[0, 1] == pytest.approx(2 * out[1, 1])
    assert isinstance(hashprice_usd_per_th_day(1e5, 155e12), float)


def test_revenue_per_mwh_and_markets_breakeven_formula() -> None:
    # 1 TH/s at 13.5 J/TH draws 13.5 W, 324 Wh a day = 0.000324 MWh
    assert revenue_usd_per_mwh(0.04, 13.5) == pytest.approx(0.04 / 0.000324)
    hp_ph = 45.0
    # markets.md: break-even USD/MWh = hashprice[$/PH/day] / (0.024 * J/TH)
    assert breakeven_electricity_usd_per_mwh(hp_ph / 1000, 15.0) == pytest.approx(hp_ph / (0.024 * 15.0))
    assert revenue_usd_per_mwh(0.04, 13.5, pool_fee_share=0.5) == pytest.approx(0.02 / 0.000324)


def test_halving_date_projection() -> None:
    assert block_height_on(date(2024, 4, 20)) == 840_000
    assert block_height_on(date(2028, 4, 16)) < 1_050_000 <= block_height_on(date(2028, 4, 18))


def test_catalogue_and_fleet() -> None:
    xp = MINERS["S21 XP"]
    assert xp.power_w == 3645.0 and xp.price_usd == pytest.approx(270 * 25.70)
    assert MINERS["S19 XP"].power_w == pytest.approx(140 * 21.5)
    fleet = Fleet.for_power_mw(xp, 100.0)
    assert fleet.n_machines == 27_434  # floor(100e6 / 3645)
    assert fleet.power_mw == pytest.approx(27_434 * 3645 / 1e6)
    assert Fleet.for_power_mw(xp, 0.0).hashrate_ths == 0.0


def test_value_mining_hand_computed_year() -> None:
    miner = Miner("test", hashrate_ths=100.0, efficiency_j_per_th=20.0, price_usd=1000.0,
                  life_years=4.0)
    case = MiningCase(mw=1.0, miner=miner, uptime_share=0.5, electricity_usd_per_mwh=50.0,
                      btc_price_usd=100_000.0, difficulty=155e12, hashrate_growth_per_year=0.0,
                      pool_fee_share=0.0, infrastructure_usd_per_mw=0.0,
                      discount_rate_per_year=0.0, months=12, start_date=date(2026, 1, 1))
    v = value_mining(case)
    assert v.n_machines == 500  # 1 MW / 2,000 W
    hp = 8.64e16 / 6.6571993088e23 * 312_500.0
    rev = hp / (24e-6 * 20.0)  # USD/MWh
    monthly = (rev - 50.0) * 1.0 * 730.0 * 0.5
    capex = 500 * 1000.0
    # 12 of 48 months used: machines keep 3/4 of their value at the horizon end
    assert v.npv_usd == pytest.approx(-capex + 12 * monthly + 0.75 * capex)
    assert v.revenue_usd_per_mwh == pytest.approx(rev)
    assert v.breakeven_pkr_per_kwh == pytest.approx(rev * 284.36 / 1000)
    assert v.cashflows_usd.shape == (13,)


def test_halving_halves_revenue_in_its_month() -> None:
    fleet = Fleet(MINERS["S21"], 10)
    heights = np.array([1_049_000.0, 1_051_000.0, 1_052_000.0])  # last month adds a residual
    cf = mining_cashflows_usd(fleet, btc_price_usd=1e5, difficulty=155e12, block_height=heights,
                              uptime_share=1.0, electricity_usd_per_mwh=0.0)
    assert cf[2] == pytest.approx(cf[1] / 2)


def test_uptime_scales_operating_cash_and_shutdown_floors_it() -> None:
    fleet = Fleet(MINERS["S21 XP"], 100)
    kw = {"btc_price_usd": 1e5, "difficulty": 155e12, "block_height": np.full(3, 930_000.0),
          "electricity_usd_per_mwh": 50.0}
    full = mining_cashflows_usd(fleet, uptime_share=1.0, **kw)
    half = mining_cashflows_usd(fleet, uptime_share=0.5, **kw)
    assert half[1:-1] == pytest.approx(full[1:-1] / 2)
    # the last month adds the machines' undepreciated value: 45 of 48 months left
    residual = fleet.capex_usd * 45 / 48
    assert half[-1] - residual == pytest.approx((full[-1] - residual) / 2)
    expensive = {**kw, "electricity_usd_per_mwh": 500.0}
    assert (mining_cashflows_usd(fleet, uptime_share=1.0, **expensive)[1:-1] == 0.0).all()
    assert (mining_cashflows_usd(fleet, uptime_share=1.0, economic_shutdown=False,
                                 **expensive)[1:-1] < 0.0).all()


def test_hashrate_growth_lowers_npv() -> None:
    base = MiningCase(btc_price_usd=150_000.0)
    assert value_mining(replace(base, hashrate_growth_per_year=0.4)).npv_usd < \
        value_mining(replace(base, hashrate_growth_per_year=0.0)).npv_usd


@pytest.mark.parametrize("call, message", [
    (lambda: hashprice_usd_per_th_day(-1.0, 155e12), "btc_price_usd must be >= 0"),
    (lambda: hashprice_usd_per_th_day(1e5, 0.0), "difficulty must be > 0"),
    (lambda: hashprice_usd_per_th_day(1e5, 155e12, -0.1), "fees_btc_per_block must be >= 0"),
    (lambda: hashprice_usd_per_th_day(np.array([1e5, np.nan]), 155e12), "must be finite"),
    (lambda: subsidy_btc(-1), "block_height must be >= 0"),
    (lambda: Miner("zero", 0.0, 15.0, 100.0), "zero.hashrate_ths must be > 0"),
    (lambda: revenue_usd_per_mwh(0.04, 0.0), "efficiency_j_per_th must be > 0"),
    (lambda: Fleet(MINERS["S21"], -1), "n_machines must be >= 0"),
    (lambda: MiningCase(months=0), "months must be >= 1"),
    (lambda: value_mining(MiningCase(btc_price_usd=-5.0)), "btc_price_usd must be >= 0"),
])
def test_bad_input(call: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()  # type: ignore[operator]


def test_zero_network_hashrate_means_zero_difficulty_rejected() -> None:
    assert difficulty_from_hashrate_ths(0.0) == 0.0
    with pytest.raises(InputError, match="difficulty must be > 0"):
        hashprice_usd_per_th_day(1e5, difficulty_from_hashrate_ths(0.0))
