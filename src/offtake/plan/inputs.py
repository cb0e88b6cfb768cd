"""Plain numpy arrays of one planning problem, prepared once from a scenario.

The linopy model (model.py), the PyPSA export (pypsa_io.py), the numpy check
(check.py) and the diagnosis (diagnose.py) all read the same :class:`PlanInputs`, so
the four describe the same problem by construction.

Time resolution is applied here: ``resolution_h`` averages consecutive hours inside a
day (weight = hours per snapshot); ``days`` picks representative days month by month
(the month's days ranked by total demand and split into equal groups, the medoid of each
group in the demand and availability profiles kept, weight =
cluster size x 1 h).  Every MWh term of the model multiplies by ``weight_h``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from offtake.errors import InputError
from offtake.scenario.schema import FlexKind, Scenario

HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class PlanOptions:
    """How to plan.

    - ``resolution_h``: hours averaged into one snapshot (1 = full hourly; must divide 24).
    - ``days``: if set, representative days instead (a multiple of 12: days per month x 12).
    - ``programme_cap_mw``: national cap on flexible MW; ``None`` uses the scenario's.
    - ``min_site``: enforce ``min_site_mw`` (LP, then sites below it rounded to 0 or the
      minimum and re-solved).
    - ``baseline``: also solve without flexible loads (for extra generation and utilisation).
    - ``solver_options``: passed to HiGHS.
    """

    resolution_h: int = 1
    days: int | None = None
    programme_cap_mw: float | None = None
    min_site: bool = True
    baseline: bool = True
    check: bool = True
    io_api: str = "direct"
    solver_options: dict[str, object] = field(default_factory=dict)
    # (region, flex) -> (lower_mw, upper_mw) overrides, used by min-site rounding
    capacity_bounds_mw: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    no_flex: bool = False
    valuation: object | None = None  # offtake.economics.valuation.ValuationAssumptions (None: defaults)
    allow_unserved: bool = False  # False: unserved household demand in the plan is an UnservedError (exit 2)


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """Arrays of one problem.  Shapes: T snapshots, R regions, G generators, L lines, K flex types."""

    scenario_name: str
    snapshots: pd.DatetimeIndex  # (T,) tz-aware start of each snapshot
    weight_h: np.ndarray  # (T,) hours each snapshot stands for
    month: np.ndarray  # (T,) 1..12
    regions: list[str]
    demand_mw: np.ndarray  # (T, R)
    generators: list[str]
    gen_region: np.ndarray  # (G,) region index
    gen_technology: list[str]
    capacity_mw: np.ndarray  # (G,)
    avail_mw: np.ndarray  # (T, G) upper bound of dispatch (profile or outage rate, times monthly availability)
    min_mw: np.ndarray  # (T, G) must-run lower bound
    cost_usd_per_mwh: np.ndarray  # (G,)
    gen_fuel: list[str]  # (G,) fuel vocabulary of schema.Fuel
    budgets: list[str]  # (B,) energy budget names
    gen_budget: np.ndarray  # (G,) index into ``budgets``, -1 = no budget
    budget_max_mwh: np.ndarray  # (B, 12) most energy per calendar month [MWh], inf = no limit
    budget_min_mwh: np.ndarray  # (B, 12) least energy per month [MWh]
    top_mwh: np.ndarray  # (B, 12) take-or-pay contracted energy per month [MWh]
    top_usd_per_mwh: np.ndarray  # (B, 12) take-or-pay contract price, paid whether taken or not [USD/MWh]
    lines: list[str]
    line_from: np.ndarray  # (L,) region index
    line_to: np.ndarray  # (L,)
    cap_forward_mw: np.ndarray  # (L,)
    cap_backward_mw: np.ndarray  # (L,)
    efficiency: np.ndarray  # (L,) 1 - loss_pu
    reserve_margin: float
    reserve_limit_mw: np.ndarray  # (T, R) max total dispatch of a region's own generators
    voll_usd_per_mwh: float
    flex: list[str]
    flex_kind: list[FlexKind]
    value_usd_per_mwh: np.ndarray  # (K,)
    capex_usd_per_mw_year: np.ndarray  # (K,)
    backup_usd_per_mwh: np.ndarray  # (K,)
    max_off_share: np.ndarray  # (K,)
    window_h: np.ndarray  # (K,)
    min_site_mw: np.ndarray  # (K,)
    cap_lower_mw: np.ndarray  # (R, K)
    cap_upper_mw: np.ndarray  # (R, K); 0 where a type may not be sited
    programme_cap_mw: float | None
    window_id: np.ndarray  # (K, T) index of the deferral window each snapshot falls in
    resolution: str = "1h"

    @property
    def horizon_years(self) -> float:
        """Years the snapshots stand for (sum of weights / 8760 h); scales annualised capex."""
        return float(self.weight_h.sum()) / HOURS_PER_YEAR

    @property
    def budget_members(self) -> list[np.ndarray]:
        """Generator indices of each budget."""
        return [np.flatnonzero(self.gen_budget == b) for b in range(len(self.budgets))]

    @property
    def months_present(self) -> np.ndarray:
        """Calendar months (1..12) that have at least one snapshot."""
        return np.unique(self.month)

    def budget_energy_mwh(self, dispatch: np.ndarray) -> np.ndarray:
        """(B, 12) energy each budget's members produce per calendar month [MWh] for a (T, G) dispatch."""
        out = np.zeros((len(self.budgets), 12))
        if not len(self.budgets):
            return out
        e = dispatch * self.weight_h[:, None]  # (T, G) MWh
        by_month = np.zeros((12, dispatch.shape[1]))
        np.add.at(by_month, self.month - 1, e)
        has = self.gen_budget >= 0
        np.add.at(out, self.gen_budget[has], by_month[:, has].T)
        return out

    @property
    def allowed(self) -> np.ndarray:
        """(R, K) True where a flexible type may be sited."""
        return self.cap_upper_mw > 0

    @property
    def is_firm(self) -> np.ndarray:
        return np.array([k == FlexKind.FIRM for k in self.flex_kind])

    @property
    def is_deferrable(self) -> np.ndarray:
        return np.array([k == FlexKind.DEFERRABLE for k in self.flex_kind])


def available_mw(s: Scenario) -> np.ndarray:
    """(T, G) hourly power each generator can give [MW]: capacity x profile (or x (1 - forced
    outage rate)) x the month's availability (availability.csv)."""
    gens = s.generators
    cap = gens["capacity_mw"].to_numpy(float)
    T = len(s.snapshots)
    avail = np.broadcast_to(cap * (1.0 - gens["forced_outage_rate"].to_numpy(float)), (T, len(cap))).copy()
    prof = gens["profile"].fillna("").astype(str).to_numpy()
    has = prof != ""
    if has.any():
        missing = sorted(set(prof[has]) - set(s.profiles_pu.columns))
        if missing:
            raise InputError(f"generators.csv names unknown profiles: {', '.join(missing)}")
        avail[:, has] = s.profiles_pu[list(prof[has])].to_numpy(float) * cap[has]
    table = s.availability_table().to_numpy(float)  # (G, 12)
    if (table < 1.0).any():
        snaps = s.snapshots
        local = snaps.tz_convert(s.config.timezone) if snaps.tz is not None else snaps
        avail *= table[:, np.asarray(local.month) - 1].T
    return avail


def _hourly_arrays(s: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gens = s.generators
    avail = available_mw(s)
    minrun = avail * gens["min_output_pu"].to_numpy(float)
    return s.demand_mw[s.region_names].to_numpy(float), avail, minrun


def _aggregate(s: Scenario, options: PlanOptions, arrays: list[np.ndarray]) -> tuple[pd.DatetimeIndex, np.ndarray, list[np.ndarray], str]:
    snaps = s.snapshots
    T = len(snaps)
    if options.days is not None:
        return _representative_days(s, options.days, arrays)
    r = int(options.resolution_h)
    if r < 1 or 24 % r:
        raise InputError(f"resolution must divide 24 hours (got {r}h; use 1, 2, 3, 4, 6, 8, 12 or 24)")
    if r == 1:
        return snaps, np.ones(T), arrays, "1h"
    local = snaps.tz_convert(s.config.timezone) if snaps.tz is not None else snaps
    day = local.normalize()
    # group = (day, hour // r): blocks never cross a day or a month
    day_no = pd.factorize(day)[0]
    key = pd.factorize(pd.Index(day_no * 24 + np.asarray(local.hour) // r))[0]
    n = key.max() + 1
    weight = np.bincount(key, minlength=n).astype(float)
    first = np.full(n, T, dtype=int)
    np.minimum.at(first, key, np.arange(T))
    out = []
    for a in arrays:
        acc = np.zeros((n,) + a.shape[1:])
        np.add.at(acc, key, a)
        out.append(acc / weight.reshape((-1,) + (1,) * (a.ndim - 1)))
    return snaps[first], weight, out, f"{r}h"


def _representative_days(s: Scenario, days: int, arrays: list[np.ndarray]) -> tuple[pd.DatetimeIndex, np.ndarray, list[np.ndarray], str]:
    if days < 12 or days % 12:
        raise InputError(f"--days must be a multiple of 12 (days per month x 12), got {days}")
    per_month = days // 12
    snaps = s.snapshots
    local = snaps.tz_convert(s.config.timezone) if snaps.tz is not None else snaps
    day = local.normalize()
    day_idx, uday = pd.factorize(day)
    if (np.diff(day_idx) < 0).any():
        raise InputError("representative days need snapshots in time order")
    counts = np.bincount(day_idx)
    full = np.flatnonzero(counts == 24)
    if len(full) != len(uday):
        raise InputError("representative days need whole days of 24 hourly snapshots")
    # feature per day: demand (T,R) and availability (T,G), normalised per column
    feat_h = np.hstack([a.reshape(len(snaps), -1) for a in arrays[:2]])
    scale = feat_h.std(axis=0)
    feat_h = feat_h / np.where(scale > 0, scale, 1.0)
    feat = feat_h.reshape(len(uday), 24 * feat_h.shape[1])
    month_of_day = np.asarray(local.month)[np.searchsorted(day_idx, np.arange(len(uday)))]
    feat_sum = arrays[0].reshape(len(uday), -1).sum(axis=1)  # daily total demand [MWh]
    picked: list[int] = []
    weights: list[float] = []
    for mth in np.unique(month_of_day):
        ds = np.flatnonzero(month_of_day == mth)
        k = min(per_month, len(ds))
        # k groups of days ranked by daily total demand (never empty, deterministic), then the
        # medoid of each group in the full feature space stands for it (weight = group size)
        ranked = ds[np.argsort(feat_sum[ds], kind="stable")]
        for members in np.array_split(ranked, k):
            centroid = feat[members].mean(axis=0)
            dist = ((feat[members] - centroid) ** 2).sum(axis=1)
            picked.append(int(members[np.argmin(dist)]))
            weights.append(float(len(members)))
    order = np.argsort(picked)
    picked_a = np.asarray(picked)[order]
    w_day = np.asarray(weights)[order]
    rows = (picked_a[:, None] * 24 + np.arange(24)[None, :]).ravel()
    return snaps[rows], np.repeat(w_day, 24), [a[rows] for a in arrays], f"{days} days"


def _budget_arrays(s: Scenario) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Budget names, (G,) budget index per generator, and (B, 12) max / min / take-or-pay / price arrays."""
    gens = s.generators
    col = gens["budget"].fillna("").astype(str).to_numpy() if "budget" in gens else np.full(len(gens), "")
    names = list(dict.fromkeys(c for c in col if c))
    pos = {b: i for i, b in enumerate(names)}
    gen_budget = np.array([pos.get(c, -1) for c in col], dtype=int)
    B = len(names)
    bmax = np.full((B, 12), np.inf)
    bmin, btop, bprice = np.zeros((B, 12)), np.zeros((B, 12)), np.zeros((B, 12))
    eb = s.energy_budgets
    if B and len(eb):
        keys = eb.index.get_level_values("budget").astype(str)
        sel = keys.isin(names)
        rows = eb[sel]
        bi = np.array([pos[k] for k in keys[sel]], dtype=int)
        mi = rows.index.get_level_values("month").to_numpy(int) - 1
        mx = rows["max_mwh"].to_numpy(float)
        bmax[bi, mi] = np.where(np.isnan(mx), np.inf, mx)
        bmin[bi, mi] = rows["min_mwh"].fillna(0.0).to_numpy(float)
        btop[bi, mi] = rows["take_or_pay_mwh"].fillna(0.0).to_numpy(float)
        bprice[bi, mi] = rows["take_or_pay_usd_per_mwh"].fillna(0.0).to_numpy(float)
    return names, gen_budget, bmax, bmin, btop, bprice


def _flex_value_cost(fl: pd.DataFrame, options: PlanOptions) -> tuple[np.ndarray, np.ndarray]:
    """(value per MWh, yearly cost per MW) of each flexible type [USD]: the lifetime-levelised
    valuation of :mod:`offtake.economics.valuation` (the investor's own figures), or the row's
    override figures (owned by DECISION, #12)."""
    if not len(fl):
        return np.zeros(0), np.zeros(0)
    from offtake.economics.valuation import ValuationAssumptions, scenario_economics

    econ = scenario_economics(fl, options.valuation or ValuationAssumptions())
    return (np.array([e.value_usd_per_mwh for e in econ.values()], float),
            np.array([e.fixed_cost_usd_per_mw_year for e in econ.values()], float))


def prepare(s: Scenario, options: PlanOptions | None = None) -> PlanInputs:
    """Turn a scenario into the arrays of one planning problem (see :class:`PlanInputs`)."""
    options = options or PlanOptions()
    demand, avail, minrun = _hourly_arrays(s)
    snaps, weight, (demand, avail, minrun), res = _aggregate(s, options, [demand, avail, minrun])
    regions = s.region_names
    rpos = {r: i for i, r in enumerate(regions)}
    gens = s.generators
    gen_region = gens["region"].map(rpos).to_numpy(int)
    local = snaps.tz_convert(s.config.timezone) if snaps.tz is not None else snaps
    month = np.asarray(local.month, dtype=int)

    budget_names, gen_budget, bmax, bmin, btop, bprice = _budget_arrays(s)

    R = len(regions)
    gen_sum = np.zeros((len(snaps), R))
    np.add.at(gen_sum.T, gen_region, avail.T)
    has_gen = np.bincount(gen_region, minlength=R) > 0
    reserve = float(s.config.reserve_margin)
    reserve_limit = np.where(has_gen, np.maximum(gen_sum - reserve * demand, 0.0), 0.0)

    fl = s.flex_loads
    K = len(fl)
    upper = np.zeros((R, K))
    lower = np.zeros((R, K))
    for k, (name, row) in enumerate(fl.iterrows()):
        names = str(row.get("regions", "") or "").split()
        unknown = [r for r in names if r not in rpos]
        if unknown:
            raise InputError(f"flex_loads.csv, type {name!r}: unknown regions {', '.join(unknown)}")
        idx = [rpos[r] for r in names] if names else list(range(R))
        upper[idx, k] = float(row["max_mw_per_region"])
    if options.no_flex:
        upper[:] = 0.0
    flex = list(fl.index)
    for (reg, fx), (lo, hi) in options.capacity_bounds_mw.items():
        if reg in rpos and fx in flex:
            i, k = rpos[reg], flex.index(fx)
            lower[i, k] = min(lo, upper[i, k])
            upper[i, k] = min(hi, upper[i, k])

    starts = np.concatenate([[0.0], np.cumsum(weight)[:-1]])
    window_h = fl["window_h"].to_numpy(int) if K else np.zeros(0, int)
    window_id = (starts[None, :] // np.maximum(window_h, 1)[:, None]).astype(int) if K else np.zeros((0, len(snaps)), int)

    lines = s.lines
    cap = options.programme_cap_mw if options.programme_cap_mw is not None else s.config.programme_cap_mw
    return PlanInputs(
        scenario_name=s.name, snapshots=pd.DatetimeIndex(snaps), weight_h=np.asarray(weight, float), month=month,
        regions=regions, demand_mw=demand, generators=list(gens.index), gen_region=gen_region,
        gen_technology=list(gens["technology"].astype(str)), capacity_mw=gens["capacity_mw"].to_numpy(float),
        avail_mw=avail, min_mw=minrun, cost_usd_per_mwh=gens["marginal_cost_usd_per_mwh"].to_numpy(float),
        gen_fuel=list(gens["fuel"].astype(str)), budgets=budget_names, gen_budget=gen_budget,
        budget_max_mwh=bmax, budget_min_mwh=bmin, top_mwh=btop, top_usd_per_mwh=bprice, lines=list(lines.index),
        line_from=lines["from_region"].map(rpos).to_numpy(int), line_to=lines["to_region"].map(rpos).to_numpy(int),
        cap_forward_mw=lines["capacity_forward_mw"].to_numpy(float),
        cap_backward_mw=lines["capacity_backward_mw"].to_numpy(float),
        efficiency=1.0 - lines["loss_pu"].to_numpy(float), reserve_margin=reserve, reserve_limit_mw=reserve_limit,
        voll_usd_per_mwh=float(s.config.value_of_lost_load_usd_per_mwh), flex=flex,
        flex_kind=[FlexKind(k) for k in fl["kind"]] if K else [],
        value_usd_per_mwh=_flex_value_cost(fl, options)[0],
        capex_usd_per_mw_year=_flex_value_cost(fl, options)[1],
        backup_usd_per_mwh=fl["backup_cost_usd_per_mwh"].to_numpy(float) if K else np.zeros(0),
        max_off_share=fl["max_off_share"].to_numpy(float) if K else np.zeros(0),
        window_h=window_h, min_site_mw=fl["min_site_mw"].to_numpy(float) if K else np.zeros(0),
        cap_lower_mw=lower, cap_upper_mw=upper, programme_cap_mw=None if cap is None else float(cap),
        window_id=window_id, resolution=res,
    )


__all__ = ["HOURS_PER_YEAR", "PlanInputs", "PlanOptions", "available_mw", "prepare"]
