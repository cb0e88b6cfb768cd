"""Benchmark: `offtake assess` on the built-in scenario, end to end, and its stages against peers.

End to end: the whole command in a fresh process (imports, load, baseline dispatch, cost
bands, min-cut, headroom, CSV/JSON, three PNGs drawn by the forked worker), median of
``--runs`` runs with and without plots; the 1-minute load average before each run is kept
(the machine is shared).  Target: under 3 s.

Stages, each timed with ``median_time`` (warm, repeated alike):
- the least-cost baseline dispatch: the greedy (ours) against one HiGHS LP of all 8,760
  hourly blocks (the peer it replaced); their total costs must agree;
- the any-cost national figure: the regions' sum (ours, corridors in delivered MW) against
  the transport LP that charges corridor losses (``national_with_losses``), with the
  difference it makes [MW].

    python bench/assess.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_time, record  # noqa: E402


def end_to_end(runs: int, extra: list[str]) -> dict[str, object]:
    exe = Path(sys.executable).with_name("offtake")
    times, loads, cpu = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):  # the first run warms the file cache, not timed
            load = os.getloadavg()[0]
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([str(exe), "assess", "--out", str(Path(tmp) / f"r{i}"), *extra], check=True, capture_output=True)
            t1 = time.perf_counter()
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if i:
                times.append(t1 - t0)
                loads.append(load)
                cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    # CPU seconds of the command and its plot worker together: less sensitive to other users' load
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "runs_s": [round(t, 3) for t in times], "cpu_s_median": round(statistics.median(cpu), 3),
            "loadavg_1m_before_runs": [round(v, 2) for v in loads]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    with_plots = end_to_end(args.runs, [])
    no_plots = end_to_end(args.runs, ["--no-plots"])

    from offtake.scenario import load_scenario
    from offtake.surplus import assess, national_with_losses
    from offtake.surplus_cost import _dispatch_lp, _greedy_dispatch, cost_bands, dispatch_units

    load_s, _ = median_time(lambda: load_scenario(), repeat=3)
    sc = load_scenario()
    assess_s, _ = median_time(lambda: assess(sc), repeat=3)
    bands_s, _ = median_time(lambda: cost_bands(sc), repeat=3)
    u = dispatch_units(sc)
    need = sc.demand_mw[sc.region_names].to_numpy(float) * (1.0 + sc.config.reserve_margin)
    hours = np.arange(len(need))
    greedy_s, _ = median_time(lambda: _greedy_dispatch(u, sc, need), repeat=3)
    lp_s, _ = median_time(lambda: _dispatch_lp(u, sc, hours, need), repeat=3, warmup=0)
    p_g, _, ok = _greedy_dispatch(u, sc, need)
    p_l, short, _ = _dispatch_lp(u, sc, hours, need)
    both = ok & (short.sum(axis=1) < 1e-6)  # hours the greedy serves in full (the LP decides the others)
    cost_g = float((p_g[both] * u.cost_usd_per_mwh).sum())
    cost_l = float((p_l[both] * u.cost_usd_per_mwh).sum())

    res = assess(sc)
    lossy_s, _ = median_time(lambda: national_with_losses(res.local_surplus_mw, sc), repeat=3, warmup=0)
    split, _ = national_with_losses(res.local_surplus_mw, sc)
    lossy = split.sum(axis=1)
    diff = res.national_mw - lossy
    record("assess", {
        "scenario": sc.name, "hours": len(need),
        "end_to_end_with_plots": with_plots, "end_to_end_no_plots": no_plots,
        "end_to_end_s": with_plots["median_s"], "target_s": 3.0, "meets_target": bool(with_plots["median_s"] < 3.0),
        "load_scenario_s": round(load_s, 3), "assess_stage_s": round(assess_s, 3), "cost_bands_s": round(bands_s, 3),
        "baseline_greedy_s": round(greedy_s, 4), "baseline_lp_peer_s": round(lp_s, 3),
        "baseline_speedup_vs_lp": round(lp_s / greedy_s, 1),
        "baseline_cost_rel_diff_vs_lp": abs(cost_g - cost_l) / max(abs(cost_l), 1.0),
        "greedy_hours_served_in_full": int(both.sum()),
        "national_lossy_lp_s": round(lossy_s, 3),
        "national_lossless_minus_lossy_mw": {"mean": round(float(diff.mean()), 2), "p95_hours": round(float(diff.quantile(0.95)), 2),
                                             "max": round(float(diff.max()), 2),
                                             "p95_of_national_mw": [round(float(res.national_mw.quantile(0.05)), 1),
                                                                    round(float(lossy.quantile(0.05)), 1)]},
    })


if __name__ == "__main__":
    main()
