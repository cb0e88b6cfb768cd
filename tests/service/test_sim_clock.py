"""The sandbox's simulated billing clock (OFFTAKE_SANDBOX_CLOCK=1): readings billed in the
simulated month with energy x speed, invoices issued when the simulated month is over;
the route refused without the setting.  Runs on SQLite and on PostgreSQL (conftest)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from svc_support import SECRET, TestClient

from offtake.service.app import create_app
from offtake.service.settings import Settings

SPEED = 3600.0  # one wall second = one simulated hour
PENALTY = 50.0  # PKR/kWh, the default


@pytest.fixture(scope="module")
def app(sandbox_clock_app):  # type: ignore[no-untyped-def]
    """This module's service runs with the sandbox clock enabled (same database)."""
    return sandbox_clock_app


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _reading(rid: str, site: str, start: datetime, seconds: float, mw: float) -> dict:
    return {"reading_id": rid, "site_id": site, "interval_start": start.isoformat(),
            "interval_end": (start + timedelta(seconds=seconds)).isoformat(),
            "energy_mwh": mw * seconds / 3600, "mean_mw": mw, "max_mw": mw}


def _site(client, h, site_id: str, **extra) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/sites", headers=h, json={
        "site_id": site_id, "name": site_id, "site_type": "ai_inference", "region_id": "KP",
        "contracted_mw": 10, "interruptible_share": 1, "tariff_pkr_per_kwh": 20.0,
        "owner_client_id": "op-a", **extra})
    assert r.status_code == 201, r.text


def _set_clock(client, h, wall: datetime, sim: datetime, speed: float = SPEED):  # type: ignore[no-untyped-def]
    return client.put("/api/v1/admin/sim-clock", headers=h, json={
        "wall_origin": wall.isoformat(), "sim_origin": sim.isoformat(), "speed": speed})


def test_readings_billed_in_simulated_month(client, world) -> None:  # type: ignore[no-untyped-def]
    grid, admin = world["grid"], world["admin"]
    _site(client, grid, "flat")
    _site(client, grid, "idx", tariff_design="surplus_indexed", tariff_adder_pkr_per_kwh=1.0)
    wall0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=100)
    # 2025-03-31 18:00 UTC = 23:00 in Karachi: one simulated hour before April there
    sim0 = datetime(2025, 3, 31, 18, tzinfo=UTC)
    r = _set_clock(client, admin, wall0, sim0)
    assert r.status_code == 200, r.text
    clock = r.json()
    assert clock["speed"] == SPEED and clock["set_by"] == "admin-1"
    assert clock["sim_period"] == "2025-04"  # about 100 simulated hours after sim0
    assert client.get("/api/v1/admin/sim-clock", headers=grid).json()["sim_origin"] == _iso(sim0)
    # prices are looked up by WALL time: 10 PKR/kWh over the wall seconds [wall0, wall0 + 30 s)
    assert client.post("/api/v1/prices", headers=grid, json={"prices": [{
        "region_id": "KP", "interval_start": wall0.isoformat(),
        "interval_end": (wall0 + timedelta(seconds=30)).isoformat(),
        "price_pkr_per_kwh": 10.0, "kind": "actual"}]}).status_code == 201
    readings = [
        _reading("march", "flat", wall0, 1, 6.0),                          # sim 23:00 PKT, 31 March
        _reading("april", "flat", wall0 + timedelta(seconds=10), 10, 6.0),  # sim 1 April 04:00 UTC
        _reading("idx-april", "idx", wall0 + timedelta(seconds=10), 10, 6.0),
        _reading("early", "flat", wall0 - timedelta(seconds=60), 10, 6.0)]  # before wall0: unmapped
    r = client.post("/api/v1/meter-readings", headers=grid, json={"readings": readings})
    assert r.json() == {"accepted": 4, "duplicates": 0}, r.text

    # raw readings stay in wall time and metered energy; the period is the simulated month
    stored = {x["reading_id"]: x for x in
              client.get("/api/v1/sites/flat/meter-readings", headers=grid).json()}
    assert stored["april"]["interval_start"] == _iso(wall0 + timedelta(seconds=10))
    assert stored["april"]["energy_mwh"] == pytest.approx(6.0 * 10 / 3600)
    wall_month = (wall0 - timedelta(seconds=60)).astimezone(ZoneInfo("Asia/Karachi")).strftime("%Y-%m")
    assert {k: v["period"] for k, v in stored.items()} == {
        "march": "2025-03", "april": "2025-04", "early": wall_month}

    # billed energy = metered x speed: 6 MW x 10 wall s = 60 simulated MWh
    energy = {e["txn_id"]: e for e in client.get("/api/v1/ledger", headers=grid).json()
              if e["account"].startswith("site:") and e["kind"] == "energy"}
    assert energy["april"]["energy_mwh"] == pytest.approx(60.0)
    assert energy["april"]["amount_pkr"] == pytest.approx(60_000 * 20.0)      # 1,200,000 PKR
    assert energy["idx-april"]["amount_pkr"] == pytest.approx(60_000 * 11.0)  # (10 + 1) x 60 MWh
    assert energy["idx-april"]["price_source"] == "actual"
    assert energy["march"]["energy_mwh"] == pytest.approx(6.0)
    assert energy["early"]["energy_mwh"] == pytest.approx(6.0 * 10 / 3600)   # not scaled
    assert client.get("/api/v1/ledger/balance", headers=grid).json()["balanced"] is True

    # March is over on the simulated clock, April is not: refused, nothing issued
    march = client.post("/api/v1/invoices", headers=grid, json={"period": "2025-03"})
    assert march.status_code == 201, march.text
    assert {i["site_id"]: i["energy_mwh"] for i in march.json()} == pytest.approx(
        {"flat": 6.0, "idx": 0.0})
    r = client.post("/api/v1/invoices", headers=grid, json={"period": "2025-04"})
    assert r.status_code == 422 and "simulated clock" in r.json()["detail"], r.text
    assert client.get("/api/v1/invoices?period=2025-04", headers=grid).json() == []

    # move the simulated clock past April: now the April invoice is issued, as billed
    assert _set_clock(client, admin, wall0, datetime(2025, 4, 30, 12, tzinfo=UTC)).json()[
        "sim_period"] == "2025-05"
    r = client.post("/api/v1/invoices", headers=grid, json={"period": "2025-04"})
    assert r.status_code == 201, r.text
    inv = {i["site_id"]: i for i in r.json()}
    # 6 MW against the 0 MW setpoint the site got when created (after the readings):
    # 5.95 MW above (tolerance 0.05) for 10 simulated hours = 59.5 MWh at 50 PKR/kWh
    assert inv["flat"]["energy_mwh"] == pytest.approx(60.0)
    assert inv["flat"]["energy_charge_pkr"] == pytest.approx(1_200_000)
    assert inv["flat"]["penalty_pkr"] == pytest.approx(59_500 * PENALTY)
    assert inv["flat"]["average_price_pkr_per_kwh"] == pytest.approx(20.0)
    assert inv["flat"]["readings"] == 1 and inv["flat"]["flagged_readings"] == 1
    assert inv["idx"]["energy_charge_pkr"] == pytest.approx(660_000)
    assert inv["idx"]["average_price_pkr_per_kwh"] == pytest.approx(11.0)


def test_clear_clock_bills_on_wall_clock_again(client, world) -> None:  # type: ignore[no-untyped-def]
    grid, admin = world["grid"], world["admin"]
    _site(client, grid, "s")
    wall0 = datetime.now(UTC) - timedelta(seconds=50)
    assert _set_clock(client, admin, wall0, datetime(2025, 1, 1, tzinfo=UTC)).status_code == 200
    assert client.delete("/api/v1/admin/sim-clock", headers=admin).status_code == 204
    r = client.get("/api/v1/admin/sim-clock", headers=admin)
    assert r.status_code == 404 and "no simulated clock" in r.json()["detail"]
    client.post("/api/v1/meter-readings", headers=grid,
                json={"readings": [_reading("x", "s", wall0 + timedelta(seconds=5), 10, 3.0)]})
    [entry] = [e for e in client.get("/api/v1/ledger", headers=grid).json()
               if e["account"].startswith("site:") and e["kind"] == "energy"]
    assert entry["energy_mwh"] == pytest.approx(3.0 * 10 / 3600)
    assert entry["period"] != "2025-01"


@pytest.mark.parametrize(("who", "status"), [("grid", 403), ("regulator", 403), ("op_a", 403),
                                             (None, 401)])
def test_only_admin_sets_the_clock(client, world, who, status) -> None:  # type: ignore[no-untyped-def]
    t = datetime(2025, 1, 1, tzinfo=UTC)
    r = _set_clock(client, world[who] if who else {}, t, t)
    assert r.status_code == status, r.text
    assert client.get("/api/v1/admin/sim-clock", headers=world["admin"]).status_code == 404


@pytest.mark.parametrize(("body", "words"), [
    ({"speed": 0}, "greater than 0"),
    ({"speed": -5}, "greater than 0"),
    ({"wall_origin": "2025-01-01T00:00:00"}, "timezone"),
    ({"sim_origin": "yesterday"}, "datetime"),
    ({"speed": 1_000_000, "sim_origin": "9990-01-01T00:00:00Z",
      "wall_origin": "2000-01-01T00:00:00Z"}, "out of range"),
])
def test_bad_clock_refused(client, world, body, words) -> None:  # type: ignore[no-untyped-def]
    good = {"wall_origin": "2025-01-01T00:00:00Z", "sim_origin": "2025-01-01T00:00:00Z",
            "speed": 60}
    r = client.put("/api/v1/admin/sim-clock", headers=world["admin"], json={**good, **body})
    assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert client.get("/api/v1/admin/sim-clock", headers=world["admin"]).status_code == 404


def test_route_refused_without_the_setting(client, world, backend) -> None:  # type: ignore[no-untyped-def]
    """A service started without OFFTAKE_SANDBOX_CLOCK: 404 with the reason; billing ignores
    a clock row another (sandbox) process may have left in the database."""
    _site(client, world["grid"], "s")
    wall0 = datetime.now(UTC) - timedelta(seconds=50)
    assert _set_clock(client, world["admin"], wall0, datetime(2025, 1, 1, tzinfo=UTC)).status_code == 200
    plain = create_app(Settings(database_url=backend, secret_key=SECRET, allocation_tick_s=0,
                                migrate_on_start=False,
                                pubsub_channel=f"offtake_test_{uuid.uuid4().hex[:8]}"))
    try:
        with TestClient(plain) as c:
            for method in ("PUT", "GET", "DELETE"):
                r = c.request(method, "/api/v1/admin/sim-clock", headers=world["admin"],
                              json={"wall_origin": wall0.isoformat(),
                                    "sim_origin": wall0.isoformat(), "speed": 2})
                assert r.status_code == 404, (method, r.text)
                assert "OFFTAKE_SANDBOX_CLOCK=1" in r.json()["detail"]
            r = c.post("/api/v1/meter-readings", headers=world["grid"], json={"readings": [
                _reading("w", "s", wall0 + timedelta(seconds=5), 10, 3.0)]})
            assert r.status_code == 200, r.text
            [entry] = [e for e in c.get("/api/v1/ledger", headers=world["grid"]).json()
                       if e["account"].startswith("site:") and e["kind"] == "energy"]
            assert entry["energy_mwh"] == pytest.approx(3.0 * 10 / 3600)  # wall clock, unscaled
            r = c.post("/api/v1/invoices", headers=world["grid"], json={"period": "2025-02"})
            assert r.status_code == 201  # February 2025 is over on the wall clock
    finally:
        plain.state.offtake.engine.dispose()
