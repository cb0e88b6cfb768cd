"""A simulated GPU cluster driven through an ``nvidia-smi``-like command line.

Run as ``python -m offtake.agent.sim.gpu_cluster STATE.json ARGS``; the state file
holds every GPU's job, power cap and ramp.  Understood arguments (a subset of
nvidia-smi, plus a job scheduler's suspend/resume):

* ``-i 0,1,5 -pl 350``: set the power cap [W] of GPUs 0, 1 and 5 (error outside limits)
* ``--query-gpu=index,power.draw,power.limit --format=csv,noheader,nounits``
* ``suspend JOB`` / ``resume JOB``: pause or resume a job (its GPUs fall to idle draw)

Timing follows real hardware, scaled by the state's ``time_scale``: each command takes
``latency_s`` (nvidia-smi is ~0.2 s), a cap takes effect over ``cap_settle_s`` (~1 s),
a suspend drains over ``pause_s`` (~5 s), a resume ramps over ``resume_s`` (~10 s).
Standard library only, so each call starts quickly.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path


def _power(g: dict, now: float) -> float:
    f, t, t0, dur = g["ramp"]
    if dur <= 0 or now >= t0 + dur:
        return float(t)
    return f + (t - f) * max(0.0, now - t0) / dur


def _goal(g: dict, idle_w: float) -> float:
    return idle_w if g["paused"] else min(g["demand_w"], g["cap_w"])


def init_state(path: str | Path, jobs: dict[str, tuple[str, int]], *, max_w: float = 700.0,
               min_w: float = 200.0, idle_w: float = 70.0, time_scale: float = 1.0,
               training_demand_w: float = 680.0, inference_demand_w: float = 450.0) -> None:
    """Write a fresh cluster: ``jobs`` maps job name -> (kind, number of GPUs)."""
    now = time.time()
    gpus: dict[str, dict] = {}
    job_gpus: dict[str, list[int]] = {}
    i = 0
    for name, (kind, n) in jobs.items():
        job_gpus[name] = list(range(i, i + n))
        demand = training_demand_w if kind == "training" else inference_demand_w
        for _ in range(n):
            gpus[str(i)] = {"job": name, "demand_w": demand, "cap_w": max_w, "paused": False,
                            "ramp": [demand, demand, now, 0.0]}
            i += 1
    state = {"max_w": max_w, "min_w": min_w, "idle_w": idle_w, "time_scale": time_scale,
             "latency_s": 0.2, "cap_settle_s": 1.0, "pause_s": 5.0, "resume_s": 10.0,
             "gpus": gpus, "jobs": job_gpus}
    Path(path).write_text(json.dumps(state))


def cluster_power_w(path: str | Path) -> float:
    """Ground-truth draw of the whole cluster [W]."""
    state = json.loads(Path(path).read_text())
    now = time.time()
    return sum(_power(g, now) for g in state["gpus"].values())


def _retarget(g: dict, goal: float, dur_s: float, now: float) -> None:
    g["ramp"] = [_power(g, now), goal, now, dur_s]


def run(argv: list[str]) -> int:
    if not argv:
        print("usage: gpu_cluster STATE.json ARGS", file=sys.stderr)
        return 2
    path = Path(argv[0])
    args = argv[1:]
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text())
        scale = state["time_scale"]
        time.sleep(state["latency_s"] * scale)
        now = time.time()
        gpus = state["gpus"]
        out: list[str] = []
        code = 0
        if args and args[0].startswith("--query-gpu="):
            fields = args[0].split("=", 1)[1].split(",")
            for idx in sorted(gpus, key=int):
                g = gpus[idx]
                vals = {"index": idx, "power.draw": f"{_power(g, now):.2f}",
                        "power.limit": f"{g['cap_w']:.2f}"}
                out.append(", ".join(vals.get(f, "[N/A]") for f in fields))
        elif len(args) == 4 and args[0] == "-i" and args[2] == "-pl":
            watts = float(args[3])
            if not state["min_w"] <= watts <= state["max_w"]:
                print(f"Provided power limit {watts:.2f} W is not a valid power limit which "
                      f"should be between {state['min_w']:.2f} W and {state['max_w']:.2f} W",
                      file=sys.stderr)
                return 2
            ids = args[1].split(",")
            missing = [i for i in ids if i not in gpus]
            if missing:
                print(f"No devices were found with index {','.join(missing)}", file=sys.stderr)
                return 6
            for i in ids:
                g = gpus[i]
                g["cap_w"] = watts
                _retarget(g, _goal(g, state["idle_w"]), state["cap_settle_s"] * scale, now)
                out.append(f"Power limit for GPU {i} was set to {watts:.2f} W.")
        elif len(args) == 2 and args[0] in ("suspend", "resume"):
            job = args[1]
            if job not in state["jobs"]:
                print(f"Invalid job id specified: {job}", file=sys.stderr)
                return 1
            pause = args[0] == "suspend"
            for i in state["jobs"][job]:
                g = gpus[str(i)]
                if g["paused"] != pause:
                    g["paused"] = pause
                    dur = state["pause_s"] if pause else state["resume_s"]
                    _retarget(g, _goal(g, state["idle_w"]), dur * scale, now)
        else:
            print(f"unknown arguments: {' '.join(args)}", file=sys.stderr)
            return 2
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, path)
    if out:
        print("\n".join(out))
    return code


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses in tests
    sys.exit(run(sys.argv[1:]))
