"""Bitcoin mining economics: hashprice, miners, revenue per MWh, cash flows.

All functions are pure and numpy-vectorised: arrays in, same (broadcast) shape out,
a float out for scalar input.  Figures come from ``shared/facts/markets.md`` unless
marked [assumption]; every default can be overridden by the caller.

Key formulas
------------
- Expected hashes per block = ``D * 2**32`` (D the difficulty).  One TH/s does
  ``86400 * 1e12`` hashes a day, so it finds ``86400e12 / (D * 2**32)`` blocks a day
  and earns ``hashprice = 86400e12 / (D * 2**32) * (subsidy + fees) * P`` USD per
  TH/s per day.
- Network hashrate ``H = D * 2**32 / 600`` H/s (one block per 600 s).
- A miner at ``e`` J/TH draws ``e`` W per TH/s, i.e. ``0.024 * e`` kWh per TH/s per day,
  so revenue per MWh = ``hashprice_usd_per_th_day / (2.4e-5 * e)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from offtake.economics._checks import FloatArray, as_array, out
from offtake.economics.finance import (
    HOURS_PER_MONTH,
    PKR_PER_USD,
    irr,
    npv,
    payback_periods,
    rate_per_period,
    usd_per_mwh_to_pkr_per_kwh,
    with_replacements,
)
from offtake.errors import InputError

SECONDS_PER_DAY = 86_400.0
HASHES_PER_DIFFICULTY = 2.0**32
BLOCK_TIME_S = 600.0
BLOCKS_PER_DAY = SECONDS_PER_DAY / BLOCK_TIME_S  # 144
HALVING_INTERVAL_BLOCKS = 210_000
INITIAL_SUBSIDY_SAT = 5_000_000_000  # 50 BTC
SAT_PER_BTC = 1e8
#: The 4th halving: block 840,000 (20 Apr 2024) started the 3.125 BTC era.
REFERENCE_HEIGHT = 840_000
REFERENCE_DATE = date(2024, 4, 20)
NEXT_HALVING_HEIGHT = 1_050_000  # ~Apr 2028, subsidy 1.5625 BTC
CURRENT_SUBSIDY_BTC = 3.125
#: Network difficulty, Nov 2025 (markets.md).
DEFAULT_DIFFICULTY = 155e12
#: [assumption] BTC price for deterministic valuation; the risk module varies it.
DEFAULT_BTC_PRICE_USD = 100_000.0
#: [assumption] network hashrate growth; ~1.0 -> ~1.16 ZH/s Apr -> Oct 2025 is ~35 %/yr
#: annualised, then 1,074 EH/s in Nov 2025, so we take 25 %/yr.
DEFAULT_HASHRATE_GROWTH_PER_YEAR = 0.25
DAYS_PER_MONTH = 365.0 / 12.0


def subsidy_btc(block_height: ArrayLike) -> Any:
    """Block subsidy [BTC] at a block height: 50 BTC halved every 210,000 blocks.

    Computed in satoshi with a right shift, as the protocol does, so it reaches 0
    after 33 halvings and stays 0.

    >>> subsidy_btc(839_999), subsidy_btc(840_000), subsidy_btc(1_050_000)
    (6.25, 3.125, 1.5625)
    """
    h = as_array("block_height", block_height, min_value=0.0)
    halvings = np.floor(h / HALVING_INTERVAL_BLOCKS).astype(np.int64)
    sat = np.where(halvings >= 64, 0,
                   np.right_shift(np.int64(INITIAL_SUBSIDY_SAT), np.minimum(halvings, 63)))
    return out(sat.astype(float) / SAT_PER_BTC)


def hashprice_usd_per_th_day(btc_price_usd: ArrayLike, difficulty: ArrayLike,
                             fees_btc_per_block: ArrayLike = 0.0,
                             block_height: ArrayLike | None = None) -> Any:
    """Expected miner revenue per TH/s per day [USD/(TH/s)/day].

    ``86400 * 1e12 / (difficulty * 2**32) * (subsidy + fees) * price``; subsidy from
    ``block_height`` (:func:`subsidy_btc`), or 3.125 BTC (the era since block
    840,000) when ``block_height`` is None.  Multiply by 1000 for USD per PH/s/day.

    Parameters
    ----------
    btc_price_usd : BTC price [USD], >= 0
    difficulty : network difficulty [unitless], > 0
    fees_btc_per_block : average transaction fees per block [BTC], >= 0
    block_height : block height [count] or None

    >>> round(hashprice_usd_per_th_day(100_000, 155e12) * 1000, 2)  # USD/PH/day
    40.56
    """
    p = as_array("btc_price_usd", btc_price_usd, min_value=0.0)
    d = as_array("difficulty", difficulty, min_value=0.0, strict=True)
    fees = as_array("fees_btc_per_block", fees_btc_per_block, min_value=0.0)
    sub = (np.asarray(CURRENT_SUBSIDY_BTC) if block_height is None
           else np.asarray(subsidy_btc(block_height)))
    blocks_per_th_day = SECONDS_PER_DAY * 1e12 / (d * HASHES_PER_DIFFICULTY)
    return out(blocks_per_th_day * (sub + fees) * p)


def hashrate_ths_from_difficulty(difficulty: ArrayLike, block_time_s: float = BLOCK_TIME_S) -> Any:
    """Network hashrate [TH/s] implied by a difficulty: ``D * 2**32 / block_time / 1e12``.

    >>> round(hashrate_ths_from_difficulty(155e12) / 1e6, 1)  # EH/s
    1109.5
    """
    d = as_array("difficulty", difficulty, min_value=0.0)
    return out(d * HASHES_PER_DIFFICULTY / block_time_s / 1e12)


def difficulty_from_hashrate_ths(hashrate_ths: ArrayLike,
                                 block_time_s: float = BLOCK_TIME_S) -> Any:
    """Difficulty that gives one block per ``block_time_s`` at a network hashrate [TH/s].

    >>> round(difficulty_from_hashrate_ths(1.0e9) / 1e12, 2)  # 1 ZH/s -> T
    139.7
    """
    h = as_array("hashrate_ths", hashrate_ths, min_value=0.0)
    return out(h * 1e12 * block_time_s / HASHES_PER_DIFFICULTY)


def block_height_on(day: date, reference_height: int = REFERENCE_HEIGHT,
                    reference_date: date = REFERENCE_DATE) -> int:
    """Projected block height on a date at 144 blocks a day from a reference block.

    >>> block_height_on(date(2028, 4, 16)) < NEXT_HALVING_HEIGHT <= block_height_on(date(2028, 4, 18))
    True
    """
    return int(reference_height + BLOCKS_PER_DAY * (day - reference_date).days)


def revenue_usd_per_mwh(hashprice_usd_per_th_day: ArrayLike, efficiency_j_per_th: ArrayLike,
                        pool_fee_share: ArrayLike = 0.0) -> Any:
    """Mining revenue per MWh drawn [USD/MWh] = ``hashprice * (1 - fee) / (2.4e-5 * J/TH)``.

    >>> round(revenue_usd_per_mwh(0.04, 13.5), 2)
    123.46
    """
    hp = as_array("hashprice_usd_per_th_day", hashprice_usd_per_th_day, min_value=0.0)
    e = as_array("efficiency_j_per_th", efficiency_j_per_th, min_value=0.0, strict=True)
    fee = as_array("pool_fee_share", pool_fee_share, min_value=0.0, max_value=1.0)
    return out(hp * (1.0 - fee) / (24.0e-6 * e))


def breakeven_electricity_usd_per_mwh(hashprice_usd_per_th_day: ArrayLike,
                                      efficiency_j_per_th: ArrayLike,
                                      pool_fee_share: ArrayLike = 0.0,
                                      other_opex_usd_per_mwh: ArrayLike = 0.0) -> Any:
    """Electricity price at which the operating margin is zero [USD/MWh].

    Revenue per MWh less other running costs; capex is not recovered at this price
    (see :func:`value_mining` for the tariff at which NPV is zero).
    """
    opex = as_array("other_opex_usd_per_mwh", other_opex_usd_per_mwh, min_value=0.0)
    return out(np.asarray(revenue_usd_per_mwh(hashprice_usd_per_th_day, efficiency_j_per_th,
                                              pool_fee_share)) - opex)


@dataclass(frozen=True)
class Miner:
    """One mining machine model.

    Attributes: ``hashrate_ths`` [TH/s], ``efficiency_j_per_th`` [J/TH], ``price_usd``
    [USD per machine], ``life_years`` [years], ``power_w`` [W] (``TH/s x J/TH`` if not given).
    """

    name: str
    hashrate_ths: float
    efficiency_j_per_th: float
    price_usd: float
    life_years: float = 4.0
    power_w: float = 0.0

    def __post_init__(self) -> None:
        for name in ("hashrate_ths", "efficiency_j_per_th", "life_years"):
            as_array(f"{self.name}.{name}", getattr(self, name), min_value=0.0, strict=True)
        as_array(f"{self.name}.price_usd", self.price_usd, min_value=0.0)
        as_array(f"{self.name}.power_w", self.power_w, min_value=0.0)
        if self.power_w == 0.0:
            object.__setattr__(self, "power_w", self.hashrate_ths * self.efficiency_j_per_th)

    @property
    def price_usd_per_th(self) -> float:
        return self.price_usd / self.hashrate_ths


#: Catalogue (markets.md).  Only the S21 XP price ($25.70/TH, Nov 2025) is sourced;
#: the other prices are [assumption]s scaled to efficiency, and life 4 years is an
#: [assumption].  Override with ``dataclasses.replace``.
MINERS: dict[str, Miner] = {
    "S21": Miner("S21", 200.0, 17.5, price_usd=200.0 * 14.0),
    "S21 Pro": Miner("S21 Pro", 234.0, 15.0, price_usd=234.0 * 19.0, power_w=3531.0),
    "S21 XP": Miner("S21 XP", 270.0, 13.5, price_usd=270.0 * 25.70, power_w=3645.0),
    "S19 XP": Miner("S19 XP", 140.0, 21.5, price_usd=140.0 * 7.0),
}

# The machine of the built-in scenario's mining load: the best NPV per MW of the catalogue at
# low electricity prices (planner, investor valuation and risk analysis all use it).
REFERENCE_MINER = "S21"


@dataclass(frozen=True)
class Fleet:
    """``n_machines`` of one :class:`Miner`."""

    miner: Miner
    n_machines: int

    def __post_init__(self) -> None:
        if self.n_machines < 0:
            raise InputError(f"n_machines must be >= 0 (got {self.n_machines})")

    @classmethod
    def for_power_mw(cls, miner: Miner, mw: float) -> Fleet:
        """As many machines as fit in ``mw`` [MW] of draw (rounded down)."""
        mw_f = float(as_array("mw", mw, min_value=0.0))
        return cls(miner, math.floor(mw_f * 1e6 / miner.power_w + 1e-9))

    @property
    def hashrate_ths(self) -> float:
        return self.n_machines * self.miner.hashrate_ths

    @property
    def power_mw(self) -> float:
        return self.n_machines * self.miner.power_w / 1e6

    @property
    def capex_usd(self) -> float:
        return self.n_machines * self.miner.price_usd


def mining_cashflows_usd(fleet: Fleet, *, btc_price_usd: ArrayLike, difficulty: ArrayLike,
                         block_height: ArrayLike, uptime_share: ArrayLike,
                         electricity_usd_per_mwh: ArrayLike, fees_btc_per_block: ArrayLike = 0.0,
                         pool_fee_share: float = 0.0, other_opex_usd_per_mwh: float = 0.0,
                         infrastructure_usd_per_mw: float = 0.0,
                         economic_shutdown: bool = True) -> FloatArray:
    """Monthly net cash flows of a mining fleet [USD], capex in period 0.

    Month ``m`` (time on the last axis, length M) earns
    ``(revenue_per_mwh - electricity - opex) x MW x 730 h x uptime``; with
    ``economic_shutdown`` a month whose margin is negative is not mined (margin 0,
    no energy drawn).  Period 0 pays machines + infrastructure; at the end of each
    machine life the fleet is bought again only if it pays
    (:func:`~offtake.economics.finance.with_replacements`), and machines alive at the
    horizon end are credited their undepreciated value.
    All path inputs broadcast to a common ``(..., M)`` shape; the result is
    ``(..., M + 1)``.
    """
    p = as_array("btc_price_usd", btc_price_usd, min_value=0.0)
    d = as_array("difficulty", difficulty, min_value=0.0, strict=True)
    up = as_array("uptime_share", uptime_share, min_value=0.0, max_value=1.0)
    elec = as_array("electricity_usd_per_mwh", electricity_usd_per_mwh, min_value=0.0)
    hp = np.asarray(hashprice_usd_per_th_day(p, d, fees_btc_per_block, block_height))
    rev = np.asarray(revenue_usd_per_mwh(hp, fleet.miner.efficiency_j_per_th, pool_fee_share))
    margin = rev - elec - as_array("other_opex_usd_per_mwh", other_opex_usd_per_mwh, min_value=0.0)
    if economic_shutdown:
        margin = np.maximum(margin, 0.0)
    monthly = margin * (fleet.power_mw * HOURS_PER_MONTH) * up
    life_m = max(1, round(fleet.miner.life_years * 12))
    monthly = with_replacements(monthly, fleet.capex_usd, life_m)
    cf = np.zeros(monthly.shape[:-1] + (monthly.shape[-1] + 1,))
    cf[..., 1:] = monthly
    infra = as_array("infrastructure_usd_per_mw", infrastructure_usd_per_mw, min_value=0.0)
    cf[..., 0] -= fleet.capex_usd + float(infra) * fleet.power_mw
    return cf


@dataclass(frozen=True)
class MiningCase:
    """Inputs of a deterministic mining valuation (defaults: markets.md or [assumption]).

    ``electricity_usd_per_mwh`` is the tariff paid (80.81 USD/MWh = Rs 22.98/kWh, the
    proposed incremental package).  ``months`` defaults to the machine life.
    """

    mw: float = 100.0
    miner: Miner = field(default_factory=lambda: MINERS["S21 XP"])
    uptime_share: float = 0.9
    electricity_usd_per_mwh: float = 22.98 * 1000.0 / PKR_PER_USD
    btc_price_usd: float = DEFAULT_BTC_PRICE_USD
    btc_price_growth_per_year: float = 0.0
    difficulty: float = DEFAULT_DIFFICULTY
    hashrate_growth_per_year: float = DEFAULT_HASHRATE_GROWTH_PER_YEAR
    fees_btc_per_block: float = 0.0
    start_date: date = date(2026, 1, 1)
    pool_fee_share: float = 0.02  # [assumption] typical pool fee
    other_opex_usd_per_mwh: float = 0.0
    infrastructure_usd_per_mw: float = 200_000.0  # [assumption] containers, transformers
    discount_rate_per_year: float = 0.12  # [assumption] investor hurdle rate, USD
    months: int | None = None
    economic_shutdown: bool = True

    def __post_init__(self) -> None:
        as_array("btc_price_growth_per_year", self.btc_price_growth_per_year, min_value=-1.0,
                 strict=True)
        as_array("hashrate_growth_per_year", self.hashrate_growth_per_year, min_value=-1.0,
                 strict=True)
        as_array("discount_rate_per_year", self.discount_rate_per_year, min_value=-1.0, strict=True)
        if self.months is not None and self.months < 1:
            raise InputError(f"months must be >= 1 (got {self.months})")

    @property
    def n_months(self) -> int:
        return self.months if self.months is not None else round(self.miner.life_years * 12)


def month_midpoints_years(n_months: int) -> FloatArray:
    """Mid-point of months 1..n in years from the start: ``(m - 0.5) / 12``."""
    return (np.arange(1, n_months + 1, dtype=float) - 0.5) / 12.0


def block_heights_for_months(start_height: int, n_months: int) -> FloatArray:
    """Projected block height at the middle of months 1..n (144 blocks a day)."""
    return start_height + BLOCKS_PER_DAY * DAYS_PER_MONTH * 12.0 * month_midpoints_years(n_months)


@dataclass(frozen=True)
class MiningValuation:
    """Result of :func:`value_mining`.  Money in USD, prices per MWh of draw."""

    n_machines: int
    power_mw: float
    capex_usd: float
    mwh_per_year: float
    hashprice_usd_per_ph_day: float
    revenue_usd_per_mwh: float
    breakeven_usd_per_mwh: float
    breakeven_pkr_per_kwh: float
    npv_usd: float
    irr_per_year: float
    payback_years: float
    cashflows_usd: FloatArray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items() if k != "cashflows_usd"}


def value_mining(case: MiningCase, pkr_per_usd: float = PKR_PER_USD) -> MiningValuation:
    """NPV, IRR and payback of a mining site over its horizon, hashprice projected.

    Difficulty grows with the network hashrate, ``D_m = D_0 (1 + g) ** t_m``; the
    price grows at its own rate; the subsidy follows the projected block height,
    so the 2028 halving (block 1,050,000) enters on its projected month.  The
    break-even figures are for the first month (operating margin zero, capex not
    counted).
    """
    fleet = Fleet.for_power_mw(case.miner, case.mw)
    t = month_midpoints_years(case.n_months)
    heights = block_heights_for_months(block_height_on(case.start_date), case.n_months)
    price = case.btc_price_usd * (1.0 + case.btc_price_growth_per_year) ** t
    diff = case.difficulty * (1.0 + case.hashrate_growth_per_year) ** t
    cf = mining_cashflows_usd(
        fleet, btc_price_usd=price, difficulty=diff, block_height=heights,
        uptime_share=case.uptime_share, electricity_usd_per_mwh=case.electricity_usd_per_mwh,
        fees_btc_per_block=case.fees_btc_per_block, pool_fee_share=case.pool_fee_share,
        other_opex_usd_per_mwh=case.other_opex_usd_per_mwh,
        infrastructure_usd_per_mw=case.infrastructure_usd_per_mw,
        economic_shutdown=case.economic_shutdown)
    r_m = rate_per_period(case.discount_rate_per_year, 12)
    hp0 = float(hashprice_usd_per_th_day(price[0], diff[0], case.fees_btc_per_block, heights[0]))
    be = float(breakeven_electricity_usd_per_mwh(hp0, case.miner.efficiency_j_per_th,
                                                 case.pool_fee_share, case.other_opex_usd_per_mwh))
    irr_m = irr(cf)
    pb = payback_periods(cf)
    return MiningValuation(
        n_machines=fleet.n_machines, power_mw=fleet.power_mw,
        capex_usd=fleet.capex_usd + case.infrastructure_usd_per_mw * fleet.power_mw,
        mwh_per_year=fleet.power_mw * 8760.0 * case.uptime_share,
        hashprice_usd_per_ph_day=hp0 * 1000.0,
        revenue_usd_per_mwh=float(revenue_usd_per_mwh(hp0, case.miner.efficiency_j_per_th,
                                                      case.pool_fee_share)),
        breakeven_usd_per_mwh=be,
        breakeven_pkr_per_kwh=float(usd_per_mwh_to_pkr_per_kwh(be, pkr_per_usd)),
        npv_usd=float(npv(r_m, cf)),
        irr_per_year=float((1.0 + irr_m) ** 12 - 1.0) if np.isfinite(irr_m) else float("nan"),
        payback_years=float(pb) / 12.0 if np.isfinite(pb) else float("nan"),
        cashflows_usd=cf)
