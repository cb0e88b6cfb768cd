"""Setpoint issued -> simulated site at its new draw, for 100 and 2,000 LuxOS miners.

The agent's controller drives a simulated fleet through pyasic over real TCP (one port
per miner on 127.0.0.1).  Each trial alternates a curtailment (to 30 % of nameplate)
and a restoration (to 70 %); latency is measured from the moment the setpoint message
is offered to the agent until the fleet's ground-truth draw is within one machine of
the new target and not above it.  Two figures per trial:

* ``command_s``: setpoint -> every command acknowledged by the miners (agent + network);
* ``draw_s``:    setpoint -> measured draw at the new level (includes simulated physics:
  5 s to stop and 60 s boot + 120 s ramp to restart, scaled by ``TIME_SCALE``).

Prints and appends one JSON line to bench/results.jsonl.
Usage: python bench/agent_latency.py [--trials N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


async def run_site(n: int, trials: int) -> dict:
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
    command_s: list[float] = []
    draw_s: list[float] = []
    for i in range(trials):
        frac = 0.3 if i % 2 == 0 else 0.7
        target_w = frac * nameplate_w
        t0 = time.perf_counter()
        ctl.offer_setpoint({"site_id": "bench", "setpoint_mw": target_w / 1e6, "seq": i + 1})
        rep = await ctl.tick(fresh=False)           # acts on the latest sweep at once
        command_s.append(time.perf_counter() - t0)
        while True:
            p = fleet.power_w()
            if target_w - biggest_w <= p <= target_w + 1e-6:
                break
            if time.perf_counter() - t0 > 120:
                raise RuntimeError(f"site did not reach {target_w} W (at {p} W)")
            await asyncio.sleep(0.002)
        draw_s.append(time.perf_counter() - t0)
        assert rep.failed == 0
        await ctl.refresh()                          # the sweep loop's job in the agent
    await fleet.stop()
    ctl.outbox.close()
    return {"machines": n, "trials": trials, "first_sweep_s": round(sweep_s, 3),
            "command_p50_s": round(statistics.median(command_s), 4),
            "command_p99_s": round(pct(command_s, 99), 4),
            "draw_p50_s": round(statistics.median(draw_s), 4),
            "draw_p99_s": round(pct(draw_s, 99), 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--sizes", default="100,2000")
    args = ap.parse_args()
    rows = [asyncio.run(run_site(int(n), args.trials)) for n in args.sizes.split(",")]
    line = {"bench": "agent_latency", "time_scale": TIME_SCALE, "sites": rows,
            "python": platform.python_version(), "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    print(json.dumps(line, indent=1))
    with open(Path(__file__).with_name("results.jsonl"), "a") as fh:
        fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
