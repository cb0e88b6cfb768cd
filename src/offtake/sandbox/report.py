"""The sandbox's ex-post report: everything measured from what the service stored
(meter readings, invoices) and what the agents queued (their outboxes)."""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from offtake.sandbox.run import GRACE_S, SITE_MW, TOL_ABS_MW, TOL_REL

SAFE_MW = 0.0002        # 10 sleeping miners draw 80 W; 200 W allows meter rounding


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(datetime.fromisoformat(str(s)))


def _frame(readings: dict[str, list[dict]], region_of: dict[str, str]) -> pd.DataFrame:
    rows = [{"site": sid, "region": region_of[sid], "start": _t(r["interval_start"]),
             "end": _t(r["interval_end"]), "energy_mwh": r["energy_mwh"], "mean_mw": r["mean_mw"],
             "max_mw": r["max_mw"], "allowed_mw": r["allowed_mw"], "id": r["reading_id"]}
            for sid, rs in readings.items() for r in rs]
    cols = ["site", "region", "start", "end", "energy_mwh", "mean_mw", "max_mw", "allowed_mw", "id"]
    return pd.DataFrame(rows, columns=cols)


def _first_after(df: pd.DataFrame, t0: pd.Timestamp, cond: pd.Series) -> float | None:
    hit = df[(df["start"] >= t0) & cond]
    if hit.empty:
        return None
    return float((hit["end"].min() - t0).total_seconds())


def build(out: Path, opt: Any, regions: list[str], region_of: dict[str, str], hours: list[dict],
          readings: dict[str, list[dict]], sent: dict[str, list[str]], faults: list[dict],
          invoices: Any, step_s: float, timing: dict) -> dict:
    df = _frame(readings, region_of)
    hrs = pd.DataFrame(hours)
    hrs["ws"] = hrs["wall_start"].map(_t)
    hrs["we"] = hrs["wall_end"].map(_t)
    grace = pd.Timedelta(seconds=GRACE_S)
    rows, violations, latency = [], [], []
    for _, h in hrs.iterrows():
        inside = df[(df["region"] == h["region"]) & (df["start"] >= h["ws"] + grace)
                    & (df["end"] <= h["we"])]
        per_site = inside.groupby("site").apply(
            lambda g: pd.Series({"mw": g["energy_mwh"].sum() / max(
                (g["end"] - g["start"]).dt.total_seconds().sum() / 3600, 1e-12),
                "allowed": g["allowed_mw"].max()}), include_groups=False) \
            if not inside.empty else pd.DataFrame(columns=["mw", "allowed"])
        draw = float(per_site["mw"].sum()) if len(per_site) else 0.0
        allowed = float(per_site["allowed"].sum()) if len(per_site) else 0.0
        limit = h["signal_mw"] * (1 + TOL_REL) + TOL_ABS_MW
        ok = draw <= limit
        if not ok:
            over = inside[inside["mean_mw"] > inside["allowed_mw"] * (1 + TOL_REL) + TOL_ABS_MW]
            for _, r in over.iterrows():
                violations.append({"site": r["site"], "region": r["region"], "hour": int(h["hour"]),
                                   "start": r["start"].isoformat(), "mean_mw": r["mean_mw"],
                                   "allowed_mw": r["allowed_mw"], "signal_mw": h["signal_mw"]})
            if over.empty:
                violations.append({"site": None, "region": h["region"], "hour": int(h["hour"]),
                                   "start": h["ws"].isoformat(), "mean_mw": draw,
                                   "allowed_mw": allowed, "signal_mw": h["signal_mw"]})
        for sid in sorted({s for s, r in region_of.items() if r == h["region"]}):
            site = df[(df["site"] == sid) & (df["start"] >= h["ws"]) & (df["start"] < h["we"])]
            lat = _first_after(site, h["ws"], site["max_mw"] <= site["allowed_mw"] + TOL_ABS_MW)
            if lat is not None:
                latency.append(lat)
        rows.append({"hour": int(h["hour"]), "sim_time": h["sim_time"], "region": h["region"],
                     "signal_mw": h["signal_mw"], "forecast_mw": h["forecast_mw"],
                     "setpoints_mw": allowed, "metered_mw": draw, "compliant": ok})
    table = pd.DataFrame(rows)
    table.to_csv(out / "sandbox_hours.csv", index=False, float_format="%.6g")

    # faults: effect and recovery, measured from the stored readings of the sites hit
    for f in faults:
        at = _t(f["at"])
        rel = _t(f.get("released", f["at"]))
        sites = [f["site"]] if "site" in f else [s for s, r in region_of.items() if r == f["region"]]
        sub = df[df["site"].isin(sites)]
        if f["kind"] != "agent_restart":
            f["reached_safe_s"] = _first_after(sub, at, sub["max_mw"] <= SAFE_MW)
        back = sub["mean_mw"] >= np.minimum(sub["allowed_mw"], SITE_MW) * 0.5
        f["recovery_s"] = _first_after(sub, rel, back | (sub["allowed_mw"] <= TOL_ABS_MW))
        f["recovered"] = f["recovery_s"] is not None and (
            f["kind"] == "agent_restart" or f["reached_safe_s"] is not None)

    once = {}
    for sid, ids in sent.items():
        stored = [r["reading_id"] for r in readings.get(sid, [])]
        once[sid] = {"sent": len(ids), "stored": len(stored),
                     "duplicates": len(stored) - len(set(stored)),
                     "missing": len(set(ids) - set(stored)), "unknown": len(set(stored) - set(ids))}
    exactly_once = all(v["duplicates"] == 0 and v["missing"] == 0 and v["unknown"] == 0
                       for v in once.values())
    lat = np.array(latency) if latency else np.array([np.nan])
    by_region = {r: {"mwh_delivered_simulated": float(table[table.region == r]["metered_mw"].sum()),
                     "mwh_signal_simulated": float(table[table.region == r]["signal_mw"].sum()),
                     "hours_curtailed": int((table[table.region == r]["signal_mw"]
                                             < SITE_MW * sum(1 for s in region_of.values()
                                                             if s == r) * 0.999).sum())}
                 for r in regions}
    summary = {
        "scenario": opt.scenario, "hours": int(hrs["hour"].nunique()), "speed": opt.speed,
        "step_wall_s": step_s, "seed": opt.seed, "forecast_error_sd": opt.forecast_error,
        "regions": regions, "sites": region_of, "site_mw": SITE_MW,
        "fleet_note": ("documented small default fleet: each site is 10 simulated LuxOS miners "
                       f"({SITE_MW} MW); the scenario's hostable MW is scaled to the fleet "
                       "(hour / the region's largest replayed hour x the region's fleet MW); "
                       "sites are not sized from the plan's sited MW"),
        "households_first": {"passed": not violations, "tolerance_rel": TOL_REL,
                             "tolerance_abs_mw": TOL_ABS_MW, "grace_s": GRACE_S,
                             "region_hours_checked": len(table), "violations": violations},
        "by_region": by_region,
        "mwh_metered_wall": float(df["energy_mwh"].sum()),
        "latency_s": {"n": len(latency), "p50": float(np.nanpercentile(lat, 50)),
                      "p90": float(np.nanpercentile(lat, 90)), "max": float(np.nanmax(lat))},
        "faults": faults, "all_faults_recovered": all(f["recovered"] for f in faults),
        "telemetry": once, "exactly_once": exactly_once,
        "invoices": invoices, "timing": timing,
    }
    (out / "sandbox.json").write_text(json.dumps(summary, indent=1, default=str))
    png = _plot(table, regions)
    (out / "sandbox.png").write_bytes(png)
    (out / "sandbox.html").write_text(_html(summary, table, png))
    return summary


def _plot(table: pd.DataFrame, regions: list[str]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(regions), 1, figsize=(8, 2.6 * len(regions)), squeeze=False)
    for ax, r in zip(axes[:, 0], regions, strict=True):
        t = table[table.region == r]
        ax.step(t["hour"], t["signal_mw"] * 1000, where="post", label="surplus signal")
        ax.step(t["hour"], t["setpoints_mw"] * 1000, where="post", label="sum of setpoints")
        ax.plot(t["hour"] + 0.5, t["metered_mw"] * 1000, "o", ms=3, label="metered draw")
        ax.set_title(f"{r}: surplus signal, setpoints, metered draw")
        ax.set_xlabel("simulated hour")
        ax.set_ylabel("kW")
        ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _html(s: dict, table: pd.DataFrame, png: bytes) -> str:
    e = html.escape
    hf = s["households_first"]
    faults = "".join(f"<tr><td>{e(f['kind'])}</td><td>{e(str(f.get('site') or f.get('region')))}</td>"
                     f"<td>{e(str(f.get('reached_safe_s')))}</td><td>{e(str(f.get('recovery_s')))}</td>"
                     f"<td>{'yes' if f['recovered'] else 'NO'}</td></tr>" for f in s["faults"])
    viol = "".join(f"<tr><td>{e(str(v['site']))}</td><td>{e(v['region'])}</td><td>{v['hour']}</td>"
                   f"<td>{e(v['start'])}</td><td>{v['mean_mw']:.6f}</td><td>{v['signal_mw']:.6f}</td></tr>"
                   for v in hf["violations"]) or "<tr><td colspan=6>none</td></tr>"
    tel = "".join(f"<tr><td>{e(k)}</td><td>{v['sent']}</td><td>{v['stored']}</td>"
                  f"<td>{v['duplicates']}</td><td>{v['missing']}</td></tr>" for k, v in s["telemetry"].items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Offtake sandbox report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{border:1px solid #ccc;padding:2px 6px}}
table{{border-collapse:collapse}}</style></head><body>
<h1>Offtake sandbox report</h1>
<p>Scenario {e(s['scenario'])}, {s['hours']} simulated hours at speed {s['speed']:g}
({s['step_wall_s']:g} s per hour), regions {e(', '.join(s['regions']))}. {e(s['fleet_note'])}.</p>
<h2 id="households">Households first: {'PASSED' if hf['passed'] else 'FAILED'}</h2>
<p>{hf['region_hours_checked']} region-hours; tolerance {hf['tolerance_rel']:.0%} + {hf['tolerance_abs_mw']} MW,
{hf['grace_s']} s response allowed after each new signal.</p>
<table><tr><th>site</th><th>region</th><th>hour</th><th>start</th><th>mean MW</th><th>signal MW</th></tr>{viol}</table>
<h2>Signal, setpoints, metered draw</h2><img alt="per region" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Injected faults</h2><table><tr><th>fault</th><th>where</th><th>safe draw after [s]</th>
<th>recovery after release [s]</th><th>recovered</th></tr>{faults}</table>
<h2>Latency</h2><p>signal post to first compliant reading (upper bound, 0.5 s telemetry):
p50 {s['latency_s']['p50']:.2f} s, p90 {s['latency_s']['p90']:.2f} s, max {s['latency_s']['max']:.2f} s (n={s['latency_s']['n']}).</p>
<h2>Telemetry exactly once: {'yes' if s['exactly_once'] else 'NO'}</h2>
<table><tr><th>site</th><th>sent</th><th>stored</th><th>duplicates</th><th>missing</th></tr>{tel}</table>
<h2>Hours</h2>{table.to_html(index=False, float_format=lambda x: f'{x:.6g}')}
</body></html>"""
