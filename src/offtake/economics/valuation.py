"""One valuation per flexible-load type, used by the planner and by the investor.

The planner's LP needs two figures per type: what one MWh consumed earns
(``value_usd_per_mwh``) and what one MW costs a year (``fixed_cost_usd_per_mw_year``).
Both come from the investor's own cash-flow model over the asset's life (the same
revenue path, discount rate, machine life and infrastructure life as
:func:`~offtake.economics.bitcoin.value_mining` and
:func:`~offtake.economics.aidc.value_aidc`), levelised with the same monthly discount
factors ``DF_m = (1 + r_m) ** -m`` (m = 1..M, ``r_m`` the monthly rate):

    annuity_years A  = sum_m DF_m / 12          (PV of 1 USD/yr paid monthly)
    value V          = sum_m DF_m rev_m / sum_m DF_m     [USD/MWh drawn]
    fixed cost C     = (capex - DF_M residual) / A + fixed opex per year   [USD/MW/yr]

so that, for a site that draws E MWh per MW each year (the same hours every year) at an
average price p, the investor's NPV per MW is exactly

    NPV = A x ((V - p) x E - C)

(:meth:`TypeEconomics.npv_usd_per_mw`; a test checks it against ``value_mining`` and
``value_aidc`` with the month-by-month cash flows).  The full cash-flow models may also
stop mining in months whose margin is negative; the linear NPV ignores that option, so
it is a lower bound: a site with linear NPV >= 0 pays.

Mining revenue per MWh follows the hashprice path (BTC price and its growth, network
hashrate growth, the subsidy of each month's projected block height, so the 2028
halving, fees, pool fee) for the reference miner; AI revenue per MWh drawn follows the
GPU rental path (trend), utilisation and PUE.  A firm AI type (inference) earns V in
every hour, on grid power or on backup; a training type only when it runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from offtake.economics.aidc import AidcCase, Firmness, gpus_per_mw
from offtake.economics.bitcoin import (
    MINERS,
    REFERENCE_MINER,
    MiningCase,
    block_height_on,
    block_heights_for_months,
    hashprice_usd_per_th_day,
    month_midpoints_years,
    revenue_usd_per_mwh,
)
from offtake.economics.finance import rate_per_period
from offtake.economics.loads import LoadKind
from offtake.errors import InputError
from offtake.scenario.schema import FlexLoadType

LoadType = FlexLoadType

#: Economics kind of each declared load type (no guessing from names).
KIND_OF: dict[FlexLoadType, LoadKind] = {
    FlexLoadType.BITCOIN_MINING: LoadKind.BITCOIN,
    FlexLoadType.AI_TRAINING: LoadKind.AIDC,
    FlexLoadType.AI_INFERENCE: LoadKind.AIDC,
}


@dataclass(frozen=True)
class ValuationAssumptions:
    """Templates of the two valuations (docs/economics.md gives every figure's source).

    Mining uses the reference miner (Antminer S21, ``REFERENCE_MINER``); AI the default
    H100 case.  A flex_loads.csv row's ``btc_price_usd``, ``rental_usd_per_gpu_hour``,
    ``utilisation`` and ``pue`` replace the template's when given.
    """

    mining: MiningCase = field(default_factory=lambda: MiningCase(miner=MINERS[REFERENCE_MINER]))
    aidc: AidcCase = field(default_factory=AidcCase)

    def mining_case(self, row: pd.Series | dict[str, Any] | None = None) -> MiningCase:
        case = self.mining
        price = _opt(row, "btc_price_usd")
        return replace(case, btc_price_usd=price) if price is not None else case

    def aidc_case(self, load_type: FlexLoadType, row: pd.Series | dict[str, Any] | None = None) -> AidcCase:
        firm = load_type is FlexLoadType.AI_INFERENCE
        backup = _opt(row, "backup_cost_usd_per_mwh")
        case = replace(self.aidc, training_share=0.0 if firm else 1.0,
                       firmness=Firmness.BACKUP if firm else Firmness.CURTAIL,
                       backup_usd_per_mwh=backup if firm and backup else self.aidc.backup_usd_per_mwh)
        upd = {k: v for k in ("rental_usd_per_gpu_hour", "utilisation", "pue")
               if (v := _opt(row, k)) is not None}
        return replace(case, **upd) if upd else case


def _opt(row: pd.Series | dict[str, Any] | None, key: str) -> float | None:
    if row is None:
        return None
    v = row.get(key) if hasattr(row, "get") else None
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


@dataclass(frozen=True)
class TypeEconomics:
    """Lifetime-levelised economics of one flexible-load type (per MW drawn from the grid).

    ``value_usd_per_mwh``: PV-weighted revenue per MWh over the life (V);
    ``first_year_value_usd_per_mwh``: the first month's (shown for comparison only);
    ``fixed_cost_usd_per_mw_year``: equivalent yearly capital and fixed cost (C);
    ``annuity_years``: A, which turns a yearly margin into an NPV;
    ``capex_usd_per_mw``: money spent on day one per MW; ``source``: ``economics``
    (from ``load_type``) or ``scenario`` (override figures in flex_loads.csv).
    """

    name: str
    load_type: str | None
    firm: bool
    value_usd_per_mwh: float
    first_year_value_usd_per_mwh: float
    fixed_cost_usd_per_mw_year: float
    annuity_years: float
    horizon_years: float
    discount_rate_per_year: float
    capex_usd_per_mw: float
    backup_usd_per_mwh: float
    source: str
    inputs: dict[str, Any] = field(default_factory=dict, compare=False)
    fixed_opex_usd_per_mw_year: float = 0.0
    residual_usd_per_mw: float = 0.0

    def npv_usd_per_mw(self, margin_usd_per_mw_year: float) -> float:
        """NPV per MW [USD] of a yearly energy margin per MW [USD/MW/yr] (revenue less energy bought)."""
        return self.annuity_years * (margin_usd_per_mw_year - self.fixed_cost_usd_per_mw_year)

    @property
    def required_margin_usd_per_mwh_full_year(self) -> float:
        """Margin per MWh a site running all 8,760 h needs to pay back: C / 8760."""
        return self.fixed_cost_usd_per_mw_year / 8760.0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def _discount(r_year: float, n_months: int) -> np.ndarray:
    r_m = float(rate_per_period(r_year, 12))
    return (1.0 + r_m) ** -np.arange(1, n_months + 1, dtype=float)


def mining_revenue_path_usd_per_mwh(case: MiningCase) -> np.ndarray:
    """Revenue per MWh drawn for months 1..M [USD/MWh] (hashprice path, pool fee)."""
    t = month_midpoints_years(case.n_months)
    heights = block_heights_for_months(block_height_on(case.start_date), case.n_months)
    price = case.btc_price_usd * (1.0 + case.btc_price_growth_per_year) ** t
    diff = case.difficulty * (1.0 + case.hashrate_growth_per_year) ** t
    hp = hashprice_usd_per_th_day(price, diff, case.fees_btc_per_block, heights)
    return np.asarray(revenue_usd_per_mwh(hp, case.miner.efficiency_j_per_th, case.pool_fee_share), dtype=float)


def mining_economics(name: str, case: MiningCase) -> TypeEconomics:
    """Levelised value and equivalent yearly cost of a mining type (per MW drawn)."""
    rev = mining_revenue_path_usd_per_mwh(case) - case.other_opex_usd_per_mwh
    df = _discount(case.discount_rate_per_year, case.n_months)
    a = float(df.sum()) / 12.0
    capex = case.miner.price_usd / case.miner.power_w * 1e6 + case.infrastructure_usd_per_mw
    m = case.miner
    return TypeEconomics(
        name=name, load_type=FlexLoadType.BITCOIN_MINING.value, firm=False,
        value_usd_per_mwh=float((df * rev).sum() / df.sum()), first_year_value_usd_per_mwh=float(rev[0]),
        fixed_cost_usd_per_mw_year=capex / a, annuity_years=a, horizon_years=case.n_months / 12.0,
        discount_rate_per_year=case.discount_rate_per_year, capex_usd_per_mw=capex, backup_usd_per_mwh=0.0,
        source="economics",
        inputs={"miner": m.name, "miner_efficiency_j_per_th": m.efficiency_j_per_th,
                "miner_price_usd_per_th": m.price_usd_per_th, "machine_life_years": m.life_years,
                "infrastructure_usd_per_mw": case.infrastructure_usd_per_mw, "btc_price_usd": case.btc_price_usd,
                "btc_price_growth_per_year": case.btc_price_growth_per_year, "difficulty": case.difficulty,
                "hashrate_growth_per_year": case.hashrate_growth_per_year,
                "fees_btc_per_block": case.fees_btc_per_block, "pool_fee_share": case.pool_fee_share,
                "start_date": case.start_date.isoformat(), "discount_rate_per_year": case.discount_rate_per_year})


def aidc_revenue_path_usd_per_mwh(case: AidcCase) -> np.ndarray:
    """Revenue per MWh drawn for months 1..M [USD/MWh]: GPUs per MW x rental x utilisation."""
    t = month_midpoints_years(case.n_months)
    rent = case.rental_usd_per_gpu_hour * (1.0 + case.rental_growth_per_year) ** t
    return float(gpus_per_mw(case.gpu.power_w, case.pue, case.server_overhead)) * rent * case.utilisation


def aidc_economics(name: str, load_type: FlexLoadType, case: AidcCase) -> TypeEconomics:
    """Levelised value and equivalent yearly cost of an AI type (per MW drawn).

    Capex per MW drawn: facility (per MW of IT load / PUE), GPUs (GPUs per MW x price)
    and, for a firm type, backup gensets; the facility's straight-line value left at the
    horizon end is credited (discounted), as in ``value_aidc``.
    """
    rev = aidc_revenue_path_usd_per_mwh(case)
    n = case.n_months
    df = _discount(case.discount_rate_per_year, n)
    a = float(df.sum()) / 12.0
    facility = case.facility_capex_usd_per_mw_it / case.pue
    gpus = float(gpus_per_mw(case.gpu.power_w, case.pue, case.server_overhead)) * case.gpu.price_usd
    firm = load_type is FlexLoadType.AI_INFERENCE
    backup_capex = case.backup_capex_usd_per_mw * (1.0 - case.training_share) if case.firmness is Firmness.BACKUP else 0.0
    capex = facility + gpus + backup_capex
    residual = facility * max(0.0, 1.0 - n / (12.0 * case.facility_life_years))
    opex = case.fixed_opex_share_per_year * facility
    return TypeEconomics(
        name=name, load_type=load_type.value, firm=firm,
        value_usd_per_mwh=float((df * rev).sum() / df.sum()), first_year_value_usd_per_mwh=float(rev[0]),
        fixed_cost_usd_per_mw_year=(capex - float(df[-1]) * residual) / a + opex, annuity_years=a,
        horizon_years=n / 12.0, discount_rate_per_year=case.discount_rate_per_year, capex_usd_per_mw=capex,
        backup_usd_per_mwh=case.backup_usd_per_mwh if firm else 0.0, source="economics",
        inputs={"gpu": case.gpu.name, "gpu_power_w": case.gpu.power_w, "gpu_price_usd": case.gpu.price_usd,
                "gpu_life_years": case.gpu.life_years, "pue": case.pue, "server_overhead": case.server_overhead,
                "utilisation": case.utilisation, "rental_usd_per_gpu_hour": case.rental_usd_per_gpu_hour,
                "rental_growth_per_year": case.rental_growth_per_year,
                "facility_capex_usd_per_mw_it": case.facility_capex_usd_per_mw_it,
                "facility_life_years": case.facility_life_years,
                "fixed_opex_share_per_year": case.fixed_opex_share_per_year,
                "backup_capex_usd_per_mw": case.backup_capex_usd_per_mw if firm else 0.0,
                "backup_usd_per_mwh": case.backup_usd_per_mwh if firm else 0.0,
                "discount_rate_per_year": case.discount_rate_per_year},
        fixed_opex_usd_per_mw_year=opex, residual_usd_per_mw=residual)


def rental_breakeven_usd_per_gpu_hour(e: TypeEconomics, value_needed_usd_per_mwh: float) -> float:
    """GPU rental price [USD/GPU-h] at which an AI type earns ``value_needed`` per MWh.

    Revenue per MWh is proportional to the starting rental price (the trend, utilisation
    and PUE fixed), so the break-even rental is ``rental x needed / V``.
    """
    rental = e.inputs.get("rental_usd_per_gpu_hour")
    if rental is None or e.value_usd_per_mwh <= 0:
        return float("nan")
    return float(rental) * value_needed_usd_per_mwh / e.value_usd_per_mwh


def type_economics(name: str, row: pd.Series | dict[str, Any],
                   assumptions: ValuationAssumptions = ValuationAssumptions()) -> TypeEconomics:
    """Economics of one flex_loads.csv row: from its ``load_type``, or its override figures."""
    v = _opt(row, "value_usd_per_mwh")
    c = _opt(row, "capex_usd_per_mw_year")
    lt_raw = row.get("load_type") if hasattr(row, "get") else None
    lt = None if lt_raw is None or (isinstance(lt_raw, float) and math.isnan(lt_raw)) else FlexLoadType(str(lt_raw))
    firm = str(row.get("kind", "")) == "firm"
    backup = _opt(row, "backup_cost_usd_per_mwh") or 0.0
    if lt is None or (v is not None and c is not None):
        if v is None or c is None:
            raise InputError(f"flex_loads.csv, type {name!r}: give load_type or both value_usd_per_mwh "
                             "and capex_usd_per_mw_year")
        r = assumptions.mining.discount_rate_per_year
        return TypeEconomics(name=name, load_type=None if lt is None else lt.value, firm=firm, value_usd_per_mwh=v,
                             first_year_value_usd_per_mwh=v, fixed_cost_usd_per_mw_year=c, annuity_years=1.0,
                             horizon_years=1.0, discount_rate_per_year=r, capex_usd_per_mw=float("nan"),
                             backup_usd_per_mwh=backup, source="scenario",
                             inputs={"value_usd_per_mwh": v, "capex_usd_per_mw_year": c})
    if lt is FlexLoadType.BITCOIN_MINING:
        e = mining_economics(name, assumptions.mining_case(row))
    else:
        e = aidc_economics(name, lt, assumptions.aidc_case(lt, row))
    if v is not None or c is not None:  # one override only: take it, keep the other from the economics
        e = replace(e, value_usd_per_mwh=v if v is not None else e.value_usd_per_mwh,
                    fixed_cost_usd_per_mw_year=c if c is not None else e.fixed_cost_usd_per_mw_year)
    if firm and lt is not FlexLoadType.AI_INFERENCE:
        e = replace(e, firm=True, backup_usd_per_mwh=backup)
    return e


def scenario_economics(flex_loads: pd.DataFrame,
                       assumptions: ValuationAssumptions = ValuationAssumptions()) -> dict[str, TypeEconomics]:
    """:class:`TypeEconomics` of every flexible-load type of a scenario, by name."""
    return {str(name): type_economics(str(name), row, assumptions) for name, row in flex_loads.iterrows()}


__all__ = ["KIND_OF", "LoadType", "TypeEconomics", "ValuationAssumptions", "aidc_economics",
           "aidc_revenue_path_usd_per_mwh", "mining_economics", "mining_revenue_path_usd_per_mwh",
           "rental_breakeven_usd_per_gpu_hour", "scenario_economics", "type_economics"]
