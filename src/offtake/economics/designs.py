"""Tariff designs for flexible loads, and what each asks of the planning LP.

Three designs, each with one level (docs/economics.md, "Tariff designs"):

- ``flat``: every kWh at the level [Rs/kWh] (the programme's Rs 22.98/kWh).
- ``surplus_indexed``: the region's hourly marginal cost (the plan's nodal price,
  the dual of its energy balance) plus an adder [Rs/kWh], never below an optional floor
  [Rs/kWh]; the loads choose to run only when it pays them.
- ``revenue_share``: a share [0-1] of the load's revenue per MWh (for mining, of the
  hashprice revenue), never below the hourly marginal cost (the structure of state
  deals such as Bhutan's and Ethiopia's).

How the LP sites only what investors would build (NPV >= 0 at their hurdle rate, given
the hours they run and are curtailed), with ``V`` the type's lifetime-levelised value
per MWh and ``C`` its equivalent yearly cost per MW (:mod:`offtake.economics.valuation`):

- surplus-indexed (no floor): the load bids ``V - adder`` for grid energy and pays ``C``
  per MW.  At the LP optimum, for every sited (region, type), the duals of ``p <= capacity``
  sum to ``C`` (interior) or more (at a limit), so
  ``sum_t (V - adder - price_t) p_t - C x MW >= 0``: the investor's NPV is >= 0 at the nodal
  prices the LP itself computes.  With a floor, the extra paid in hours where price + adder
  is below it is added to ``C`` for that (region, type) and the LP re-solved until sited MW
  settle (an outer iteration, :mod:`offtake.deal`).
- revenue share ``s``: the same, with adder 0 and floor ``s x V``.
- flat: the price does not depend on the hour, so the investor's NPV is linear in the plan:
  a constraint ``(V - T) sum_t p_t - C x MW >= 0`` per (region, type) (block
  ``Flex-participation``) and the objective is the utility's margin, sales at ``T`` less
  generation cost: it sells in an hour only when that helps, within what investors accept.

Firm types (inference) earn ``V`` in every hour, on grid power or backup at ``B`` per MWh.
Every number is per MWh drawn or per MW of grid draw, in USD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from offtake.economics.valuation import TypeEconomics
from offtake.errors import InputError

HOURS_PER_YEAR = 8760.0
#: A cost per MW-year large enough that the LP never sites the type.
BLOCK_USD_PER_MW_YEAR = 1e9


class DesignKind(StrEnum):
    FLAT = "flat"
    SURPLUS_INDEXED = "surplus_indexed"
    REVENUE_SHARE = "revenue_share"


LEVEL_UNITS = {
    DesignKind.FLAT: "Rs/kWh",
    DesignKind.SURPLUS_INDEXED: "Rs/kWh over the hourly marginal cost",
    DesignKind.REVENUE_SHARE: "share of revenue per MWh",
}

#: Default sweep ranges (low, high) of each design's level.
DEFAULT_RANGES = {
    DesignKind.FLAT: (4.0, 42.0),
    DesignKind.SURPLUS_INDEXED: (0.0, 19.0),
    DesignKind.REVENUE_SHARE: (0.0, 0.95),
}


def design_kind(value: DesignKind | str) -> DesignKind:
    try:
        return DesignKind(value)
    except ValueError:
        raise InputError(f"tariff design must be one of {', '.join(k.value for k in DesignKind)} "
                         f"(got {value!r})") from None


@dataclass(frozen=True)
class Design:
    """A tariff design and its level (``LEVEL_UNITS``); ``floor_pkr_per_kwh`` for surplus_indexed."""

    kind: DesignKind
    level: float
    floor_pkr_per_kwh: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", design_kind(self.kind))
        lv = self.level
        if isinstance(lv, bool) or not isinstance(lv, (int, float, np.integer, np.floating)) or not math.isfinite(lv):
            raise InputError(f"{self.kind.value} level must be a finite number (got {lv!r})")
        if lv < 0:
            raise InputError(f"{self.kind.value} level must be >= 0 (got {lv!r})")
        if self.kind is DesignKind.REVENUE_SHARE and lv > 1:
            raise InputError(f"revenue_share level is a share of revenue: must be <= 1 (got {lv!r})")
        f = self.floor_pkr_per_kwh
        if f is not None:
            if self.kind is not DesignKind.SURPLUS_INDEXED:
                raise InputError("a floor applies to the surplus_indexed design only")
            if not math.isfinite(float(f)) or f < 0:
                raise InputError(f"floor must be a finite number >= 0 Rs/kWh (got {f!r})")
        object.__setattr__(self, "level", float(lv))

    @property
    def level_units(self) -> str:
        return LEVEL_UNITS[self.kind]

    def words(self) -> str:
        """The design in a minister's words."""
        if self.kind is DesignKind.FLAT:
            return f"a flat Rs {self.level:.2f}/kWh"
        if self.kind is DesignKind.SURPLUS_INDEXED:
            floor = f" (never below Rs {self.floor_pkr_per_kwh:.2f}/kWh)" if self.floor_pkr_per_kwh else ""
            return f"power at the hourly surplus price plus Rs {self.level:.2f}/kWh{floor}"
        return f"{self.level:.0%} of the load's revenue per MWh, never below the hourly cost of power"


def default_levels(kind: DesignKind | str, n: int = 20) -> tuple[float, ...]:
    """``n`` evenly spaced levels over the design's default range."""
    if n < 1:
        raise InputError(f"number of levels must be >= 1 (got {n})")
    lo, hi = DEFAULT_RANGES[design_kind(kind)]
    return tuple(float(round(v, 6)) for v in np.linspace(lo, hi, n))


@dataclass(frozen=True)
class Coefficients:
    """What one design and level put into the LP, per flexible type (K,) in USD.

    Objective terms: ``fp_cost`` per MWh of grid draw (negative = value), ``cap_cost`` per
    MW-year, ``firm_value`` per MWh of a firm type's capacity-hours, ``backup_cost`` per MWh
    on backup.  ``participation_h`` (flat only): full-load hours per year a MW must draw
    for its investor to break even (``> 8760`` = never).  ``adder``/``floor`` give the price
    paid ``max(price + adder, floor)`` under the indexed designs.
    """

    design: Design
    fp_cost_usd_per_mwh: np.ndarray
    cap_cost_usd_per_mw_year: np.ndarray
    firm_value_usd_per_mwh: np.ndarray
    backup_cost_usd_per_mwh: np.ndarray
    participation_h_per_year: np.ndarray | None
    adder_usd_per_mwh: np.ndarray
    floor_usd_per_mwh: np.ndarray
    flat_usd_per_mwh: float | None


def coefficients(design: Design, econ: list[TypeEconomics], pkr_per_usd: float) -> Coefficients:
    """The LP coefficients of ``design`` for types ``econ`` (in the LP's flex order)."""
    to_usd = 1000.0 / pkr_per_usd
    V = np.array([e.value_usd_per_mwh for e in econ], dtype=float)
    C = np.array([e.fixed_cost_usd_per_mw_year for e in econ], dtype=float)
    B = np.array([e.backup_usd_per_mwh for e in econ], dtype=float)
    firm = np.array([e.firm for e in econ], dtype=bool)
    K = len(econ)
    zeros = np.zeros(K)
    if design.kind is DesignKind.FLAT:
        T = design.level * to_usd
        alpha = np.where(firm, B - T, V - T)  # margin gained per MWh taken from the grid
        beta = np.where(firm, C - (V - B) * HOURS_PER_YEAR, C)  # yearly cost left to cover by grid MWh
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(alpha > 0, np.maximum(beta, 0.0) / np.where(alpha > 0, alpha, 1.0),
                         np.where(beta > 0, 2.0 * HOURS_PER_YEAR, 0.0))
        return Coefficients(design, fp_cost_usd_per_mwh=np.full(K, -T), cap_cost_usd_per_mw_year=np.full(K, 1e-3),
                            firm_value_usd_per_mwh=zeros, backup_cost_usd_per_mwh=zeros,
                            participation_h_per_year=q, adder_usd_per_mwh=zeros, floor_usd_per_mwh=np.full(K, T),
                            flat_usd_per_mwh=T)
    if design.kind is DesignKind.SURPLUS_INDEXED:
        a = np.full(K, design.level * to_usd)
        f = np.full(K, (design.floor_pkr_per_kwh or 0.0) * to_usd)
    else:
        a = zeros.copy()
        f = design.level * V
    never = V < f  # the load earns less than the floor: it never runs
    cap = np.where(never, BLOCK_USD_PER_MW_YEAR, C)
    return Coefficients(design, fp_cost_usd_per_mwh=np.where(firm, a, -(V - a)), cap_cost_usd_per_mw_year=cap,
                        firm_value_usd_per_mwh=np.where(firm, V, 0.0), backup_cost_usd_per_mwh=np.where(firm, B, 0.0),
                        participation_h_per_year=None, adder_usd_per_mwh=a, floor_usd_per_mwh=f,
                        flat_usd_per_mwh=None)


def price_paid_usd_per_mwh(coef: Coefficients, price_usd_per_mwh: np.ndarray) -> np.ndarray:
    """Price each (snapshot, region, type) pays for grid energy [USD/MWh], shape (T, R, K)."""
    lam = np.asarray(price_usd_per_mwh, dtype=float)[:, :, None]
    if coef.flat_usd_per_mwh is not None:
        return np.broadcast_to(np.full(coef.adder_usd_per_mwh.shape, coef.flat_usd_per_mwh), lam.shape[:2] + coef.adder_usd_per_mwh.shape).copy()
    return np.maximum(lam + coef.adder_usd_per_mwh[None, None, :], coef.floor_usd_per_mwh[None, None, :])


def floor_topup_usd(coef: Coefficients, price_usd_per_mwh: np.ndarray, flex_p_mw: np.ndarray,
                    weight_h: np.ndarray) -> np.ndarray:
    """Extra paid because of the floor over the horizon, per (region, type) [USD] (indexed designs)."""
    if coef.flat_usd_per_mwh is not None:
        return np.zeros(flex_p_mw.shape[1:])
    lam = np.asarray(price_usd_per_mwh, dtype=float)[:, :, None]
    extra = np.maximum(coef.floor_usd_per_mwh[None, None, :] - lam - coef.adder_usd_per_mwh[None, None, :], 0.0)
    return np.einsum("t,trk->rk", weight_h, extra * flex_p_mw)


def investor_margin_usd_per_year(econ: list[TypeEconomics], coef: Coefficients, price_usd_per_mwh: np.ndarray,
                                 flex_p_mw: np.ndarray, backup_mw: np.ndarray, capacity_mw: np.ndarray,
                                 weight_h: np.ndarray) -> dict[str, np.ndarray]:
    """Per (region, type): yearly revenue, energy bill, backup fuel and margin [USD/yr], energy [MWh/yr].

    Revenue: ``V`` per MWh drawn (and for firm types per MWh of capacity in every hour);
    bill: price paid x grid MWh; margin = revenue - bill - backup fuel.
    """
    years = float(weight_h.sum()) / HOURS_PER_YEAR
    V = np.array([e.value_usd_per_mwh for e in econ], dtype=float)
    B = np.array([e.backup_usd_per_mwh for e in econ], dtype=float)
    firm = np.array([e.firm for e in econ], dtype=bool)
    paid = price_paid_usd_per_mwh(coef, price_usd_per_mwh)
    energy = np.einsum("t,trk->rk", weight_h, flex_p_mw) / years
    backup = np.einsum("t,trk->rk", weight_h, backup_mw) / years
    bill = np.einsum("t,trk->rk", weight_h, paid * flex_p_mw) / years
    revenue = np.where(firm[None, :], V[None, :] * capacity_mw * HOURS_PER_YEAR, V[None, :] * energy)
    fuel = np.where(firm[None, :], B[None, :] * backup, 0.0)
    return {"energy_mwh": energy, "bill_usd": bill, "revenue_usd": revenue, "backup_fuel_usd": fuel,
            "margin_usd": revenue - bill - fuel}


def investor_npv_usd(econ: list[TypeEconomics], margin_usd_per_year: np.ndarray,
                     capacity_mw: np.ndarray) -> np.ndarray:
    """NPV per (region, type) [USD]: ``A x (margin - C x MW)`` (valuation's linear NPV)."""
    A = np.array([e.annuity_years for e in econ], dtype=float)
    C = np.array([e.fixed_cost_usd_per_mw_year for e in econ], dtype=float)
    return A[None, :] * (margin_usd_per_year - C[None, :] * capacity_mw)


def irr_per_year(e: TypeEconomics, margin_usd_per_mw_year: float) -> float:
    """IRR [per year] of one MW: capex on day one, the yearly margin less fixed opex paid monthly over
    the horizon, and the residual value at its end; NaN when it never pays back."""
    from offtake.economics.finance import irr

    if not math.isfinite(e.capex_usd_per_mw) or e.capex_usd_per_mw <= 0:
        return float("nan")
    n = max(1, round(e.horizon_years * 12))
    opex, residual = e.fixed_opex_usd_per_mw_year, e.residual_usd_per_mw
    cf = np.full(n + 1, (margin_usd_per_mw_year - opex) / 12.0)
    cf[0] = -e.capex_usd_per_mw
    cf[-1] += residual
    r_m = irr(cf)
    return float((1.0 + r_m) ** 12 - 1.0) if np.isfinite(r_m) else float("nan")


def describe_irr(value: float) -> str:
    """An IRR in words: a percentage, or "no IRR (never pays back)"."""
    return "no IRR (never pays back)" if not math.isfinite(value) else f"{value:.1%}"


def coefficient_table(coef: Coefficients, names: list[str]) -> dict[str, Any]:
    return {n: {"fp_cost_usd_per_mwh": float(coef.fp_cost_usd_per_mwh[k]),
                "cap_cost_usd_per_mw_year": float(coef.cap_cost_usd_per_mw_year[k])} for k, n in enumerate(names)}


__all__ = [
    "BLOCK_USD_PER_MW_YEAR",
    "DEFAULT_RANGES",
    "LEVEL_UNITS",
    "Coefficients",
    "Design",
    "DesignKind",
    "coefficients",
    "default_levels",
    "describe_irr",
    "design_kind",
    "floor_topup_usd",
    "investor_margin_usd_per_year",
    "investor_npv_usd",
    "irr_per_year",
    "price_paid_usd_per_mwh",
]
