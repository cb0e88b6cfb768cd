"""The immutable result of a plan, and the arrays read back from a solved model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import linopy
import numpy as np
import pandas as pd

from offtake.plan.inputs import PlanInputs
from offtake.plan.solve import SolveStatus

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


def read_solution(m: linopy.Model, x: PlanInputs) -> Solution:
    """Pull solution arrays out of a solved model (absent slots become 0)."""
    T, R, K, L = len(x.snapshots), len(x.regions), len(x.flex), len(x.lines)

    def get(name: str, shape: tuple[int, ...], dims: tuple[str, ...]) -> np.ndarray:
        if name not in m.variables:
            return np.zeros(shape)
        return np.nan_to_num(m.solution[name].transpose(*dims).to_numpy(), nan=0.0)

    flows = get("Line-p", (T, L, 2), ("snapshot", "line", "direction"))
    return Solution(
        dispatch=get("Generator-p", (T, len(x.generators)), ("snapshot", "generator")),
        flow_forward=flows[:, :, 0], flow_backward=flows[:, :, 1],
        unserved=get("Bus-unserved", (T, R), ("snapshot", "region")),
        flex_p=get("Flex-p", (T, R, K), ("snapshot", "region", "flex")),
        backup=get("Flex-backup", (T, R, K), ("snapshot", "region", "flex")),
        capacity=get("Flex-capacity", (R, K), ("region", "flex")),
        dual_balance=np.nan_to_num(m.dual["Bus-nodal_balance"].transpose("snapshot", "region").to_numpy(), nan=0.0)
        if "Bus-nodal_balance" in m.dual else np.full((T, R), np.nan),
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

    def generation_by_fuel(self) -> pd.DataFrame:
        """Per technology: MWh/yr and cost USD/yr before and after, the extra, and utilisation.

        Utilisation = energy / (installed MW x 8760 h).  "before" is the baseline plan
        without flexible loads (NaN when the baseline was not solved).
        """
        w = self.weight_h.to_numpy()[:, None]
        years = self.horizon_years
        tech = self.generators["technology"]
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
        out.index.name = "technology"
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
        }

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2, allow_nan=True, default=float)


def make_result(x: PlanInputs, sol: Solution, status: SolveStatus, objective_usd: float, generators: pd.DataFrame,
                baseline: Solution | None, timings_s: dict[str, float], rounded: tuple[str, ...] = (),
                bounds: dict[tuple[str, str], tuple[float, float]] | None = None,
                baseline_objective_usd: float = float("nan")) -> PlanResult:
    idx = x.snapshots
    pairs = pd.MultiIndex.from_product([x.regions, x.flex], names=["region", "flex"])
    T = len(idx)
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
        weight_h=pd.Series(x.weight_h, index=idx, name="weight_h"), generators=generators,
        flex_kind={f: str(k) for f, k in zip(x.flex, x.flex_kind)}, timings_s=timings_s, rounded_sites=rounded,
        capacity_bounds_mw=dict(bounds or {}), baseline_objective_usd=baseline_objective_usd,
    )


__all__ = ["PlanResult", "Solution", "make_result", "read_solution"]
