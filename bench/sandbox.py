"""`offtake sandbox run` at scale: wall time, CPU per simulated hour, peak memory, and how they grow
with the number of sites.

Each case runs the real command (service + one agent process per site) in a subprocess and
samples the whole process tree every second with psutil (a dependency of dask.distributed):
peak resident memory is the largest sum over the tree; CPU is the tree's user + system time
(``RUSAGE_CHILDREN`` after the command exits: every process is waited for by its parent).
Figures from the report: hours, households-first state (at speed 3,600 an hour lasts 1 s, shorter
than the 1.5 s response allowance, so the check reports NOT CHECKED and the command exits 1; the
bench records that honestly), faults recovered, telemetry exactly once, readings stored.

Usage:
  python bench/sandbox.py                       # the issue's case: 30 days, speed 3600, 20 sites, 2,000 miners
  python bench/sandbox.py --scaling             # 2 days at speed 3600 for 5, 10 and 20 sites
  python bench/sandbox.py --days 2 --regions 2 --sites-per-region 2 --miners-per-site 10
Appends one JSON line per case to bench/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import record


def _sample(pid: int, stop: threading.Event, peak: list[float], procs: list[int]) -> None:
    import psutil

    root = psutil.Process(pid)
    while not stop.is_set():
        try:
            tree = [root, *root.children(recursive=True)]
            rss = 0
            for p in tree:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], rss / 2**20)
            procs[0] = max(procs[0], len(tree))
        except psutil.Error:
            return
        stop.wait(1.0)


def run_case(days: float, speed: float, regions: int, sites_per_region: int, miners: int, pods: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="offtake-bench-sbx-"))
    cmd = [sys.executable, "-m", "offtake.cli", "sandbox", "run", "--out", str(out), "--days", str(days),
           "--speed", str(speed), "--regions", str(regions), "--sites-per-region", str(sites_per_region),
           "--miners-per-site", str(miners), "--pods-per-site", str(pods)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stop, peak, procs = threading.Event(), [0.0], [0]
    th = threading.Thread(target=_sample, args=(proc.pid, stop, peak, procs), daemon=True)
    th.start()
    text, _ = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    th.join(5)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    fig: dict[str, object] = {"days": days, "speed": speed, "regions": regions,
                              "sites_per_region": sites_per_region, "miners_per_site": miners,
                              "pods_per_site": pods, "exit_code": proc.returncode, "wall_s": round(wall, 1),
                              "cpu_s_all_processes": round(cpu, 1), "peak_rss_mib_all_processes": round(peak[0]),
                              "max_processes": procs[0], "out": str(out)}
    try:
        s = json.loads((out / "sandbox.json").read_text())
    except (OSError, ValueError):
        fig["error"] = text[-2000:]
        return fig
    n_sites = len(s["sites"])
    n_miners = sum(x["simulated_units"] for x in s["sites"] if x["load_type"] == "bitcoin_mining")
    hf = s["households_first"]
    fig.update({
        "sites": n_sites, "simulated_miners": n_miners,
        "simulated_gpu_pods": sum(x["simulated_units"] for x in s["sites"] if x["load_type"] != "bitcoin_mining"),
        "contracted_mw": round(sum(x["mw"] for x in s["sites"]), 1), "hours": s["hours"],
        "replay_wall_s": round(s["timing"]["wall_s"], 1), "prepare_s": round(s["timing"]["prepare_s"], 1),
        "cpu_s_per_simulated_hour": round(cpu / s["hours"], 2),
        "households_first": "passed" if hf["passed"] else ("failed" if hf["checkable"] else "not checked"),
        "violations": len(hf["violations"]), "region_hours": hf["region_hours_checked"],
        "region_hours_with_readings_checked": hf["region_hours_with_readings_checked"],
        "faults_recovered": s["all_faults_recovered"], "exactly_once": s["exactly_once"],
        "readings_stored": sum(v["stored"] for v in s["telemetry"].values()),
        "latency_p50_s": s["latency_s"]["p50"], "latency_p90_s": s["latency_s"]["p90"],
        "invoices": len(s["invoices"]["invoices"]),
        "invoiced_energy_mpkr": round(sum(i["energy_charge_pkr"] for i in s["invoices"]["invoices"]) / 1e6, 1),
        "invoiced_penalty_mpkr": round(sum(i["penalty_pkr"] for i in s["invoices"]["invoices"]) / 1e6, 1),
        "mwh_invoiced": round(sum(i["energy_mwh"] for i in s["invoices"]["invoices"])),
        "mwh_metered": round(sum(b["mwh_delivered"] for b in s["by_region"].values())),
        "invoice_vs_value_model": {r: round(b["invoice_vs_value_model"], 4) if b["invoice_vs_value_model"] is not None
                                   else None for r, b in s["by_region"].items()}})
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--speed", type=float, default=3600.0)
    ap.add_argument("--regions", type=int, default=4)
    ap.add_argument("--sites-per-region", type=int, default=4)     # 4 regions x (4 mining + 1 AI) = 20 sites
    ap.add_argument("--miners-per-site", type=int, default=125)    # 16 mining sites x 125 = 2,000 miners
    ap.add_argument("--pods-per-site", type=int, default=8)
    ap.add_argument("--scaling", action="store_true", help="2 days for 5, 10 and 20 sites instead")
    a = ap.parse_args()
    if a.scaling:
        # (regions, mining sites per region): sites = regions x (mining + 1 AI training)
        for regions, spr in ((1, 4), (2, 4), (4, 4)):
            fig = run_case(2.0, a.speed, regions, spr, a.miners_per_site, a.pods_per_site)
            record("sandbox_scaling", fig)
        return
    fig = run_case(a.days, a.speed, a.regions, a.sites_per_region, a.miners_per_site, a.pods_per_site)
    record("sandbox", fig)


if __name__ == "__main__":
    main()
