"""The dashboard in a real Chromium (Debian package ``chromium``, driven by Playwright
with ``executable_path``), against the service on a loopback port; SQLite and PostgreSQL.

A grid operator logs in, sees regions and sites, sees a setpoint changed elsewhere
arrive live (WebSocket, no reload), presses emergency curtail and sees every setpoint
fall to zero live.  No console errors are allowed.  Screenshots go to tests/artifacts/
and are checked (size, not blank, changed by the curtailment).
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from _live_server import empty_tables, serve  # tests/service/_live_server.py

from offtake.service.domain.clients import create_client
from offtake.service.security import Role, issue_token

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("OFFTAKE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VIEWPORT = {"width": 1280, "height": 900}
SITES = [("sindh-1", "SINDH", "ven-a", 30.0), ("sindh-2", "SINDH", "ven-b", 20.0),
         ("kp-1", "KP", "ven-a", 25.0), ("kp-2", "KP", "ven-b", 15.0)]


@pytest.fixture
def live(app, require_component):  # type: ignore[no-untyped-def]
    require_component("Chromium", Path(CHROMIUM).exists(),
                      f"not found at {CHROMIUM}: apt-get install -y chromium")
    empty_tables(app.state.offtake.engine)
    with serve(app) as url:
        yield url


def _seed(app, http: httpx.Client) -> str:  # type: ignore[no-untyped-def]
    """Two regions with surplus, four sites, one meter reading; returns the grid secret."""
    with app.state.offtake.sessions() as session:
        _c, secret = create_client(session, actor=None, name="dispatch",
                                   roles=[Role.GRID_OPERATOR], client_id="dispatch")
        for ven in ("ven-a", "ven-b"):
            create_client(session, actor=None, name=ven, roles=[Role.SITE_OPERATOR],
                          client_id=ven)
    for site_id, region, owner, mw in SITES:
        r = http.post("/api/v1/sites", json={
            "site_id": site_id, "name": site_id, "site_type": "mining", "region_id": region,
            "contracted_mw": mw, "interruptible_share": 1.0, "priority": 10,
            "tariff_pkr_per_kwh": 22.0, "owner_client_id": owner})
        assert r.status_code == 201, r.text
    t = datetime.now(UTC)
    r = http.post("/api/v1/surplus-signals", json={"signals": [
        {"region_id": region, "interval_start": (t - timedelta(hours=1)).isoformat(),
         "interval_end": (t + timedelta(hours=1)).isoformat(), "available_mw": mw,
         "kind": "actual"} for region, mw in (("SINDH", 40.0), ("KP", 30.0))]})
    assert r.status_code == 201, r.text
    # one minute at 10 MW, within its allocation (so not flagged)
    start = datetime.now(UTC)
    r = http.post("/api/v1/meter-readings", json={"readings": [{
        "reading_id": str(uuid.uuid4()), "site_id": "sindh-1", "interval_start": start.isoformat(),
        "interval_end": (start + timedelta(minutes=1)).isoformat(), "energy_mwh": 10.0 / 60,
        "mean_mw": 10.0, "max_mw": 10.5}]})
    assert r.status_code == 200, r.text
    return secret


def _check_png(path: Path, other: Path | None = None, full_page: bool = False) -> None:
    from PIL import Image, ImageChops, ImageStat

    img = Image.open(path).convert("RGB")
    if full_page:  # the whole page: viewport wide, at least as tall (sites below the fold)
        assert img.size[0] == VIEWPORT["width"] and img.size[1] > VIEWPORT["height"], img.size
    else:
        assert img.size == (VIEWPORT["width"], VIEWPORT["height"]), img.size
    colors = img.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50, f"{path.name} looks blank"
    assert max(ImageStat.Stat(img).stddev) > 10, f"{path.name} has no contrast"
    if other is not None:
        diff = ImageChops.difference(img, Image.open(other).convert("RGB"))
        assert diff.getbbox() is not None, "screenshots before and after are identical"


def test_dashboard_login_live_updates_and_emergency_curtail(app, live) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    key = app.state.offtake.signing_key
    grid_token = issue_token(client_id="dispatch", roles={Role.GRID_OPERATOR}, key=key, ttl_s=600)
    ARTIFACTS.mkdir(exist_ok=True)
    backend = app.state.offtake.engine.dialect.name
    shot_before = ARTIFACTS / f"dashboard-{backend}-before.png"
    shot_after = ARTIFACTS / f"dashboard-{backend}-after.png"
    shot_full = ARTIFACTS / f"dashboard-{backend}-after-full.png"
    with httpx.Client(base_url=live, headers={"Authorization": f"Bearer {grid_token}"},
                      timeout=30) as http:
        secret = _seed(app, http)
        setpoints = {s: http.get(f"/api/v1/sites/{s}/setpoint").json()["setpoint_mw"]
                     for s, *_ in SITES}
        assert sum(setpoints.values()) > 0

        errors: list[str] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}")
                        if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
                page.on("requestfailed", lambda r: errors.append(f"requestfailed: {r.url}"))
                page.set_default_timeout(15_000)
                page.goto(f"{live}/dashboard/")

                # wrong secret: refused, stays on the login panel
                page.fill("#client-id", "dispatch")
                page.fill("#client-secret", "not-the-secret")
                page.click("#login-button")
                expect(page.locator("#login-error")).to_contain_text("invalid client credentials")
                errors.clear()  # the refused login's 401 is logged by the browser itself

                page.fill("#client-secret", secret)
                page.click("#login-button")
                expect(page.locator("#regions-table tbody tr")).to_have_count(7)
                expect(page.locator("#sites-table tbody tr")).to_have_count(len(SITES))
                page.wait_for_selector("body[data-live='1']")
                sindh = page.locator("#regions-table tr[data-region='SINDH']")
                expect(sindh.locator("td.surplus")).to_have_text("40.0")
                expect(sindh.locator("td.allocated")).to_have_text(
                    f"{setpoints['sindh-1'] + setpoints['sindh-2']:.1f}")
                expect(sindh.locator("td.drawn")).to_have_text("10.0")
                for site_id, mw in setpoints.items():
                    row = page.locator(f"#sites-table tr[data-site='{site_id}']")
                    expect(row.locator("td.setpoint")).to_have_text(f"{mw:.2f}")
                expect(page.locator("#chart .main-svg").first).to_be_visible()

                # a change made elsewhere arrives by push, without reloading
                r = http.put("/api/v1/sites/kp-2/setpoint", json={"setpoint_mw": 1.25})
                assert r.status_code == 200, r.text
                kp2 = page.locator("#sites-table tr[data-site='kp-2']")
                expect(kp2.locator("td.setpoint")).to_have_text("1.25")
                expect(kp2.locator(".state")).to_have_text("held")
                page.screenshot(path=str(shot_before))

                # emergency curtail, two-step, then every setpoint falls to zero live
                pushes_before = int(page.evaluate("document.body.dataset.wsMessages || '0'"))
                page.click("#curtail-button")
                page.click("#curtail-confirm")
                for site_id, *_ in SITES:
                    row = page.locator(f"#sites-table tr[data-site='{site_id}']")
                    expect(row.locator("td.setpoint")).to_have_text("0.00")
                    expect(row.locator(".state")).to_have_text("curtailed")
                expect(sindh.locator("td.allocated")).to_have_text("0.0")
                expect(page.locator("#curtail-status")).to_contain_text("emergency curtailment")
                pushes_after = int(page.evaluate("document.body.dataset.wsMessages || '0'"))
                assert pushes_after - pushes_before >= len(SITES)  # arrived by WebSocket
                page.screenshot(path=str(shot_after))
                page.screenshot(path=str(shot_full), full_page=True)
            finally:
                browser.close()

        assert errors == [], errors
        for site_id, *_ in SITES:
            assert http.get(f"/api/v1/sites/{site_id}/setpoint").json()["setpoint_mw"] == 0.0
    _check_png(shot_before)
    _check_png(shot_after, other=shot_before)
    _check_png(shot_full, full_page=True)


def test_dashboard_serves_local_files_only(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/dashboard/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assert "default-src 'self'" in page.headers["content-security-policy"]
    js = client.get("/dashboard/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/dashboard/static/app.js").status_code == 200
    assert client.get("/dashboard/static/..%2Fsummary.py").status_code == 404
    assert client.get("/dashboard/static/secret.txt").status_code == 404
    assert client.get("/api/v1/dashboard/summary").status_code == 401


def test_summary_site_operator_sees_own_sites_only(client, actors) -> None:  # type: ignore[no-untyped-def]
    grid, _ = actors.make_client("grid", Role.GRID_OPERATOR)
    ven_a, _ = actors.make_client("ven-a", Role.SITE_OPERATOR)
    actors.make_client("ven-b", Role.SITE_OPERATOR)
    for site_id, region, owner, mw in SITES:
        assert client.post("/api/v1/sites", headers=grid, json={
            "site_id": site_id, "name": site_id, "site_type": "ai_inference",
            "region_id": region, "contracted_mw": mw, "interruptible_share": 0.5,
            "priority": 5, "tariff_pkr_per_kwh": 22.0,
            "owner_client_id": owner}).status_code == 201
    mine = client.get("/api/v1/dashboard/summary", headers=ven_a).json()
    assert {s["site_id"] for s in mine["sites"]} == {"sindh-1", "kp-1"}
    assert all(r["surplus_mw"] is None for r in mine["regions"])
    assert {r["region_id"] for r in mine["regions"]} == {"SINDH", "KP"}
    assert mine["can_curtail"] is False
    full = client.get("/api/v1/dashboard/summary", headers=grid).json()
    assert len(full["sites"]) == 4 and len(full["regions"]) == 7 and full["can_curtail"]


def test_dashboard_login_state_zone_favicon_history_invoices(app, live) -> None:  # type: ignore[no-untyped-def]
    """Before and after a refused login the header shows neither 'live' nor 'Log out' (the
    hidden attribute wins over #who's display:flex); after login it does, the 'as of' line
    has a date and the Asia/Karachi zone, the 24 h chart and the invoices table render, and
    the page asks for no missing favicon."""
    from playwright.sync_api import expect, sync_playwright

    key = app.state.offtake.signing_key
    grid_token = issue_token(client_id="dispatch", roles={Role.GRID_OPERATOR}, key=key, ttl_s=600)
    with httpx.Client(base_url=live, headers={"Authorization": f"Bearer {grid_token}"}, timeout=30) as http:
        secret = _seed(app, http)
        assert http.get("/favicon.ico").status_code == 200
        hist = http.get("/api/v1/dashboard/history").json()
        assert len(hist["hours"]) == 24 and hist["timezone"] == "Asia/Karachi"
        sindh = next(r for r in hist["regions"] if r["region_id"] == "SINDH")
        assert sindh["surplus_mw"][-1] == 40.0  # the signal covers the current hour
        assert sindh["drawn_mw"][-1] == pytest.approx(10.0 / 60)  # 10 MW for one minute in this hour
        errors: list[str] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}")
                        if m.type in ("error", "warning") else None)
                page.on("requestfailed", lambda r: errors.append(f"requestfailed: {r.url}"))
                page.set_default_timeout(15_000)
                page.goto(f"{live}/dashboard/")
                expect(page.locator("#who")).to_be_hidden()
                expect(page.locator("#logout")).to_be_hidden()
                expect(page.locator("#ws-state")).to_be_hidden()
                page.fill("#client-id", "dispatch")
                page.fill("#client-secret", "wrong")
                page.click("#login-button")
                expect(page.locator("#login-error")).not_to_be_empty()
                expect(page.locator("#who")).to_be_hidden()
                expect(page.locator("#logout")).to_be_hidden()
                errors.clear()  # the refused login's 401 is logged by the browser itself
                page.fill("#client-secret", secret)
                page.click("#login-button")
                expect(page.locator("#logout")).to_be_visible()
                expect(page.locator("#as-of")).to_contain_text("PKT")
                expect(page.locator("#as-of")).to_contain_text("Asia/Karachi")
                import re

                assert re.search(r"\d{2} \w{3} \d{4}", page.locator("#as-of").inner_text())  # a date, not only a time
                page.wait_for_selector("body[data-history='24']")
                expect(page.locator("#history-chart .main-svg").first).to_be_visible()
                expect(page.locator("#invoice-count")).to_have_text("none issued yet")
                page.screenshot(path=str(ARTIFACTS / "dashboard-history.png"), full_page=True)
                page.click("#logout")
                expect(page.locator("#who")).to_be_hidden()
                expect(page.locator("#login-panel")).to_be_visible()
            finally:
                browser.close()
        assert errors == [], errors
