"""Benchmark: a 20-level deal-space sweep of one tariff design vs one plan solve and vs 20 cold solves.

The model of a design is built once and handed to HiGHS once (:class:`offtake.deal.DesignLP`);
successive levels change only objective coefficients (and for ``flat`` one coefficient per
participation row), so each re-solve starts from the previous optimal basis.  The peer is the
same 20 levels with the basis cleared before every level (``DesignLP.reset_basis``: a cold
solve each time, same code otherwise).  "One plan solve" is the first (cold) solve of the
design's LP at the offered tariff's level.  Figures: wall seconds of the solves (HiGHS runs,
outer iterations and guard re-solves included) and of the whole sweep (evaluation included);
the sited MW of the warm and cold sweeps are checked equal before any figure is reported.

Run: ``.venv/bin/python bench/deal.py [--resolution 3] [--designs surplus_indexed,flat] [--levels 20]``.
Prints the figures and appends one JSON line to bench/results.jsonl.  Figures are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from offtake.deal import DealOptions, DesignLP, _solve_baseline, evaluate_point, solve_design
from offtake.economics.designs import Design, default_levels, design_kind
from offtake.economics.tariff import impact_figures
from offtake.economics.valuation import scenario_economics
from offtake.scenario import load_scenario

RESULTS = Path(__file__).with_name("results.jsonl")


def sweep(s, kind, levels, opts, baseline, warm: bool) -> tuple[float, float, list[float], int]:
    lp = DesignLP(s, kind, opts.plan_options())
    econ_map = scenario_economics(s.flex_loads, opts.valuation)
    econ = [econ_map[n] for n in lp.x.flex]
    fig = impact_figures(s, opts.ke_regions)
    t0 = time.perf_counter()
    mw = []
    for level in levels:
        if not warm:
            lp.reset_basis()
        sol, coef, it, dropped = solve_design(lp, Design(kind, level), econ, fig.pkr_per_usd, opts.max_outer)
        p = evaluate_point(lp, sol, Design(kind, level), coef, econ, baseline, fig, opts.ke_regions, it, dropped, None)
        mw.append(p.total_mw)
    return time.perf_counter() - t0, lp.solve_s, mw, lp.solves


def one_solve(s, kind, level, opts) -> tuple[float, float]:
    t0 = time.perf_counter()
    lp = DesignLP(s, kind, opts.plan_options())
    build = time.perf_counter() - t0
    econ_map = scenario_economics(s.flex_loads, opts.valuation)
    econ = [econ_map[n] for n in lp.x.flex]
    from offtake.economics.designs import coefficients

    lp.set_design(coefficients(Design(kind, level), econ, impact_figures(s).pkr_per_usd),
                  np.zeros((len(lp.x.regions), len(lp.x.flex))), np.zeros((len(lp.x.regions), len(lp.x.flex)), bool))
    lp.run()
    return build, lp.solve_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolution", type=int, default=3)
    ap.add_argument("--designs", default="surplus_indexed,flat")
    ap.add_argument("--levels", type=int, default=20)
    a = ap.parse_args()
    s = load_scenario()
    opts = DealOptions(resolution_h=a.resolution, n_levels=a.levels)
    baseline = _solve_baseline(s, opts.plan_options())
    rows = []
    for name in a.designs.split(","):
        kind = design_kind(name)
        levels = default_levels(kind, a.levels)
        ref = {"flat": 22.98, "surplus_indexed": 0.0, "revenue_share": 0.5}[kind.value]
        build_s, one_s = one_solve(s, kind, ref, opts)
        load0 = os.getloadavg()[0]
        warm_wall, warm_solve, mw_w, n_w = sweep(s, kind, levels, opts, baseline, warm=True)
        cold_wall, cold_solve, mw_c, n_c = sweep(s, kind, levels, opts, baseline, warm=False)
        if not np.allclose(mw_w, mw_c, atol=1e-3):
            raise SystemExit(f"{name}: warm and cold sweeps site different MW: {mw_w} vs {mw_c}")
        row = {"design": name, "levels": a.levels, "build_s": round(build_s, 3), "one_solve_s": round(one_s, 3),
               "warm_sweep_wall_s": round(warm_wall, 3), "warm_sweep_solve_s": round(warm_solve, 3), "warm_solves": n_w,
               "cold_sweep_wall_s": round(cold_wall, 3), "cold_sweep_solve_s": round(cold_solve, 3), "cold_solves": n_c,
               "ratio_warm_sweep_vs_one_solve": round(warm_wall / one_s, 2),
               "ratio_cold_vs_warm": round(cold_wall / warm_wall, 2),
               "mw_sited_per_level": [round(v, 1) for v in mw_w], "loadavg_1m_before": round(load0, 2),
               "loadavg_1m_after": round(os.getloadavg()[0], 2)}
        print(json.dumps(row))
        rows.append(row)
        line = {"bench": "deal", "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "python": platform.python_version(), "cpus": os.cpu_count(), "resolution_h": a.resolution,
                "snapshots": int(8760 / a.resolution), **row, "target": "20-level sweep <= 3x one plan solve"}
        with RESULTS.open("a") as f:  # one line per design, as soon as it is measured
            f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
