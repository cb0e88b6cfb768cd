"""Surplus by cost: what a new load could take in each region and hour, and at what cost.

Method (docs/surplus.md has the derivation and a hand-solved example):

1. **Dispatch units.**  Every generator becomes one unit with its hourly available power
   (capacity x profile or x (1 - forced_outage_rate), x the month's ``available_pu``), its
   must-run floor (``min_output_pu``) and its marginal cost.  A budget's monthly
   ``max_mwh`` / ``min_mwh`` are spread evenly over the calendar month's hours and shared
   by its members pro rata to their available power.  Up to ``take_or_pay_mwh`` a month
   (spread the same way) a member's energy is a separate unit that costs the system only
   ``marginal_cost - take_or_pay_usd_per_mwh``: the contract is paid whether it is used or not.
2. **Baseline.**  The least-cost hourly dispatch that serves households and the reserve
   (``demand x (1 + reserve_margin)``), no new load, over the corridors (transport model,
   each corridor's capacity counted in delivered MW, ``capacity x (1 - loss_pu)``).  Hours
   whose single-bus merit order already fits the corridors (every region set's net import
   within the capacity into it) are solved in closed form; the others by one HiGHS LP.
3. **Bands.**  A unit is *eligible* for band ``b`` when its energy costs at most ``b`` USD/MWh,
   or when it is *free*: zero fuel cost (hydro, wind, solar, :data:`ZERO_FUEL_COST`) in an
   hour its budget does not bind (so what is not used is spilled or curtailed, not saved),
   take-or-pay volume, or any unit with cost <= 0.  A region's supply for band ``b`` is its
   eligible units at full availability plus its other units at their baseline output (they
   may not run more for the new load).  ``s_b = supply - served household demand``.
4. **Deliverable.**  ``hostable[b, t, r]`` = largest new load at region r alone served by
   eligible plant = min over region sets S containing r of ``cap_in(S) + sum_S s_b``
   (max-flow / min-cut, :func:`offtake.network.max_hostable_mw`); ``national[b, t]`` =
   largest total new load anywhere = ``sum_r s_b`` (the baseline's own flows keep every
   household served, so all of it is deliverable to some region).

Bands are cumulative: band 40 is all energy at <= 40 USD/MWh, free energy included.
This equals the load a price-taking consumer bidding ``b`` would draw (tests check it
against that LP); the marginal cost is the plant's, corridor losses are not added.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from offtake.network import cut_capacities
from offtake.scenario.schema import Scenario

DEFAULT_BANDS_USD_PER_MWH: tuple[float, ...] = (0.0, 40.0, 60.0, 80.0, 120.0)
SHORTFALL_PENALTY_USD_PER_MWH = 1e5  # households first: far above any plant's cost
MIN_MW = 1.0  # an hour counts towards hours_per_year when at least this much is available
TOL_MW = 1e-6

try:  # GRID's vocabulary; the set is repeated for scenarios written before it existed
    from offtake.scenario.schema import ZERO_FUEL_COST
except ImportError:  # pragma: no cover - older schema
    ZERO_FUEL_COST = frozenset({"hydro", "wind", "solar"})


@dataclass(frozen=True, eq=False)
class DispatchUnits:
    """Generators as dispatch units (U units, T snapshots)."""

    names: list[str]  # (U,) generator name; take-or-pay parts end in ":take_or_pay"
    generator: np.ndarray  # (U,) generator position in scenario.generators
    region: np.ndarray  # (U,) region position
    cost_usd_per_mwh: np.ndarray  # (U,) marginal cost to the system
    avail_mw: np.ndarray  # (T, U) available power
    min_mw: np.ndarray  # (T, U) must-run floor (<= avail_mw)
    free: np.ndarray  # (T, U) bool: energy left unused is lost (spill, curtailment, take-or-pay)


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for the thin products here (inner size = regions or units), without BLAS:
    multithreaded BLAS on a busy machine was 3-5x slower than this plain loop."""
    return np.einsum("ij,jk->ik", a, b, optimize=False)


def _subset_sums(x: np.ndarray) -> np.ndarray:
    """Sum over each region set S of ``x`` (T, R) -> (2^R - 1, T), sets in the order of
    :func:`offtake.network.cut_capacities` (bit j of ``index + 1`` = region j).  One vector
    add per set: the set's sum is the sum of the set without its lowest region plus that region."""
    T, n = x.shape
    out = np.empty((1 << n, T))
    out[0] = 0.0
    xt = np.ascontiguousarray(x.T)
    for mask in range(1, 1 << n):
        low = mask & -mask
        out[mask] = out[mask ^ low] + xt[low.bit_length() - 1]
    return out[1:]


def _month_hours(snaps: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(month 1..12, hours in that calendar month) per snapshot, in the snapshots' own time zone."""
    return np.asarray(snaps.month, int), np.asarray(snaps.days_in_month, float) * 24.0


def _portion(avail: np.ndarray, group_of: np.ndarray, limit_mw: np.ndarray) -> np.ndarray:
    """Each group member's share of its group's hourly ``limit_mw`` (T, B), pro rata to power.

    ``avail`` (T, G); ``group_of`` (G,) group position, -1 for none (share 0).  A member gets
    ``avail x min(1, limit / group total)``.
    """
    out = np.zeros_like(avail)
    m = group_of >= 0
    if not m.any():
        return out
    onehot = np.zeros((len(group_of), limit_mw.shape[1]))
    onehot[np.flatnonzero(m), group_of[m]] = 1.0
    total = _mm(avail, onehot)  # (T, B)
    k = np.minimum(1.0, limit_mw / np.where(total > 0, total, 1.0))
    out[:, m] = avail[:, m] * k[:, group_of[m]]
    return out


def _budget_arrays(s: Scenario, month: np.ndarray, hours: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Group position of each generator and (T, B) hourly limits [MW] of each budget column."""
    gens = s.generators
    table = getattr(s, "energy_budgets", None)
    if "budget" in gens:
        names = gens["budget"].fillna("").astype(str).to_numpy()
    elif "hydro_budget" in gens:  # the model before energy budgets: one budget per hydro fleet
        names = np.where(gens["hydro_budget"].to_numpy(bool), gens.index.astype(str), "")
        hb = s.hydro_budgets_mwh.stack()
        hb.index.names = ["budget", "month"]
        table = hb.rename("max_mwh").to_frame()
    else:
        names = np.full(len(gens), "")
    budgets = sorted({b for b in names if b})
    pos = {b: i for i, b in enumerate(budgets)}
    group_of = np.array([pos.get(b, -1) for b in names], int)
    cols = {"max_mwh": np.inf, "min_mwh": 0.0, "take_or_pay_mwh": 0.0, "take_or_pay_usd_per_mwh": 0.0}
    per_month = {c: np.full((len(budgets), 12), d) for c, d in cols.items()}
    if table is not None and len(table) and budgets:
        t = table.reset_index()
        t = t[t["budget"].isin(pos)]
        bi, mi = t["budget"].map(pos).to_numpy(int), t["month"].to_numpy(int) - 1
        for c, d in cols.items():
            if c in t:
                v = t[c].to_numpy(float)
                per_month[c][bi, mi] = np.where(np.isnan(v), d, v)
    energy = {"max_mwh", "min_mwh", "take_or_pay_mwh"}  # MWh a month -> MW in each of its hours
    per_hour = {c: v[:, month - 1].T / (hours[:, None] if c in energy else 1.0) for c, v in per_month.items()}
    return group_of, per_hour


def dispatch_units(s: Scenario) -> DispatchUnits:
    """The scenario's generators as dispatch units (see the module docstring, step 1)."""
    gens = s.generators
    snaps = s.snapshots
    month, hours = _month_hours(snaps)
    cap = gens["capacity_mw"].to_numpy(float)
    avail = np.broadcast_to(cap * (1.0 - gens["forced_outage_rate"].to_numpy(float)), (len(snaps), len(gens))).copy()
    prof = gens["profile"].fillna("").astype(str).to_numpy()
    has = prof != ""
    if has.any():
        avail[:, has] = s.profiles_pu[list(prof[has])].to_numpy(float) * cap[has]
    if hasattr(s, "availability_table"):
        avail *= s.availability_table().to_numpy(float)[:, month - 1].T
    must = avail * gens["min_output_pu"].to_numpy(float)

    group_of, lim = _budget_arrays(s, month, hours)
    ing = group_of >= 0
    capped = avail.copy()
    capped[:, ing] = _portion(avail, group_of, lim["max_mwh"])[:, ing]
    binds = np.zeros(avail.shape, bool)
    binds[:, ing] = capped[:, ing] < avail[:, ing] - TOL_MW
    # a budget's monthly minimum: members must produce their share of min_mwh / hours
    must = np.minimum(np.maximum(must, _portion(capped, group_of, lim["min_mwh"])), capped)
    top = _portion(capped, group_of, lim["take_or_pay_mwh"])  # take-or-pay part of each member
    cost = gens["marginal_cost_usd_per_mwh"].to_numpy(float)
    fuel = (gens["fuel"] if "fuel" in gens else gens["technology"]).astype(str).str.lower().to_numpy()
    free = (np.isin(fuel, list(ZERO_FUEL_COST))[None, :] & ~binds) | (cost <= 0)[None, :]

    G = len(gens)
    names = list(map(str, gens.index))
    gen_idx = np.arange(G)
    region = gens["region"].map({r: i for i, r in enumerate(s.region_names)}).to_numpy(int)
    has_top = np.flatnonzero((top > TOL_MW).any(axis=0))
    avail_u, must_u, cost_u, free_u = capped, must, cost, free
    if len(has_top):
        price = lim["take_or_pay_usd_per_mwh"][:, group_of[has_top]]  # (T, n) contract price, paid anyway
        used = top[:, has_top] > TOL_MW
        t_price = np.where(used, price, -np.inf).max(axis=0)
        t_must = np.minimum(must[:, has_top], top[:, has_top])  # must-run output counts against the contract first
        main_must = must.copy()
        main_must[:, has_top] -= t_must
        avail_u = np.hstack([capped - top, top[:, has_top]])
        must_u = np.hstack([main_must, t_must])
        cost_u = np.concatenate([cost, cost[has_top] - t_price])
        free_u = np.hstack([free, np.ones((len(snaps), len(has_top)), bool)])
        names += [f"{names[g]}:take_or_pay" for g in has_top]
        gen_idx = np.concatenate([gen_idx, has_top])
    return DispatchUnits(names=names, generator=gen_idx, region=region[gen_idx], cost_usd_per_mwh=cost_u,
                         avail_mw=avail_u, min_mw=np.minimum(must_u, avail_u), free=free_u)


# --------------------------------------------------------------------------------------------
# baseline dispatch


def _region_onehot(region: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(region), n))
    out[np.arange(len(region)), region] = 1.0
    return out


def _greedy_dispatch(u: DispatchUnits, s: Scenario, need_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-cost transport dispatch of every hour at once, without an LP.

    Generation ``g`` (by region) can be delivered to demand ``D`` over the corridors iff for
    every set S of regions ``g(S) <= D(S) + cap_out(S)`` (Gale's supply-demand theorem,
    capacities in delivered MW).  Those sets form a polymatroid, so the greedy algorithm is
    optimal: must-run output first (what cannot be delivered is dumped: it is produced
    anyway), then each unit in merit order raised by the smallest slack of the sets holding
    its region.  Returns (dispatch (T, U), must-run output dumped (T, R)) [MW] and whether
    each hour's need is fully met.
    """
    names = s.region_names
    n = len(names)
    members, cap_in = cut_capacities(s)
    full = (1 << n) - 1
    masks = np.arange(1, full + 1)
    comp = full ^ masks  # the complement of each set; cap_out(S) = cap_in(complement)
    cap_out = np.where(comp > 0, cap_in[np.maximum(comp, 1) - 1], 0.0)
    slack = _subset_sums(need_mw) + cap_out[:, None]  # (S, T): room left for more generation in S
    T = len(need_mw)
    p = u.min_mw.copy()
    absorbed = np.zeros(T)
    # merit order; at equal cost free units first (their energy is lost if not used, the others' is not)
    order = np.lexsort((~u.free.any(axis=0), u.cost_usd_per_mwh))
    dump = np.zeros((T, n))
    for part, upper in (("must", u.min_mw), ("merit", u.avail_mw - u.min_mw)):
        for k in order:  # a few dozen units; each step vectorised over hours and region sets
            if not upper[:, k].any():
                continue
            holds = members[:, u.region[k]]
            room = np.maximum(slack[holds].min(axis=0), 0.0)
            d = np.minimum(upper[:, k], room)
            if part == "merit":
                p[:, k] += d
            else:  # must-run output that cannot be delivered is dumped where it is produced
                dump[:, u.region[k]] += upper[:, k] - d
            slack[holds] -= d
            absorbed += d
    return p, dump, absorbed >= need_mw.sum(axis=1) - TOL_MW * max(1.0, float(need_mw.max(initial=0.0)))


def solve_hourly_blocks(block: np.ndarray, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                        row_lower: np.ndarray, what: str) -> np.ndarray:
    """Minimise ``cost @ x_h`` for every hour h at once: ``block @ x_h >= row_lower[h]``, bounds per hour.

    ``block`` (rows, cols) is the same for every hour; ``cost`` (cols,) or (H, cols); ``lower``/``upper`` (H, cols),
    ``row_lower`` (H, rows).  One HiGHS LP of H independent blocks (dual simplex, no
    presolve: blocks of a few dozen columns gain nothing from it).  Returns x (H, cols).
    """
    import highspy

    from offtake.errors import SolverError
    from offtake.solver import silence_stdout

    H = len(lower)
    nr, nc = block.shape
    # the block-diagonal matrix in compressed columns, built directly (no scipy import)
    rows_c = [np.flatnonzero(block[:, c]) for c in range(nc)]
    per_col = np.array([len(r) for r in rows_c])
    rows_one = np.concatenate(rows_c)
    vals_one = np.concatenate([block[r, c] for c, r in enumerate(rows_c)])
    index = (rows_one[None, :] + nr * np.arange(H)[:, None]).ravel()
    start = np.concatenate([[0], np.cumsum(np.tile(per_col, H))])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = H * nc, H * nr
    lp.col_cost_ = np.ascontiguousarray(np.broadcast_to(cost, (H, nc)), float).ravel()
    lp.col_lower_, lp.col_upper_ = np.ascontiguousarray(lower, float).ravel(), np.ascontiguousarray(upper, float).ravel()
    lp.row_lower_, lp.row_upper_ = np.ascontiguousarray(row_lower, float).ravel(), np.full(H * nr, np.inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = start, index, np.tile(vals_one, H)
    with silence_stdout():  # HiGHS prints a banner when it starts
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        h.passModel(lp)
        h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError(f"{what} LP did not solve: {h.modelStatusToString(status)}")
    return np.asarray(h.getSolution().col_value).reshape(H, -1)


def line_arrays(s: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(from, to) region positions, forward and backward capacity [MW], kept share 1 - loss_pu."""
    rpos = {r: i for i, r in enumerate(s.region_names)}
    ln = s.lines
    return (ln["from_region"].map(rpos).to_numpy(int), ln["to_region"].map(rpos).to_numpy(int),
            ln["capacity_forward_mw"].to_numpy(float), ln["capacity_backward_mw"].to_numpy(float),
            1.0 - ln["loss_pu"].to_numpy(float))


def flow_columns(R: int, frm: np.ndarray, to: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(R, 2L) net delivery of each forward and backward corridor flow into each region."""
    L = len(frm)
    li = np.arange(L)
    out = np.zeros((R, 2 * L))
    np.add.at(out, (frm, li), -1.0)
    np.add.at(out, (to, li), keep)
    np.add.at(out, (to, L + li), -1.0)
    np.add.at(out, (frm, L + li), keep)
    return out


def _dispatch_lp(u: DispatchUnits, s: Scenario, hours: np.ndarray, need_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-cost transport dispatch of the given hours (corridors in delivered MW, lossless).

    Returns (dispatch (H, U), household shortfall (H, R), output dumped (H, R)) [MW].
    """
    R = len(s.region_names)
    U = len(u.names)
    frm, to, cap_f, cap_b, keep = line_arrays(s)
    L = len(frm)
    # columns of one hour: U dispatch, L forward, L backward, R shortfall; rows: R balances (>= need)
    gen = np.zeros((R, U))
    gen[u.region, np.arange(U)] = 1.0
    block = np.hstack([gen, flow_columns(R, frm, to, np.ones(L)), np.eye(R)])
    H = len(hours)
    # at equal cost free units first, as in the greedy dispatch (a tie-break far below any cost difference)
    unit_cost = u.cost_usd_per_mwh[None, :] + 1e-6 * ~u.free[hours]
    cost = np.hstack([unit_cost, np.zeros((H, 2 * L)), np.full((H, R), SHORTFALL_PENALTY_USD_PER_MWH)])
    lo = np.hstack([u.min_mw[hours], np.zeros((H, 2 * L + R))])
    hi = np.hstack([u.avail_mw[hours], np.broadcast_to(np.r_[cap_f * keep, cap_b * keep], (H, 2 * L)), np.full((H, R), np.inf)])
    x = solve_hourly_blocks(block, cost, lo, hi, need_mw[hours], "baseline dispatch for surplus by cost")
    dump = np.maximum(x @ block.T - need_mw[hours], 0.0)  # generation delivered beyond the need
    return x[:, :U], x[:, U + 2 * L:], dump


@dataclass(frozen=True, eq=False)
class Baseline:
    """Least-cost dispatch without new load."""

    dispatch_mw: np.ndarray  # (T, U)
    shortfall_mw: np.ndarray  # (T, R) households not served even without new load
    dump_mw: np.ndarray  # (T, R) must-run output nobody needs (free to a new load where it is produced)
    lp_hours: int  # hours that needed the LP (corridors bind or households short)


def baseline_dispatch(u: DispatchUnits, s: Scenario, need_mw: np.ndarray) -> Baseline:
    """Least-cost dispatch serving ``need_mw`` (T, R) over the corridors (module docstring, step 2).

    The greedy dispatch (:func:`_greedy_dispatch`) for every hour; hours in which households
    cannot all be served go to the LP, which decides where the shortfall falls.
    """
    R = len(s.region_names)
    p, dump, enough = _greedy_dispatch(u, s, need_mw)
    short = np.zeros((len(p), R))
    hard = np.flatnonzero(~enough)
    if len(hard):
        p[hard], short[hard], dump[hard] = _dispatch_lp(u, s, hard, need_mw)
    return Baseline(dispatch_mw=p, shortfall_mw=np.maximum(short, 0.0), dump_mw=dump, lp_hours=len(hard))


# --------------------------------------------------------------------------------------------
# bands


@dataclass(frozen=True, eq=False)
class CostBands:
    """New load that plant at or below each cost band could serve, by region and hour [MW].

    Bands are cumulative upper limits [USD/MWh]; band 0 is *free* energy.  Regional figures
    are for a region alone (they do not add up); ``national_mw`` is the whole system.
    """

    bands_usd_per_mwh: tuple[float, ...]
    index: pd.DatetimeIndex
    regions: list[str]
    hostable_mw: np.ndarray  # (B, T, R)
    national_mw: np.ndarray  # (B, T)
    weight_h: np.ndarray  # (T,) hours per snapshot
    lp_hours: int = 0
    # every plant at full availability, whatever it costs (the capacity view; same network model)
    any_cost_hostable_mw: np.ndarray | None = None  # (T, R)
    any_cost_national_mw: np.ndarray | None = None  # (T,)
    any_cost_split_mw: np.ndarray | None = None  # (T, R) one placement of the national total: next to spare plant
    shortfall_mw: np.ndarray | None = None  # (T, R) households not served even without new load

    @property
    def year_factor(self) -> float:
        """Scales sums over the snapshots to a year (1 for a full hourly year)."""
        return 8760.0 / float(self.weight_h.sum())

    def band_label(self, b: float) -> str:
        return "free" if b <= 0 else f"<= {b:g} USD/MWh"

    def frame(self, band: float) -> pd.DataFrame:
        """Hourly MW of one band (snapshot x region + NATIONAL)."""
        i = self.bands_usd_per_mwh.index(band)
        out = pd.DataFrame(self.hostable_mw[i], index=self.index, columns=self.regions)
        out["NATIONAL"] = self.national_mw[i]
        return out

    def table(self) -> pd.DataFrame:
        """The ``surplus_by_cost.csv`` table: one row per (region or NATIONAL, band)."""
        rows = []
        for i, b in enumerate(self.bands_usd_per_mwh):
            data = np.column_stack([self.hostable_mw[i], self.national_mw[i]])  # (T, R+1)
            mwh = (data * self.weight_h[:, None]).sum(axis=0) * self.year_factor
            p95 = np.quantile(data, 0.05, axis=0)
            hrs = ((data >= MIN_MW) * self.weight_h[:, None]).sum(axis=0) * self.year_factor
            for j, r in enumerate([*self.regions, "NATIONAL"]):
                rows.append({"region": r, "band_max_usd_per_mwh": b, "mwh_per_year": mwh[j],
                             "mw_in_95pct_of_hours": p95[j], "hours_per_year": hrs[j]})
        return pd.DataFrame(rows, columns=["region", "band_max_usd_per_mwh", "mwh_per_year", "mw_in_95pct_of_hours", "hours_per_year"])

    def month_hour(self, band: float = 0.0) -> dict[str, pd.DataFrame]:
        """Mean MW by month (rows 1..12) and hour of day (columns 0..23), per region and NATIONAL."""
        f = self.frame(band)
        idx = pd.DatetimeIndex(f.index)
        g = f.groupby([idx.month, idx.hour]).mean()
        out = {}
        for c in f.columns:
            t = g[c].unstack().reindex(index=range(1, 13), columns=range(24))
            t.index.name, t.columns.name = "month", "hour"
            out[c] = t
        return out

    def summary(self) -> dict[str, object]:
        """The ``surplus_by_cost`` block of summary.json (units in the keys)."""
        t = self.table()
        regions: dict[str, object] = {}
        for r, part in t.groupby("region", sort=False):
            regions[str(r)] = {self.band_key(b): {"band_max_usd_per_mwh": float(b), "mwh_per_year": float(row.mwh_per_year),
                                                  "mw_in_95pct_of_hours": float(row.mw_in_95pct_of_hours),
                                                  "hours_per_year": float(row.hours_per_year)}
                               for b, row in zip(part["band_max_usd_per_mwh"], part.itertuples())}
        return {
            "bands_usd_per_mwh": [float(b) for b in self.bands_usd_per_mwh],
            "cumulative": True,
            "free_band": "band_max_usd_per_mwh 0: spilled hydro, curtailed wind and solar, unused take-or-pay "
                         "volume, must-run output households do not need",
            "regional_figures": "a region alone (corridor-limited); they do not add up to NATIONAL",
            "baseline_lp_hours": self.lp_hours,
            "regions": regions,
        }

    @staticmethod
    def band_key(b: float) -> str:
        return "free" if b <= 0 else f"le_{b:g}_usd_per_mwh"


def _tie_groups(u: DispatchUnits) -> list[np.ndarray]:
    """Units sharing one marginal cost in more than one region (the baseline could run either)."""
    groups = []
    cost = np.round(u.cost_usd_per_mwh, 9)
    for c in np.unique(cost):
        k = np.flatnonzero(cost == c)
        if len(k) > 1 and len(set(u.region[k])) > 1:
            groups.append(k)
    return groups


def _hostable(supply_fixed: np.ndarray, pools: list[tuple[np.ndarray, np.ndarray, np.ndarray]], members: np.ndarray,
              cap_in: np.ndarray) -> np.ndarray:
    """Largest new load at each region alone (T, R): min over region sets S holding it of
    ``cap_in(S) + sum_S supply_fixed + sum_pools min(F, flexible room in S) + pool floors in S``.

    ``supply_fixed`` (T, R) is supply minus served demand without the pooled units; each pool
    is (floor by region (T, R), flexible room by region (T, R), flexible output F (T,)): units of
    one cost that the baseline could trade among themselves at no cost (a tie), so their
    flexible output may sit in whichever of their regions serves the new load best.
    """
    bound = _subset_sums(supply_fixed) + cap_in[:, None]  # (S, T)
    for floor, room, flex in pools:
        bound += _subset_sums(floor) + np.minimum(flex[None, :], _subset_sums(room))
    out = np.empty(supply_fixed.shape)
    for i in range(supply_fixed.shape[1]):  # regions (<= 14), vectorised over sets and hours
        out[:, i] = bound[members[:, i]].min(axis=0)
    return np.maximum(out, 0.0)


def cost_bands(s: Scenario, bands_usd_per_mwh: tuple[float, ...] = DEFAULT_BANDS_USD_PER_MWH) -> CostBands:
    """Surplus by cost band for every region and hour (module docstring)."""
    bands = normalise_bands(bands_usd_per_mwh)
    u = dispatch_units(s)
    R = len(s.region_names)
    if R > 14:
        raise ValueError("surplus by cost enumerates region sets: at most 14 regions")
    need = s.demand_mw[s.region_names].to_numpy(float) * (1.0 + float(s.config.reserve_margin))
    base = baseline_dispatch(u, s, need)
    served = need - base.shortfall_mw
    onehot = _region_onehot(u.region, R)
    members, cap_in = cut_capacities(s)
    groups = _tie_groups(u)
    T = len(need)
    host = np.empty((len(bands), T, R))
    nat = np.empty((len(bands), T))
    p0 = base.dispatch_mw
    for i, b in enumerate(bands):  # a handful of bands; each vectorised over hours and regions
        elig = u.free | (u.cost_usd_per_mwh <= b)[None, :]
        own = np.where(elig, u.avail_mw, p0)  # eligible plant at full availability, the rest as in the baseline
        nat[i] = np.maximum((_mm(own, onehot) - served).sum(axis=1), 0.0)
        pooled = np.zeros(own.shape[1], bool)
        pools = []
        for k in groups:
            if (u.cost_usd_per_mwh[k[0]] <= b) or elig[:, k].all():
                continue
            off = ~elig[:, k]  # (T, n): non-eligible members in each hour
            oh = onehot[k]
            floor = _mm(u.min_mw[:, k] * off, oh)
            room = _mm((u.avail_mw[:, k] - u.min_mw[:, k]) * off, oh)
            flex = ((p0[:, k] - u.min_mw[:, k]) * off).sum(axis=1)
            pools.append((floor, room, flex))
            own = own.copy() if not pooled.any() else own
            own[:, k] = np.where(off, 0.0, own[:, k])
            pooled[k] = True
        host[i] = _hostable(_mm(own, onehot) - served, pools, members, cap_in)
    any_surplus = _mm(u.avail_mw, onehot) - served
    any_host = _hostable(any_surplus, [], members, cap_in)
    split = _mm(u.avail_mw - p0, onehot) + base.dump_mw  # sums to the national figure (lossless transfers)
    return CostBands(bands_usd_per_mwh=bands, index=s.snapshots, regions=list(s.region_names), hostable_mw=host,
                     national_mw=nat, weight_h=s.snapshot_weight_h().to_numpy(float), lp_hours=base.lp_hours,
                     any_cost_hostable_mw=any_host, any_cost_national_mw=np.maximum(any_surplus.sum(axis=1), 0.0),
                     any_cost_split_mw=np.maximum(split, 0.0), shortfall_mw=base.shortfall_mw)


def normalise_bands(bands: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    """Sorted, unique, finite, >= 0, with the free band 0 always first."""
    vals = [float(b) for b in bands]
    if any(not np.isfinite(b) or b < 0 for b in vals):
        raise ValueError(f"cost bands must be finite and >= 0 USD/MWh, got {vals}")
    return tuple(sorted({0.0, *vals}))


__all__ = ["DEFAULT_BANDS_USD_PER_MWH", "Baseline", "CostBands", "DispatchUnits", "baseline_dispatch", "cost_bands",
           "dispatch_units", "normalise_bands"]
