"""Benchmark: full-year hourly plan of the built-in scenario vs PyPSA's optimize() on the exported network.

Measures, in one process: prepare + build + solve + read + check of the planner's LP
(HiGHS interior point with crossover through linopy's direct API), then PyPSA's
build + optimize() of the same problem (same HiGHS options, PyPSA's default linopy
io), the objective difference, the planner's build and solve shares, and peak RSS.

    .venv/bin/python bench/plan_full_year.py [--resolution-h 1] [--days N]
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import record


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolution-h", type=int, default=1)
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--solver", default="choose")
    ap.add_argument("--no-pypsa", action="store_true")
    ap.add_argument("--also-solver", default=None, help="time ours a second time with this HiGHS solver")
    a = ap.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    logging.disable(logging.WARNING)

    from offtake.plan import PlanOptions, build_model, check_solution, prepare, solve
    from offtake.plan.pypsa_io import extra_functionality, to_pypsa
    from offtake.plan.result import read_solution
    from offtake.scenario.io import load_scenario

    sc = load_scenario()
    t0 = time.perf_counter()
    x = prepare(sc, PlanOptions(resolution_h=a.resolution_h, days=a.days))
    t1 = time.perf_counter()
    m = build_model(x)
    t2 = time.perf_counter()
    res = solve(m, solver=a.solver)
    t3 = time.perf_counter()
    check_solution(x, read_solution(m, x))
    t4 = time.perf_counter()
    ours_total = t4 - t0
    ours_rss = peak_rss_mb()
    figures: dict[str, object] = {
        "snapshots": len(x.snapshots), "resolution": x.resolution, "solver": f"highs-{a.solver}",
        "variables": int(m.nvars), "constraints": int(m.ncons),
        "objective_usd": res.objective_usd, "prepare_s": round(t1 - t0, 3), "build_s": round(t2 - t1, 3),
        "solve_s": round(t3 - t2, 3), "read_check_s": round(t4 - t3, 3), "total_s": round(ours_total, 3),
        "build_share": round((t2 - t0) / ours_total, 4), "solve_share": round((t3 - t2) / ours_total, 4),
        "peak_rss_mb": round(ours_rss, 1),
    }
    del m
    if a.also_solver:
        t0 = time.perf_counter()
        m2 = build_model(x)
        r2 = solve(m2, solver=a.also_solver)
        check_solution(x, read_solution(m2, x))
        figures.update({f"also_{a.also_solver}_total_s": round(time.perf_counter() - t0, 3),
                        f"also_{a.also_solver}_solve_s": round(r2.solve_s, 3),
                        f"also_{a.also_solver}_objective_rel_diff": abs(r2.objective_usd - res.objective_usd)
                        / abs(res.objective_usd)})
        del m2
    if not a.no_pypsa:
        t5 = time.perf_counter()
        n = to_pypsa(x)
        t6 = time.perf_counter()
        status, cond = n.optimize(solver_name="highs", extra_functionality=extra_functionality,
                                  include_objective_constant=False, solver_options={"solver": a.solver})
        t7 = time.perf_counter()
        figures.update({
            "pypsa_status": f"{status}/{cond}", "pypsa_objective_usd": float(n.objective),
            "objective_rel_diff": abs(res.objective_usd - float(n.objective)) / abs(float(n.objective)),
            "pypsa_network_build_s": round(t6 - t5, 3), "pypsa_optimize_s": round(t7 - t6, 3),
            "pypsa_total_s": round(t7 - t5, 3), "ratio_ours_to_pypsa": round(ours_total / (t7 - t5), 4),
            "peak_rss_mb_after_pypsa": round(peak_rss_mb(), 1),
        })
    record("plan_full_year", figures)


if __name__ == "__main__":
    main()
