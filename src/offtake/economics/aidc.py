"""AI data-centre economics: GPUs per MW, revenue per MWh, cost of firmness, NPV.

Defaults come from ``shared/facts/markets.md`` unless marked [assumption]; every
default can be overridden.  Facility draw (MW at the meter) covers the GPUs, the
rest of each server (CPU, memory, network: ``server_overhead`` x GPU power, 1.79
from a DGX B200's 14.3 kW for 8 x 1,000 W GPUs) and cooling (PUE):

    GPUs per MW of draw = 1e6 / (GPU W x server_overhead x PUE)
    revenue per MWh of draw = GPUs per MW x rental [USD/GPU-h] x utilisation

Training can pause when the grid curtails the site; inference cannot.  The cost of
firmness is either the backup power that keeps inference running through curtailed
hours (``Firmness.BACKUP``) or the revenue lost when the whole site stops
(``Firmness.CURTAIL``); training revenue is lost in curtailed hours either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from offtake.economics._checks import FloatArray, as_array, out
from offtake.economics.finance import (
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    PKR_PER_USD,
    annuity_factor,
    irr,
    npv,
    payback_periods,
    rate_per_period,
    usd_per_mwh_to_pkr_per_kwh,
    with_replacements,
)
from offtake.errors import InputError

#: Industry-average PUE, 2024 (markets.md); hyperscale 1.1-1.2.
DEFAULT_PUE = 1.56
#: Server power per GPU watt: DGX B200 14.3 kW / (8 x 1,000 W).
DEFAULT_SERVER_OVERHEAD = 14.3e3 / (8 * 1000.0)
#: H100 rental 1.70-2.99 USD per GPU-hour (2025, markets.md): mid-range.
DEFAULT_RENTAL_USD_PER_GPU_HOUR = 2.0
#: Facility capex 10-12 M USD per MW of IT load (markets.md; industry quotes it per MW of IT
#: load, not of grid draw), excluding GPUs.  Per MW drawn from the grid it is this / PUE.
DEFAULT_FACILITY_CAPEX_USD_PER_MW_IT = 11e6


class Firmness(StrEnum):
    BACKUP = "backup"    # inference runs on backup power through curtailed hours
    CURTAIL = "curtail"  # the whole site stops in curtailed hours


def _firmness(value: Firmness | str) -> Firmness:
    try:
        return Firmness(value)
    except ValueError as exc:
        raise InputError(f"firmness must be one of {[f.value for f in Firmness]} "
                         f"(got {value!r})") from exc


@dataclass(frozen=True)
class Gpu:
    """A GPU model: ``power_w`` [W], ``price_usd`` [USD incl. its share of the server]."""

    name: str
    power_w: float
    price_usd: float
    life_years: float = 5.0  # [assumption]

    def __post_init__(self) -> None:
        as_array(f"{self.name}.power_w", self.power_w, min_value=0.0, strict=True)
        as_array(f"{self.name}.price_usd", self.price_usd, min_value=0.0)
        as_array(f"{self.name}.life_years", self.life_years, min_value=0.0, strict=True)


#: Power from markets.md; prices are [assumption]s (server share included).
GPUS: dict[str, Gpu] = {
    "H100": Gpu("H100", 700.0, 30_000.0),
    "B200": Gpu("B200", 1000.0, 45_000.0),
}


def gpus_per_mw(gpu_power_w: ArrayLike, pue: ArrayLike = DEFAULT_PUE,
                server_overhead: ArrayLike = DEFAULT_SERVER_OVERHEAD) -> Any:
    """GPUs per MW of facility draw [count/MW] = ``1e6 / (W x overhead x PUE)``.

    >>> round(gpus_per_mw(700.0, 1.0, 1.0), 2)
    1428.57
    """
    w = as_array("gpu_power_w", gpu_power_w, min_value=0.0, strict=True)
    p = as_array("pue", pue, min_value=1.0)
    o = as_array("server_overhead", server_overhead, min_value=1.0)
    return out(1e6 / (w * o * p))


def revenue_usd_per_mwh(rental_usd_per_gpu_hour: ArrayLike, utilisation: ArrayLike,
                        gpu_power_w: ArrayLike, pue: ArrayLike = DEFAULT_PUE,
                        server_overhead: ArrayLike = DEFAULT_SERVER_OVERHEAD) -> Any:
    """Rental revenue per MWh of facility draw [USD/MWh].

    The facility is taken to draw its full power whenever it runs, so one hour at
    1 MW earns ``GPUs per MW x rental x utilisation``.

    >>> round(revenue_usd_per_mwh(2.0, 0.5, 700.0, 1.0, 1.0), 2)
    1428.57
    """
    r = as_array("rental_usd_per_gpu_hour", rental_usd_per_gpu_hour, min_value=0.0)
    u = as_array("utilisation", utilisation, min_value=0.0, max_value=1.0)
    return out(np.asarray(gpus_per_mw(gpu_power_w, pue, server_overhead)) * r * u)


def firmness_cost_usd_per_year(mw: ArrayLike, curtailment_hours_per_year: ArrayLike,
                               revenue_usd_per_mwh: ArrayLike, training_share: ArrayLike,
                               firmness: Firmness = Firmness.BACKUP,
                               backup_usd_per_mwh: ArrayLike = 250.0,
                               electricity_usd_per_mwh: ArrayLike = 0.0) -> Any:
    """Yearly cost of curtailment for an AI site [USD/yr], excluding backup capex.

    Training revenue is lost in every curtailed hour:
    ``MW x h x training_share x revenue_per_mwh``.  For the inference share,
    ``BACKUP`` pays ``MW x h x (1 - training_share) x (backup - grid price)`` (the grid
    energy is not bought in those hours); ``CURTAIL`` loses its revenue too.

    >>> firmness_cost_usd_per_year(1.0, 100.0, 500.0, 0.5, Firmness.CURTAIL)
    50000.0
    >>> firmness_cost_usd_per_year(1.0, 100.0, 500.0, 0.5, Firmness.BACKUP, 250.0, 80.0)
    33500.0
    """
    m = as_array("mw", mw, min_value=0.0)
    h = as_array("curtailment_hours_per_year", curtailment_hours_per_year, min_value=0.0,
                 max_value=HOURS_PER_YEAR)
    rev = as_array("revenue_usd_per_mwh", revenue_usd_per_mwh, min_value=0.0)
    s = as_array("training_share", training_share, min_value=0.0, max_value=1.0)
    mwh_curtailed = m * h
    lost_training = mwh_curtailed * s * rev
    if _firmness(firmness) is Firmness.CURTAIL:
        return out(lost_training + mwh_curtailed * (1.0 - s) * rev)
    backup = as_array("backup_usd_per_mwh", backup_usd_per_mwh, min_value=0.0)
    grid = as_array("electricity_usd_per_mwh", electricity_usd_per_mwh, min_value=0.0)
    return out(lost_training + mwh_curtailed * (1.0 - s) * (backup - grid))


@dataclass(frozen=True)
class AidcCase:
    """Inputs of an AI data-centre valuation; ``mw`` is the facility draw [MW]."""

    mw: float = 100.0
    gpu: Gpu = field(default_factory=lambda: GPUS["H100"])
    pue: float = DEFAULT_PUE
    server_overhead: float = DEFAULT_SERVER_OVERHEAD
    rental_usd_per_gpu_hour: float = DEFAULT_RENTAL_USD_PER_GPU_HOUR
    rental_growth_per_year: float = -0.10  # [assumption] rental prices fall as supply grows
    utilisation: float = 0.7  # [assumption] share of available GPU-hours rented
    uptime_share: float = 0.9  # share of hours the grid lets the site run
    training_share: float = 0.7  # [assumption] interruptible share of the load
    firmness: Firmness = Firmness.BACKUP
    backup_usd_per_mwh: float = 250.0  # [assumption] diesel/gas genset fuel + O&M
    backup_capex_usd_per_mw: float = 600_000.0  # [assumption] gensets for the inference share
    electricity_usd_per_mwh: float = 22.98 * 1000.0 / PKR_PER_USD
    facility_capex_usd_per_mw_it: float = DEFAULT_FACILITY_CAPEX_USD_PER_MW_IT
    fixed_opex_share_per_year: float = 0.03  # [assumption] of facility capex
    facility_life_years: float = 20.0  # [assumption] straight-line residual at horizon end
    discount_rate_per_year: float = 0.12  # [assumption]
    months: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "firmness", _firmness(self.firmness))
        as_array("mw", self.mw, min_value=0.0)
        as_array("uptime_share", self.uptime_share, min_value=0.0, max_value=1.0)
        as_array("rental_growth_per_year", self.rental_growth_per_year, min_value=-1.0, strict=True)
        as_array("utilisation", self.utilisation, min_value=0.0, max_value=1.0)
        as_array("training_share", self.training_share, min_value=0.0, max_value=1.0)
        as_array("pue", self.pue, min_value=1.0)
        as_array("facility_life_years", self.facility_life_years, min_value=0.0, strict=True)
        as_array("electricity_usd_per_mwh", self.electricity_usd_per_mwh, min_value=0.0)
        as_array("rental_usd_per_gpu_hour", self.rental_usd_per_gpu_hour, min_value=0.0)
        if self.months is not None and self.months < 1:
            raise InputError(f"months must be >= 1 (got {self.months})")

    @property
    def n_months(self) -> int:
        return self.months if self.months is not None else round(self.gpu.life_years * 12)

    @property
    def n_gpus(self) -> int:
        return int(np.floor(self.mw * float(gpus_per_mw(self.gpu.power_w, self.pue,
                                                         self.server_overhead)) + 1e-9))

    @property
    def it_mw(self) -> float:
        """IT load [MW] = grid draw / PUE (GPUs and the rest of their servers)."""
        return self.mw / self.pue

    @property
    def facility_capex_usd(self) -> float:
        """Facility capex [USD] = capex per MW of IT load x IT MW."""
        return self.facility_capex_usd_per_mw_it * self.it_mw

    @property
    def capex_usd(self) -> float:
        backup = (self.backup_capex_usd_per_mw * self.mw * (1.0 - self.training_share)
                  if self.firmness is Firmness.BACKUP else 0.0)
        return self.facility_capex_usd + self.n_gpus * self.gpu.price_usd + backup


def aidc_cashflows_usd(case: AidcCase, *, rental_usd_per_gpu_hour: ArrayLike,
                       uptime_share: ArrayLike) -> FloatArray:
    """Monthly net cash flows [USD], period 0 the capex; paths broadcast on ``(..., M)``.

    Each month: grid hours ``730 x uptime`` earn full revenue and pay the tariff;
    curtailed hours earn the inference share's revenue and pay backup fuel under
    ``BACKUP``, nothing under ``CURTAIL``; fixed opex is paid every month.  At the
    end of each GPU life the GPUs are bought again only if it pays, else the site
    closes (:func:`~offtake.economics.finance.with_replacements`, which also credits
    GPUs alive at the horizon end their undepreciated value).  The facility's
    undepreciated value (straight line over ``facility_life_years``) is credited in
    the last month.
    """
    rent = as_array("rental_usd_per_gpu_hour", rental_usd_per_gpu_hour, min_value=0.0)
    up = as_array("uptime_share", uptime_share, min_value=0.0, max_value=1.0)
    rev_full = case.n_gpus * rent * case.utilisation * HOURS_PER_MONTH
    grid_h = HOURS_PER_MONTH * up
    cut_h = HOURS_PER_MONTH - grid_h
    inf = 1.0 - case.training_share
    monthly = rev_full * up - case.electricity_usd_per_mwh * case.mw * grid_h
    if case.firmness is Firmness.BACKUP:
        monthly = monthly + rev_full * (1.0 - up) * inf - case.backup_usd_per_mwh * case.mw * cut_h * inf
    monthly = monthly - case.fixed_opex_share_per_year * case.facility_capex_usd / 12
    n_months = monthly.shape[-1]
    life_m = max(1, round(case.gpu.life_years * 12))
    monthly = with_replacements(monthly, case.n_gpus * case.gpu.price_usd, life_m)
    cf = np.zeros(monthly.shape[:-1] + (n_months + 1,))
    cf[..., 1:] = monthly
    cf[..., 0] -= case.capex_usd
    facility = case.facility_capex_usd
    cf[..., -1] += facility * max(0.0, 1.0 - n_months / (12.0 * case.facility_life_years))
    return cf


@dataclass(frozen=True)
class AidcValuation:
    """Result of :func:`value_aidc` (USD; per MWh of facility draw)."""

    n_gpus: int
    capex_usd: float
    mwh_per_year: float
    revenue_usd_per_mwh: float
    cost_usd_per_mwh: float
    firmness_cost_usd_per_year: float
    breakeven_usd_per_mwh: float
    breakeven_pkr_per_kwh: float
    npv_usd: float
    irr_per_year: float
    payback_years: float
    cashflows_usd: FloatArray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items() if k != "cashflows_usd"}


def value_aidc(case: AidcCase, pkr_per_usd: float = PKR_PER_USD) -> AidcValuation:
    """NPV, IRR and payback of an AI site, rental price on its trend.

    The break-even price is the first month's operating break-even: revenue per
    MWh less fixed opex per MWh drawn (capex not counted).  ``cost_usd_per_mwh`` is
    the levelised full cost per MWh drawn from the grid: the tariff plus yearly
    capital charges (facility and backup over the facility life, GPUs over theirs,
    :func:`~offtake.economics.finance.annuity_factor` at the discount rate) and
    fixed opex, divided by the MWh drawn in a year; backup fuel is in the firmness cost.
    """
    n = case.n_months
    t = (np.arange(1, n + 1, dtype=float) - 0.5) / 12.0
    rent = case.rental_usd_per_gpu_hour * (1.0 + case.rental_growth_per_year) ** t
    cf = aidc_cashflows_usd(case, rental_usd_per_gpu_hour=rent, uptime_share=case.uptime_share)
    rev = float(revenue_usd_per_mwh(rent[0], case.utilisation, case.gpu.power_w, case.pue,
                                    case.server_overhead))
    mwh_year = case.mw * HOURS_PER_YEAR * case.uptime_share
    opex_year = case.fixed_opex_share_per_year * case.facility_capex_usd
    be = rev - (opex_year / mwh_year if mwh_year > 0 else 0.0)
    r = case.discount_rate_per_year
    gpu_capex = case.n_gpus * case.gpu.price_usd
    capital_year = (float(annuity_factor(r, case.facility_life_years)) * (case.capex_usd - gpu_capex)
                    + float(annuity_factor(r, case.gpu.life_years)) * gpu_capex)
    cost = (case.electricity_usd_per_mwh + (capital_year + opex_year) / mwh_year
            if mwh_year > 0 else float("inf"))
    firm = float(firmness_cost_usd_per_year(
        case.mw, HOURS_PER_YEAR * (1.0 - case.uptime_share), rev, case.training_share,
        case.firmness, case.backup_usd_per_mwh, case.electricity_usd_per_mwh))
    irr_m = irr(cf)
    pb = payback_periods(cf)
    return AidcValuation(
        n_gpus=case.n_gpus, capex_usd=case.capex_usd, mwh_per_year=mwh_year,
        revenue_usd_per_mwh=rev, cost_usd_per_mwh=cost, firmness_cost_usd_per_year=firm,
        breakeven_usd_per_mwh=be,
        breakeven_pkr_per_kwh=float(usd_per_mwh_to_pkr_per_kwh(be, pkr_per_usd)),
        npv_usd=float(npv(rate_per_period(case.discount_rate_per_year, 12), cf)),
        irr_per_year=float((1.0 + irr_m) ** 12 - 1.0) if np.isfinite(irr_m) else float("nan"),
        payback_years=float(pb) / 12.0 if np.isfinite(pb) else float("nan"),
        cashflows_usd=cf)
