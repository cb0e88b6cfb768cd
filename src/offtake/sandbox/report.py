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

from offtake.sandbox.programme import Programme, SitePlan, value_model
from offtake.sandbox.run import GRACE_S, TOL_REL, TOL_SITE_REL, safe_mw

SLACK_S = 0.25   # a checked reading may end this long after its hour


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


def _mean_mw(g: pd.DataFrame) -> float:
    covered_h = (g["end"] - g["start"]).dt.total_seconds().sum() / 3600
    return float(g["energy_mwh"].sum() / covered_h) if covered_h > 0 else 0.0


def _overlap_mw(reg: pd.DataFrame, a: pd.Timestamp, b: pd.Timestamp) -> float:
    """Metered MW of [a, b): per site, each reading's mean MW weighted by its overlap with the
    interval (readings cross hour boundaries at high speed), summed over sites."""
    lo = reg["start"].where(reg["start"] > a, a)
    hi = reg["end"].where(reg["end"] < b, b)
    ov = (hi - lo).dt.total_seconds().clip(lower=0)
    if not len(reg) or ov.sum() <= 0:
        return 0.0
    w = pd.DataFrame({"site": reg["site"], "ov": ov, "e": reg["mean_mw"] * ov})
    g = w[w["ov"] > 0].groupby("site")[["ov", "e"]].sum()
    return float((g["e"] / g["ov"]).sum())


def build(out: Path, opt: Any, prog: Programme, plans: dict[str, SitePlan], hours: list[dict],
          readings: dict[str, list[dict]], sent: dict[str, list[str]], faults: list[dict],
          invoices: dict, step_s: float, timing: dict) -> dict:
    regions = prog.regions
    region_of = {sid: p.region for sid, p in plans.items()}
    fleet = {r: prog.region_mw(r) for r in regions}
    floor = {r: sum(safe_mw(p) for p in plans.values() if p.region == r) for r in regions}
    df = _frame(readings, region_of)
    hrs = pd.DataFrame(hours)
    hrs["ws"] = hrs["wall_start"].map(_t)
    hrs["we"] = hrs["wall_end"].map(_t)
    grace = pd.Timedelta(seconds=GRACE_S)
    slack = pd.Timedelta(seconds=SLACK_S)
    rows, violations, latency = [], [], []
    for _, h in hrs.iterrows():
        reg = df[df["region"] == h["region"]]
        # metered draw of the whole hour (for energy) and of the part after the response allowance
        # (for the households-first check)
        whole = reg[(reg["start"] >= h["ws"]) & (reg["start"] < h["we"])]
        # readings after the response allowance that lie in the hour (a reading may run SLACK_S
        # past its end: telemetry is not aligned to the simulated clock)
        inside = reg[(reg["start"] >= h["ws"] + grace) & (reg["end"] <= h["we"] + slack)]
        checked = len(inside) > 0
        draw_hour = _overlap_mw(reg, h["ws"], h["we"])
        draw = sum(_mean_mw(g) for _, g in inside.groupby("site")) if len(inside) else 0.0
        allowed = float(inside.groupby("site")["allowed_mw"].max().sum()) if len(inside) else 0.0
        tol_abs = fleet[h["region"]] * TOL_SITE_REL
        # a stopped site still draws its idle floor (sleeping miners, paused GPUs): firm, not surplus,
        # listed per site in the report; the check allows it on top of the signal
        limit = h["signal_mw"] * (1 + TOL_REL) + tol_abs + floor[h["region"]]
        ok = draw <= limit
        if not ok:
            site_floor = inside["site"].map(lambda x: safe_mw(plans[x]))
            over = inside[inside["mean_mw"] > inside["allowed_mw"] * (1 + TOL_REL) + tol_abs + site_floor]
            for _, r in over.iterrows():
                violations.append({"site": r["site"], "region": r["region"], "hour": int(h["hour"]),
                                   "start": r["start"].isoformat(), "mean_mw": r["mean_mw"],
                                   "allowed_mw": r["allowed_mw"], "signal_mw": h["signal_mw"]})
            if over.empty:
                violations.append({"site": None, "region": h["region"], "hour": int(h["hour"]),
                                   "start": h["ws"].isoformat(), "mean_mw": draw,
                                   "allowed_mw": allowed, "signal_mw": h["signal_mw"]})
        for sid in sorted(s for s, r in region_of.items() if r == h["region"]):
            site = whole[whole["site"] == sid]
            tol = plans[sid].mw * TOL_SITE_REL
            lat = _first_after(site, h["ws"], site["max_mw"] <= site["allowed_mw"] + tol)
            if lat is not None:
                latency.append(lat)
        rows.append({"hour": int(h["hour"]), "sim_time": h["sim_time"], "region": h["region"],
                     "signal_mw": h["signal_mw"], "forecast_mw": h["forecast_mw"],
                     "price_pkr_per_kwh": h["price_pkr_per_kwh"], "fleet_mw": fleet[h["region"]],
                     "setpoints_mw": allowed, "metered_mw": draw_hour, "checked_mw": draw,
                     "plan_mw": h["plan_mw"], "checked": checked, "compliant": ok})
    table = pd.DataFrame(rows)
    table.to_csv(out / "sandbox_hours.csv", index=False, float_format="%.6g")

    # faults: effect and recovery, measured from the stored readings of the sites hit
    for f in faults:
        at = _t(f["at"])
        rel = _t(f.get("released", f["at"]))
        hit = [f["site"]] if "site" in f else [s for s, r in region_of.items() if r == f["region"]]
        sub = df[df["site"].isin(hit)]
        safe = sub["site"].map(lambda s: safe_mw(plans[s]) * 1.5 + 1e-4)
        if f["kind"] != "agent_restart":
            f["reached_safe_s"] = _first_after(sub, at, sub["max_mw"] <= safe)
        contracted = sub["site"].map(lambda s: plans[s].mw)
        tol = contracted * TOL_SITE_REL
        back = sub["mean_mw"] >= np.minimum(sub["allowed_mw"], contracted) * 0.5
        f["recovery_s"] = _first_after(sub, rel, back | (sub["allowed_mw"] <= tol))
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
    lat = np.array(latency)

    # energy and money: metered (service), the value model at metered energy, the plan
    metered = table.pivot(index="hour", columns="region", values="metered_mw")       # MW over 1 h = MWh
    planned = table.pivot(index="hour", columns="region", values="plan_mw")
    at_metered = value_model(prog, metered.reset_index(drop=True))
    at_plan = value_model(prog, planned.reset_index(drop=True))
    inv = pd.DataFrame(invoices.get("invoices", []))
    by_region = {}
    for r in regions:
        t = table[table.region == r]
        ri = inv[inv["site_id"].map(region_of.get) == r] if len(inv) else inv
        by_region[r] = {
            "fleet_mw": fleet[r], "sites": sorted(s for s, x in region_of.items() if x == r),
            "mwh_delivered": float(t["metered_mw"].sum()), "mwh_signal": float(t["signal_mw"].clip(
                upper=fleet[r]).sum()),
            "mwh_plan": float(t["plan_mw"].sum()),
            "hours_curtailed": int((t["signal_mw"] < fleet[r] * 0.999).sum()),
            "hours_curtailed_plan": int((t["plan_mw"] < fleet[r] * 0.999).sum()),
            "invoiced_mwh": float(ri["energy_mwh"].sum()) if len(ri) else 0.0,
            "invoiced_pkr": float(ri["total_pkr"].sum()) if len(ri) else 0.0,
            "invoiced_energy_pkr": float(ri["energy_charge_pkr"].sum()) if len(ri) else 0.0,
            "invoiced_penalty_pkr": float(ri["penalty_pkr"].sum()) if len(ri) else 0.0,
            "value_model_revenue_pkr": at_metered[r]["revenue_pkr"],
            "value_model_contribution_pkr": at_metered[r]["contribution_pkr"],
            "plan_revenue_pkr": at_plan[r]["revenue_pkr"],
            "plan_contribution_pkr": at_plan[r]["contribution_pkr"]}
        b = by_region[r]
        # energy charges against the value model (penalties for excess draw are not energy revenue)
        b["invoice_vs_value_model"] = (b["invoiced_energy_pkr"] / b["value_model_revenue_pkr"] - 1
                                       if b["value_model_revenue_pkr"] else None)
    n_checked = int(table["checked"].sum())
    checkable = n_checked >= 0.9 * len(table)
    summary = {
        "scenario": opt.scenario, "hours": int(hrs["hour"].nunique()), "speed": opt.speed,
        "step_wall_s": step_s, "seed": opt.seed, "forecast_error_sd": opt.forecast_error,
        "from": str(prog.hours[0]), "to": str(prog.hours[-1] + pd.Timedelta(hours=1)),
        "design": {"kind": prog.design.kind.value, "level": prog.design.level, "words": prog.design.words(),
                   "floor_pkr_per_kwh": prog.design.floor_pkr_per_kwh},
        "sites_from": prog.source, "sites_note": prog.note,
        "regions": regions,
        "sites": [{"site_id": p.site_id, "region": p.region, "load_type": p.load_type, "mw": p.mw,
                   "simulated_units": p.units, "machines_per_unit": p.unit_multiplier,
                   "safe_mw": safe_mw(p)} for p in plans.values()],
        "households_first": {"passed": not violations and checkable, "checkable": checkable,
                             "why_not_checkable": None if checkable else (
                                 f"only {n_checked} of {len(table)} region-hours had a reading starting after the "
                                 f"{GRACE_S} s response allowance: one simulated hour lasts {step_s:g} s at "
                                 f"speed {opt.speed:g}; use --speed {int(3600 / (GRACE_S * 2 + 1))} or less"),
                             "region_hours_with_readings_checked": n_checked, "tolerance_rel": TOL_REL,
                             "tolerance_fleet_rel": TOL_SITE_REL, "grace_s": GRACE_S,
                             "idle_floor_mw": floor,
                             "region_hours_checked": len(table), "violations": violations},
        "by_region": by_region,
        "plan_figures": prog.figures,
        "units": {"mw": "MW (site and region draw; simulated hours)", "mwh": "MWh over simulated hours",
                  "pkr": "Pakistani rupees", "price": "Rs/kWh"},
        "latency_s": {"n": len(latency), "p50": float(np.percentile(lat, 50)) if latency else None,
                      "p90": float(np.percentile(lat, 90)) if latency else None,
                      "max": float(np.max(lat)) if latency else None},
        "faults": faults, "all_faults_recovered": bool(faults) and all(f["recovered"] for f in faults),
        "telemetry": once, "exactly_once": exactly_once,
        "invoices": invoices, "timing": timing,
    }
    (out / "sandbox.json").write_text(json.dumps(summary, indent=1, default=str))
    png = _plot(table, regions)
    (out / "sandbox.png").write_bytes(png)
    lat_png = _latency_plot(latency, faults)
    (out / "sandbox_latency.png").write_bytes(lat_png)
    (out / "sandbox.html").write_text(_html(summary, table, png, lat_png))
    return summary


def _plot(table: pd.DataFrame, regions: list[str]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(regions), 1, figsize=(9, 2.9 * len(regions)), squeeze=False)
    for ax, r in zip(axes[:, 0], regions, strict=True):
        t = table[table.region == r]
        ax.step(t["hour"], t["signal_mw"], where="post", label="surplus signal")
        ax.step(t["hour"], t["setpoints_mw"], where="post", label="sum of setpoints")
        ax.plot(t["hour"] + 0.5, t["metered_mw"], "o", ms=3, label="metered draw")
        ax.step(t["hour"], t["plan_mw"], where="post", ls=":", label="plan's draw (same sites)")
        ax.axhline(float(t["fleet_mw"].iloc[0]), color="grey", lw=0.6, label="contracted MW")
        top = max(float(t["fleet_mw"].iloc[0]) * 1.6, 1.0)
        ax.set_ylim(0, top)
        ax.set_title(f"{r}: surplus signal (capped view), setpoints, metered draw [MW]")
        ax.set_xlabel("simulated hour")
        ax.set_ylabel("MW")
        ax2 = ax.twinx()
        ax2.step(t["hour"], t["price_pkr_per_kwh"], where="post", color="tab:red", lw=0.8, alpha=0.6)
        ax2.set_ylabel("price Rs/kWh", color="tab:red")
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _latency_plot(latency: list[float], faults: list[dict]) -> bytes:
    """Histogram of setpoint-to-draw latency per site-hour, with each fault's time to safe draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.8))
    if latency:
        ax.hist(latency, bins=30, color="tab:blue", alpha=0.8, label=f"site-hours (n={len(latency)})")
    for f in faults:
        if f.get("reached_safe_s") is not None:
            ax.axvline(f["reached_safe_s"], color="tab:red", ls="--", lw=1)
            ax.text(f["reached_safe_s"], ax.get_ylim()[1] * 0.9, f["kind"].replace("_", " "), rotation=90,
                    fontsize=7, va="top", ha="right", color="tab:red")
    ax.set_xlabel("seconds from the hour's start (or the fault) to the first compliant reading")
    ax.set_ylabel("site-hours")
    ax.set_title("Setpoint-to-draw latency; dashed: time to safe draw after each fault")
    if latency:
        ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _lat(d: dict) -> str:
    if not d["n"]:
        return "no compliant reading after any signal"
    return f"p50 {d['p50']:.2f} s, p90 {d['p90']:.2f} s, max {d['max']:.2f} s (n={d['n']})."


def _money(v: float | None) -> str:
    return "n/a" if v is None else f"{v / 1e6:,.2f}"


def _html(s: dict, table: pd.DataFrame, png: bytes, lat_png: bytes) -> str:
    e = html.escape
    hf = s["households_first"]
    faults = "".join(f"<tr><td>{e(f['kind'])}</td><td>{e(str(f.get('site') or f.get('region')))}</td>"
                     f"<td>{e(str(f.get('reached_safe_s')))}</td><td>{e(str(f.get('recovery_s')))}</td>"
                     f"<td>{'yes' if f['recovered'] else 'NO'}</td></tr>" for f in s["faults"])
    viol = "".join(f"<tr><td>{e(str(v['site']))}</td><td>{e(v['region'])}</td><td>{v['hour']}</td>"
                   f"<td>{e(v['start'])}</td><td>{v['mean_mw']:.3f}</td><td>{v['signal_mw']:.3f}</td></tr>"
                   for v in hf["violations"]) or "<tr><td colspan=6>none</td></tr>"
    tel = "".join(f"<tr><td>{e(k)}</td><td>{v['sent']}</td><td>{v['stored']}</td>"
                  f"<td>{v['duplicates']}</td><td>{v['missing']}</td></tr>" for k, v in s["telemetry"].items())
    sites = "".join(f"<tr><td>{e(x['site_id'])}</td><td>{e(x['region'])}</td><td>{e(x['load_type'])}</td>"
                    f"<td>{x['mw']:,.1f}</td><td>{x['simulated_units']} x {x['machines_per_unit']:,}</td>"
                    f"<td>{x['safe_mw']:.3f}</td></tr>" for x in s["sites"])
    money = "".join(
        f"<tr><td>{e(r)}</td><td>{b['fleet_mw']:,.1f}</td><td>{b['mwh_delivered']:,.0f}</td><td>{b['mwh_signal']:,.0f}</td>"
        f"<td>{b['mwh_plan']:,.0f}</td><td>{b['hours_curtailed']}</td><td>{b['hours_curtailed_plan']}</td>"
        f"<td>{b['invoiced_mwh']:,.0f}</td><td>{_money(b['invoiced_energy_pkr'])}</td>"
        f"<td>{_money(b['invoiced_penalty_pkr'])}</td>"
        f"<td>{_money(b['value_model_revenue_pkr'])}</td><td>{_money(b['value_model_contribution_pkr'])}</td>"
        f"<td>{_money(b['plan_revenue_pkr'])}</td><td>{_money(b['plan_contribution_pkr'])}</td></tr>"
        for r, b in s["by_region"].items())
    inv = s["invoices"]
    refused = "".join(f"<li>{e(x['period'])}: {x['status']} {e(json.dumps(x['answer']))}</li>" for x in inv["refused"])
    d = s["design"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Offtake sandbox report</title>
<style>body{{font-family:sans-serif;max-width:68em;margin:2em auto}}td,th{{border:1px solid #ccc;padding:2px 6px}}
table{{border-collapse:collapse}}.note{{background:#fff4d6;padding:.5em}}</style></head><body>
<h1>Offtake sandbox report</h1>
<p>Scenario {e(s['scenario'])}, {s['hours']} simulated hours from {e(s['from'])} at speed {s['speed']:g}
({s['step_wall_s']:g} s per hour); regions {e(', '.join(s['regions']))}; design: {e(d['words'])}.</p>
<p class="note">Sites from the <b>{e(s['sites_from'])}</b>: {e(s['sites_note'])}</p>
<table><tr><th>site</th><th>region</th><th>type</th><th>contracted MW</th><th>simulated units x machines</th>
<th>safe draw MW</th></tr>{sites}</table>
<h2 id="households">Households first: {'PASSED' if hf['passed'] else ('FAILED' if hf['checkable'] else 'NOT CHECKED')}</h2>
<p>{e(hf['why_not_checkable'] or '')}</p>
<p>{hf['region_hours_checked']} region-hours; metered flexible draw must stay at or below the surplus signal
+ {hf['tolerance_rel']:.0%} + {hf['tolerance_fleet_rel']:.1%} of the region's contracted MW + the sites' idle
floor (what a stopped site still draws: sleeping miners, paused GPUs; firm load, not surplus:
{e(', '.join(f'{r} {v:.2f} MW' for r, v in hf['idle_floor_mw'].items()))}),
{hf['grace_s']} s response allowed after each new signal.</p>
<table><tr><th>site</th><th>region</th><th>hour</th><th>start</th><th>mean MW</th><th>signal MW</th></tr>{viol}</table>
<h2>Signal, setpoints, metered draw, the plan, the price</h2>
<img alt="per region" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Delivered against the plan and the value model</h2>
<p>MWh over simulated hours; money in million Rs. "Value model" = the same hourly prices and marginal costs
applied to the metered energy (revenue = E x price; contribution = E x (price - network charge - marginal cost));
"plan" = the plan's own dispatch of these sites (capacity fixed, run only when the load's value covers the price).
Invoices are the service's, on its simulated billing clock.</p>
<table><tr><th>region</th><th>MW</th><th>delivered MWh</th><th>signal MWh (capped)</th><th>plan MWh</th>
<th>hours curtailed</th><th>plan hours curtailed</th><th>invoiced MWh</th><th>invoiced energy</th>
<th>invoiced penalties</th><th>value model revenue</th>
<th>value model contribution</th><th>plan revenue</th><th>plan contribution</th></tr>{money}</table>
<p>Invoiced months: {e(', '.join(inv['months']))}; {len(inv['invoices'])} invoices.</p><ul>{refused}</ul>
<h2>Injected faults</h2><table><tr><th>fault</th><th>where</th><th>safe draw after [s]</th>
<th>recovery after release [s]</th><th>recovered</th></tr>{faults}</table>
<h2>Latency</h2><p>signal post to first compliant reading (upper bound, 0.5 s telemetry):
{_lat(s['latency_s'])}</p>
<img alt="latency" src="data:image/png;base64,{base64.b64encode(lat_png).decode()}">
<h2>Telemetry exactly once: {'yes' if s['exactly_once'] else 'NO'}</h2>
<table><tr><th>site</th><th>sent</th><th>stored</th><th>duplicates</th><th>missing</th></tr>{tel}</table>
<h2>Hours</h2>{table.to_html(index=False, float_format=lambda x: f'{x:.6g}')}
</body></html>"""
