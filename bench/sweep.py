"""Benchmark: a sweep of 8 plan variants of the built-in scenario, 2 Dask workers vs serial.

Both runs use the same code path (:func:`offtake.sweep.run_sweep`, evaluate =
:func:`offtake.sweep.plan_and_value`: the planning engine, then the valuation); the
serial run calls it with no client, in this process.  Parallel efficiency =
serial time / (workers x parallel time); target >= 0.8 on 2 workers.  The
LocalCluster is started and warmed (engine imported, one small plan solved on each
worker) before timing, and this process is warmed the same way, so the figure
compares solving, not start-up; the start-up time is reported separately.  The
rows of both runs are checked equal (objective, MW) before any figure is reported.
The 1-minute load average before and after is recorded: on a shared machine other
processes take CPU from the workers.  As a control for the machine (not Dask), the
same variants also run on a plain ``concurrent.futures.ProcessPoolExecutor`` with as
many processes, warmed the same way; its efficiency is what the machine allows.

Run: ``.venv/bin/python bench/sweep.py [--resolution 3h | --days 24] [--workers 2] [--repeats 1]``.
Prints the figures and appends one JSON line to bench/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from offtake.scenario import load_scenario
from offtake.sweep import parse_grid, run_sweep

RESULTS = Path(__file__).with_name("results.jsonl")
AXES = {"programme_cap_mw": [1000, 2000], "hydrology": ["dry", "wet"],
        "rooftop_solar_growth_mw": [0, 5000]}


def _warm(plan_raw: dict) -> float:
    """Import the engine and solve one coarse plan (first-call costs out of the timing)."""
    from offtake.economics.value import plan_figures
    from offtake.plan import plan
    from offtake.plan.inputs import PlanOptions
    from offtake.scenario import load_scenario as load
    from offtake.sweep import parse_plan_options

    t0 = time.perf_counter()
    opts = PlanOptions(**{**parse_plan_options(plan_raw, "bench"), "baseline": False})
    plan_figures(plan(load(), opts))
    return time.perf_counter() - t0


def _pool_sweep(pool, base, grid) -> tuple[float, float, list]:
    """The same variants on a process pool: (wall s, CPU s, rows)."""
    from offtake.sweep import plan_groups, run_group

    t0 = time.perf_counter()
    futures = [pool.submit(run_group, base, items, grid) for items in plan_groups(grid)]
    rows = [row for f in futures for row in f.result()]
    wall = time.perf_counter() - t0
    return wall, float(sum(r["cpu_s"] for r in rows)), rows


def _compare(a, b) -> float:
    """Largest relative difference of the numeric figures of two sweeps (ok rows)."""
    fa, fb = a.to_frame(), b.to_frame()
    assert (fa["status"] == "ok").all() and (fb["status"] == "ok").all(), (fa["error"], fb["error"])
    cols = [c for c in fa.columns if c not in ("wall_s", "cpu_s", "error", "status", *AXES)
            and np.issubdtype(fa[c].dtype, np.number)]
    x, y = fa[cols].to_numpy(float), fb[cols].to_numpy(float)
    scale = np.maximum(np.abs(x), 1.0)
    diff = np.where(np.isnan(x) & np.isnan(y), 0.0, np.abs(x - y) / scale)
    return float(np.nanmax(diff))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--resolution", default=None, help="plan resolution, e.g. 3h")
    ap.add_argument("--days", type=int, default=None, help="representative days (multiple of 12)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    plan_raw: dict = {"days": args.days} if args.days else {"resolution": args.resolution or "3h"}
    grid = parse_grid({"axes": AXES, "plan": plan_raw}, "bench")
    base = load_scenario()
    load_before = os.getloadavg()[0]

    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    startup_s = time.perf_counter() - t0
    warm_worker_s = client.run(_warm, plan_raw)
    warm_local_s = _warm(plan_raw)

    serial_s, parallel_s, diffs, per_variant = [], [], [], []
    serial_cpu, parallel_cpu = [], []
    pool_s, pool_cpu = [], []
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(args.workers)
    list(pool.map(_warm, [plan_raw] * args.workers))
    try:
        for _ in range(args.repeats):
            s = run_sweep(base, grid)
            p = run_sweep(base, grid, client=client)
            serial_s.append(s.wall_s)
            parallel_s.append(p.wall_s)
            diffs.append(_compare(s, p))
            per_variant += list(s.to_frame()["wall_s"])
            serial_cpu.append(float(s.to_frame()["cpu_s"].sum()))
            parallel_cpu.append(float(p.to_frame()["cpu_s"].sum()))
            w, c, rows = _pool_sweep(pool, base, grid)
            pool_s.append(w)
            pool_cpu.append(c)
            assert all(r["status"] == "ok" for r in rows)
    finally:
        client.close()
        cluster.close()
        pool.shutdown()
    load_after = os.getloadavg()[0]
    ser, par = statistics.median(serial_s), statistics.median(parallel_s)
    figures = {
        "bench": "sweep", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "variants": grid.n_variants, "workers": args.workers, "resolution": str(plan_raw),
        "serial_s": round(ser, 3), "parallel_s": round(par, 3),
        "parallel_efficiency": round(ser / (args.workers * par), 3),
        "speedup": round(ser / par, 3), "target_efficiency": 0.8,
        "meets_target": ser / (args.workers * par) >= 0.8,
        "variant_s_median": round(statistics.median(per_variant), 3),
        "variant_s_max": round(max(per_variant), 3),
        "pool_s": round(statistics.median(pool_s), 3),
        "pool_efficiency": round(ser / (args.workers * statistics.median(pool_s)), 3),
        "pool_cores_obtained": round(statistics.median(pool_cpu) / statistics.median(pool_s), 2),
        "dask_vs_pool_wall_ratio": round(statistics.median(pool_s) / par, 3),
        "cluster_startup_s": round(startup_s, 3),
        # CPU seconds the variants used, and the share of a core each process got while running
        "serial_cpu_s": round(statistics.median(serial_cpu), 2),
        "parallel_cpu_s": round(statistics.median(parallel_cpu), 2),
        "serial_cores_obtained": round(statistics.median(serial_cpu) / ser, 2),
        "parallel_cores_obtained": round(statistics.median(parallel_cpu) / par, 2),
        # derived, not measured wall time: the efficiency if each process had a whole core
        "cpu_work_ratio_serial_over_parallel": round(statistics.median(serial_cpu)
                                                     / statistics.median(parallel_cpu), 3),
        "warmup_s_workers": [round(v, 2) for v in warm_worker_s.values()],
        "warmup_s_local": round(warm_local_s, 2),
        "max_rel_diff_serial_vs_dask": diffs and max(diffs),
        "repeats": args.repeats, "serial_s_all": [round(v, 3) for v in serial_s],
        "parallel_s_all": [round(v, 3) for v in parallel_s],
        "pool_s_all": [round(v, 3) for v in pool_s],
        "loadavg_1m_before": round(load_before, 2), "loadavg_1m_after": round(load_after, 2),
        "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
    }
    text = json.dumps(figures)
    print(text)
    with open(RESULTS, "a") as fh:
        fh.write(text + "\n")


if __name__ == "__main__":
    main()
