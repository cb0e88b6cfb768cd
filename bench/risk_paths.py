"""Benchmark: Monte Carlo valuation of 10,000 paths x 120 months (target < 2 s).

Times the vectorised pipeline (draw shocks, build BTC / GPU / hashrate / uptime
paths, monthly cash flows of a 100 MW mining site and a 100 MW AI data centre,
NPV per path) and, as the peer, the straightforward loop that values one path at a
time with the same code on a subset, scaled to the full path count.  The loop's
NPVs are checked equal to the vectorised ones before any figure is reported.

Run: ``.venv/bin/python bench/risk_paths.py [--paths N] [--months M] [--loop-paths K]``.
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

from offtake.risk import RiskAssumptions, Shocks, draw_shocks, value_paths


def _vectorised(a: RiskAssumptions, seed: int) -> tuple[float, dict[str, np.ndarray]]:
    t0 = time.perf_counter()
    shocks = draw_shocks(np.random.default_rng(seed), a.n_paths, a.n_months)
    npvs = value_paths(a, shocks)
    return time.perf_counter() - t0, npvs


def _loop(a: RiskAssumptions, seed: int, n_loop: int) -> tuple[float, dict[str, np.ndarray]]:
    shocks = draw_shocks(np.random.default_rng(seed), a.n_paths, a.n_months)
    out: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for i in range(n_loop):
        one = Shocks(shocks.z_btc[i:i + 1], shocks.z_gpu[i:i + 1], shocks.u_hydro[i:i + 1],
                     shocks.z_demand[i:i + 1])
        for key, v in value_paths(a, one).items():
            out.setdefault(key, []).append(float(v[0]))
    return time.perf_counter() - t0, {k: np.array(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--loop-paths", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=2025)
    args = ap.parse_args()
    a = RiskAssumptions(n_paths=args.paths, n_months=args.months)

    _vectorised(a, args.seed)  # warm-up (imports, first allocations)
    times = []
    for _ in range(args.repeats):
        wall, npvs = _vectorised(a, args.seed)
        times.append(wall)
    wall_s = statistics.median(times)

    n_loop = min(args.loop_paths, args.paths)
    loop_s, loop_npvs = _loop(a, args.seed, n_loop)
    for key, v in loop_npvs.items():
        np.testing.assert_allclose(v, npvs[key][:n_loop], rtol=1e-10)
    loop_scaled_s = loop_s * args.paths / n_loop

    record = {
        "bench": "risk_paths",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "n_paths": args.paths,
        "n_months": args.months,
        "loads": sorted(npvs),
        "wall_s_median": round(wall_s, 4),
        "wall_s_min": round(min(times), 4),
        "repeats": args.repeats,
        "paths_per_s": round(args.paths / wall_s, 1),
        "loop_paths_measured": n_loop,
        "loop_wall_s_measured": round(loop_s, 4),
        "loop_wall_s_scaled": round(loop_scaled_s, 3),
        "speedup_vs_loop": round(loop_scaled_s / wall_s, 1),
        "target_s": 2.0,
        "meets_target": wall_s < 2.0,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    print(f"{args.paths:,} paths x {args.months} months: {wall_s:.3f} s median of "
          f"{args.repeats} (min {min(times):.3f} s), {record['paths_per_s']:,.0f} paths/s")
    print(f"per-path loop: {n_loop} paths in {loop_s:.3f} s -> {loop_scaled_s:.1f} s scaled "
          f"to {args.paths:,}; vectorised is {record['speedup_vs_loop']}x faster")
    with open(Path(__file__).with_name("results.jsonl"), "a") as fh:
        fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
