"""Error of reduced time resolution against the full hourly year, built-in scenario.

For each setting: objective relative error, sum over regions and types of |MW - MW_full|,
and solve wall time.  Appends one JSON line to bench/results.jsonl.

    .venv/bin/python bench/plan_resolution.py
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import record


def main() -> None:
    warnings.simplefilter("ignore", FutureWarning)
    logging.disable(logging.WARNING)
    from offtake.plan import PlanOptions, plan
    from offtake.scenario.io import load_scenario

    sc = load_scenario()
    settings = {"1h": PlanOptions(baseline=False), "3h": PlanOptions(resolution_h=3, baseline=False),
                "24h": PlanOptions(resolution_h=24, baseline=False), "12 days": PlanOptions(days=12, baseline=False),
                "48 days": PlanOptions(days=48, baseline=False)}
    out: dict[str, object] = {}
    ref = None
    for name, opt in settings.items():
        t0 = time.perf_counter()
        r = plan(sc, opt)
        dt = time.perf_counter() - t0
        if ref is None:
            ref = r
        out[name] = {"objective_usd": r.objective_usd,
                     "objective_rel_error": (r.objective_usd - ref.objective_usd) / abs(ref.objective_usd),
                     "mw_abs_diff": float((r.capacity_mw - ref.capacity_mw).abs().to_numpy().sum()),
                     "mw_by_type": {k: round(float(v), 1) for k, v in r.capacity_mw.sum().items()},
                     "wall_s": round(dt, 2)}
        print(name, out[name], flush=True)
    record("plan_resolution", {"settings": out})


if __name__ == "__main__":
    main()
