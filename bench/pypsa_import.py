"""Benchmark: import + plan of the 585-bus SciGRID network vs PyPSA's own solve of the same.

One run per side, each in a fresh Python process so peak memory (ru_maxrss, which counts
HiGHS's C++ memory too) belongs to that side alone:

- offtake: ``import_network`` (read the netCDF, convert, write the folder, validate it),
  then ``load_scenario`` + ``plan`` (no flexible loads, hourly, unserved allowed);
- pypsa: read the netCDF, turn lines and transformers into links (s_nom x s_max_pu both
  ways), drop the 38 pumped-hydro storage units the import drops, add load shedding at
  the import's value of lost load (Offtake's unserved demand), PyPSA's LP built and solved
  with HiGHS (``n.optimize``'s post-processing timed apart: it computes voltage angles).
- pypsa_full (objective only, not timed against): the network as published (KVL lines,
  storage units), to show what the transport model and the dropped storage change.

    .venv/bin/python bench/pypsa_import.py [--network PATH] [--no-full]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import record

DEFAULT = Path("/work/shared/data/pypsa-networks/scigrid-de.nc")
CARRIERS = "Waste=oil,Other=oil,Multiple=oil,Geothermal=oil"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def side_offtake(network: str) -> dict[str, object]:
    from offtake.plan import PlanOptions, plan
    from offtake.scenario import load_scenario
    from offtake.scenario.pypsa_import import ImportOptions, import_network, parse_carrier_map

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out, rep = import_network(network, Path(tmp) / "scigrid", ImportOptions(carrier_map=parse_carrier_map(CARRIERS)))
        t1 = time.perf_counter()
        s = load_scenario(out)
        res = plan(s, PlanOptions(no_flex=True, baseline=False, allow_unserved=True))
        t2 = time.perf_counter()
        return {"import_s": round(t1 - t0, 3), "load_plan_s": round(t2 - t1, 3), "total_s": round(t2 - t0, 3),
                "peak_rss_mb": round(_rss_mb(), 1), "objective_usd": res.objective_usd,
                "voll_usd_per_mwh": s.config.value_of_lost_load_usd_per_mwh, "regions": len(s.regions),
                "generators": len(s.generators), "corridors": len(s.lines), "hours": len(s.snapshots),
                "dropped": list(rep.not_supported)}


def _shedding(n, voll: float) -> None:
    load = n.get_switchable_as_dense("Load", "p_set").T.groupby(n.loads.bus).sum().T
    peak = load.max().clip(lower=1.0)
    names = "shed " + load.columns.to_series()
    n.add("Generator", names, bus=load.columns.to_numpy(), p_nom=peak.to_numpy(), marginal_cost=voll,
          p_max_pu=(load / peak).set_axis(names, axis=1))


def side_pypsa(network: str, voll: float, full: bool) -> dict[str, object]:
    import pypsa

    t0 = time.perf_counter()
    n = pypsa.Network(network)
    if not full:
        n.remove("StorageUnit", n.storage_units.index)
        for comp in ("Line", "Transformer"):
            df = n.c[comp].static.copy()
            n.add("Link", f"{comp} " + df.index.to_series(), bus0=df.bus0.to_numpy(), bus1=df.bus1.to_numpy(),
                  p_nom=(df.s_nom * df.s_max_pu).to_numpy(), p_min_pu=-1.0, efficiency=1.0)
            n.remove(comp, df.index)
    _shedding(n, voll)
    # n.optimize() = create_model + solve + assign_solution + post_processing; the steps are timed apart
    # because post_processing (voltage angles: one sub-network per bus once lines are links) is not LP work
    m = n.optimize.create_model(include_objective_constant=False)
    status, cond = m.solve(solver_name="highs")
    t1 = time.perf_counter()
    rss_solved = _rss_mb()
    n.optimize.assign_solution()
    n.optimize.post_processing()
    t2 = time.perf_counter()
    return {"total_s": round(t1 - t0, 3), "post_processing_s": round(t2 - t1, 3), "peak_rss_mb": round(rss_solved, 1),
            "objective_usd": float(m.objective.value), "status": f"{status}/{cond}"}


def _child(args: list[str]) -> dict[str, object]:
    r = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if r.returncode:
        raise SystemExit(f"child {args} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--network", default=str(DEFAULT))
    ap.add_argument("--no-full", action="store_true")
    ap.add_argument("--side", choices=["offtake", "pypsa", "pypsa_full"], help=argparse.SUPPRESS)
    ap.add_argument("--voll", type=float, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.side:
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        devnull = os.open(os.devnull, os.O_WRONLY)
        keep = os.dup(1)
        os.dup2(devnull, 1)  # HiGHS and PyPSA print to stdout; only our JSON line goes out
        try:
            out = side_offtake(a.network) if a.side == "offtake" else side_pypsa(a.network, a.voll, a.side == "pypsa_full")
        finally:
            os.dup2(keep, 1)
        print(json.dumps(out))
        return
    load_before = os.getloadavg()[0]
    ours = _child(["--side", "offtake", "--network", a.network])
    peer = _child(["--side", "pypsa", "--network", a.network, "--voll", str(ours["voll_usd_per_mwh"])])
    full = None if a.no_full else _child(["--side", "pypsa_full", "--network", a.network,
                                          "--voll", str(ours["voll_usd_per_mwh"])])
    rel = (ours["objective_usd"] - peer["objective_usd"]) / abs(peer["objective_usd"])
    figures: dict[str, object] = {
        "network": Path(a.network).name, "regions": ours["regions"], "generators": ours["generators"],
        "corridors": ours["corridors"], "hours": ours["hours"],
        "offtake_import_s": ours["import_s"], "offtake_load_plan_s": ours["load_plan_s"],
        "offtake_total_s": ours["total_s"], "offtake_peak_rss_mb": ours["peak_rss_mb"],
        "pypsa_links_total_s": peer["total_s"], "pypsa_links_peak_rss_mb": peer["peak_rss_mb"],
        "pypsa_links_post_processing_s": peer["post_processing_s"],
        "time_ratio_offtake_vs_pypsa": round(ours["total_s"] / peer["total_s"], 3),
        "objective_offtake_usd": ours["objective_usd"], "objective_pypsa_links_usd": peer["objective_usd"],
        "objective_rel_diff": rel,
        "timing": "one run per side, each in a fresh process, read netCDF -> solved LP (PyPSA: create_model + "
                  "solve; its post_processing reported apart); peak = ru_maxrss",
        "loadavg_1m_before": round(load_before, 2),
    }
    if full is not None:
        figures["objective_pypsa_full_usd"] = full["objective_usd"]
        figures["objective_full_vs_links_rel"] = (full["objective_usd"] - peer["objective_usd"]) / abs(peer["objective_usd"])
        figures["pypsa_full_total_s"] = full["total_s"]
    record("pypsa_import", figures)


if __name__ == "__main__":
    main()
