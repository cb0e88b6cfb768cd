"""Write the planning problem as a PyPSA network, for cross-checks with PyPSA's optimiser.

The network describes the same LP as :func:`offtake.plan.model.build_model`:

- buses = regions; a region's generators sit on a collector bus ``"<region> gen"`` that
  feeds the region through a lossless link ``"<region> reserve"`` whose time-varying
  limit is the reserve limit (own generation leaves ``reserve_margin x demand`` unused);
- generators as in the scenario (``p_max_pu`` = availability, ``p_min_pu`` = must-run);
  a hydro fleet with monthly budgets is split into twelve generators, one per month,
  each available only in its month and limited by ``e_sum_max`` = that month's budget;
- each corridor = two links (forward and backward), ``efficiency = 1 - loss``;
- unserved demand = generator ``"<region> unserved"`` at the value of lost load;
- interruptible and deferrable loads = extendable generators with ``p_min_pu = -1``,
  ``p_max_pu = 0`` and ``marginal_cost = value`` (consuming earns the value);
- firm loads = an extendable generator fixed at ``-p_nom`` on a bus ``"<region> <type>"``
  fed by a link from the region and by a backup generator at the backup cost;
- the programme cap = a ``tech_capacity_expansion_limit`` global constraint on carrier ``flex``.

One rule has no native PyPSA component: the deferral window of deferrable loads
(energy per window >= (1 - max_off_share) x capacity x window hours).  Its data are
stored in ``n.meta["offtake_windows"]`` and :func:`extra_functionality` adds it; pass
that hook to ``n.optimize`` (``optimize_network`` does).  Without deferrable loads the
plain ``n.optimize()`` solves the same problem.  ``n.objective`` then equals the
planner's objective (no constant offset).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from offtake.plan.inputs import PlanInputs

CARRIER_FLEX = "flex"


def to_pypsa(x: PlanInputs) -> Any:
    """Build the PyPSA network of prepared inputs (see the module docstring)."""
    import pypsa

    n = pypsa.Network()
    snaps = pd.RangeIndex(len(x.snapshots), name="snapshot")
    n.set_snapshots(snaps)
    for col in ("objective", "generators", "stores"):
        n.snapshot_weightings[col] = x.weight_h
    for carrier in sorted(set(x.gen_technology) | {CARRIER_FLEX, "unserved", "backup", "corridor", "reserve"}):
        n.add("Carrier", carrier)
    regions = np.asarray(x.regions, dtype=object)
    n.add("Bus", regions)
    R = len(regions)

    has_gen = np.bincount(x.gen_region, minlength=R) > 0
    for i in np.flatnonzero(has_gen):
        reg = regions[i]
        n.add("Bus", f"{reg} gen")
        lim = x.reserve_limit_mw[:, i]
        p_nom = float(max(lim.max(), 1.0))
        n.add("Link", f"{reg} reserve", bus0=f"{reg} gen", bus1=reg, p_nom=p_nom, efficiency=1.0,
              p_max_pu=pd.Series(lim / p_nom, index=snaps), carrier="reserve")

    budget = {int(g) for g in x.budget_gen}
    plain = [g for g in range(len(x.generators)) if g not in budget]
    cap = np.maximum(x.capacity_mw, 0.0)
    safe = np.where(cap > 0, cap, 1.0)
    names = np.asarray(x.generators, dtype=object)
    if plain:
        idx = np.asarray(plain)
        n.add("Generator", names[idx], bus=[f"{r} gen" for r in regions[x.gen_region[idx]]],
              p_nom=cap[idx], marginal_cost=x.cost_usd_per_mwh[idx], carrier=[x.gen_technology[g] for g in idx],
              p_max_pu=pd.DataFrame(x.avail_mw[:, idx] / safe[idx], index=snaps, columns=names[idx]),
              p_min_pu=pd.DataFrame(x.min_mw[:, idx] / safe[idx], index=snaps, columns=names[idx]))
    for j, g in enumerate(x.budget_gen):
        for mth in np.unique(x.month):
            on = (x.month == mth).astype(float)
            nm = f"{names[g]} m{mth:02d}"
            e_max = float(x.budget_mwh[j, mth - 1])
            n.add("Generator", nm, bus=f"{regions[x.gen_region[g]]} gen", p_nom=cap[g],
                  marginal_cost=x.cost_usd_per_mwh[g], carrier=x.gen_technology[g],
                  p_max_pu=pd.Series(x.avail_mw[:, g] / safe[g] * on, index=snaps),
                  p_min_pu=pd.Series(x.min_mw[:, g] / safe[g] * on, index=snaps),
                  e_sum_max=e_max if np.isfinite(e_max) else np.inf)

    peak = np.maximum(x.demand_mw.max(axis=0), 1.0)
    n.add("Generator", [f"{r} unserved" for r in regions], bus=regions, p_nom=peak,
          marginal_cost=x.voll_usd_per_mwh, carrier="unserved",
          p_max_pu=pd.DataFrame(x.demand_mw / peak, index=snaps, columns=[f"{r} unserved" for r in regions]))
    n.add("Load", [f"{r} demand" for r in regions], bus=regions,
          p_set=pd.DataFrame(x.demand_mw, index=snaps, columns=[f"{r} demand" for r in regions]))

    for li, ln in enumerate(x.lines):
        a, b = regions[x.line_from[li]], regions[x.line_to[li]]
        n.add("Link", f"{ln} forward", bus0=a, bus1=b, p_nom=x.cap_forward_mw[li],
              efficiency=x.efficiency[li], carrier="corridor")
        n.add("Link", f"{ln} backward", bus0=b, bus1=a, p_nom=x.cap_backward_mw[li],
              efficiency=x.efficiency[li], carrier="corridor")

    windows: list[dict[str, Any]] = []
    for i, k in zip(*np.nonzero(x.allowed)):
        reg, fx = regions[i], x.flex[k]
        nm = f"{reg} {fx}"
        capex = float(x.capex_usd_per_mw_year[k] * x.horizon_years)
        common = dict(p_nom_extendable=True, p_nom_min=float(x.cap_lower_mw[i, k]),
                      p_nom_max=float(x.cap_upper_mw[i, k]), capital_cost=capex, carrier=CARRIER_FLEX,
                      marginal_cost=float(x.value_usd_per_mwh[k]))
        if x.is_firm[k]:
            n.add("Bus", nm)
            n.add("Generator", nm, bus=nm, p_min_pu=-1.0, p_max_pu=-1.0, **common)
            n.add("Link", f"{nm} supply", bus0=reg, bus1=nm, p_nom=float(x.cap_upper_mw[i, k]),
                  efficiency=1.0, carrier=CARRIER_FLEX)
            n.add("Generator", f"{nm} backup", bus=nm, p_nom=float(x.cap_upper_mw[i, k]),
                  marginal_cost=float(x.backup_usd_per_mwh[k]), carrier="backup")
        else:
            n.add("Generator", nm, bus=reg, p_min_pu=-1.0, p_max_pu=0.0, **common)
            need = 1.0 - float(x.max_off_share[k])
            if x.is_deferrable[k] and need > 0:
                windows.append({"generator": nm, "need_pu": need, "window": x.window_id[k].tolist()})
    if x.programme_cap_mw is not None and x.allowed.any():
        n.add("GlobalConstraint", "programme_cap", type="tech_capacity_expansion_limit",
              carrier_attribute=CARRIER_FLEX, sense="<=", constant=float(x.programme_cap_mw))
    n.meta = {"offtake_windows": json.dumps(windows), "scenario": x.scenario_name,
              "resolution": x.resolution, "snapshot_start": [str(t) for t in x.snapshots[:1]]}
    return n


def extra_functionality(n: Any, snapshots: Any) -> None:
    """Add the deferral-window constraints stored in ``n.meta`` to PyPSA's model."""
    import xarray as xr

    spec = n.meta.get("offtake_windows", "[]")
    windows = json.loads(spec) if isinstance(spec, str) else list(spec)
    if not windows:
        return
    m = n.model
    p = m["Generator-p"]
    p_nom = m["Generator-p_nom"]
    w = n.snapshot_weightings.generators.loc[snapshots].to_numpy()
    for spec_k in windows:
        g = spec_k["generator"]
        win = np.asarray(spec_k["window"])
        hours = pd.Series(w).groupby(win).sum()
        wid = xr.DataArray(win, coords={"snapshot": list(snapshots)}, dims="snapshot", name="window")
        wda = xr.DataArray(w, coords={"snapshot": list(snapshots)}, dims="snapshot")
        energy = (-1.0 * p.sel(name=g, drop=True) * wda).groupby(wid).sum()
        need = xr.DataArray(hours.to_numpy() * float(spec_k["need_pu"]),
                            coords={"window": hours.index.to_numpy()}, dims="window")
        m.add_constraints(energy - p_nom.sel(name=g, drop=True) * need >= 0, name=f"Offtake-window-{g}")


def optimize_network(n: Any, **solver_options: Any) -> float:
    """Solve an exported network with PyPSA (HiGHS) and return ``n.objective`` [USD]."""
    status, condition = n.optimize(solver_name="highs", extra_functionality=extra_functionality,
                                   include_objective_constant=False, solver_options=solver_options)
    if status != "ok":
        raise RuntimeError(f"PyPSA solve ended {status}/{condition}")
    return float(n.objective)


def write_netcdf(x: PlanInputs, path: str) -> None:
    """Export to a netCDF file atomically (temporary sibling, then rename)."""
    import os
    from pathlib import Path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}.nc")
    try:
        to_pypsa(x).export_to_netcdf(str(tmp))
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


__all__ = ["extra_functionality", "optimize_network", "to_pypsa", "write_netcdf"]
