"""Build the planning LP with linopy (build only; :mod:`offtake.plan.solve` solves it).

Blocks (name -> dims, unit):

- ``Generator-p``         (snapshot, generator)           dispatch [MW], min_mw <= p <= avail_mw
- ``Line-p``              (snapshot, line, direction)     flow sent into a corridor [MW]; the far end
                                                          receives ``efficiency`` x flow
- ``Bus-unserved``        (snapshot, region)              household demand not served [MW] (VOLL)
- ``Flex-capacity``       (region, flex)                  MW of each flexible type sited
- ``Flex-p``              (snapshot, region, flex)        grid power drawn by flexible loads [MW]
- ``Flex-backup``         (snapshot, region, flex)        firm loads served by backup [MW]
- ``Bus-nodal_balance``   (snapshot, region)  ==          its dual is the price [USD/MWh]
- ``Region-reserve``      (snapshot, region)  <=          own generators leave reserve_margin x demand unused
- ``Budget-max``          (budget, month)     <=  members' energy in the calendar month [MWh] <= max_mwh
- ``Budget-min``          (budget, month)     >=  members' energy >= min_mwh (must-take)
- ``Budget-top``          (budget, month)         take-or-pay energy counted as taken [MWh], 0 <= top <= take_or_pay_mwh
- ``Budget-top_taken``    (budget, month)     <=  top <= members' energy in the month
- ``Flex-p-upper``        p <= capacity (interruptible, deferrable)
- ``Flex-firm``           p + backup == capacity (firm)
- ``Flex-window``         deferrable: energy per window >= (1 - max_off_share) x capacity x window hours
- ``Flex-programme_cap``  sum of capacity <= programme cap [MW]

Objective [USD, minimised] = generation cost + VOLL x unserved + backup cost
+ annualised capex x horizon years - value of flexible energy - take-or-pay credit
(contract price x ``Budget-top``: energy up to the contracted volume costs only the
marginal cost less the contract price, because the contract is paid anyway; the
payment itself, price x contracted volume, is a constant left out of the objective).  Its sign and value
equal PyPSA's ``n.objective`` for the network written by :mod:`offtake.plan.pypsa_io`.

Time enters only through ``weight_h`` (hours per snapshot); no loop runs over hours.
The dual of ``Bus-nodal_balance`` divided by ``weight_h`` is the price in USD/MWh.
"""

from __future__ import annotations

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from offtake.plan.inputs import PlanInputs, PlanOptions, prepare
from offtake.scenario.schema import Scenario


def _da(values: np.ndarray, *coords: pd.Index) -> xr.DataArray:
    return xr.DataArray(values, coords=list(coords), dims=[c.name for c in coords])


def _add_budgets(m: linopy.Model, x: PlanInputs, p: linopy.Variable, T: pd.Index, G: pd.Index,
                 w: xr.DataArray) -> linopy.LinearExpression | None:
    """Monthly energy budgets (max, min) and take-or-pay contracts; returns the take-or-pay credit [USD]."""
    if not len(x.budgets):
        return None
    member = x.gen_budget >= 0
    Gb = pd.Index(np.asarray(x.generators, dtype=object)[member], name="generator")
    label = xr.DataArray(np.asarray(x.budgets, dtype=object)[x.gen_budget[member]], coords=[Gb], name="budget")
    months = xr.DataArray(x.month, coords=[T], name="month")
    energy = (p.sel(generator=Gb) * w).groupby(label).sum().groupby(months).sum()  # (month, budget) [MWh]
    present = x.months_present
    Bi = pd.Index(x.budgets, name="budget")
    Mi = pd.Index(present, name="month")

    def arr(a: np.ndarray) -> xr.DataArray:
        return _da(a[:, present - 1], Bi, Mi)

    bmax, bmin, vtop = arr(x.budget_max_mwh), arr(x.budget_min_mwh), arr(x.top_mwh)
    energy = energy.reindex(budget=Bi, month=Mi)
    finite = np.isfinite(bmax)
    if bool(finite.any()):
        m.add_constraints(energy <= bmax.where(finite, 0.0), name="Budget-max", mask=finite)
    has_min = bmin > 0
    if bool(has_min.any()):
        m.add_constraints(energy >= bmin, name="Budget-min", mask=has_min)
    has_top = vtop > 0
    if not bool(has_top.any()):
        return None
    top = m.add_variables(lower=0.0, upper=vtop, name="Budget-top")  # upper 0 where no contract
    m.add_constraints(top - energy <= 0, name="Budget-top_taken", mask=has_top)
    return (top * arr(x.top_usd_per_mwh)).sum()


def build_model(source: Scenario | PlanInputs, options: PlanOptions | None = None) -> linopy.Model:
    """Build (never solve) the planning model of a scenario or of prepared inputs."""
    x = prepare(source, options or PlanOptions()) if isinstance(source, Scenario) else source
    m = linopy.Model(force_dim_names=True)
    T = pd.RangeIndex(len(x.snapshots), name="snapshot")
    R = pd.Index(x.regions, name="region")
    G = pd.Index(x.generators, name="generator")
    L = pd.Index(x.lines, name="line")
    K = pd.Index(x.flex, name="flex")
    D = pd.Index(["forward", "backward"], name="direction")
    w = _da(x.weight_h, T)

    p = m.add_variables(lower=_da(x.min_mw, T, G), upper=_da(x.avail_mw, T, G), name="Generator-p")
    gen_region = xr.DataArray(np.asarray(x.regions, dtype=object)[x.gen_region], coords=[G], name="region")
    gen_by_region = p.groupby(gen_region).sum()

    expr_parts = [gen_by_region]
    if len(L):
        cap_line = _da(np.stack([x.cap_forward_mw, x.cap_backward_mw], axis=1), L, D)
        f = m.add_variables(lower=0.0, upper=cap_line.expand_dims(snapshot=T), name="Line-p")
        eff = _da(x.efficiency, L)
        ff, fb = f.sel(direction="forward", drop=True), f.sel(direction="backward", drop=True)
        names = np.asarray(x.regions, dtype=object)
        frm = xr.DataArray(names[x.line_from], coords=[L], name="region")
        to = xr.DataArray(names[x.line_to], coords=[L], name="region")
        expr_parts.append((eff * fb - ff).groupby(frm).sum())
        expr_parts.append((eff * ff - fb).groupby(to).sum())

    u = m.add_variables(lower=0.0, upper=_da(x.demand_mw, T, R), name="Bus-unserved")
    expr_parts.append(1.0 * u)

    has_flex = bool(len(K)) and bool(x.allowed.any())
    if has_flex:
        allowed = _da(x.allowed, R, K)
        firm = xr.DataArray(x.is_firm, coords=[K])
        cap = m.add_variables(lower=_da(x.cap_lower_mw, R, K), upper=_da(x.cap_upper_mw, R, K),
                              mask=allowed, name="Flex-capacity")
        ub = _da(x.cap_upper_mw, R, K).expand_dims(snapshot=T)
        fp = m.add_variables(lower=0.0, upper=ub, mask=allowed.expand_dims(snapshot=T), name="Flex-p")
        expr_parts.append(-1.0 * fp.sum("flex"))

    balance = linopy.merge([e.reindex(region=R) for e in expr_parts], cls=linopy.LinearExpression)
    m.add_constraints(balance == _da(x.demand_mw, T, R), name="Bus-nodal_balance")

    has_gen = xr.DataArray(np.bincount(x.gen_region, minlength=len(R)) > 0, coords=[R])
    m.add_constraints(gen_by_region.reindex(region=R) <= _da(x.reserve_limit_mw, T, R),
                      name="Region-reserve", mask=has_gen.expand_dims(snapshot=T))

    top_credit = _add_budgets(m, x, p, T, G, w)

    cost = (p * w * _da(x.cost_usd_per_mwh, G)).sum() + (u * w * x.voll_usd_per_mwh).sum()
    if has_flex:
        nonfirm_mask = allowed & ~firm
        firm_mask = allowed & firm
        m.add_constraints(fp - cap <= 0, name="Flex-p-upper", mask=nonfirm_mask.expand_dims(snapshot=T))
        value = _da(x.value_usd_per_mwh, K)
        sum_w = float(x.weight_h.sum())
        capex = _da(x.capex_usd_per_mw_year * x.horizon_years, K)
        obj = cost + (cap * capex).sum() - (fp * w * value.where(~firm, 0.0)).sum()
        if bool(firm_mask.any()):
            b = m.add_variables(lower=0.0, upper=ub, mask=firm_mask.expand_dims(snapshot=T), name="Flex-backup")
            m.add_constraints(fp + b - cap == 0, name="Flex-firm", mask=firm_mask.expand_dims(snapshot=T))
            obj = obj + (b * w * _da(x.backup_usd_per_mwh, K)).sum() - (cap * (value * sum_w).where(firm, 0.0)).sum()
        for k in np.flatnonzero(x.is_deferrable):
            name = x.flex[k]
            need = 1.0 - float(x.max_off_share[k])
            if need <= 0 or not x.allowed[:, k].any():
                continue
            win = xr.DataArray(x.window_id[k], coords=[T], name="window")
            energy_k = (fp.sel(flex=name, drop=True) * w).groupby(win).sum()
            hours = pd.Series(x.weight_h).groupby(x.window_id[k]).sum()
            hours_da = xr.DataArray(hours.to_numpy(), coords=[pd.Index(hours.index, name="window")])
            lhs = energy_k - cap.sel(flex=name, drop=True) * (need * hours_da)
            m.add_constraints(lhs >= 0, name=f"Flex-window-{name}",
                              mask=allowed.sel(flex=name, drop=True).expand_dims(window=hours_da.window))
        if x.programme_cap_mw is not None:
            m.add_constraints(cap.sum() <= x.programme_cap_mw, name="Flex-programme_cap")
    else:
        obj = cost
    if top_credit is not None:
        obj = obj - top_credit
    m.add_objective(obj)
    return m


__all__ = ["build_model"]
