"""Allocation of 7 regions' surplus to 10,000 sites: the numpy function and a full run.

Figures:
* ``numpy_ms``: ``offtake.service.allocation.allocate`` (median of 50 warm calls), target < 50 ms;
* ``loop_ms``: a plain-Python loop applying the same rule on Python lists (the peer; numpy
  arrays are converted to lists once, inside the timed call), timed the same way (one warm-up
  call, median of 50), and the speed-up;
* ``db_run_ms``: ``run_allocation`` end to end on SQLite (load sites and signals, allocate,
  write 10,000 new setpoints and their push messages), one run.

Usage: python bench/service_allocation.py [--sites 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_time, record

from offtake.service.allocation import allocate


def loop_allocate(avail, region, cap, share, prio):  # type: ignore[no-untyped-def]
    """The same rule written as a per-site Python loop (the peer)."""
    region, cap, share, prio = region.tolist(), cap.tolist(), share.tolist(), prio.tolist()
    groups: dict[tuple[int, int, int], list[tuple[int, float]]] = defaultdict(list)
    for i in range(len(cap)):
        groups[(region[i], 0, prio[i])].append((i, cap[i] * (1 - share[i])))
        groups[(region[i], 1, prio[i])].append((i, cap[i] * share[i]))
    left = [max(0.0, a) for a in avail.tolist()]
    out = [0.0] * len(cap)
    for key in sorted(groups):
        blocks = groups[key]
        want = sum(mw for _, mw in blocks)
        give = min(want, left[key[0]])
        left[key[0]] -= give
        frac = give / want if want > 0 else 0.0
        for i, mw in blocks:
            out[i] += mw * frac
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=10_000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    n = args.sites
    region = rng.integers(0, 7, n)
    cap = rng.uniform(1, 50, n)
    share = rng.uniform(0, 1, n)
    prio = rng.integers(1, 6, n)
    avail = np.bincount(region, weights=cap, minlength=7) * 0.6  # 60 % of demand: rationing

    fast = allocate(avail, region, cap, share, prio)
    slow = loop_allocate(avail, region, cap, share, prio)
    assert np.allclose(fast, slow, atol=1e-6), "peer disagrees"
    med_s, numpy_runs = median_time(lambda: allocate(avail, region, cap, share, prio), repeat=50, warmup=1)
    loop_s, loop_runs = median_time(lambda: loop_allocate(avail, region, cap, share, prio), repeat=50, warmup=1)
    med, loop_ms = med_s * 1000, loop_s * 1000
    numpy_ms = [t * 1000 for t in numpy_runs]

    db_ms = _db_run(n, region, cap, share, prio, avail)
    record("service_allocation", {
        "sites": n, "regions": 7, "numpy_ms": round(med, 3),
        "numpy_p95_ms": round(sorted(numpy_ms)[int(0.95 * len(numpy_ms))], 3),
        "loop_ms": round(loop_ms, 1), "loop_p95_ms": round(sorted(loop_runs)[int(0.95 * len(loop_runs))] * 1000, 1),
        "timing": "both warm (1 untimed call), median of 50", "speedup_vs_loop": round(loop_ms / med, 1),
        "db_run_ms": round(db_ms, 1), "db": "sqlite", "target_ms": 50})


def _db_run(n, region, cap, share, prio, avail) -> float:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from offtake.service.app import build_state
    from offtake.service.domain.clients import create_client
    from offtake.service.domain.regions import DEFAULT_REGIONS
    from offtake.service.domain.setpoints import run_allocation
    from offtake.service.models import Setpoint, Site, SurplusSignal
    from offtake.service.security import Principal, Role
    from offtake.service.settings import Settings

    folder = tempfile.mkdtemp()
    state = build_state(Settings(database_url=f"sqlite:///{folder}/bench.db",
                                 secret_key="b" * 40, allocation_tick_s=0))
    regions = sorted(DEFAULT_REGIONS)
    now = datetime.now(UTC)
    with state.sessions() as s:
        create_client(s, actor=None, name="op", roles=[Role.SITE_OPERATOR], client_id="op")
        s.execute(insert(Site), [{
            "site_id": f"s{i:05d}", "name": f"s{i}", "site_type": "mining",
            "region_id": regions[region[i]], "contracted_mw": float(cap[i]),
            "interruptible_share": float(share[i]), "priority": int(prio[i]),
            "tariff_pkr_per_kwh": 22.98, "owner_client_id": "op", "active": True,
            "created_at": now, "setpoint_seq": 1, "setpoint_mw": 0.0} for i in range(n)])
        s.execute(insert(Setpoint), [{
            "site_id": f"s{i:05d}", "seq": 1, "setpoint_mw": 0.0, "reason": "allocation",
            "valid_from": now, "valid_until": None, "issued_at": now, "issued_by": "bench"}
            for i in range(n)])
        s.add_all([SurplusSignal(region_id=r, interval_start=now - timedelta(minutes=1),
                                 interval_end=now + timedelta(hours=1),
                                 available_mw=float(avail[k]), kind="actual", created_at=now,
                                 created_by="bench") for k, r in enumerate(regions)])
        s.commit()
        t = time.perf_counter()
        out = run_allocation(s, actor=Principal("bench", frozenset({Role.GRID_OPERATOR})))
        ms = (time.perf_counter() - t) * 1000
        assert out.changed == n
    state.engine.dispose()
    return ms


if __name__ == "__main__":
    main()
