"""The deal space: tariff designs x levels, each planned so only investors who would come are sited.

For every design (:mod:`offtake.economics.designs`) and level, the planning LP is solved with
that design's coefficients; sited MW all have investor NPV >= 0 under the design (by LP duality
for the indexed designs, by a linear participation constraint for the flat one, and a final
guard that drops any (region, type) still below zero and re-solves).  Each point carries the
system view: contribution to capacity charges, other consumers' tariff change, the IMF
full-cost test on two energy-cost bases, imported fuel bought for the new load.

Speed: the model of a design is built once and handed to HiGHS once (highspy); successive
levels only change objective coefficients (and, for flat, one coefficient per participation
row), so each re-solve starts from the previous optimal basis (``bench/deal.py``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import xarray as xr

from offtake.economics.designs import (
    BLOCK_USD_PER_MW_YEAR,
    Coefficients,
    Design,
    DesignKind,
    coefficients,
    default_levels,
    design_kind,
    floor_topup_usd,
    investor_margin_usd_per_year,
    investor_npv_usd,
    irr_per_year,
    price_paid_usd_per_mwh,
)
from offtake.economics.tariff import ImpactFigures, impact_figures, pool_impact
from offtake.economics.valuation import TypeEconomics, ValuationAssumptions, scenario_economics
from offtake.errors import InputError, SolverError
from offtake.scenario.schema import Scenario

HOURS_PER_YEAR = 8760.0
IMPORTED_FUELS = ("rlng", "coal_imported", "oil")  # facts: RLNG, imported coal, furnace oil are imported
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DealOptions:
    """How to explore the deal space.

    ``levels`` overrides the default levels of a design (``default_levels(kind, n_levels)``);
    ``floor_pkr_per_kwh`` is the surplus-indexed design's floor; ``ke_regions`` the regions
    accounted in K-Electric's own pool (empty: all in the national pool).
    """

    resolution_h: int = 3
    days: int | None = None
    programme_cap_mw: float | None = None
    designs: tuple[str, ...] = tuple(k.value for k in DesignKind)
    n_levels: int = 20
    levels: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    floor_pkr_per_kwh: float | None = None
    ke_regions: tuple[str, ...] = ("KARACHI",)
    valuation: ValuationAssumptions = field(default_factory=ValuationAssumptions)
    warm_start: bool = True
    max_outer: int = 8
    allow_unserved: bool = True

    def design_levels(self) -> dict[DesignKind, tuple[float, ...]]:
        out = {}
        for name in self.designs:
            k = design_kind(name)
            lv = self.levels.get(k.value) or self.levels.get(name)
            out[k] = tuple(float(v) for v in lv) if lv else default_levels(k, self.n_levels)
        return out

    def plan_options(self) -> Any:
        from offtake.plan import PlanOptions

        return PlanOptions(resolution_h=self.resolution_h, days=self.days, programme_cap_mw=self.programme_cap_mw,
                           min_site=False, baseline=False, valuation=self.valuation)


class DesignLP:
    """One design's planning LP, built once, re-solved per level from the last basis (highspy)."""

    def __init__(self, scenario: Scenario, kind: DesignKind, plan_options: Any) -> None:
        import linopy.io

        from offtake.plan.inputs import prepare
        from offtake.plan.model import build_model
        from offtake.solver import silence_stdout

        self.kind = kind
        self.x = x = prepare(scenario, plan_options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            m = build_model(x)
            self.has_flex = "Flex-capacity" in m.variables
            if kind is DesignKind.FLAT and self.has_flex:
                self._add_participation(m)
        self.m = m
        with silence_stdout():
            h = linopy.io.to_highspy(m)
        h.setOptionValue("output_flag", False)
        h.setOptionValue("log_to_console", False)
        self.h = h
        M = m.matrices
        self._vlabels = np.asarray(M.vlabels)
        self._clabels = np.asarray(M.clabels)
        self._base_cost = np.asarray(M.c, dtype=float).copy()
        vpos = np.full(int(m._xCounter), -1, dtype=np.int64)
        vpos[self._vlabels] = np.arange(len(self._vlabels))
        cpos = np.full(int(m._cCounter), -1, dtype=np.int64)
        cpos[self._clabels] = np.arange(len(self._clabels))
        self.fp_cols = self._cols(vpos, "Flex-p", ("snapshot", "region", "flex"))
        self.cap_cols = self._cols(vpos, "Flex-capacity", ("region", "flex"))
        self.b_cols = self._cols(vpos, "Flex-backup", ("snapshot", "region", "flex"))
        self.part_rows = (self._rows(cpos, "Flex-participation", ("region", "flex"))
                          if "Flex-participation" in m.constraints else None)
        lp0 = h.getLp()
        self._lower = np.asarray(lp0.col_lower_, dtype=float).copy()
        self._upper = np.asarray(lp0.col_upper_, dtype=float).copy()
        self.first = True
        self.solves = 0
        self.solve_s = 0.0

    def _add_participation(self, m: Any) -> None:
        fp = m.variables["Flex-p"]
        cap = m.variables["Flex-capacity"]
        w = xr.DataArray(self.x.weight_h, coords=[fp.coords["snapshot"]])
        mask = xr.DataArray(self.x.allowed, coords=[cap.coords["region"], cap.coords["flex"]])
        # placeholder coefficient -1 x horizon years on capacity; set per level with changeCoeff
        m.add_constraints((fp * w).sum("snapshot") - self.x.horizon_years * cap >= 0, name="Flex-participation",
                          mask=mask)

    def _cols(self, pos: np.ndarray, name: str, dims: tuple[str, ...]) -> np.ndarray | None:
        if name not in self.m.variables:
            return None
        lab = self.m.variables[name].labels.transpose(*dims).to_numpy()
        return np.where(lab >= 0, pos[np.maximum(lab, 0)], -1)

    def _rows(self, pos: np.ndarray, name: str, dims: tuple[str, ...]) -> np.ndarray:
        lab = self.m.constraints[name].labels.transpose(*dims).to_numpy()
        return np.where(lab >= 0, pos[np.maximum(lab, 0)], -1)

    def set_design(self, coef: Coefficients, extra_cap_usd_per_mw_year: np.ndarray, blocked: np.ndarray) -> None:
        """Objective coefficients (and flat participation coefficients) of one design and level."""
        if not self.has_flex:
            return
        x = self.x
        w = x.weight_h
        H = x.horizon_years
        idx: list[np.ndarray] = []
        val: list[np.ndarray] = []
        fp_cost = w[:, None, None] * coef.fp_cost_usd_per_mwh[None, None, :]
        ok = self.fp_cols >= 0
        idx.append(self.fp_cols[ok])
        val.append(np.broadcast_to(fp_cost, self.fp_cols.shape)[ok])
        cap_cost = ((coef.cap_cost_usd_per_mw_year[None, :] + extra_cap_usd_per_mw_year) * H
                    - coef.firm_value_usd_per_mwh[None, :] * float(w.sum()))
        cap_cost = np.where(blocked, BLOCK_USD_PER_MW_YEAR * H, cap_cost)
        ok = self.cap_cols >= 0
        idx.append(self.cap_cols[ok])
        val.append(cap_cost[ok])
        if self.b_cols is not None:
            ok = self.b_cols >= 0
            idx.append(self.b_cols[ok])
            val.append(np.broadcast_to(w[:, None, None] * coef.backup_cost_usd_per_mwh[None, None, :],
                                       self.b_cols.shape)[ok])
        ci = np.concatenate(idx).astype(np.int32)
        cv = np.concatenate(val).astype(float)
        self.h.changeColsCost(len(ci), ci, cv)
        # a (region, type) that can never pay (blocked, or a flat price its investors cannot meet in 8,760 h, or a
        # floor above its value) gets capacity bounds [0, 0]: the same optimum as a prohibitive cost, found at once
        never = blocked | (cap_cost >= BLOCK_USD_PER_MW_YEAR * H * 0.5)
        if coef.participation_h_per_year is not None:
            never = never | (coef.participation_h_per_year[None, :] > HOURS_PER_YEAR)
        ok = self.cap_cols >= 0
        cols = self.cap_cols[ok].astype(np.int32)
        lo = np.where(never[ok], 0.0, self._lower[cols])
        hi = np.where(never[ok], 0.0, self._upper[cols])
        self.h.changeColsBounds(len(cols), cols, lo, hi)
        if self.part_rows is not None and coef.participation_h_per_year is not None:
            for (r, k), row in np.ndenumerate(self.part_rows):
                if row >= 0 and self.cap_cols[r, k] >= 0:
                    q = float(coef.participation_h_per_year[k])
                    self.h.changeCoeff(int(row), int(self.cap_cols[r, k]), -q * H if not blocked[r, k] else -2.0 * HOURS_PER_YEAR * H)

    def run(self) -> Any:
        """Solve (from the last basis after the first solve); return the plan Solution."""
        import highspy
        from linopy.constants import Result, Status, TerminationCondition
        from linopy.constants import Solution as LSolution
        from linopy.solvers import _solution_from_labels

        from offtake.plan.result import read_solution
        from offtake.solver import silence_stdout

        t0 = time.perf_counter()
        with silence_stdout():
            self.h.run()
        self.solve_s += time.perf_counter() - t0
        self.solves += 1
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"HiGHS stopped without an optimal deal-space plan ({self.h.modelStatusToString(status)})")
        sol = self.h.getSolution()
        primal = _solution_from_labels(np.asarray(sol.col_value), self._vlabels, int(self.m._xCounter))
        dual = _solution_from_labels(np.asarray(sol.row_dual), self._clabels, int(self.m._cCounter))
        obj = float(self.h.getInfo().objective_function_value)
        res = Result(status=Status.from_termination_condition(TerminationCondition.optimal),
                     solution=LSolution(primal, dual, obj))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.m.assign_result(res)
        self.objective_usd = obj
        col = np.asarray(sol.col_value)
        cost = np.asarray(self.h.getLp().col_cost_)
        flex_cols = [c[c >= 0].ravel() for c in (self.fp_cols, self.cap_cols, self.b_cols) if c is not None]
        fc = np.concatenate(flex_cols) if flex_cols else np.zeros(0, int)
        self.system_cost_usd = obj - float((cost[fc] * col[fc]).sum())  # generation, unserved, take-or-pay
        return read_solution(self.m, self.x)

    def reset_basis(self) -> None:
        """Forget the basis (a cold solve), for the benchmark's fair peer."""
        self.h.clearSolver()


@dataclass(frozen=True)
class DealPoint:
    """One design at one level: what is sited, who pays what, what it does to everyone else."""

    design: str
    level: float
    level_units: str
    floor_pkr_per_kwh: float | None
    mw_by_type: dict[str, float]
    mw_by_region: dict[str, dict[str, float]]
    energy_mwh_per_year_by_type: dict[str, float]
    hours_run_by_type: dict[str, float]
    hours_curtailed_by_type: dict[str, float]
    npv_usd_by_type: dict[str, float]
    irr_per_year_by_type: dict[str, float]
    value_usd_per_mwh_by_type: dict[str, float]
    price_paid_pkr_per_kwh_by_type: dict[str, float]
    max_price_for_npv0_pkr_per_kwh_by_type: dict[str, float]
    rental_breakeven_usd_per_gpu_hour_by_type: dict[str, float]
    total_mw: float
    energy_mwh_per_year: float
    sales_pkr_per_year: float
    energy_cost_caused_pkr_per_kwh: float
    contribution_pkr_per_year: float
    contribution_reference_basis_pkr_per_year: float
    others_change_pkr_per_kwh: float
    others_change_reference_basis_pkr_per_kwh: float
    ke_contribution_pkr_per_year: float
    ke_change_pkr_per_kwh: float
    units_sold_kwh: float
    full_cost_pkr_per_kwh: float
    full_cost_reference_basis_pkr_per_kwh: float
    average_price_pkr_per_kwh: float
    imf_full_cost_met: bool
    imf_full_cost_met_reference_basis: bool
    imported_fuel_usd_per_year: float
    min_npv_usd: float
    outer_iterations: int
    dropped_sites: tuple[str, ...]
    objective_usd: float

    @property
    def works(self) -> bool:
        """Some MW come and other consumers' tariffs fall."""
        return self.total_mw > 0.5 and self.contribution_pkr_per_year > 0.0

    def summary(self) -> dict[str, Any]:
        """The ``decision.designs[]`` entry of summary.json (issue #12 names), plus the detail."""
        d = asdict(self)
        d["dropped_sites"] = list(self.dropped_sites)
        return d


@dataclass(frozen=True, eq=False)
class Baseline:
    """The plan without flexible loads: its objective (generation, unserved, take-or-pay) and dispatch."""

    system_cost_usd: float
    dispatch_mw: np.ndarray  # (T, G)
    solution: Any = None


def _solve_baseline(scenario: Scenario, plan_options: Any) -> Baseline:
    from offtake.plan.inputs import prepare
    from offtake.plan.run import solve_inputs

    xb = prepare(scenario, replace(plan_options, no_flex=True))
    sol, res, _ = solve_inputs(xb, plan_options)
    return Baseline(system_cost_usd=float(res.objective_usd), dispatch_mw=sol.dispatch, solution=sol)


def solve_design(lp: DesignLP, design: Design, econ: list[TypeEconomics], pkr_per_usd: float,
                 max_outer: int = 8) -> tuple[Any, Coefficients, int, tuple[str, ...]]:
    """Solve one design and level: outer iteration for floors, then the NPV guard.

    Returns (Solution, coefficients, outer iterations, dropped sites).
    """
    x = lp.x
    R, K = len(x.regions), len(x.flex)
    coef = coefficients(design, econ, pkr_per_usd)
    extra = np.zeros((R, K))
    blocked = np.zeros((R, K), dtype=bool)
    w = x.weight_h
    H = x.horizon_years
    floors = coef.flat_usd_per_mwh is None and bool((coef.floor_usd_per_mwh > coef.adder_usd_per_mwh).any())
    prev = None
    it = 0
    for it in range(1, max(1, max_outer) + 1):
        lp.set_design(coef, extra, blocked)
        sol = lp.run()
        if not floors:
            break
        cap = sol.capacity
        lam = sol.dual_balance / w[:, None]
        V = np.array([e.value_usd_per_mwh for e in econ])
        runs = (lam[:, :, None] <= (V - coef.adder_usd_per_mwh)[None, None, :]).astype(float)
        share = np.where(cap[None] > 1e-6, sol.flex_p / np.maximum(cap[None], 1e-9), runs)
        extra = floor_topup_usd(coef, lam, share, w) / H
        if prev is not None and np.abs(cap - prev).max() < 0.5:
            break
        prev = cap.copy()
    dropped: list[str] = []
    for _ in range(R * K + 1):
        npv = _npv(sol, lp, econ, coef)
        tol = 1e-6 * np.abs(np.array([e.annuity_years * e.fixed_cost_usd_per_mw_year for e in econ]))[None, :] \
            * sol.capacity + 1.0
        neg = (sol.capacity > 1e-6) & (npv < -tol) & ~blocked
        if not neg.any():
            break
        for r, k in zip(*np.nonzero(neg)):
            dropped.append(f"{x.regions[r]} {x.flex[k]}")
        blocked |= neg
        lp.set_design(coef, extra, blocked)
        sol = lp.run()
    return sol, coef, it, tuple(dropped)


def _npv(sol: Any, lp: DesignLP, econ: list[TypeEconomics], coef: Coefficients) -> np.ndarray:
    x = lp.x
    lam = sol.dual_balance / x.weight_h[:, None]
    figs = investor_margin_usd_per_year(econ, coef, lam, sol.flex_p, sol.backup, sol.capacity, x.weight_h)
    return investor_npv_usd(econ, figs["margin_usd"], sol.capacity)


def evaluate_point(lp: DesignLP, sol: Any, design: Design, coef: Coefficients, econ: list[TypeEconomics],
                   baseline: Baseline, fig: ImpactFigures, ke_regions: tuple[str, ...], iterations: int,
                   dropped: tuple[str, ...], gen_fuel: list[str] | None) -> DealPoint:
    """Investor and system figures of one solved design and level."""
    from offtake.economics.valuation import rental_breakeven_usd_per_gpu_hour

    x = lp.x
    w = x.weight_h
    H = x.horizon_years
    names = list(x.flex)
    lam = sol.dual_balance / w[:, None]
    cap = np.where(sol.capacity > 1e-6, sol.capacity, 0.0)
    figs = investor_margin_usd_per_year(econ, coef, lam, sol.flex_p, sol.backup, cap, w)
    npv = investor_npv_usd(econ, figs["margin_usd"], cap)
    energy = figs["energy_mwh"]  # (R, K) MWh/yr
    paid = price_paid_usd_per_mwh(coef, lam)
    bill = figs["bill_usd"]  # (R, K) USD/yr
    curtailed = (sol.flex_p < cap[None] - 1e-6 * np.maximum(1.0, cap[None])) & (cap[None] > 0)
    cut_h = np.einsum("t,trk->rk", w, curtailed.astype(float)) / H
    to_pkr_kwh = pkr_per_usd_kwh = fig.pkr_per_usd / 1000.0
    mw_t = cap.sum(axis=0)
    e_t = energy.sum(axis=0)

    def by_type(a: np.ndarray) -> dict[str, float]:
        return {n: float(a[k]) for k, n in enumerate(names)}

    margin_per_mw = np.where(mw_t > 0, figs["margin_usd"].sum(axis=0) / np.maximum(mw_t, 1e-9), np.nan)
    irr = {n: (irr_per_year(econ[k], float(margin_per_mw[k])) if mw_t[k] > 0 else float("nan"))
           for k, n in enumerate(names)}
    # the highest average price per MWh at which each type's sited MW (or 1 MW at full hours) pays:
    # V - C / (full-load hours)
    hrs = np.where(mw_t > 0, e_t / np.maximum(mw_t, 1e-9), HOURS_PER_YEAR)
    V = np.array([e.value_usd_per_mwh for e in econ])
    C = np.array([e.fixed_cost_usd_per_mw_year for e in econ])
    B = np.array([e.backup_usd_per_mwh for e in econ])
    firm = np.array([e.firm for e in econ])
    be_usd = np.where(firm, (V * HOURS_PER_YEAR - B * (HOURS_PER_YEAR - hrs) - C) / np.maximum(hrs, 1e-9),
                      V - C / np.maximum(hrs, 1e-9))
    avg_paid = np.where(e_t > 0, bill.sum(axis=0) / np.maximum(e_t, 1e-9), np.nan)
    if coef.flat_usd_per_mwh is not None:
        avg_paid_type = np.full(len(names), coef.flat_usd_per_mwh)
    else:
        # with nothing sited: the average price a MW would pay in the hours it would run
        runs = lam[:, :, None] <= (V - coef.adder_usd_per_mwh)[None, None, :]
        p_run = np.where(runs, paid, 0.0)
        avg_unsited = (np.einsum("t,trk->k", w, p_run) / np.maximum(np.einsum("t,trk->k", w, runs.astype(float)), 1e-9))
        avg_paid_type = np.where(e_t > 0, avg_paid, avg_unsited)
    # what V would need to be at that price for NPV = 0: price + C / hours (training), for AI in rental terms
    need = np.where(firm, (C + B * (HOURS_PER_YEAR - hrs) + avg_paid_type * hrs) / HOURS_PER_YEAR,
                    avg_paid_type + C / np.maximum(hrs, 1e-9))
    rental_be = {n: (rental_breakeven_usd_per_gpu_hour(econ[k], float(need[k]))
                     if econ[k].load_type in ("ai_training", "ai_inference") else float("nan"))
                 for k, n in enumerate(names)}

    # system view
    e_total_mwh = float(energy.sum())
    extra_cost_usd = (lp.system_cost_usd - baseline.system_cost_usd) / H
    ce_plan = extra_cost_usd * fig.pkr_per_usd / (e_total_mwh * 1000.0) if e_total_mwh > 0 else float("nan")
    ke = np.array([r in ke_regions for r in x.regions])
    sales_pkr = bill * fig.pkr_per_usd  # (R, K) PKR/yr  (USD/yr x PKR/USD)
    nat = pool_impact(sales_pkr[~ke].sum(), energy[~ke].sum() * 1000.0, ce_plan, fig, fig.units_sold_kwh)
    ke_imp = pool_impact(sales_pkr[ke].sum(), energy[ke].sum() * 1000.0, ce_plan, fig, fig.ke_units_sold_kwh)
    nat_ref = pool_impact(sales_pkr[~ke].sum(), energy[~ke].sum() * 1000.0, fig.energy_reference_pkr_per_kwh, fig,
                          fig.units_sold_kwh)
    ke_ref = pool_impact(sales_pkr[ke].sum(), energy[ke].sum() * 1000.0, fig.energy_reference_pkr_per_kwh, fig,
                         fig.ke_units_sold_kwh)
    contribution = nat["contribution_pkr"] + ke_imp["contribution_pkr"]
    contribution_ref = nat_ref["contribution_pkr"] + ke_ref["contribution_pkr"]
    avg_price = float(sales_pkr.sum() / (e_total_mwh * 1000.0)) if e_total_mwh > 0 else float("nan")
    full_plan = (ce_plan if e_total_mwh > 0 else fig.energy_reference_pkr_per_kwh) + fig.network_pkr_per_kwh \
        + fig.capacity_share_pkr_per_kwh
    full_ref = fig.energy_reference_pkr_per_kwh + fig.network_pkr_per_kwh + fig.capacity_share_pkr_per_kwh
    imported = float("nan")
    if gen_fuel is not None and len(gen_fuel) == sol.dispatch.shape[1]:
        imp = np.isin(np.asarray(gen_fuel), IMPORTED_FUELS)
        d = (sol.dispatch - baseline.dispatch_mw)[:, imp]
        imported = float(np.einsum("t,tg,g->", w, d, x.cost_usd_per_mwh[imp]) / H)
    sited_npv = npv[cap > 1e-6]
    return DealPoint(
        design=design.kind.value, level=design.level, level_units=design.level_units,
        floor_pkr_per_kwh=design.floor_pkr_per_kwh,
        mw_by_type=by_type(mw_t),
        mw_by_region={r: {n: float(cap[i, k]) for k, n in enumerate(names) if cap[i, k] > 1e-6}
                      for i, r in enumerate(x.regions) if (cap[i] > 1e-6).any()},
        energy_mwh_per_year_by_type=by_type(e_t),
        hours_run_by_type={n: (float(e_t[k] / mw_t[k]) if mw_t[k] > 0 else 0.0) for k, n in enumerate(names)},
        hours_curtailed_by_type={n: (float((cut_h[:, k] * cap[:, k]).sum() / mw_t[k]) if mw_t[k] > 0 else 0.0)
                                 for k, n in enumerate(names)},
        npv_usd_by_type=by_type(npv.sum(axis=0)), irr_per_year_by_type=irr,
        value_usd_per_mwh_by_type={e.name: e.value_usd_per_mwh for e in econ},
        price_paid_pkr_per_kwh_by_type=by_type(avg_paid_type * to_pkr_kwh),
        max_price_for_npv0_pkr_per_kwh_by_type=by_type(be_usd * pkr_per_usd_kwh),
        rental_breakeven_usd_per_gpu_hour_by_type=rental_be,
        total_mw=float(mw_t.sum()), energy_mwh_per_year=e_total_mwh, sales_pkr_per_year=float(sales_pkr.sum()),
        energy_cost_caused_pkr_per_kwh=ce_plan,
        contribution_pkr_per_year=float(contribution), contribution_reference_basis_pkr_per_year=float(contribution_ref),
        others_change_pkr_per_kwh=float(nat["others_change_pkr_per_kwh"]),
        others_change_reference_basis_pkr_per_kwh=float(nat_ref["others_change_pkr_per_kwh"]),
        ke_contribution_pkr_per_year=float(ke_imp["contribution_pkr"]),
        ke_change_pkr_per_kwh=float(ke_imp["others_change_pkr_per_kwh"]),
        units_sold_kwh=fig.units_sold_kwh, full_cost_pkr_per_kwh=float(full_plan),
        full_cost_reference_basis_pkr_per_kwh=float(full_ref), average_price_pkr_per_kwh=avg_price,
        imf_full_cost_met=bool(e_total_mwh > 0 and avg_price >= full_plan - 1e-9),
        imf_full_cost_met_reference_basis=bool(e_total_mwh > 0 and avg_price >= full_ref - 1e-9),
        imported_fuel_usd_per_year=imported,
        min_npv_usd=float(sited_npv.min()) if sited_npv.size else float("nan"),
        outer_iterations=iterations, dropped_sites=dropped, objective_usd=float(lp.objective_usd))


def _gen_fuel(lp: DesignLP, scenario: Scenario) -> list[str] | None:
    fuel = getattr(lp.x, "gen_fuel", None)
    if fuel is not None:
        return [str(f) for f in fuel]
    if "fuel" in scenario.generators.columns:
        return [str(f) for f in scenario.generators["fuel"].reindex(lp.x.generators)]
    return None


def sweep_design(scenario: Scenario, kind: DesignKind | str, levels: tuple[float, ...], options: DealOptions,
                 baseline: Baseline, progress: Progress | None = None) -> list[DealPoint]:
    """Every level of one design, re-solving one LP from the previous basis."""
    kind = design_kind(kind)
    lp = DesignLP(scenario, kind, options.plan_options())
    econ_map = scenario_economics(scenario.flex_loads, options.valuation)
    econ = [econ_map[n] for n in lp.x.flex]
    fig = impact_figures(scenario, options.ke_regions)
    fuel = _gen_fuel(lp, scenario)
    points = []
    for level in levels:
        design = Design(kind, level, options.floor_pkr_per_kwh if kind is DesignKind.SURPLUS_INDEXED else None)
        if not options.warm_start:
            lp.reset_basis()
        sol, coef, it, dropped = solve_design(lp, design, econ, fig.pkr_per_usd, options.max_outer)
        points.append(evaluate_point(lp, sol, design, coef, econ, baseline, fig, options.ke_regions, it, dropped, fuel))
        if progress:
            progress(f"{kind.value} {level:g}")
    return points


@dataclass(frozen=True)
class DealResult:
    """The deal space: every design's points, the recommendation, the valuation's assumptions."""

    scenario: str
    resolution: str
    points: tuple[DealPoint, ...]
    recommended: DealPoint | None
    economics: tuple[TypeEconomics, ...]
    assumptions: dict[str, Any]
    wall_s: float
    solves: int = 0

    def by_design(self) -> dict[str, list[DealPoint]]:
        out: dict[str, list[DealPoint]] = {}
        for p in self.points:
            out.setdefault(p.design, []).append(p)
        return out

    def revenue_maximising(self) -> dict[str, DealPoint]:
        """Per design, the level at which the utility's sales to the new loads are largest."""
        return {d: max(ps, key=lambda p: p.sales_pkr_per_year) for d, ps in self.by_design().items()}

    def to_frame(self) -> Any:
        import pandas as pd

        rows = []
        for p in self.points:
            row = {"design": p.design, "level": p.level, "level_units": p.level_units, "total_mw": p.total_mw}
            for n, v in p.mw_by_type.items():
                row[f"{n}_mw"] = v
            for n, v in p.npv_usd_by_type.items():
                row[f"{n}_npv_usd"] = v
            for key in ("energy_mwh_per_year", "sales_pkr_per_year", "energy_cost_caused_pkr_per_kwh",
                        "contribution_pkr_per_year", "contribution_reference_basis_pkr_per_year",
                        "others_change_pkr_per_kwh", "others_change_reference_basis_pkr_per_kwh",
                        "ke_contribution_pkr_per_year", "ke_change_pkr_per_kwh", "average_price_pkr_per_kwh",
                        "full_cost_pkr_per_kwh", "imf_full_cost_met", "imf_full_cost_met_reference_basis",
                        "imported_fuel_usd_per_year", "min_npv_usd"):
                row[key] = getattr(p, key)
            rows.append(row)
        return pd.DataFrame(rows)

    def decision(self) -> dict[str, Any]:
        """``summary.json``'s ``decision`` block (issue #12)."""
        return {"assumptions": self.assumptions, "designs": [p.summary() for p in self.points],
                "recommended": None if self.recommended is None else self.recommended.summary(),
                "resolution": self.resolution}


def recommend(points: list[DealPoint] | tuple[DealPoint, ...]) -> DealPoint | None:
    """The best point: one that brings MW and lowers others' tariffs, IMF full-cost test first,
    then the largest contribution; None when no design works."""
    ok = [p for p in points if p.works]
    if not ok:
        return None
    return max(ok, key=lambda p: (p.imf_full_cost_met, p.contribution_pkr_per_year))


def assumptions_of(scenario: Scenario, econ: list[TypeEconomics], fig: ImpactFigures,
                   options: DealOptions) -> dict[str, Any]:
    """Every input of the valuation and the tariff arithmetic, named with units."""
    out: dict[str, Any] = {"pkr_per_usd": fig.pkr_per_usd, "resolution_h": options.resolution_h,
                           "programme_cap_mw": options.programme_cap_mw or scenario.config.programme_cap_mw}
    for e in econ:
        out[e.name] = {"load_type": e.load_type, "source": e.source, "value_usd_per_mwh": e.value_usd_per_mwh,
                       "first_year_value_usd_per_mwh": e.first_year_value_usd_per_mwh,
                       "fixed_cost_usd_per_mw_year": e.fixed_cost_usd_per_mw_year,
                       "capex_usd_per_mw": e.capex_usd_per_mw, "annuity_years": e.annuity_years,
                       "horizon_years": e.horizon_years, **e.inputs}
    out["tariff"] = fig.to_dict()
    out["floor_pkr_per_kwh"] = options.floor_pkr_per_kwh
    return out


def run_deal(scenario: Scenario, options: DealOptions = DealOptions(), *, client: Any | None = None,
             progress: Progress | None = None) -> DealResult:
    """Sweep every design's levels (one task per design on the Dask ``client`` when given)."""
    if not len(scenario.flex_loads):
        raise InputError(f"scenario {scenario.name!r} has no flexible-load types (flex_loads.csv): nothing to price")
    t0 = time.perf_counter()
    levels = options.design_levels()
    econ_map = scenario_economics(scenario.flex_loads, options.valuation)
    baseline = _solve_baseline(scenario, options.plan_options())
    points: list[DealPoint] = []
    if client is None:
        for kind, lv in levels.items():
            points += sweep_design(scenario, kind, lv, options, baseline, progress)
    else:
        futures = [client.submit(sweep_design, scenario, kind, lv, options, baseline, pure=False)
                   for kind, lv in levels.items()]
        for f in futures:
            points += f.result()
    fig = impact_figures(scenario, options.ke_regions)
    from offtake.plan.inputs import prepare

    res = prepare(scenario, options.plan_options()).resolution
    econ = [econ_map[str(n)] for n in scenario.flex_loads.index]
    return DealResult(scenario=scenario.name, resolution=res, points=tuple(points), recommended=recommend(points),
                      economics=tuple(econ), assumptions=assumptions_of(scenario, econ, fig, options),
                      wall_s=time.perf_counter() - t0)


def plan_under_design(scenario: Scenario, design: Design, options: DealOptions = DealOptions()) -> tuple[Any, DealPoint]:
    """A full plan result (with its baseline) of one design and level, and its deal point."""
    from offtake.plan.check import check_solution
    from offtake.plan.result import make_result
    from offtake.plan.solve import SolveStatus

    t0 = time.perf_counter()
    popts = options.plan_options()
    baseline = _solve_baseline(scenario, popts)
    lp = DesignLP(scenario, design.kind, popts)
    econ_map = scenario_economics(scenario.flex_loads, options.valuation)
    econ = [econ_map[n] for n in lp.x.flex]
    fig = impact_figures(scenario, options.ke_regions)
    sol, coef, it, dropped = solve_design(lp, design, econ, fig.pkr_per_usd, options.max_outer)
    if not options.allow_unserved:
        from offtake.plan.run import check_unserved

        check_unserved(lp.x, sol)
    check_solution(lp.x, sol)
    point = evaluate_point(lp, sol, design, coef, econ, baseline, fig, options.ke_regions, it, dropped,
                           _gen_fuel(lp, scenario))
    gens = scenario.generators[["region", "technology", "capacity_mw", "marginal_cost_usd_per_mwh"]].copy()
    timings = {"solve_s": lp.solve_s, "total_s": time.perf_counter() - t0}
    result = make_result(lp.x, sol, SolveStatus.OPTIMAL, lp.objective_usd, gens, baseline.solution, timings, (), {},
                         baseline.system_cost_usd)
    return result, point


__all__ = ["Baseline", "DealOptions", "DealPoint", "DealResult", "DesignLP", "evaluate_point", "plan_under_design",
           "recommend", "run_deal", "solve_design", "sweep_design"]
