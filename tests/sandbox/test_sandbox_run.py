"""`offtake sandbox run`: real service + real agent processes on the scenario's surplus; the
households-first check passes, every injected fault happened and recovered, telemetry
arrived exactly once; bad options exit 2."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pytest


@pytest.mark.skipif(sys.platform != "linux", reason="simulated fleets use Linux loopback")
def test_sandbox_run_end_to_end(tmp_path, require_component):
    """The issue's CI run, `offtake sandbox run --days 2`, at the default speed (4 s per simulated hour)."""
    out = tmp_path / "sbx"
    p = subprocess.run([sys.executable, "-m", "offtake.cli", "sandbox", "run", "--days", "2",
                        "--out", str(out)], check=False, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    s = json.loads((out / "sandbox.json").read_text())
    hf = s["households_first"]
    assert hf["passed"] and hf["checkable"] and hf["region_hours_checked"] == 96, hf
    assert hf["region_hours_with_readings_checked"] >= 0.9 * 96
    # sites: the plan sites 0 MW on the built-in scenario, so the offer (2,000 MW) is run as a what-if,
    # sized like real sites: mining and AI training, tens to hundreds of MW each
    assert s["sites_from"] == "offer" and "WHAT-IF" in s["sites_note"]
    types = {x["load_type"] for x in s["sites"]}
    assert types == {"bitcoin_mining", "ai_training"}
    assert all(20 <= x["mw"] <= 500 for x in s["sites"]), s["sites"]
    kinds = {f["kind"]: f for f in s["faults"]}
    assert set(kinds) == {"emergency_curtailment", "link_loss", "agent_restart", "under_frequency"}
    # each fault really took effect: the sites hit were measured at safe draw afterwards
    for k in ("emergency_curtailment", "link_loss", "under_frequency"):
        assert kinds[k]["reached_safe_s"] is not None and kinds[k]["reached_safe_s"] < 10, kinds[k]
    assert kinds["emergency_curtailment"]["sites_affected"] == 3
    assert s["all_faults_recovered"] and all(f["recovery_s"] is not None for f in s["faults"])
    assert s["exactly_once"]
    assert all(v["stored"] >= 100 and v["sent"] == v["stored"] for v in s["telemetry"].values())
    # the tightest window of the scenario: the surplus signal curtails the fleet in some hours
    for r, b in s["by_region"].items():
        assert b["hours_curtailed"] > 0, (r, b)
        assert 0.6 * b["mwh_signal"] < b["mwh_delivered"] <= b["mwh_signal"] * 1.02, (r, b)
        # the service's invoices (simulated billing clock, hourly prices + adder) agree with the value
        # model applied to the metered energy
        assert b["invoiced_mwh"] > 0 and abs(b["invoiced_mwh"] / b["mwh_delivered"] - 1) < 0.05, (r, b)
        assert abs(b["invoice_vs_value_model"]) < 0.05, (r, b)
    inv = s["invoices"]
    assert inv["months"] == ["2025-05"] and not inv["refused"]
    assert sorted(i["site_id"] for i in inv["invoices"]) == sorted(x["site_id"] for x in s["sites"])
    assert all(i["tariff_design"] == "surplus_indexed" for i in inv["invoices"])
    prices = [r["price_pkr_per_kwh"] for r in csv.DictReader((out / "sandbox_hours.csv").open())]
    lo, hi = min(map(float, prices)), max(map(float, prices))
    assert all(lo - 0.01 <= i["average_price_pkr_per_kwh"] <= hi + 0.01 for i in inv["invoices"])
    assert s["latency_s"]["n"] >= 96
    html = (out / "sandbox.html").read_text()
    assert "Households first: PASSED" in html and "data:image/png;base64," in html and "WHAT-IF" in html
    assert (out / "sandbox_hours.csv").read_text().count("\n") == 97
    assert (out / "sandbox.png").read_bytes()[:4] == b"\x89PNG"

    # the report renders in Chromium, self-contained (no request leaves the page), image decoded
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_component("Chromium", chromium is not None,
                      "not installed (bash scripts/setup.sh dev installs it)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto((out / "sandbox.html").as_uri())
            page.wait_for_function("document.querySelector('img').complete && "
                                   "document.querySelector('img').naturalWidth > 0", timeout=20000)
            width = page.evaluate("document.querySelector('img').naturalWidth")
            heading = page.locator("#households").inner_text()
        finally:
            browser.close()
    assert errors == []
    assert width > 100 and "PASSED" in heading


def test_sandbox_run_bad_options_exit_2(tmp_path):
    for args in (["--hours", "2"], ["--speed", "0"], ["--hours", "10", "--speed", "1200"], ["--design", "revenue_share"], ["--design", "auction"],
                 ["--level", "-1"], ["--level", "nan"], ["--sites-per-region", "0"], ["--regions", "9"],
                 ["--from", "2031-01-01"], ["--from", "not-a-date"], ["--scenario", "no-such-scenario"]):
        p = subprocess.run([sys.executable, "-m", "offtake.cli", "sandbox", "run", *args,
                            "--out", str(tmp_path / "x")], check=False,
                           capture_output=True, text=True)
        assert p.returncode == 2, p.stdout + p.stderr
        assert "Traceback" not in p.stderr
        assert not (tmp_path / "x").exists()
