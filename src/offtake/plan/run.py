"""``plan()``: prepare -> build -> solve -> (min-site rounding) -> check -> baseline -> result."""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable

import numpy as np

from offtake.errors import InfeasibleError, InputError, SolverError, UnservedError
from offtake.plan.check import check_solution
from offtake.plan.diagnose import check_min_site_rows, diagnose
from offtake.plan.inputs import PlanInputs, PlanOptions, prepare
from offtake.plan.model import build_model
from offtake.plan.result import PlanResult, Solution, make_result, read_solution
from offtake.plan.solve import SolveResult, SolveStatus, solve
from offtake.scenario.schema import Scenario

Progress = Callable[[str], None]


def _validate(x: PlanInputs) -> None:
    bad = [f for f, v in zip(x.flex, x.value_usd_per_mwh) if v >= x.voll_usd_per_mwh]
    if bad:
        raise InputError(f"flex_loads.csv: value_usd_per_mwh of {', '.join(bad)} is not below the value of lost "
                         f"load ({x.voll_usd_per_mwh:g} USD/MWh); households would not come first. Lower the value "
                         "or raise value_of_lost_load_usd_per_mwh in scenario.yaml")
    contradictions = check_min_site_rows(x)
    if contradictions:
        raise InfeasibleError("no feasible plan: minimum site sizes cannot be met", contradictions)


def solve_inputs(x: PlanInputs, options: PlanOptions) -> tuple[Solution, SolveResult, float]:
    """Build and solve one problem; raise InfeasibleError (explained) or SolverError."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # linopy's legacy/v1 semantics notice
        m = build_model(x)
    build_s = time.perf_counter() - t0
    opts = {"solver": "choose", **options.solver_options}  # HiGHS picks (dual simplex for an LP)
    res = solve(m, io_api=options.io_api, **opts)
    if res.status in (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED):
        causes = diagnose(x)
        raise InfeasibleError("no feasible plan" + ("" if causes else " (no single-region cause found; check "
                              "must-run levels, hydro budgets and corridor limits)"), causes)
    if res.status is SolveStatus.UNBOUNDED:
        raise InfeasibleError("the plan is unbounded: some flexible load has no capacity limit", diagnose(x))
    if not res.is_ok:
        raise SolverError(f"HiGHS stopped without an optimal plan ({res.termination})")
    return read_solution(m, x), res, build_s


def _round_sites(x: PlanInputs, sol: Solution) -> tuple[dict[tuple[str, str], tuple[float, float]], tuple[str, ...]]:
    """Sites strictly between 0 and min_site_mw: keep the largest at the minimum while the cap allows."""
    cap = sol.capacity
    small = (cap > 1e-6) & (cap < x.min_site_mw[None, :] - 1e-6) & x.allowed
    if not small.any():
        return {}, ()
    bounds: dict[tuple[str, str], tuple[float, float]] = {}
    notes = []
    total = float(np.where(small, 0.0, cap).sum())
    limit = x.programme_cap_mw if x.programme_cap_mw is not None else np.inf
    for flat in np.argsort(-cap, axis=None):
        i, k = np.unravel_index(flat, cap.shape)
        if not small[i, k]:
            continue
        key = (x.regions[i], x.flex[k])
        lo = float(x.min_site_mw[k])
        if cap[i, k] >= lo / 2 and total + lo <= limit + 1e-9 and lo <= x.cap_upper_mw[i, k]:
            bounds[key] = (lo, float(x.cap_upper_mw[i, k]))
            total += lo
            notes.append(f"{key[0]} {key[1]}: {cap[i, k]:.1f} MW raised to the {lo:g} MW minimum site")
        else:
            bounds[key] = (0.0, 0.0)
            notes.append(f"{key[0]} {key[1]}: {cap[i, k]:.1f} MW dropped (below the {lo:g} MW minimum site)")
    return bounds, tuple(notes)


def check_unserved(x: PlanInputs, sol: Solution, tol_mw: float = 1e-3) -> None:
    """Raise UnservedError naming regions and hours when household demand goes unserved.

    Unserved energy is a priced slack (VOLL) so the LP always solves; a plan that needs
    it means the scenario's own generation and corridors fall short of its demand, which
    is a finding about the input, not a plan to act on (``allow_unserved`` accepts it).
    """
    short = sol.unserved > tol_mw  # (T, R)
    if not short.any():
        return
    mwh = (sol.unserved * x.weight_h[:, None])  # (T, R)
    lines = []
    for r in np.flatnonzero(short.any(axis=0)):
        t = np.flatnonzero(short[:, r])
        worst = int(t[np.argmax(sol.unserved[t, r])])
        lines.append(f"{x.regions[r]}: {float(x.weight_h[t].sum()):,.0f} h short, {float(mwh[:, r].sum()):,.0f} MWh "
                     f"unserved, worst {float(sol.unserved[worst, r]):,.1f} MW of {float(x.demand_mw[worst, r]):,.1f} MW "
                     f"at {x.snapshots[worst]:%Y-%m-%d %H:%M %Z}; first at {x.snapshots[int(t[0])]:%Y-%m-%d %H:%M}")
    raise UnservedError(f"households cannot be served: {float(mwh.sum()):,.0f} MWh of demand exceeds what the "
                        f"scenario's generators and corridors can supply ({x.resolution}). Check demand (MW, not kW?), "
                        "capacities and hydro budgets, or pass --allow-unserved to plan anyway (unserved energy "
                        "is priced at the value of lost load)\n" + "\n".join(f"  - {line}" for line in lines))


def plan(scenario: Scenario, options: PlanOptions | None = None, progress: Progress | None = None) -> PlanResult:
    """Plan how many MW of each flexible type to site per region and how they run.

    Steps: prepare arrays (``options.resolution_h`` / ``options.days``), build the linopy
    model, solve with HiGHS, round sites below ``min_site_mw`` and re-solve, check the
    solution in numpy (raises CheckError on any violation), and solve the baseline
    without flexible loads for extra generation and utilisation.

    Raises InputError, InfeasibleError (with a diagnosis: region, hours, family),
    SolverError or CheckError.  Never mutates ``scenario``.
    """
    say = progress or (lambda _msg: None)
    options = options or PlanOptions()
    t_start = time.perf_counter()
    say("preparing inputs")
    x = prepare(scenario, options)
    _validate(x)
    say(f"building and solving ({len(x.snapshots)} snapshots, {x.resolution})")
    sol, res, build_s = solve_inputs(x, options)
    solve_s, rounded = res.solve_s, ()
    if options.min_site:
        bounds, rounded = _round_sites(x, sol)
        if bounds:
            say("re-solving with minimum site sizes")
            merged = {**options.capacity_bounds_mw, **bounds}
            options = dataclasses.replace(options, capacity_bounds_mw=merged)
            x = prepare(scenario, options)
            sol, res, b2 = solve_inputs(x, options)
            build_s += b2
            solve_s += res.solve_s
    if not options.allow_unserved:
        check_unserved(x, sol)
    t0 = time.perf_counter()
    if options.check:
        say("checking the solution")
        check_solution(x, sol)
    check_s = time.perf_counter() - t0
    baseline = None
    baseline_obj = float("nan")
    if options.baseline:
        say("solving the baseline without flexible loads")
        xb = prepare(scenario, dataclasses.replace(options, no_flex=True))
        baseline, res_b, b3 = solve_inputs(xb, options)
        if options.check:
            check_solution(xb, baseline)
        baseline_obj = res_b.objective_usd
        build_s += b3
        solve_s += res_b.solve_s
    timings = {"build_s": build_s, "solve_s": solve_s, "check_s": check_s, "total_s": time.perf_counter() - t_start}
    gens = scenario.generators[["region", "technology", "capacity_mw", "marginal_cost_usd_per_mwh"]].copy()
    return make_result(x, sol, res.status, res.objective_usd, gens, baseline, timings, rounded,
                       options.capacity_bounds_mw, baseline_obj)


def plan_inputs(scenario: Scenario, options: PlanOptions | None = None,
                result: PlanResult | None = None) -> PlanInputs:
    """The exact inputs of a plan's final solve (with ``result``'s rounded site bounds), for export."""
    options = options or PlanOptions()
    if result is not None:
        options = dataclasses.replace(options, capacity_bounds_mw=dict(result.capacity_bounds_mw))
    x = prepare(scenario, options)
    _validate(x)
    return x


__all__ = ["plan", "plan_inputs", "solve_inputs"]
