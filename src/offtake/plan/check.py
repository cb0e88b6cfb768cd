"""Independent re-check of a solution in numpy (no linopy): fails loudly on any violation.

Each ``_check_*`` returns a list of messages; :func:`check_solution` gathers them all
and raises one :class:`CheckError`.  Tolerance: 1e-6 relative to the size of the
quantity (at least 1e-6 MW or MWh absolute).
"""

from __future__ import annotations

import numpy as np

from offtake.errors import CheckError
from offtake.plan.inputs import PlanInputs
from offtake.plan.result import Solution

REL_TOL = 1e-6


def _tol(scale: np.ndarray | float) -> np.ndarray:
    return REL_TOL * np.maximum(1.0, np.abs(scale))


def _where(x: PlanInputs, bad: np.ndarray, what: str, amount: np.ndarray) -> list[str]:
    """One message per family: how many cells, the worst one (hour, column), its size."""
    if not bad.any():
        return []
    flat = np.where(bad, np.abs(amount), -np.inf)
    t, j = np.unravel_index(int(np.argmax(flat)), bad.shape)
    return [f"{what}: {int(bad.sum())} cell(s), worst at {x.snapshots[t]} (column {j}) by {float(np.abs(amount[t, j])):.6g}"]


def region_balance_mw(x: PlanInputs, s: Solution) -> np.ndarray:
    """Supply minus use per (snapshot, region) [MW]; zero for a valid solution."""
    T, R = x.demand_mw.shape
    inj = np.zeros((T, R))
    np.add.at(inj.T, x.gen_region, s.dispatch.T)
    np.add.at(inj.T, x.line_to, (x.efficiency * s.flow_forward - s.flow_backward).T)
    np.add.at(inj.T, x.line_from, (x.efficiency * s.flow_backward - s.flow_forward).T)
    return inj + s.unserved - s.flex_p.sum(axis=2) - x.demand_mw


def _check_balance(x: PlanInputs, s: Solution) -> list[str]:
    b = region_balance_mw(x, s)
    return _where(x, np.abs(b) > _tol(x.demand_mw), "energy balance off (region)", b)


def _check_bounds(x: PlanInputs, s: Solution) -> list[str]:
    out = []
    p = s.dispatch
    out += _where(x, p > x.avail_mw + _tol(x.avail_mw), "generator above available power", p - x.avail_mw)
    out += _where(x, p < x.min_mw - _tol(x.min_mw), "generator below must-run", x.min_mw - p)
    for f, cap, name in ((s.flow_forward, x.cap_forward_mw, "forward"), (s.flow_backward, x.cap_backward_mw, "backward")):
        out += _where(x, f > cap + _tol(cap), f"corridor above {name} limit", f - cap)
        out += _where(x, f < -_tol(cap), f"negative {name} corridor flow", f)
    T, R = x.demand_mw.shape
    own = np.zeros((T, R))
    np.add.at(own.T, x.gen_region, p.T)
    out += _where(x, own > x.reserve_limit_mw + _tol(x.reserve_limit_mw), "reserve limit exceeded (region)",
                  own - x.reserve_limit_mw)
    out += _where(x, (s.unserved < -_tol(x.demand_mw)) | (s.unserved > x.demand_mw + _tol(x.demand_mw)),
                  "unserved outside [0, demand]", s.unserved)
    out += _check_budgets(x, s)
    return out


def _check_budgets(x: PlanInputs, s: Solution) -> list[str]:
    """Monthly energy of every budget within [min_mwh, max_mwh]; take-or-pay taken within [0, min(volume, energy)]."""
    out: list[str] = []
    if not len(x.budgets):
        return out
    used = x.budget_energy_mwh(s.dispatch)  # (B, 12)
    present = np.zeros(12, bool)
    present[x.months_present - 1] = True
    for what, bad, amount, limit in (
        ("above max_mwh", (used > x.budget_max_mwh + _tol(np.where(np.isfinite(x.budget_max_mwh), x.budget_max_mwh, 0)))
         & present, used - x.budget_max_mwh, x.budget_max_mwh),
        ("below min_mwh", (used < x.budget_min_mwh - _tol(x.budget_min_mwh)) & present, x.budget_min_mwh - used,
         x.budget_min_mwh),
    ):
        for b, mth in zip(*np.nonzero(bad)):
            out.append(f"energy budget {x.budgets[b]} month {mth + 1}: {used[b, mth]:.6g} MWh is {what} "
                       f"{limit[b, mth]:.6g} (by {amount[b, mth]:.6g})")
    top = s.top_taken if s.top_taken.shape == x.top_mwh.shape else np.zeros_like(x.top_mwh)
    over = (top > np.minimum(x.top_mwh, used) + _tol(x.top_mwh)) | (top < -_tol(x.top_mwh))
    for b, mth in zip(*np.nonzero(over & present)):
        out.append(f"take-or-pay {x.budgets[b]} month {mth + 1}: {top[b, mth]:.6g} MWh counted as taken, outside "
                   f"[0, min(contract {x.top_mwh[b, mth]:.6g}, energy {used[b, mth]:.6g})]")
    return out


def _check_flex(x: PlanInputs, s: Solution) -> list[str]:
    out = []
    cap = s.capacity
    bad = (cap < x.cap_lower_mw - _tol(x.cap_lower_mw)) | (cap > x.cap_upper_mw + _tol(x.cap_upper_mw))
    if bad.any():
        out.append(f"flexible capacity outside its bounds at {int(bad.sum())} (region, type) pair(s)")
    if x.programme_cap_mw is not None and cap.sum() > x.programme_cap_mw + _tol(x.programme_cap_mw):
        out.append(f"programme cap exceeded: {cap.sum():.6g} MW > {x.programme_cap_mw:.6g} MW")
    T = len(x.snapshots)
    firm = x.is_firm[None, None, :]
    capb = np.broadcast_to(cap[None], s.flex_p.shape)
    over = np.where(firm, np.abs(s.flex_p + s.backup - capb), s.flex_p - capb) > _tol(capb)
    under = (s.flex_p < -_tol(capb)) | (s.backup < -_tol(capb))
    out += _where(x, (over | under).reshape(T, -1), "flexible draw outside [0, capacity] (or firm not served)",
                  (s.flex_p - capb).reshape(T, -1))
    for k in np.flatnonzero(x.is_deferrable):
        need = 1.0 - x.max_off_share[k]
        if need <= 0:
            continue
        nwin = int(x.window_id[k].max()) + 1
        hours = np.bincount(x.window_id[k], weights=x.weight_h, minlength=nwin)
        for i in np.flatnonzero(x.allowed[:, k]):
            energy = np.bincount(x.window_id[k], weights=s.flex_p[:, i, k] * x.weight_h, minlength=nwin)
            short = energy < need * hours * cap[i, k] - _tol(need * hours * cap[i, k])
            if short.any():
                out.append(f"deferral window short: {x.regions[i]} {x.flex[k]}, {int(short.sum())} window(s)")
    return out


def _check_households_first(x: PlanInputs, s: Solution) -> list[str]:
    """Unserved demand while a flexible load in the same connected area draws power is a violation."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    R = len(x.regions)
    adj = coo_matrix((np.ones(len(x.lines)), (x.line_from, x.line_to)), shape=(R, R))
    _, comp = connected_components(adj, directed=False)
    T = len(x.snapshots)
    flex_by_comp = np.zeros((T, comp.max() + 1))
    np.add.at(flex_by_comp.T, comp, s.flex_p.sum(axis=2).T)
    bad = (s.unserved > _tol(x.demand_mw)) & (flex_by_comp[:, comp] > REL_TOL)
    return _where(x, bad, "households not served while flexible loads draw power", s.unserved)


def check_solution(x: PlanInputs, s: Solution) -> None:
    """Raise :class:`CheckError` listing every violated rule; return silently otherwise."""
    problems = _check_balance(x, s) + _check_bounds(x, s) + _check_flex(x, s) + _check_households_first(x, s)
    if problems:
        raise CheckError("the solution fails the independent check:\n" + "\n".join(f"  - {p}" for p in problems))


__all__ = ["check_solution", "region_balance_mw"]
