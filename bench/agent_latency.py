"""Setpoint issued -> simulated site at its new draw, for 100 and 2,000 LuxOS miners.

The agent's controller drives a simulated fleet through pyasic over real TCP (one port
per miner on 127.0.0.1).  Each trial alternates a curtailment (to 30 % of nameplate)
and a restoration (to 70 %); latency is measured from the moment the setpoint message
is offered to the agent until the fleet's ground-truth draw is within one machine of
the new target and not above it.  Curtailments and restorations are reported
separately (a restoration includes the simulated boot and ramp, a curtailment does not).
A tail is called ``p99`` only when a kind has at least 100 trials; with fewer it is
reported as ``max`` (the largest of n, which is what a "p99" of 20 trials would be).
Two figures per trial:

* ``command_s``: setpoint -> every command acknowledged by the miners (agent + network);
* ``draw_s``:    setpoint -> measured draw at the new level (includes simulated physics:
  5 s to stop and 60 s boot + 120 s ramp to restart, scaled by ``TIME_SCALE``).

Prints and appends one JSON line to bench/results.jsonl.
Usage: python bench/agent_latency.py [--sizes 100:100,2000:20]  (machines:trials of each kind)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from offtake.agent.config import parse_config
from offtake.agent.controller import Controller
from offtake.agent.runtime import build_site

TIME_SCALE = 0.001   # 5 s stop -> 5 ms; 180 s restart -> 0.18 s


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


def summary(xs: list[float]) -> dict[str, float | int]:
    """n, p50 and a tail: p99 with >= 100 samples, else the max (named so)."""
    out: dict[str, float | int] = {"n": len(xs), "p50_s": round(statistics.median(xs), 4)}
    if len(xs) >= 100:
        out["p99_s"] = round(pct(xs, 99), 4)
    out["max_s"] = round(max(xs), 4)
    return out


async def run_site(n: int, per_kind: int) -> dict:
    tmp = tempfile.mkdtemp()
    cfg = parse_config({
        "site_id": "bench", "kind": "mining", "state_dir": tmp,
        "service": {"url": "http://127.0.0.1:9", "client_id": "b", "client_secret": "b"},
        "failsafe": {"link_timeout_s": 1e6},
        "control": {"ramp_up_mw_per_min": 1e6, "tolerance_mw": 0.0},
        "miners": {"simulate": {"count": n, "time_scale": TIME_SCALE}, "timeout_s": 30.0}})
    site = await build_site(cfg)
    fleet = site.fleet
    ctl = Controller(cfg, site.driver)
    t0 = time.perf_counter()
    await ctl.refresh()
    sweep_s = time.perf_counter() - t0
    nameplate_w = sum(m.nameplate_w for m in fleet.miners)
    biggest_w = max(m.nameplate_w for m in fleet.miners)
    trials = 2 * per_kind
    command_s: dict[str, list[float]] = {"curtail": [], "restore": []}
    draw_s: dict[str, list[float]] = {"curtail": [], "restore": []}
    for i in range(trials):
        kind = "curtail" if i % 2 == 0 else "restore"
        frac = 0.3 if kind == "curtail" else 0.7
        target_w = frac * nameplate_w
        t0 = time.perf_counter()
        ctl.offer_setpoint({"site_id": "bench", "setpoint_mw": target_w / 1e6, "seq": i + 1})
        rep = await ctl.tick(fresh=False)           # acts on the latest sweep at once
        command_s[kind].append(time.perf_counter() - t0)
        while True:
            p = fleet.power_w()
            if target_w - biggest_w <= p <= target_w + 1e-6:
                break
            if time.perf_counter() - t0 > 120:
                raise RuntimeError(f"site did not reach {target_w} W (at {p} W)")
            await asyncio.sleep(0.002)
        draw_s[kind].append(time.perf_counter() - t0)
        assert rep.failed == 0
        await ctl.refresh()                          # the sweep loop's job in the agent
    await fleet.stop()
    ctl.outbox.close()
    # the first curtailment starts from full draw after the first sweep; it is kept (no warm-up to hide)
    return {"machines": n, "trials": trials, "first_sweep_s": round(sweep_s, 3),
            **{f"{what}_{kind}": summary(xs[kind]) for what, xs in (("command", command_s), ("draw", draw_s))
               for kind in ("curtail", "restore")}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100:100,2000:20", help="machines:trials-per-kind, comma-separated")
    args = ap.parse_args()
    rows = []
    for item in args.sizes.split(","):
        n, per_kind = (int(v) for v in item.split(":"))
        rows.append(asyncio.run(run_site(n, per_kind)))
    line = {"bench": "agent_latency", "time_scale": TIME_SCALE, "sites": rows,
            "python": platform.python_version(), "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "loadavg_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(line, indent=1))
    with open(Path(__file__).with_name("results.jsonl"), "a") as fh:
        fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
