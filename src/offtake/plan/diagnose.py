"""Explain why a planning problem has no solution: region, hours and constraint family.

Household demand can always be met on paper (unserved energy is a priced slack), so
infeasibility comes from rules that force power or capacity somewhere:

- must-run generation above what a region can use or export (demand + flexible loads
  + corridor export limits);
- must-run generation above the region's reserve limit (own generation must leave
  ``reserve_margin x demand`` unused);
- must-run energy of an energy budget's members above its monthly max_mwh, or a
  monthly min_mwh above what the members can give;
- flexible-capacity minimums (``min_site_mw``) above the per-region maximum or, summed,
  above the programme cap.

Each check is vectorised over (snapshot, region); messages merge consecutive hours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from offtake.plan.inputs import PlanInputs

EPS_MW = 1e-6


def _runs(x: PlanInputs, bad: np.ndarray, amount: np.ndarray, region: str, text: str, limit: int = 3) -> list[str]:
    """Messages for runs of consecutive bad snapshots: 'REGION, start-end: text by N MW'."""
    idx = np.flatnonzero(bad)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    out = []
    for a, b in list(zip(starts, ends))[:limit]:
        t0 = pd.Timestamp(x.snapshots[a])
        t1 = pd.Timestamp(x.snapshots[b]) + pd.Timedelta(hours=float(x.weight_h[b]))
        span = f"{t0:%Y-%m-%d %H:%M}-{t1:%H:%M}" if t1 - t0 <= pd.Timedelta(days=1) else f"{t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M}"
        out.append(f"{region}, {span}: {text} by {float(amount[a:b + 1].max()):,.0f} MW")
    if len(starts) > limit:
        out.append(f"{region}: {len(starts) - limit} more period(s) of the same kind")
    return out


def diagnose(x: PlanInputs) -> list[str]:
    """Every cause of infeasibility found in the inputs (empty if none found)."""
    T, R = x.demand_mw.shape
    found: list[str] = []
    must = np.zeros((T, R))
    np.add.at(must.T, x.gen_region, x.min_mw.T)
    export = np.zeros(R)
    np.add.at(export, x.line_from, x.cap_forward_mw)
    np.add.at(export, x.line_to, x.cap_backward_mw)
    flex_max = x.cap_upper_mw.sum(axis=1)
    excess = must - (x.demand_mw + flex_max[None, :] + export[None, :])
    for i, reg in enumerate(x.regions):
        found += _runs(x, excess[:, i] > EPS_MW, excess[:, i], reg,
                       "must-run generation exceeds demand plus flexible loads plus export limit")
    over_reserve = must - x.reserve_limit_mw
    has_gen = np.bincount(x.gen_region, minlength=R) > 0
    for i in np.flatnonzero(has_gen):
        found += _runs(x, over_reserve[:, i] > EPS_MW, over_reserve[:, i], x.regions[i],
                       f"must-run generation exceeds the reserve limit (available minus {x.reserve_margin:.0%} of demand)")
    if len(x.budgets):
        must_e = x.budget_energy_mwh(x.min_mw)  # (B, 12) must-run energy
        can_e = x.budget_energy_mwh(x.avail_mw)  # most energy the members could give
        present = np.zeros(12, bool)
        present[x.months_present - 1] = True
        for b, mth in zip(*np.nonzero((must_e > x.budget_max_mwh + EPS_MW) & present)):
            found.append(f"energy budget {x.budgets[b]}, month {mth + 1}: must-run energy {must_e[b, mth]:,.0f} MWh "
                         f"exceeds the budget's max_mwh of {x.budget_max_mwh[b, mth]:,.0f} MWh")
        for b, mth in zip(*np.nonzero((x.budget_min_mwh > can_e + EPS_MW) & present)):
            found.append(f"energy budget {x.budgets[b]}, month {mth + 1}: min_mwh {x.budget_min_mwh[b, mth]:,.0f} MWh "
                         f"exceeds the {can_e[b, mth]:,.0f} MWh its generators can give in the month's snapshots")
    lo_hi = x.cap_lower_mw > x.cap_upper_mw + EPS_MW
    for i, k in zip(*np.nonzero(lo_hi)):
        found.append(f"{x.regions[i]}, {x.flex[k]}: minimum site {x.cap_lower_mw[i, k]:,.0f} MW exceeds the "
                     f"maximum {x.cap_upper_mw[i, k]:,.0f} MW allowed there")
    if x.programme_cap_mw is not None and x.cap_lower_mw.sum() > x.programme_cap_mw + EPS_MW:
        found.append(f"national programme: minimum sites add up to {x.cap_lower_mw.sum():,.0f} MW, above the "
                     f"programme cap of {x.programme_cap_mw:,.0f} MW")
    return found


def check_min_site_rows(x: PlanInputs) -> list[str]:
    """Flex types whose minimum site exceeds their per-region maximum (an input contradiction)."""
    bad = (x.min_site_mw > 0) & (x.cap_upper_mw.max(axis=0, initial=0.0) > 0) & \
        (x.min_site_mw > x.cap_upper_mw.max(axis=0, initial=0.0) + EPS_MW)
    return [f"flex type {x.flex[k]}: min_site_mw {x.min_site_mw[k]:,.0f} MW exceeds max_mw_per_region "
            f"{x.cap_upper_mw[:, k].max():,.0f} MW, so no site can be built" for k in np.flatnonzero(bad)]


__all__ = ["check_min_site_rows", "diagnose"]
