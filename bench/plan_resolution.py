"""Error of reduced time resolution against the full hourly year, built-in scenario.

For each setting: objective relative error, sum over regions and types of |MW - MW_full|,
the fuel mix of the plan's dispatch (share per fuel), and wall time.  Appends one JSON line
to bench/results.jsonl.

``--mining-usd-per-mwh V --mining-capex-usd-per-mw-year C`` override the mining valuation
(with the lifetime valuation of offtake.economics the built-in plan sites 0 MW, so the MW
columns would all be 0; the first-year figures 93.76 / 329,200 make sites pay).

    .venv/bin/python bench/plan_resolution.py [--mining-usd-per-mwh 93.76 --mining-capex-usd-per-mw-year 329200]
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
    import argparse
    import dataclasses

    from offtake.plan import PlanOptions, plan
    from offtake.scenario.io import load_scenario

    ap = argparse.ArgumentParser()
    ap.add_argument("--mining-usd-per-mwh", type=float, default=None)
    ap.add_argument("--mining-capex-usd-per-mw-year", type=float, default=None)
    a = ap.parse_args()
    sc = load_scenario()
    if a.mining_usd_per_mwh is not None:
        fl = sc.flex_loads.copy()
        fl.loc["bitcoin_mining", "value_usd_per_mwh"] = a.mining_usd_per_mwh
        fl.loc["bitcoin_mining", "capex_usd_per_mw_year"] = a.mining_capex_usd_per_mw_year
        sc = dataclasses.replace(sc, flex_loads=fl)
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
                     "snapshots": len(r.weight_h),
                     "mix_share": {f: round(float(v), 4) for f, v in
                                   (r.fuel_mix()["with_flex_mwh_per_year"] / r.fuel_mix()["with_flex_mwh_per_year"].sum()).items()},
                     "wall_s": round(dt, 2)}
        print(name, out[name], flush=True)
    record("plan_resolution", {"settings": out, "mining_override": [a.mining_usd_per_mwh, a.mining_capex_usd_per_mw_year]})


if __name__ == "__main__":
    main()
