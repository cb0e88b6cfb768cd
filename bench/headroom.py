"""Benchmark: curtailment-enabled headroom for 22 series x 9 years at 4 rates.

Compares the exact closed-form solver with a straightforward bisection that re-sums the
whole series for every trial load L (run in the same script on a subset of series and
scaled), and checks both agree.  Target: under 1 s for all 22 series.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import record  # noqa: E402

from offtake.headroom import DEFAULT_RATES, curtailment_headroom, curtailment_rate  # noqa: E402


def make_series(n: int, seed: int = 0) -> list[pd.Series]:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2016-01-01", "2024-12-31 23:00", freq="h", tz="UTC")
    doy = idx.day_of_year.to_numpy()
    hod = idx.hour.to_numpy()
    out = []
    for k in range(n):
        base = rng.uniform(2e3, 8e4)
        summer = 0.25 * np.sin(2 * np.pi * (doy - 105) / 365) + 0.05 * np.cos(4 * np.pi * doy / 365)
        daily = 0.12 * np.sin(2 * np.pi * (hod - 10) / 24)
        noise = np.convolve(rng.normal(0, 0.03, len(idx)), np.ones(24) / 24 ** 0.5, mode="same")
        out.append(pd.Series(base * (1 + summer + daily + noise), index=idx))
    return out


def bisection(d: pd.Series, rate: float, iters: int = 60) -> float:
    lo, hi = 0.0, float(d.max())
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if curtailment_rate(d, mid) <= rate else (lo, mid)
    return lo


def main() -> None:
    series = make_series(22)
    hours = sum(len(s) for s in series)
    curtailment_headroom(series[0])  # warm up imports
    t0 = time.perf_counter()
    results = [curtailment_headroom(s, DEFAULT_RATES) for s in series]
    exact_s = time.perf_counter() - t0
    n_sub = 2
    t0 = time.perf_counter()
    bis = [[bisection(s, r) for r in DEFAULT_RATES] for s in series[:n_sub]]
    bis_s = (time.perf_counter() - t0) * len(series) / n_sub
    err = max(abs(b - p.headroom_mw) / p.headroom_mw for bs, res in zip(bis, results) for b, p in zip(bs, res.points))
    record("headroom", {
        "series": len(series), "hours": hours, "rates": len(DEFAULT_RATES),
        "exact_s": round(exact_s, 4), "bisection_s_scaled": round(bis_s, 2),
        "speedup_vs_bisection": round(bis_s / exact_s, 1), "max_rel_diff_vs_bisection": err,
        "target_s": 1.0,
    })


if __name__ == "__main__":
    main()
