"""`offtake sandbox run`: real service + real agent processes on the scenario's surplus; the
households-first check passes, every injected fault happened and recovered, telemetry
arrived exactly once; bad options exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest


@pytest.mark.skipif(sys.platform != "linux", reason="simulated fleets use Linux loopback")
def test_sandbox_run_end_to_end(tmp_path, require_component):
    out = tmp_path / "sbx"
    p = subprocess.run([sys.executable, "-m", "offtake.cli", "sandbox", "run", "--hours", "6",
                        "--speed", "900", "--out", str(out)], check=False, capture_output=True, text=True,
                       timeout=240)
    assert p.returncode == 0, p.stdout + p.stderr
    s = json.loads((out / "sandbox.json").read_text())
    assert s["households_first"]["passed"] and s["households_first"]["region_hours_checked"] == 12
    kinds = {f["kind"]: f for f in s["faults"]}
    assert set(kinds) == {"emergency_curtailment", "link_loss", "agent_restart", "under_frequency"}
    # each fault really took effect: the sites hit were measured at safe draw afterwards
    for k in ("emergency_curtailment", "link_loss", "under_frequency"):
        assert kinds[k]["reached_safe_s"] is not None and kinds[k]["reached_safe_s"] < 10, kinds[k]
    assert kinds["emergency_curtailment"]["sites_affected"] == 2
    assert all(f["recovered"] and f["recovery_s"] is not None for f in s["faults"])
    assert s["exactly_once"]
    assert all(v["stored"] >= 5 and v["sent"] == v["stored"] for v in s["telemetry"].values())
    # metered draw is real: some energy delivered, never above the signal beyond tolerance
    assert all(r["mwh_delivered_simulated"] > 0 for r in s["by_region"].values())
    assert s["latency_s"]["n"] >= 12
    html = (out / "sandbox.html").read_text()
    assert "Households first: PASSED" in html and "data:image/png;base64," in html
    assert (out / "sandbox_hours.csv").read_text().count("\n") == 13
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
    for args in (["--hours", "2"], ["--speed", "0"]):
        p = subprocess.run([sys.executable, "-m", "offtake.cli", "sandbox", "run", *args,
                            "--out", str(tmp_path / "x")], check=False,
                           capture_output=True, text=True)
        assert p.returncode == 2, p.stdout + p.stderr
        assert "Traceback" not in p.stderr
        assert not (tmp_path / "x").exists()
