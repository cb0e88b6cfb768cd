"""Write the planning problem as a PyPSA network, for cross-checks with PyPSA's optimiser.

The network describes the same LP as :func:`offtake.plan.model.build_model`:

- buses = regions; a region's generators sit on a collector bus ``"<region> gen"`` that
  feeds the region through a lossless link ``"<region> reserve"`` whose time-varying
  limit is the reserve limit (own generation leaves ``reserve_margin x demand`` unused);
- generators as in the scenario (``p_max_pu`` = availability, monthly planned outages
  included; ``p_min_pu`` = must-run), ``carrier`` = technology, fuel in ``n.meta["offtake_fuel"]``;
- each corridor = two links (forward and backward), ``efficiency = 1 - loss``;
- unserved demand = generator ``"<region> unserved"`` at the value of lost load;
- interruptible and deferrable loads = extendable generators with ``p_min_pu = -1``,
  ``p_max_pu = 0`` and ``marginal_cost = value`` (consuming earns the value);
- firm loads = an extendable generator fixed at ``-p_nom`` on a bus ``"<region> <type>"``
  fed by a link from the region and by a backup generator at the backup cost;
- the programme cap = a ``tech_capacity_expansion_limit`` global constraint on carrier ``flex``.

Two kinds of rule have no native PyPSA component, so their data are stored in
``n.meta`` (JSON) and :func:`extra_functionality` adds them; pass that hook to
``n.optimize`` (``optimize_network`` does):

- ``offtake_windows``: the deferral window of deferrable loads (energy per window >=
  (1 - max_off_share) x capacity x window hours);
- ``offtake_budgets`` with ``offtake_month`` (calendar month of each snapshot): monthly
  energy budgets of a group of generators (``Offtake-budget_max-<name>``,
  ``Offtake-budget_min-<name>``; PyPSA's ``e_sum_max``/``e_sum_min`` and its
  ``operational_limit`` global constraints only cover the whole horizon, not a month of a
  group) and take-or-pay contracts (a variable ``Offtake-top-<name>`` per month, at most
  the contracted energy and at most the members' energy, credited at the contract price in
  the objective).

Without deferrable loads and budgets the plain ``n.optimize()`` solves the same problem.
``n.objective`` then equals the planner's objective (no constant offset).
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

    cap = np.maximum(x.capacity_mw, 0.0)
    safe = np.where(cap > 0, cap, 1.0)
    names = np.asarray(x.generators, dtype=object)
    if len(names):
        n.add("Generator", names, bus=[f"{r} gen" for r in regions[x.gen_region]],
              p_nom=cap, marginal_cost=x.cost_usd_per_mwh, carrier=list(x.gen_technology),
              p_max_pu=pd.DataFrame(x.avail_mw / safe, index=snaps, columns=names),
              p_min_pu=pd.DataFrame(x.min_mw / safe, index=snaps, columns=names))

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
    n.meta = {"offtake_windows": json.dumps(windows), "offtake_budgets": json.dumps(_budget_specs(x)),
              "offtake_month": json.dumps(x.month.tolist()), "offtake_fuel": json.dumps(dict(zip(x.generators, x.gen_fuel))),
              "timezone": str(x.snapshots.tz) if x.snapshots.tz is not None else "UTC",
              "reserve_margin": float(x.reserve_margin),  # lets import-pypsa fold the '<region> gen' buses back
              "scenario": x.scenario_name, "resolution": x.resolution,
              "snapshot_start": [str(t) for t in x.snapshots[:1]]}
    return n


def _budget_specs(x: PlanInputs) -> list[dict[str, Any]]:
    """Energy budgets and take-or-pay contracts as plain JSON (months present only)."""
    def per_month(a: np.ndarray, b: int, keep: Any) -> dict[str, float]:
        return {str(mth): float(a[b, mth - 1]) for mth in x.months_present if keep(a[b, mth - 1])}

    out = []
    for b, members in enumerate(x.budget_members):
        out.append({"name": x.budgets[b], "generators": [x.generators[g] for g in members],
                    "max_mwh": per_month(x.budget_max_mwh, b, np.isfinite),
                    "min_mwh": per_month(x.budget_min_mwh, b, lambda v: v > 0),
                    "take_or_pay_mwh": per_month(x.top_mwh, b, lambda v: v > 0),
                    "take_or_pay_usd_per_mwh": per_month(x.top_usd_per_mwh, b, lambda v: True)})
    return out


def _meta_list(n: Any, key: str) -> list[Any]:
    spec = n.meta.get(key, "[]")
    return json.loads(spec) if isinstance(spec, str) else list(spec)


def extra_functionality(n: Any, snapshots: Any) -> None:
    """Add the deferral windows, energy budgets and take-or-pay contracts stored in ``n.meta``."""
    _add_windows(n, snapshots)
    _add_budgets(n, snapshots)


def _add_budgets(n: Any, snapshots: Any) -> None:
    import xarray as xr

    budgets = _meta_list(n, "offtake_budgets")
    if not budgets:
        return
    m = n.model
    p = m["Generator-p"]
    snap = list(snapshots)
    w = xr.DataArray(n.snapshot_weightings.generators.loc[snapshots].to_numpy(), coords={"snapshot": snap},
                     dims="snapshot")
    month_all = pd.Series(_meta_list(n, "offtake_month"), index=n.snapshots)
    month = xr.DataArray(month_all.loc[snapshots].to_numpy(int), coords={"snapshot": snap}, dims="snapshot",
                         name="month")
    credit = None
    for spec in budgets:
        name = spec["name"]
        energy = (p.sel(name=spec["generators"]) * w).sum("name").groupby(month).sum()  # (month) [MWh]

        def rhs(key: str, spec: dict[str, Any] = spec) -> xr.DataArray:
            items = spec[key]
            return xr.DataArray([float(v) for v in items.values()], coords={"month": [int(k) for k in items]},
                                dims="month")

        if spec["max_mwh"]:
            r = rhs("max_mwh")
            m.add_constraints(energy.sel(month=r["month"]) <= r, name=f"Offtake-budget_max-{name}")
        if spec["min_mwh"]:
            r = rhs("min_mwh")
            m.add_constraints(energy.sel(month=r["month"]) >= r, name=f"Offtake-budget_min-{name}")
        if spec["take_or_pay_mwh"]:
            vol = rhs("take_or_pay_mwh")
            price = rhs("take_or_pay_usd_per_mwh").sel(month=vol["month"])
            top = m.add_variables(lower=0.0, upper=vol, name=f"Offtake-top-{name}")
            m.add_constraints(top - energy.sel(month=vol["month"]) <= 0, name=f"Offtake-top_taken-{name}")
            term = (top * price).sum()
            credit = term if credit is None else credit + term
    if credit is not None:
        m.add_objective(m.objective.expression - credit, overwrite=True)


def _add_windows(n: Any, snapshots: Any) -> None:
    import xarray as xr

    windows = _meta_list(n, "offtake_windows")
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
