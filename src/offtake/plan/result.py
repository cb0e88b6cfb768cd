"""The immutable result of a plan, and the arrays read back from a solved model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import linopy
import numpy as np
import pandas as pd

from offtake.plan.inputs import PlanInputs
from offtake.plan.solve import SolveStatus
from offtake.scenario.schema import FUELS, ZERO_FUEL_COST

TOL_MW = 1e-6


@dataclass(frozen=True, eq=False)
class Solution:
    """Raw solution arrays [MW] in the shapes of :class:`PlanInputs` (T, G, L, R, K)."""

    dispatch: np.ndarray  # (T, G)
    flow_forward: np.ndarray  # (T, L) sent into each corridor, forward direction
    flow_backward: np.ndarray  # (T, L)
    unserved: np.ndarray  # (T, R)
    flex_p: np.ndarray  # (T, R, K) grid draw
    backup: np.ndarray  # (T, R, K) firm loads served by backup
    capacity: np.ndarray  # (R, K)
    dual_balance: np.ndarray  # (T, R) dual of Bus-nodal_balance [USD per MW of snapshot]
    top_taken: np.ndarray = field(default_factory=lambda: np.zeros((0, 12)))  # (B, 12) take-or-pay MWh counted as taken


def read_solution(m: linopy.Model, x: PlanInputs) -> Solution:
    """Pull solution arrays out of a solved model (absent slots become 0)."""
    T, R, K, L = len(x.snapshots), len(x.regions), len(x.flex), len(x.lines)

    def get(name: str, shape: tuple[int, ...], dims: tuple[str, ...]) -> np.ndarray:
        if name not in m.variables:
            return np.zeros(shape)
        return np.nan_to_num(m.solution[name].transpose(*dims).to_numpy(), nan=0.0)

    flows = get("Line-p", (T, L, 2), ("snapshot", "line", "direction"))
    top = np.zeros((len(x.budgets), 12))
    if "Budget-top" in m.variables:
        sol = m.solution["Budget-top"].transpose("budget", "month")
        top[:, sol["month"].to_numpy().astype(int) - 1] = np.nan_to_num(sol.to_numpy(), nan=0.0)
    return Solution(
        dispatch=get("Generator-p", (T, len(x.generators)), ("snapshot", "generator")),
        flow_forward=flows[:, :, 0], flow_backward=flows[:, :, 1],
        unserved=get("Bus-unserved", (T, R), ("snapshot", "region")),
        flex_p=get("Flex-p", (T, R, K), ("snapshot", "region", "flex")),
        backup=get("Flex-backup", (T, R, K), ("snapshot", "region", "flex")),
        capacity=get("Flex-capacity", (R, K), ("region", "flex")),
        dual_balance=np.nan_to_num(m.dual["Bus-nodal_balance"].transpose("snapshot", "region").to_numpy(), nan=0.0)
        if "Bus-nodal_balance" in m.dual else np.full((T, R), np.nan),
        top_taken=top,
    )


@dataclass(frozen=True, eq=False)
class PlanResult:
    """A solved plan.  All tables are pandas objects; treat them as read-only.

    - ``capacity_mw``: region x flex type, MW sited.
    - ``consumption_mw``: snapshot x (region, flex) grid power drawn [MW].
    - ``backup_mw``: snapshot x (region, flex) firm load served by backup [MW].
    - ``dispatch_mw`` / ``baseline_dispatch_mw``: snapshot x generator [MW], with and
      without flexible loads (baseline ``None`` if not solved).
    - ``flow_mw``: snapshot x line, net MW sent forward (negative = backward).
    - ``price_usd_per_mwh``: snapshot x region, dual of the nodal balance.
    - ``unserved_mw``: snapshot x region, household demand not served.
    - ``weight_h``: hours each snapshot stands for.
    - ``available_mw``: snapshot x generator, what each fleet could give [MW] (profile or outage
      rate, times the month's availability): the upper bound of dispatch, same with or without flex.
    - ``generators``: per generator region, technology, fuel, capacity_mw, marginal_cost_usd_per_mwh,
      budget, take_or_pay_usd_per_mwh (contract price of its budget, mean over months; 0 if none).
    - ``budgets``: per (budget, month) max_mwh, min_mwh, take_or_pay_mwh, take_or_pay_usd_per_mwh and,
      for the plan and the baseline, used_mwh and top_taken_mwh (take-or-pay energy counted as taken).
    - ``objective_usd``: minimised objective, same sign and value as PyPSA's
      ``n.objective`` for the exported network (negative = net value created).
    """

    scenario_name: str
    resolution: str
    status: SolveStatus
    objective_usd: float
    capacity_mw: pd.DataFrame
    consumption_mw: pd.DataFrame
    backup_mw: pd.DataFrame
    dispatch_mw: pd.DataFrame
    baseline_dispatch_mw: pd.DataFrame | None
    flow_mw: pd.DataFrame
    price_usd_per_mwh: pd.DataFrame
    unserved_mw: pd.DataFrame
    weight_h: pd.Series
    generators: pd.DataFrame  # technology, region, capacity_mw, marginal_cost_usd_per_mwh
    flex_kind: dict[str, str]
    timings_s: dict[str, float]
    rounded_sites: tuple[str, ...] = ()
    capacity_bounds_mw: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    baseline_objective_usd: float = float("nan")
    available_mw: pd.DataFrame | None = None
    budgets: pd.DataFrame | None = None
    snapshot_month: pd.Series | None = None  # calendar month (1..12, scenario time zone) of each snapshot

    @property
    def horizon_years(self) -> float:
        return float(self.weight_h.sum()) / 8760.0

    @property
    def net_value_usd_per_year(self) -> float:
        """Value created by the flexible loads [USD/yr]: baseline objective minus plan objective
        (value of flexible energy minus extra generation, backup and capex cost); NaN without baseline."""
        return (self.baseline_objective_usd - self.objective_usd) / self.horizon_years

    @property
    def unserved_mwh(self) -> float:
        """Household energy not served over the horizon [MWh] (zero when servable)."""
        return float((self.unserved_mw.mul(self.weight_h, axis=0)).to_numpy().sum())

    def flex_summary(self) -> pd.DataFrame:
        """Per (region, flex type) with capacity > 0: MW, MWh/yr drawn, curtailed hours/yr, uptime share.

        A curtailed hour is one where grid draw is below capacity (by more than 1e-6 MW);
        for firm loads, the hours served by backup.  ``uptime_share`` = grid energy /
        (capacity x hours); ``curtailment_rate`` = 1 - uptime_share.
        """
        rows = []
        w = self.weight_h.to_numpy()
        years = self.horizon_years
        for (reg, fx), mw in self.capacity_mw.stack().items():
            if mw <= TOL_MW:
                continue
            p = self.consumption_mw[(reg, fx)].to_numpy()
            curtailed = p < mw - 1e-6 * max(1.0, mw)
            energy = float((p * w).sum())
            uptime = energy / (mw * w.sum())
            rows.append({"region": reg, "flex": fx, "kind": self.flex_kind[fx], "capacity_mw": float(mw),
                         "energy_mwh_per_year": energy / years,
                         "curtailed_hours_per_year": float(w[curtailed].sum()) / years,
                         "uptime_share": uptime, "curtailment_rate": 1.0 - uptime})
        cols = ["region", "flex", "kind", "capacity_mw", "energy_mwh_per_year", "curtailed_hours_per_year",
                "uptime_share", "curtailment_rate"]
        return pd.DataFrame(rows, columns=cols)

    def by_type(self) -> pd.DataFrame:
        """Per flex type: total MW, MWh/yr, capacity-weighted curtailed hours/yr and curtailment rate."""
        fs = self.flex_summary()
        if fs.empty:
            return pd.DataFrame(columns=["capacity_mw", "energy_mwh_per_year", "curtailed_hours_per_year",
                                         "curtailment_rate"])
        fs["_wh"] = fs["curtailed_hours_per_year"] * fs["capacity_mw"]
        g = fs.groupby("flex").agg(capacity_mw=("capacity_mw", "sum"), energy_mwh_per_year=("energy_mwh_per_year", "sum"),
                                   _wh=("_wh", "sum"))
        g["curtailed_hours_per_year"] = g["_wh"] / g["capacity_mw"]
        g["curtailment_rate"] = 1.0 - g["energy_mwh_per_year"] / (g["capacity_mw"] * 8760.0)
        return g.drop(columns="_wh")

    def _dispatch(self, baseline: bool) -> pd.DataFrame:
        d = self.baseline_dispatch_mw if baseline else self.dispatch_mw
        if d is None:
            raise ValueError("the baseline (no flexible loads) was not solved; plan with baseline=True")
        return d

    def free_by_generator_mw(self, baseline: bool = True) -> tuple[pd.DataFrame, pd.Series]:
        """Energy that is free to a new load, per snapshot and generator [MW], and its kind per generator.

        Free = available but unused in the dispatch (``baseline=True``: without flexible loads):

        - ``curtailed``: wind and solar fleets, available minus dispatched;
        - ``spilled``: hydro fleets, available minus dispatched; for a hydro fleet in a budget with
          a monthly ``max_mwh`` only the budget left unused in the month counts (what the fleet
          could still give, spread over its snapshots in proportion to its unused power);
        - ``take_or_pay``: other fuels in a budget with a take-or-pay contract: the contracted
          energy not taken in the month, spread the same way over the members' unused power
          (it costs only marginal cost minus the contract price, the rest is paid anyway).

        Returns (snapshot x generator [MW], kind per generator: one of the three or "" = never free).
        """
        d = self._dispatch(baseline)
        if self.available_mw is None or self.budgets is None:
            raise ValueError("this result carries no availability (made by an older make_result)")
        avail = self.available_mw.to_numpy()
        head = np.maximum(avail - d.to_numpy(), 0.0)
        head[head < TOL_MW] = 0.0
        gens = self.generators
        fuel = gens["fuel"].astype(str).to_numpy()
        budget = gens["budget"].fillna("").astype(str).to_numpy()
        month = self.snapshot_month.to_numpy(int) if self.snapshot_month is not None else \
            self.available_mw.index.month.to_numpy()
        w = self.weight_h.to_numpy()
        b = self.budgets
        suffix = "_baseline" if baseline else ""
        free = np.zeros_like(head)
        kind = np.full(len(gens), "", dtype=object)
        zero = np.isin(fuel, list(ZERO_FUEL_COST))
        capped = set(b.index[b["max_mwh"].notna()].get_level_values("budget")) if len(b) else set()
        plain = zero & ~np.isin(budget, list(capped))
        free[:, plain] = head[:, plain]
        kind[plain] = np.where(fuel[plain] == "hydro", "spilled", "curtailed")
        for name, rows in (b.groupby(level="budget", sort=False) if len(b) else []):
            members = np.flatnonzero(budget == name)
            rows = rows.droplevel("budget")
            z = members[zero[members]]
            if name in capped and len(z):  # zero-fuel fleets with an energy budget: unused budget, capped by power
                left = (rows["max_mwh"] - rows[f"used_mwh{suffix}"]).clip(lower=0.0)
                _spread(free, head, w, month, z, left)
                kind[z] = np.where(fuel[z] == "hydro", "spilled", "curtailed")
            nz = members[~zero[members]]
            if len(nz) and (rows["take_or_pay_mwh"] > 0).any():
                left = (rows["take_or_pay_mwh"] - rows[f"top_taken_mwh{suffix}"]).clip(lower=0.0)
                _spread(free, head, w, month, nz, left)
                kind[nz] = "take_or_pay"
        return (pd.DataFrame(free, index=d.index, columns=d.columns),
                pd.Series(kind, index=gens.index, name="free_kind"))

    def free_mw(self, baseline: bool = True) -> pd.DataFrame:
        """Free energy (see :meth:`free_by_generator_mw`) per snapshot and (region, fuel, kind) [MW].

        Only (region, fuel, kind) combinations with at least one eligible generator are columns.
        Energy over the horizon = ``free_mw().mul(weight_h, axis=0).sum()`` [MWh].
        """
        free, kind = self.free_by_generator_mw(baseline)
        gens = self.generators
        keep = kind != ""
        cols = pd.MultiIndex.from_arrays([gens["region"][keep], gens["fuel"][keep], kind[keep]],
                                         names=["region", "fuel", "kind"])
        out = pd.DataFrame(free.loc[:, keep].to_numpy(), index=free.index, columns=cols)
        return out.T.groupby(level=[0, 1, 2], sort=True).sum().T

    def take_or_pay(self, baseline: bool = True) -> pd.DataFrame:
        """Per (budget, month) with a contract: contracted, taken and unused energy [MWh] and the price [USD/MWh]."""
        b = self.budgets
        cols = ["contracted_mwh", "taken_mwh", "unused_mwh", "take_or_pay_usd_per_mwh"]
        if b is None or not len(b) or not (b["take_or_pay_mwh"] > 0).any():
            return pd.DataFrame(columns=cols)
        top = b[b["take_or_pay_mwh"] > 0]
        taken = top["top_taken_mwh_baseline" if baseline else "top_taken_mwh"]
        return pd.DataFrame({"contracted_mwh": top["take_or_pay_mwh"], "taken_mwh": taken,
                             "unused_mwh": (top["take_or_pay_mwh"] - taken).clip(lower=0.0),
                             "take_or_pay_usd_per_mwh": top["take_or_pay_usd_per_mwh"]})

    def fuel_mix(self) -> pd.DataFrame:
        """Generation per fuel of the vocabulary, annualised [MWh/yr]: ``fuel`` (index),
        ``baseline_mwh_per_year`` (no flexible loads; NaN if not solved), ``with_flex_mwh_per_year``.

        Every fuel of :data:`offtake.scenario.schema.FUELS` is a row (0 where the scenario has none).
        Annualised = energy over the snapshots x 8,760 / hours they stand for, at any resolution.
        """
        w = self.weight_h.to_numpy()[:, None]
        years = self.horizon_years
        fuel = self.generators["fuel"].astype(str)

        def per_fuel(d: pd.DataFrame | None) -> pd.Series:
            if d is None:
                return pd.Series(np.nan, index=list(FUELS))
            e = pd.Series((d.to_numpy() * w).sum(axis=0) / years, index=d.columns)
            return e.groupby(fuel.reindex(d.columns)).sum().reindex(list(FUELS), fill_value=0.0)

        out = pd.DataFrame({"baseline_mwh_per_year": per_fuel(self.baseline_dispatch_mw),
                            "with_flex_mwh_per_year": per_fuel(self.dispatch_mw)})
        out.index.name = "fuel"
        return out

    def generation_by_fuel(self) -> pd.DataFrame:
        """Per fuel: MWh/yr and cost USD/yr before and after, the extra, and utilisation.

        Utilisation = energy / (installed MW x 8760 h).  "before" is the baseline plan
        without flexible loads (NaN when the baseline was not solved).
        """
        w = self.weight_h.to_numpy()[:, None]
        years = self.horizon_years
        tech = self.generators["fuel"].astype(str)
        cost = self.generators["marginal_cost_usd_per_mwh"].to_numpy()

        def per_tech(d: pd.DataFrame | None) -> tuple[pd.Series, pd.Series]:
            if d is None:
                nan = pd.Series(np.nan, index=sorted(set(tech)))
                return nan, nan
            e = pd.Series((d.to_numpy() * w).sum(axis=0) / years, index=d.columns)
            return e.groupby(tech).sum(), (e * cost).groupby(tech).sum()

        after_mwh, after_usd = per_tech(self.dispatch_mw)
        before_mwh, before_usd = per_tech(self.baseline_dispatch_mw)
        cap = self.generators["capacity_mw"].groupby(tech).sum()
        out = pd.DataFrame({"capacity_mw": cap, "before_mwh_per_year": before_mwh, "after_mwh_per_year": after_mwh,
                            "extra_mwh_per_year": after_mwh - before_mwh, "before_cost_usd_per_year": before_usd,
                            "after_cost_usd_per_year": after_usd, "extra_cost_usd_per_year": after_usd - before_usd})
        denom = (cap * 8760.0).where(cap > 0)
        out["utilisation_before"] = out["before_mwh_per_year"] / denom
        out["utilisation_after"] = out["after_mwh_per_year"] / denom
        out.index.name = "fuel"
        return out

    @property
    def extra_generation_cost_usd_per_year(self) -> float:
        """System generation cost added by the flexible loads [USD/yr] (NaN without baseline)."""
        return float(self.generation_by_fuel()["extra_cost_usd_per_year"].sum(min_count=1))

    def to_frame(self) -> pd.DataFrame:
        """The per-site table (see :meth:`flex_summary`)."""
        return self.flex_summary()

    def summary(self) -> dict[str, object]:
        gf = self.generation_by_fuel()
        total_cap = float(self.generators["capacity_mw"].sum())
        util = {k: float(gf["after_mwh_per_year" if k == "after" else "before_mwh_per_year"].sum(min_count=1))
                / (total_cap * 8760.0) for k in ("before", "after")}
        return {
            "scenario": self.scenario_name, "resolution": self.resolution, "status": str(self.status),
            "objective": self.objective_usd, "objective_units": "USD over the horizon, minimised (PyPSA n.objective)",
            "baseline_objective": self.baseline_objective_usd,
            "net_value_usd_per_year": self.net_value_usd_per_year,
            "total_flex_mw": float(self.capacity_mw.to_numpy().sum()),
            "capacity_mw": {r: {k: float(v) for k, v in row.items() if v > TOL_MW} for r, row in self.capacity_mw.iterrows()},
            "by_type": json.loads(self.by_type().to_json(orient="index")),
            "unserved_mwh": self.unserved_mwh,
            "extra_generation_cost_usd_per_year": self.extra_generation_cost_usd_per_year,
            "utilisation_before": util["before"], "utilisation_after": util["after"],
            "mean_price_usd_per_mwh": {r: float(np.average(self.price_usd_per_mwh[r], weights=self.weight_h))
                                       for r in self.price_usd_per_mwh.columns},
            "rounded_sites": list(self.rounded_sites), "timings_s": self.timings_s,
            **self._free_summary(),
        }

    def free_table(self) -> pd.DataFrame:
        """Free energy per (region, fuel, kind), MWh/yr, in the baseline (NaN if none) and with flexible loads."""
        cols = ["region", "fuel", "kind", "baseline_mwh_per_year", "with_flex_mwh_per_year"]
        if self.available_mw is None:
            return pd.DataFrame(columns=cols)
        years = self.horizon_years
        parts = {}
        for key, base in (("baseline_mwh_per_year", True), ("with_flex_mwh_per_year", False)):
            if base and self.baseline_dispatch_mw is None:
                continue
            parts[key] = self.free_mw(baseline=base).mul(self.weight_h, axis=0).sum() / years
        if not parts:
            return pd.DataFrame(columns=cols)
        out = pd.DataFrame(parts).reindex(columns=cols[3:])
        out.index.names = ["region", "fuel", "kind"]
        return out.reset_index()

    def _free_summary(self) -> dict[str, object]:
        t = self.free_table()
        if t.empty:
            return {}
        base = "baseline_mwh_per_year" if t["baseline_mwh_per_year"].notna().any() else "with_flex_mwh_per_year"
        top = self.take_or_pay(baseline=base.startswith("baseline"))
        return {"free_mwh_per_year_by_kind": {str(k): float(v) for k, v in t.groupby("kind")[base].sum().items()},
                "free_basis": "baseline (no flexible loads)" if base.startswith("baseline") else "plan",
                "take_or_pay_unused_mwh_per_year": float(top["unused_mwh"].sum()) / self.horizon_years
                if len(top) else 0.0}

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2, allow_nan=True, default=float)


def _spread(free: np.ndarray, head: np.ndarray, w: np.ndarray, month: np.ndarray, cols: np.ndarray,
            left_mwh: pd.Series) -> None:
    """Add each month's ``left_mwh`` to ``free[:, cols]`` in proportion to unused power, never above it."""
    for mth, left in left_mwh.items():
        if left <= 0:
            continue
        sel = month == int(mth)
        h = head[np.ix_(sel, cols)]
        room = float((h * w[sel, None]).sum())
        if room <= 0:
            continue
        free[np.ix_(sel, cols)] += h * min(1.0, float(left) / room)


def _budget_table(x: PlanInputs, sol: Solution, baseline: Solution | None) -> pd.DataFrame:
    present = x.months_present
    idx = pd.MultiIndex.from_product([x.budgets, present], names=["budget", "month"])
    if not len(x.budgets):
        return pd.DataFrame(columns=["max_mwh", "min_mwh", "take_or_pay_mwh", "take_or_pay_usd_per_mwh", "used_mwh",
                                     "top_taken_mwh", "used_mwh_baseline", "top_taken_mwh_baseline"], index=idx)

    def flat(a: np.ndarray) -> np.ndarray:
        return a[:, present - 1].ravel()

    def top(s: Solution | None) -> np.ndarray:
        if s is None or s.top_taken.shape != x.top_mwh.shape:
            return np.full(len(idx), np.nan)
        return flat(s.top_taken)

    out = pd.DataFrame({
        "max_mwh": np.where(np.isfinite(flat(x.budget_max_mwh)), flat(x.budget_max_mwh), np.nan),
        "min_mwh": flat(x.budget_min_mwh), "take_or_pay_mwh": flat(x.top_mwh),
        "take_or_pay_usd_per_mwh": flat(x.top_usd_per_mwh),
        "used_mwh": flat(x.budget_energy_mwh(sol.dispatch)), "top_taken_mwh": top(sol),
        "used_mwh_baseline": flat(x.budget_energy_mwh(baseline.dispatch)) if baseline is not None else np.nan,
        "top_taken_mwh_baseline": top(baseline),
    }, index=idx)
    return out


def make_result(x: PlanInputs, sol: Solution, status: SolveStatus, objective_usd: float, generators: pd.DataFrame,
                baseline: Solution | None, timings_s: dict[str, float], rounded: tuple[str, ...] = (),
                bounds: dict[tuple[str, str], tuple[float, float]] | None = None,
                baseline_objective_usd: float = float("nan")) -> PlanResult:
    idx = x.snapshots
    pairs = pd.MultiIndex.from_product([x.regions, x.flex], names=["region", "flex"])
    T = len(idx)
    gens = generators.reindex(x.generators).copy()
    gens["region"] = np.asarray(x.regions, dtype=object)[x.gen_region]
    gens["fuel"] = x.gen_fuel
    gens["budget"] = [x.budgets[b] if b >= 0 else "" for b in x.gen_budget]
    price = np.zeros(len(x.generators))
    for b, members in enumerate(x.budget_members):
        has = x.top_mwh[b] > 0
        price[members] = float(x.top_usd_per_mwh[b, has].mean()) if has.any() else 0.0
    gens["take_or_pay_usd_per_mwh"] = price
    gens.index.name = "generator"
    return PlanResult(
        scenario_name=x.scenario_name, resolution=x.resolution, status=status, objective_usd=objective_usd,
        capacity_mw=pd.DataFrame(np.maximum(sol.capacity, 0.0) + 0.0, index=pd.Index(x.regions, name="region"),
                                 columns=pd.Index(x.flex, name="flex")),
        consumption_mw=pd.DataFrame(sol.flex_p.reshape(T, -1), index=idx, columns=pairs),
        backup_mw=pd.DataFrame(sol.backup.reshape(T, -1), index=idx, columns=pairs),
        dispatch_mw=pd.DataFrame(sol.dispatch, index=idx, columns=x.generators),
        baseline_dispatch_mw=None if baseline is None else pd.DataFrame(baseline.dispatch, index=idx, columns=x.generators),
        flow_mw=pd.DataFrame(sol.flow_forward - sol.flow_backward, index=idx, columns=x.lines),
        price_usd_per_mwh=pd.DataFrame(sol.dual_balance / x.weight_h[:, None], index=idx, columns=x.regions),
        unserved_mw=pd.DataFrame(sol.unserved, index=idx, columns=x.regions),
        weight_h=pd.Series(x.weight_h, index=idx, name="weight_h"), generators=gens,
        flex_kind={f: str(k) for f, k in zip(x.flex, x.flex_kind)}, timings_s=timings_s, rounded_sites=rounded,
        capacity_bounds_mw=dict(bounds or {}), baseline_objective_usd=baseline_objective_usd,
        available_mw=pd.DataFrame(x.avail_mw, index=idx, columns=x.generators),
        budgets=_budget_table(x, sol, baseline),
        snapshot_month=pd.Series(x.month, index=idx, name="month"),
    )


__all__ = ["PlanResult", "Solution", "make_result", "read_solution"]
