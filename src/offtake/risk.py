"""Vectorised Monte Carlo of investor NPV for flexible loads.

Every random draw comes from a ``numpy.random.Generator`` passed in, drawn once as
``(n_paths, n_months)`` arrays (:func:`draw_shocks`); paths and cash flows are
built with array operations, never a loop over paths or months, so the same seed
gives the same numbers.

Model (monthly step ``dt = 1/12`` year, month mid-points ``t_m``):

- BTC price: geometric Brownian motion,
  ``ln P_m = ln P_0 + sum (mu - sigma^2/2) dt + sigma sqrt(dt) z``.
- GPU rental price: GBM with its own drift/vol; its shocks are correlated with
  BTC's, ``z_gpu = rho z_btc + sqrt(1 - rho^2) e``.
- Network hashrate follows price with a lag:
  ``ln H_m = ln H_0 + g t_m + beta (ln P_{m-lag} - ln P_0)``; difficulty scales with H.
- Halving: the subsidy follows the projected block height (144 blocks/day), so the
  2028 halving (block 1,050,000) falls in its projected month on every path.
- Hydrology: each year is wet, normal or dry (probabilities given); the load's
  uptime is scaled by the year's factor (wet years leave more surplus).
- Demand growth: one growth rate per path, ``g_d ~ N(mean, sd)``; uptime falls by
  ``k x ((1 + g_d) ** t - 1)`` as demand eats the surplus.
- Uptime = clip(base uptime x hydrology x demand factor, 0, 1).

Without plan results the base uptime is 0.9 (876 curtailed hours a year, an
[assumption]); the lead feeds the plan's :class:`LoadInputs` in later.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from offtake.economics._checks import FloatArray, as_array
from offtake.economics.aidc import AidcCase, aidc_cashflows_usd
from offtake.economics.bitcoin import (
    DEFAULT_DIFFICULTY,
    Fleet,
    MiningCase,
    block_height_on,
    block_heights_for_months,
    mining_cashflows_usd,
    month_midpoints_years,
)
from offtake.economics.finance import PKR_PER_USD, pkr_per_kwh_to_usd_per_mwh, rate_per_period
from offtake.economics.loads import LoadInputs, LoadKind
from offtake.errors import InputError

#: Largest paths x months simulated at once (each (paths, months) array is 8 bytes a cell).
MAX_PATH_MONTHS = 20_000_000


@dataclass(frozen=True)
class RiskAssumptions:
    """Distributions of the Monte Carlo; [assumption] unless markets.md gives it."""

    n_paths: int = 10_000
    n_months: int = 120
    tariff_pkr_per_kwh: float = 22.98  # proposed incremental package
    pkr_per_usd: float = PKR_PER_USD
    discount_rate_per_year: float = 0.12
    start_date: date = date(2026, 1, 1)
    btc_price_usd: float = 100_000.0
    btc_drift_per_year: float = 0.0
    btc_vol_per_year: float = 0.5
    difficulty: float = DEFAULT_DIFFICULTY  # Nov 2025
    hashrate_growth_per_year: float = 0.25
    hashrate_price_elasticity: float = 0.7
    hashrate_lag_months: int = 6
    fees_btc_per_block: float = 0.0
    rental_usd_per_gpu_hour: float = 2.0  # H100 1.70-2.99 (2025)
    rental_drift_per_year: float = -0.10
    rental_vol_per_year: float = 0.25
    btc_gpu_correlation: float = 0.3
    wet_year_probability: float = 0.3
    dry_year_probability: float = 0.3
    wet_uptime_factor: float = 1.05
    dry_uptime_factor: float = 0.90
    demand_growth_per_year: float = 0.03
    demand_growth_sd: float = 0.02
    uptime_loss_per_demand_growth: float = 0.5

    def __post_init__(self) -> None:
        if self.n_paths < 1 or self.n_months < 1:
            raise InputError(f"paths and months must be >= 1 (got {self.n_paths}, {self.n_months})")
        if self.n_paths * self.n_months > MAX_PATH_MONTHS:
            raise InputError(f"paths x months = {self.n_paths * self.n_months:,} exceeds "
                             f"{MAX_PATH_MONTHS:,} (about 160 MB per simulated array); "
                             "use fewer paths or months")
        if self.hashrate_lag_months < 0:
            raise InputError(f"hashrate_lag_months must be >= 0 (got {self.hashrate_lag_months})")
        positive = ("btc_price_usd", "difficulty", "pkr_per_usd")
        nonneg = ("tariff_pkr_per_kwh", "btc_vol_per_year", "rental_usd_per_gpu_hour",
                  "rental_vol_per_year", "fees_btc_per_block", "wet_uptime_factor",
                  "dry_uptime_factor", "demand_growth_sd", "uptime_loss_per_demand_growth",
                  "hashrate_price_elasticity")
        for name in positive:
            as_array(name, getattr(self, name), min_value=0.0, strict=True)
        for name in nonneg:
            as_array(name, getattr(self, name), min_value=0.0)
        for name in ("discount_rate_per_year", "hashrate_growth_per_year",
                     "demand_growth_per_year"):
            as_array(name, getattr(self, name), min_value=-1.0, strict=True)
        as_array("btc_gpu_correlation", self.btc_gpu_correlation, min_value=-1.0, max_value=1.0)
        for name in ("wet_year_probability", "dry_year_probability"):
            as_array(name, getattr(self, name), min_value=0.0, max_value=1.0)
        if self.wet_year_probability + self.dry_year_probability > 1.0:
            raise InputError("wet_year_probability + dry_year_probability must be <= 1")


DEFAULT_LOADS: tuple[LoadInputs, ...] = (
    LoadInputs(LoadKind.BITCOIN, mw=100.0, uptime_share=0.9, curtailment_hours_per_year=876.0),
    LoadInputs(LoadKind.AIDC, mw=100.0, uptime_share=0.9, curtailment_hours_per_year=876.0),
)


@dataclass(frozen=True)
class Shocks:
    """Standard normal / uniform draws; paths are deterministic functions of these."""

    z_btc: FloatArray  # (paths, months)
    z_gpu: FloatArray  # (paths, months), independent of z_btc
    u_hydro: FloatArray  # (paths, years) uniform [0, 1)
    z_demand: FloatArray  # (paths,)

    def head(self, n_paths: int) -> Shocks:
        return Shocks(self.z_btc[:n_paths], self.z_gpu[:n_paths], self.u_hydro[:n_paths],
                      self.z_demand[:n_paths])


def draw_shocks(rng: np.random.Generator, n_paths: int, n_months: int) -> Shocks:
    """Draw every random number the simulation needs, in one fixed order."""
    if not isinstance(rng, np.random.Generator):
        raise InputError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    n_years = -(-n_months // 12)
    return Shocks(z_btc=rng.standard_normal((n_paths, n_months)),
                  z_gpu=rng.standard_normal((n_paths, n_months)),
                  u_hydro=rng.random((n_paths, n_years)),
                  z_demand=rng.standard_normal(n_paths))


@dataclass(frozen=True)
class MarketPaths:
    btc_price_usd: FloatArray  # (paths, months)
    difficulty: FloatArray  # (paths, months)
    block_height: FloatArray  # (months,)
    rental_usd_per_gpu_hour: FloatArray  # (paths, months)
    uptime_factor: FloatArray  # (paths, months): hydrology x demand, multiplies base uptime


def _gbm(start: float, drift: float, vol: float, z: FloatArray) -> FloatArray:
    dt = 1.0 / 12.0
    steps = (drift - 0.5 * vol * vol) * dt + vol * np.sqrt(dt) * z
    return np.asarray(start * np.exp(np.cumsum(steps, axis=-1)))


def simulate_paths(a: RiskAssumptions, shocks: Shocks) -> MarketPaths:
    """Turn shocks into price, difficulty, rental and uptime-factor paths."""
    n_months = shocks.z_btc.shape[1]
    t = month_midpoints_years(n_months)
    price = _gbm(a.btc_price_usd, a.btc_drift_per_year, a.btc_vol_per_year, shocks.z_btc)
    rho = a.btc_gpu_correlation
    z_gpu = rho * shocks.z_btc + np.sqrt(1.0 - rho * rho) * shocks.z_gpu
    rental = _gbm(a.rental_usd_per_gpu_hour, a.rental_drift_per_year, a.rental_vol_per_year, z_gpu)
    log_ret = np.log(price / a.btc_price_usd)
    lag = min(a.hashrate_lag_months, n_months)
    lagged = np.zeros_like(log_ret)
    lagged[:, lag:] = log_ret[:, :n_months - lag]
    log_h = np.log1p(a.hashrate_growth_per_year) * t + a.hashrate_price_elasticity * lagged
    difficulty = a.difficulty * np.exp(log_h)
    heights = block_heights_for_months(block_height_on(a.start_date), n_months)
    hydro_year = np.where(shocks.u_hydro < a.wet_year_probability, a.wet_uptime_factor,
                          np.where(shocks.u_hydro >= 1.0 - a.dry_year_probability,
                                   a.dry_uptime_factor, 1.0))
    hydro = np.repeat(hydro_year, 12, axis=1)[:, :n_months]
    g_d = np.maximum(a.demand_growth_per_year + a.demand_growth_sd * shocks.z_demand, -0.99)
    demand = 1.0 - a.uptime_loss_per_demand_growth * ((1.0 + g_d[:, None]) ** t - 1.0)
    return MarketPaths(price, difficulty, heights, rental, hydro * np.maximum(demand, 0.0))


def value_paths(a: RiskAssumptions, shocks: Shocks,
                loads: tuple[LoadInputs, ...] = DEFAULT_LOADS,
                mining: MiningCase | None = None, aidc: AidcCase | None = None
                ) -> dict[str, FloatArray]:
    """NPV [USD] per path for each load, keyed ``"<kind>"`` (or ``"<kind>#<i>"`` if repeated).

    Market figures (BTC price, difficulty, rental), the tariff and the discount rate
    come from ``a``; ``mining`` / ``aidc`` supply the equipment and cost figures
    (miner, pool fee, infrastructure; GPU, PUE, capex, firmness), and each load's
    MW and base uptime come from ``loads``.
    """
    paths = simulate_paths(a, shocks)
    tariff_usd = float(pkr_per_kwh_to_usd_per_mwh(a.tariff_pkr_per_kwh, a.pkr_per_usd))
    rate_m = float(rate_per_period(a.discount_rate_per_year, 12))
    n_months = shocks.z_btc.shape[1]
    df = (1.0 + rate_m) ** -np.arange(n_months + 1, dtype=float)
    mining = mining or MiningCase()
    aidc = aidc or AidcCase()
    result: dict[str, FloatArray] = {}
    for i, load in enumerate(loads):
        uptime = np.minimum(load.uptime_share * paths.uptime_factor, 1.0)
        if load.kind is LoadKind.BITCOIN:
            cf = mining_cashflows_usd(
                Fleet.for_power_mw(mining.miner, load.mw), btc_price_usd=paths.btc_price_usd,
                difficulty=paths.difficulty, block_height=paths.block_height, uptime_share=uptime,
                electricity_usd_per_mwh=tariff_usd, fees_btc_per_block=a.fees_btc_per_block,
                pool_fee_share=mining.pool_fee_share,
                other_opex_usd_per_mwh=mining.other_opex_usd_per_mwh,
                infrastructure_usd_per_mw=mining.infrastructure_usd_per_mw,
                economic_shutdown=mining.economic_shutdown)
        else:
            case = replace(aidc, mw=load.mw, electricity_usd_per_mwh=tariff_usd)
            cf = aidc_cashflows_usd(case, rental_usd_per_gpu_hour=paths.rental_usd_per_gpu_hour,
                                    uptime_share=uptime)
        key = load.kind.value if sum(x.kind is load.kind for x in loads) == 1 else f"{load.kind.value}#{i}"
        result[key] = cf @ df
    return result


@dataclass(frozen=True)
class NpvDistribution:
    """Summary of one load's NPV samples [USD].

    ``var95_usd`` is the 95 % value at risk, the loss not exceeded on 95 % of paths
    (``-P5``; negative when even P5 is a gain); ``cvar95_usd`` the mean loss over the
    worst 5 % of paths (``-mean(NPV | NPV <= P5)``).
    """

    load: str
    mw: float
    n_paths: int
    mean_usd: float
    p10_usd: float
    p50_usd: float
    p90_usd: float
    prob_loss: float
    var95_usd: float
    cvar95_usd: float
    npv_usd: FloatArray = field(repr=False, compare=False)

    @classmethod
    def from_samples(cls, load: str, mw: float, npv_usd: FloatArray) -> NpvDistribution:
        x = np.asarray(npv_usd, dtype=float)
        if x.size == 0:
            raise InputError("no NPV samples to summarise")
        p5, p10, p50, p90 = np.percentile(x, [5, 10, 50, 90])
        tail = x[x <= p5]
        return cls(load=load, mw=mw, n_paths=int(x.size), mean_usd=float(x.mean()),
                   p10_usd=float(p10), p50_usd=float(p50), p90_usd=float(p90),
                   prob_loss=float((x < 0.0).mean()), var95_usd=float(-p5),
                   cvar95_usd=float(-tail.mean()), npv_usd=x)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "npv_usd"}


@dataclass(frozen=True)
class TornadoBar:
    """Mean NPV [USD] with one assumption at its low and its high value, others at base."""

    load: str
    parameter: str
    low_value: float
    high_value: float
    npv_low_usd: float
    npv_high_usd: float
    base_npv_usd: float

    @property
    def swing_usd(self) -> float:
        return abs(self.npv_high_usd - self.npv_low_usd)


#: One-at-a-time ranges: parameter -> (low, high) as multipliers of the base (``*``) or
#: absolute values.  Uptime is swept through the hydrology factors of both wet and dry years.
TORNADO_RANGES: dict[str, tuple[str, float, float]] = {
    "btc_price_usd": ("*", 0.7, 1.3),
    "btc_vol_per_year": ("=", 0.3, 0.8),
    "hashrate_growth_per_year": ("=", 0.10, 0.40),
    "tariff_pkr_per_kwh": ("*", 0.8, 1.2),
    "rental_usd_per_gpu_hour": ("*", 0.85, 1.5),
    "rental_drift_per_year": ("=", -0.25, 0.0),
    "discount_rate_per_year": ("=", 0.08, 0.16),
    "demand_growth_per_year": ("=", 0.0, 0.06),
    "dry_uptime_factor": ("=", 0.75, 1.0),
}


def tornado(a: RiskAssumptions, shocks: Shocks, loads: tuple[LoadInputs, ...] = DEFAULT_LOADS,
            mining: MiningCase | None = None, aidc: AidcCase | None = None,
            ranges: dict[str, tuple[str, float, float]] | None = None) -> tuple[TornadoBar, ...]:
    """One-at-a-time sensitivities of mean NPV, common random numbers (same shocks).

    Bars are sorted by swing, largest first, per load.
    """
    ranges = TORNADO_RANGES if ranges is None else ranges
    base = {k: float(v.mean()) for k, v in value_paths(a, shocks, loads, mining, aidc).items()}
    bars: list[TornadoBar] = []
    for name, (mode, lo, hi) in ranges.items():
        if not hasattr(a, name):
            raise InputError(f"unknown tornado parameter {name!r}")
        base_value = float(getattr(a, name))
        lo_v, hi_v = (base_value * lo, base_value * hi) if mode == "*" else (lo, hi)
        npv_lo = value_paths(replace(a, **{name: lo_v}), shocks, loads, mining, aidc)
        npv_hi = value_paths(replace(a, **{name: hi_v}), shocks, loads, mining, aidc)
        for key, base_npv in base.items():
            bars.append(TornadoBar(key, name, lo_v, hi_v, float(npv_lo[key].mean()),
                                   float(npv_hi[key].mean()), base_npv))
    bars.sort(key=lambda b: (b.load, -b.swing_usd))
    return tuple(bars)


@dataclass(frozen=True)
class RiskResult:
    """NPV distributions per load, tornado bars and the assumptions that made them."""

    assumptions: RiskAssumptions
    seed: int | None
    distributions: tuple[NpvDistribution, ...]
    tornado: tuple[TornadoBar, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per load: mean, P10/P50/P90 NPV, probability of loss, VaR, CVaR [USD]."""
        return pd.DataFrame([d.to_dict() for d in self.distributions]).set_index("load")

    def tornado_frame(self) -> pd.DataFrame:
        rows = [{**asdict(b), "swing_usd": b.swing_usd} for b in self.tornado]
        cols = ["load", "parameter", "low_value", "high_value", "npv_low_usd", "npv_high_usd",
                "base_npv_usd", "swing_usd"]
        return pd.DataFrame(rows, columns=cols)

    def paths_frame(self) -> pd.DataFrame:
        """NPV of every path [USD], one column per load."""
        return pd.DataFrame({d.load: d.npv_usd for d in self.distributions})

    def to_json(self) -> str:
        assumptions = {k: (v.isoformat() if isinstance(v, date) else v)
                       for k, v in asdict(self.assumptions).items()}
        return json.dumps({"seed": self.seed, "assumptions": assumptions,
                           "distributions": [d.to_dict() for d in self.distributions],
                           "tornado": self.tornado_frame().to_dict(orient="records")}, indent=2)


def run_risk(a: RiskAssumptions, rng: np.random.Generator, *,
             loads: tuple[LoadInputs, ...] = DEFAULT_LOADS, mining: MiningCase | None = None,
             aidc: AidcCase | None = None, with_tornado: bool = True,
             tornado_paths: int = 2_000, seed: int | None = None) -> RiskResult:
    """Draw shocks, value every path, summarise, and (optionally) build the tornado.

    The tornado reuses the first ``tornado_paths`` paths' shocks, so it costs
    ``2 x len(TORNADO_RANGES)`` valuations of that many paths.
    """
    if not loads:
        raise InputError("give at least one load to value")
    shocks = draw_shocks(rng, a.n_paths, a.n_months)
    npvs = value_paths(a, shocks, loads, mining, aidc)
    mw_by_key = dict(zip(npvs, (load.mw for load in loads), strict=True))
    dists = tuple(NpvDistribution.from_samples(k, mw_by_key[k], v) for k, v in npvs.items())
    bars = (tornado(a, shocks.head(min(tornado_paths, a.n_paths)), loads, mining, aidc)
            if with_tornado else ())
    return RiskResult(assumptions=a, seed=seed, distributions=dists, tornado=bars)
