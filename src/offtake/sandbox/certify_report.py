"""The certificate: each test's figures measured from the stored readings and the agent's
outbox, its limits, pass/fail; written as DIR/certificate.json and DIR/certificate.html."""

from __future__ import annotations

import html
import itertools
import json
from pathlib import Path
from typing import Any

from offtake.sandbox.certify import TESTS, above, first_at_or_below, identity, percentile, settle

NAMES = {"commissioning": "Commissioning to safe draw", "setpoint_steps": "Setpoint steps",
         "emergency_curtailment": "Emergency curtailment", "link_loss": "Link loss",
         "under_frequency": "Under-frequency trip", "report_cadence": "Report cadence",
         "exactly_once": "Telemetry exactly once"}


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def _ok_le(x: float | None, limit: float) -> bool:
    return x is not None and x <= limit + 1e-9


def evaluate(c: Any, rs: list[dict], ex: dict, sent: list[str] | None, pending: list[str],
             error: str | None) -> dict:
    """All seven tests from the stored readings ``rs`` (times in s from the battery start)."""
    p, th = c.plan, c.plan.thresholds
    d = p.declared
    under, over = c.band()
    safe, res, tol = c.safe_level, c.res_s, c.tol_s
    tests: dict[str, dict] = {}

    def put(tid: str, passed: bool | None, figures: dict, limits: dict, detail: str) -> None:
        # passed None: not applicable to this kind of agent (VEN mode), said in ``detail``
        tests[tid] = {"id": tid, "name": NAMES[tid], "passed": None if passed is None else bool(passed),
                      "figures": figures,
                      "limits": limits, "detail": detail}

    if "commissioning" in ex:
        first_signal = ex["steps"][0]["t"] if ex.get("steps") else float("inf")
        s = first_at_or_below(rs, ex["commissioning"], safe, first_signal + tol)
        put("commissioning", _ok_le(s, th.commissioning_s), {"to_safe_draw_s": _r(s)},
            {"max_s": th.commissioning_s, "safe_level_mw": _r(safe, 6)},
            "agent start to the end of its first reading at or below safe draw")
    if "steps" in ex and "steps_end" in ex:
        rows, ok = [], True
        ends = [s["t"] for s in ex["steps"][1:]] + [ex["steps_end"]]
        for s, t1 in zip(ex["steps"], ends, strict=True):
            m = settle(rs, s["t"], t1 - tol, c.reachable(s["target"]), under, over, s["prev"])
            lim = c.limit(s["prev"], s["target"])
            good = _ok_le(m["settle_s"], lim) and _ok_le(m["overshoot_mw"], over)
            ok &= good
            rows.append({"from_mw": _r(s["prev"], 6), "to_mw": _r(s["target"], 6), "share": s["share"],
                         "reachable_mw": _r(c.reachable(s["target"]), 6),
                         "settle_s": _r(m["settle_s"]), "settle_limit_s": _r(lim),
                         "overshoot_mw": _r(m["overshoot_mw"], 6), "final_mean_mw": _r(m["final_mean_mw"], 6),
                         "readings": m["readings"], "passed": good})
        put("setpoint_steps", ok, {"steps": rows},
            {"band_below_mw": _r(under, 6), "band_above_mw": _r(over, 6), "overshoot_max_mw": _r(over, 6),
             "step_down_s": th.step_down_s + res, "step_up_s": "ramp time at the declared ramp + "
             f"{th.step_up_allowance_s:g} + {res:g}"},
            "each step: time to settle within the band (and stay), overshoot above the higher setpoint")
    if "emergency" in ex:
        e = ex["emergency"]
        s = first_at_or_below(rs, e["t"], safe, e["release"] + tol)
        # after the site reached safe draw, or after its limit when it never did
        leaks = above(rs, e["t"] + (th.emergency_safe_s + res if s is None else s), e["release"] - tol, safe)
        rec = settle(rs, e["release"], e["end"] - tol, c.reachable(e["target"]), under, over, p.safe_mw)
        rec_lim = c.up_limit(e["target"] - p.safe_mw)
        put("emergency_curtailment",
            _ok_le(s, th.emergency_safe_s + res) and not leaks
            and _ok_le(rec["settle_s"], rec_lim),
            {"to_safe_draw_s": _r(s), "readings_above_safe_while_curtailed": len(leaks),
             "recovery_after_release_s": _r(rec["settle_s"]), "held_s": _r(e["release"] - e["t"])},
            {"to_safe_draw_max_s": th.emergency_safe_s + res, "recovery_max_s": _r(rec_lim),
             "safe_level_mw": _r(safe, 6)},
            "curtailment posted -> safe draw, held until release, back within the band after release")
    if "link" in ex:
        e = ex["link"]
        s = first_at_or_below(rs, e["t"], safe, e["up"] + tol)
        lim = d["link_timeout_s"] + th.link_allowance_s + res
        leaks = above(rs, e["t"] + (lim if s is None else s), e["up"] - tol, safe)
        rec = settle(rs, e["up"], e["end"] - tol, c.reachable(e["target"]), under, over, p.safe_mw)
        rec_lim = c.up_limit(e["target"] - p.safe_mw) + d["poll_interval_s"]
        put("link_loss", _ok_le(s, lim) and not leaks and _ok_le(rec["settle_s"], rec_lim),
            {"to_safe_draw_s": _r(s), "link_down_s": _r(e["up"] - e["t"]),
             "readings_above_safe_while_down": len(leaks), "recovery_after_link_s": _r(rec["settle_s"])},
            {"to_safe_draw_max_s": _r(lim), "declared_link_timeout_s": d["link_timeout_s"],
             "recovery_max_s": _r(rec_lim)},
            "link dropped (TCP proxy down) -> safe draw within the declared link timeout + allowance")
    if "ufr" in ex:
        e = ex["ufr"]
        s = first_at_or_below(rs, e["t"], safe, e["back"] + tol)
        lim = d["trip_delay_s"] + th.ufr_allowance_s + res
        hold_end = e["back"] + d["trip_hold_s"]
        early = [r for r in rs if s is not None and r["start"] >= e["t"] + s - 1e-3
                 and r["end"] <= hold_end - tol and r["max"] > safe]
        back = settle(rs, e["back"], e["end"] - tol, c.reachable(e["target"]), under, over, p.safe_mw)
        back_lim = d["trip_hold_s"] + c.up_limit(e["target"] - p.safe_mw)
        put("under_frequency", _ok_le(s, lim) and not early and _ok_le(back["settle_s"], back_lim),
            {"trip_s": _r(s), "low_hz": e["low_hz"], "low_for_s": _r(e["back"] - e["t"]),
             "readings_above_safe_before_hold_ended": len(early), "returned_after_recovery_s": _r(back["settle_s"])},
            {"trip_max_s": _r(lim), "declared_threshold_hz": d["underfrequency_hz"],
             "declared_trip_delay_s": d["trip_delay_s"], "declared_trip_hold_s": d["trip_hold_s"],
             "return_max_s": _r(back_lim)},
            f"frequency {e['low_hz']:g} Hz on the meter feed -> trip; held {d['trip_hold_s']:g} s after "
            f"{e['recovered_hz']:g} Hz, then back")
    live = [r for r in rs if not r["reconstructed"]]
    if len(live) >= 2:
        gaps = [b["end"] - a["end"] for a, b in itertools.pairwise(live)]
        span = live[-1]["end"] - live[0]["start"]
        cover = sum(r["end"] - r["start"] for r in live) / span if span > 0 else 0.0
        iv = d["telemetry_interval_s"]
        med, p95 = percentile(gaps, 50), percentile(gaps, 95)
        put("report_cadence", iv <= th.telemetry_interval_max_s and _ok_le(med, th.cadence_median_factor_max * iv)
            and _ok_le(p95, th.cadence_p95_factor_max * iv) and cover >= th.coverage_min,
            {"readings": len(live), "median_gap_s": _r(med), "p95_gap_s": _r(p95), "max_gap_s": _r(max(gaps)),
             "coverage": _r(cover, 4)},
            {"declared_interval_s": iv, "declared_interval_max_s": th.telemetry_interval_max_s,
             "median_gap_max_s": _r(th.cadence_median_factor_max * iv), "p95_gap_max_s": _r(th.cadence_p95_factor_max * iv),
             "coverage_min": th.coverage_min}, "gaps between consecutive stored readings vs the declared interval")
    stored = [r["id"] for r in rs]
    sset = set(stored)
    overlaps = sum(1 for a, b in itertools.pairwise(rs) if b["start"] < a["end"] - 1e-3)
    fig: dict[str, Any] = {"stored": len(stored), "duplicates": len(stored) - len(sset), "overlapping_intervals": overlaps}
    if sent is None and p.mode == "ven":
        put("exactly_once", None if fig["duplicates"] == fig["overlapping_intervals"] == 0 else False, fig,
            {"duplicates": 0, "overlapping_intervals": 0}, "not applicable in full: a VEN keeps no record the "
            "certifier can read of what it sent; duplicate ids and overlapping intervals are still checked")
    elif sent is None:
        put("exactly_once", False, fig, {"all": 0}, "no outbox at state_dir/outbox.sqlite: what the agent sent "
            "cannot be compared with what was stored")
    else:
        fig.update(sent=len(sent), missing=len(set(sent) - sset), unknown=len(sset - set(sent)),
                   undelivered=len([i for i in pending if i not in sset]))
        put("exactly_once", all(fig[k] == 0 for k in ("duplicates", "overlapping_intervals", "missing",
                                                       "unknown", "undelivered")) and fig["stored"] > 0,
            fig, {"duplicates": 0, "overlapping_intervals": 0, "missing": 0, "unknown": 0, "undelivered": 0},
            "readings the agent's outbox sent vs readings the service stored")
    if p.mode == "ven" and error is None:
        put("under_frequency", None, {}, {}, "not applicable: a VEN takes no meter feed from the certifier, so "
            "no under-frequency event can be simulated (test it with the site's own relay or meter)")
    for tid in TESTS:
        if tid not in tests:
            put(tid, False, {}, {}, f"not run: {error or 'too few readings'}")
    ordered = [tests[t] for t in TESTS]
    passed = all(t["passed"] is not False for t in ordered) and error is None
    na = [t["id"] for t in ordered if t["passed"] is None]
    scope = (f"{len(ordered) - len(na)} of {len(ordered)} tests; not applicable: {', '.join(na)}" if na
             else f"all {len(ordered)} tests")
    return {"certificate_version": 1, "passed": passed, "verdict": "PASSED" if passed else "FAILED",
            "scope": scope, "failed_tests": [t["id"] for t in ordered if t["passed"] is False],
            "not_applicable": na,
            "agent": identity(p), "site": {"site_id": p.site_id, "region": c.region,
                                           "contracted_mw": _r(p.contracted_mw, 6), "sized_from": p.sized_from,
                                           "safe_draw_mw": p.safe_mw, "idle_floor_mw": _r(p.idle_floor_mw, 6)},
            "declared": d, "thresholds": {"source": p.thresholds_source, **p.thresholds.model_dump(),
                                          "measurement_resolution_s": res},
            "tests": ordered, "error": error, "readings_stored": len(rs),
            "battery_started_utc": c.t0.isoformat(timespec="seconds"), "timeline": c.log,
            "run_folder": str(c.out / "run")}


def render_html(cert: dict) -> str:
    e = html.escape
    a = cert["agent"]

    def kv(d: dict) -> str:
        return "<br>".join(f"{e(str(k))}: {e(json.dumps(v) if isinstance(v, (list, dict)) else str(v))}"
                           for k, v in d.items() if k != "steps")

    rows = []
    for t in cert["tests"]:
        steps = ""
        if "steps" in t["figures"]:
            steps = "<table><tr><th>from MW</th><th>to MW</th><th>settle s</th><th>limit s</th><th>overshoot MW</th>" \
                    "<th>pass</th></tr>" + "".join(
                        f"<tr><td>{s['from_mw']}</td><td>{s['to_mw']}</td><td>{s['settle_s']}</td>"
                        f"<td>{s['settle_limit_s']}</td><td>{s['overshoot_mw']}</td>"
                        f"<td>{'yes' if s['passed'] else 'NO'}</td></tr>" for s in t["figures"]["steps"]) + "</table>"
        cls, word = {True: ("pass", "PASS"), False: ("fail", "FAIL"), None: ("na", "N/A")}[t["passed"]]
        rows.append(f"<tr class=\"{cls}\" id=\"test-{t['id']}\"><td>{e(t['name'])}</td>"
                    f"<td class=r>{word}</td><td>{kv(t['figures'])}{steps}</td>"
                    f"<td>{kv(t['limits'])}</td><td>{e(t['detail'])}</td></tr>")
    err = f"<p class=fail>Battery stopped: {e(cert['error'])}</p>" if cert["error"] else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Offtake agent certificate</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}td,th{{border:1px solid #ccc;padding:3px 6px;
vertical-align:top}}table{{border-collapse:collapse}}tr.pass>td.r{{color:#176}}tr.fail>td.r,
p.fail{{color:#b00;font-weight:bold}}</style></head><body>
<h1 id="verdict">Agent {e(a['site_id'])}: {cert['verdict']}</h1>
<p>{sum(t['passed'] is True for t in cert['tests'])} of {len(cert['tests'])} tests passed (scope: {e(cert['scope'])})
{('; failed: ' + e(', '.join(cert['failed_tests']))) if cert['failed_tests'] else ''}.
Every figure is measured from the meter readings the Offtake service stored and the agent's outbox.</p>{err}
<h2>Agent</h2><p>{kv(a)}</p>
<h2>Site</h2><p>{kv(cert['site'])}</p>
<h2>Declared by the agent's config</h2><p>{kv(cert['declared'])}</p>
<h2>Tests</h2><table id="tests"><tr><th>test</th><th>result</th><th>measured</th><th>limits</th><th>what</th></tr>
{''.join(rows)}</table>
<h2>Thresholds</h2><p>{kv(cert['thresholds'])}</p>
<p>Thresholds and their reasons: docs/certify.md. Offtake {e(a['offtake_version'])}, {e(a['date_utc'])}.</p>
</body></html>"""


def write(out: Path, cert: dict) -> None:
    """Both files through temporary siblings and a rename (docs: nothing half-written)."""
    from offtake.commands._common import write_atomic

    text = json.dumps(cert, indent=1, default=str)
    page = render_html(cert)
    write_atomic(out / "certificate.json", text)
    write_atomic(out / "certificate.html", page)
