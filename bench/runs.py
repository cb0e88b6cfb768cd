"""Print every recorded run of the service, risk, headroom and agent benchmarks as Markdown tables.

docs/benchmarks.md quotes these tables: every run in bench/results.jsonl, passing or
failing, with its load average where the record has one (records before 2026-12-01 did
not store it: "n/a").  Usage: python bench/runs.py [bench ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("results.jsonl")


def _load(r: dict) -> str:
    v = r.get("loadavg_1m")
    return "n/a" if v is None else f"{v:g}"


def _when(r: dict) -> str:
    return str(r.get("when") or r.get("at", ""))[:16].replace("T", " ")


def ingest(rows: list[dict]) -> list[str]:
    out = ["| when (UTC) | load avg | workers | connections | readings/request | readings/s | p50 ms | p99 ms | ≥ 1,000/s and p99 < 50 ms |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for run in r["runs"]:
            ok = run["readings_per_s"] >= r.get("target_readings_per_s", 1000) and run["p99_ms"] < r.get("target_p99_ms", 50)
            out.append(f"| {_when(r)} | {_load(r)} | {r['workers']} | {r['concurrency']} | {run['batch']} | "
                       f"{run['readings_per_s']:,.0f} | {run['p50_ms']:.0f} | {run['p99_ms']:.0f} | {'yes' if ok else 'no'} |")
    return out


def push(rows: list[dict]) -> list[str]:
    out = ["| when (UTC) | load avg | sockets | message p50 / p99 / max s | real agents | to new draw p50 / max s | POST answered s |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r.get("message") or {"p50_s": r.get("p50_s"), "p99_s": r.get("p99_s"), "max_s": r.get("max_s")}
        d = r.get("to_new_draw")
        draw = f"{d['p50_s']} / {d['max_s']}" if d else "not measured"
        out.append(f"| {_when(r)} | {_load(r)} | {r['agents']} | {m.get('p50_s')} / {m.get('p99_s')} / {m.get('max_s')} | "
                   f"{r.get('real_agents', 0)} | {draw} | {r['post_response_s']} |")
    return out


def agent(rows: list[dict]) -> list[str]:
    out = ["| when | load avg | miners | kind | trials | to new draw p50 s | tail s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        for site in r["sites"]:
            if "draw_curtail" not in site:  # old records mixed both kinds; their "p99" is a max of <= 20
                out.append(f"| {_when(r)} | {_load(r)} | {site['machines']} | both, mixed | {site['trials']} | "
                           f"{site['draw_p50_s']} | max {site['draw_p99_s']} (was called p99) |")
                continue
            for kind in ("curtail", "restore"):
                s = site[f"draw_{kind}"]
                tail = f"p99 {s['p99_s']}, max {s['max_s']}" if "p99_s" in s else f"max {s['max_s']}"
                out.append(f"| {_when(r)} | {_load(r)} | {site['machines']} | {kind} | {s['n']} | {s['p50_s']} | {tail} |")
    return out


def simple(rows: list[dict], fields: list[tuple[str, str]]) -> list[str]:
    out = ["| when (UTC) | load avg | " + " | ".join(h for _, h in fields) + " |", "|---" * (len(fields) + 2) + "|"]
    for r in rows:
        out.append(f"| {_when(r)} | {_load(r)} | " + " | ".join(str(r.get(k, "–")) for k, _ in fields) + " |")
    return out


TABLES = {
    "service_ingest": ingest,
    "service_push": push,
    "agent_latency": agent,
    "headroom": lambda rows: simple(rows, [("exact_s_median", "exact s (median)"), ("exact_s", "exact s (one run)"),
                                           ("bisection_s_median", "fair bisection s (median)"),
                                           ("bisection_s_scaled", "old bisection s (scaled)"),
                                           ("speedup_vs_bisection", "ratio")]),
    "risk_paths": lambda rows: simple(rows, [("wall_s_median", "ours s (median)"), ("loop_wall_s_median", "float loop s, all paths (median)"),
                                             ("loop_wall_s_scaled", "old 1-row numpy loop s (scaled)"), ("speedup_vs_loop", "ratio")]),
    "service_allocation": lambda rows: simple(rows, [("numpy_ms", "numpy ms (median)"), ("loop_ms", "loop ms"),
                                                     ("timing", "loop timing"), ("speedup_vs_loop", "ratio"),
                                                     ("db_run_ms", "SQLite run ms")]),
}


def main() -> None:
    wanted = sys.argv[1:] or list(TABLES)
    records = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    for name in wanted:
        rows = [r for r in records if r.get("bench") == name]
        print(f"\n#### {name} ({len(rows)} runs)\n")
        print("\n".join(TABLES[name](rows)))


if __name__ == "__main__":
    main()
