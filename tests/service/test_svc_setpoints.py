"""Sites, allocation through the API, manual holds, emergency curtailment and push."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime.now(UTC)


def _signal(client, h, region: str, mw: float, kind: str = "actual",  # type: ignore[no-untyped-def]
            start: datetime | None = None, hours: float = 1.0) -> dict:
    start = start or NOW - timedelta(minutes=1)
    r = client.post("/api/v1/surplus-signals", headers=h, json={"signals": [{
        "region_id": region, "interval_start": start.isoformat(),
        "interval_end": (start + timedelta(hours=hours)).isoformat(), "available_mw": mw,
        "kind": kind}]})
    assert r.status_code == 201, r.text
    return r.json()


def _sp(client, h, site: str) -> dict:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/sites/{site}/setpoint", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_signal_allocates_and_seq_rises(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a", contracted_mw=10, interruptible_share=0.5, priority=1)
    make_site("b", contracted_mw=20, interruptible_share=0.5, priority=2)
    make_site("c", region_id="SINDH", contracted_mw=5)
    assert _sp(client, world["grid"], "a") | {"issued_at": 0, "valid_from": 0} == {
        "site_id": "a", "setpoint_mw": 0.0, "seq": 1, "reason": "allocation",
        "valid_from": 0, "valid_until": None, "issued_at": 0}
    out = _signal(client, world["grid"], "KP", 18.0)["allocation"]
    assert {s["site_id"]: s["setpoint_mw"] for s in out["sites"]} == pytest.approx(
        {"a": 8.0, "b": 10.0})
    a = _sp(client, world["op_a"], "a")
    assert (a["setpoint_mw"], a["seq"], a["reason"]) == (8.0, 2, "allocation")
    assert a["valid_until"] is not None
    # an actual beats a forecast; unchanged sites are not re-issued
    _signal(client, world["grid"], "KP", 100.0, kind="forecast")
    assert _sp(client, world["grid"], "a")["seq"] == 2
    _signal(client, world["grid"], "KP", 30.0, kind="actual")
    assert _sp(client, world["grid"], "a")["setpoint_mw"] == pytest.approx(10.0)
    assert _sp(client, world["grid"], "a")["seq"] == 3
    assert _sp(client, world["grid"], "c")["seq"] == 1  # other region untouched
    hist = client.get("/api/v1/sites/a/setpoints", headers=world["grid"]).json()
    assert [h["seq"] for h in hist] == [3, 2, 1]
    status = {r["region_id"]: r for r in
              client.get("/api/v1/regions/status", headers=world["regulator"]).json()}
    assert status["KP"]["available_mw"] == 30.0 and status["KP"]["allocated_mw"] == 30.0
    assert len(status) == 7


def test_future_forecast_waits_for_its_interval(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a", contracted_mw=10)
    posted = _signal(client, world["grid"], "KP", 4.0, kind="forecast",
                     start=NOW + timedelta(hours=2))
    assert posted["allocation"] is None
    assert _sp(client, world["grid"], "a")["setpoint_mw"] == 0.0
    at = (NOW + timedelta(hours=2, minutes=5)).isoformat()
    dry = client.post("/api/v1/allocations", headers=world["grid"],
                      json={"at": at, "dry_run": True}).json()
    assert dry["sites"][0]["setpoint_mw"] == pytest.approx(4.0)
    assert _sp(client, world["grid"], "a")["seq"] == 1  # dry run wrote nothing


def test_manual_hold_survives_allocation(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a", contracted_mw=10, interruptible_share=1.0)
    make_site("b", contracted_mw=10, interruptible_share=1.0)
    r = client.put("/api/v1/sites/a/setpoint", headers=world["grid"], json={"setpoint_mw": 3})
    assert r.status_code == 200 and r.json()["reason"] == "manual"
    _signal(client, world["grid"], "KP", 8.0)
    assert _sp(client, world["grid"], "a")["setpoint_mw"] == 3.0
    assert _sp(client, world["grid"], "b")["setpoint_mw"] == pytest.approx(5.0)  # 8 - 3 held
    r = client.put("/api/v1/sites/a/setpoint", headers=world["grid"], json={"setpoint_mw": 11})
    assert r.status_code == 422 and "contracted" in r.json()["detail"]
    past = (NOW - timedelta(minutes=1)).isoformat()
    r = client.put("/api/v1/sites/a/setpoint", headers=world["grid"],
                   json={"setpoint_mw": 1, "valid_until": past})
    assert r.status_code == 422


def test_emergency_curtailment_region_and_release(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("k", contracted_mw=10)
    make_site("s", region_id="SINDH", contracted_mw=10)
    _signal(client, world["grid"], "KP", 10.0)
    _signal(client, world["grid"], "SINDH", 10.0)
    r = client.post("/api/v1/emergency-curtailments", headers=world["grid"],
                    json={"region_id": "KP", "reason": "frequency 49.2 Hz"})
    assert r.status_code == 201 and r.json()["sites_affected"] == 1
    cid = r.json()["curtailment_id"]
    k = _sp(client, world["grid"], "k")
    assert (k["setpoint_mw"], k["reason"], k["valid_until"]) == (0.0, "emergency", None)
    assert _sp(client, world["grid"], "s")["setpoint_mw"] == 10.0
    # allocation and manual raises are refused/skipped while curtailed
    _signal(client, world["grid"], "KP", 50.0)
    assert _sp(client, world["grid"], "k")["reason"] == "emergency"
    r = client.put("/api/v1/sites/k/setpoint", headers=world["grid"], json={"setpoint_mw": 2})
    assert r.status_code == 409
    r = client.post(f"/api/v1/emergency-curtailments/{cid}/release", headers=world["grid"])
    assert r.status_code == 200 and r.json()["ended_by"] == "grid-1"
    k = _sp(client, world["grid"], "k")
    assert (k["setpoint_mw"], k["reason"]) == (10.0, "allocation")
    again = client.post(f"/api/v1/emergency-curtailments/{cid}/release", headers=world["grid"])
    assert again.status_code == 409
    audit = client.get("/api/v1/audit", headers=world["regulator"]).json()
    actions = {a["action"] for a in audit}
    assert {"emergency.curtail", "emergency.release", "site.create", "signals.post"} <= actions
    assert all(a["actor"] for a in audit)


def test_push_on_websocket(client, world, actors, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a", contracted_mw=10)
    make_site("b", owner="op-b", contracted_mw=10)
    token = world["op_a"]["Authorization"][7:]
    with client.websocket_connect(f"/api/v1/sites/a/setpoints/ws?token={token}") as ws:
        first = ws.receive_json()
        assert (first["site_id"], first["seq"]) == ("a", 1)
        _signal(client, world["grid"], "KP", 12.0)
        msg = ws.receive_json()
        assert msg["site_id"] == "a" and msg["seq"] == 2 and msg["reason"] == "allocation"
        client.post("/api/v1/emergency-curtailments", headers=world["grid"],
                    json={"reason": "drill"})
        msg = ws.receive_json()
        assert (msg["seq"], msg["setpoint_mw"], msg["reason"]) == (3, 0.0, "emergency")
    # the all-sites stream, for readers of everything
    grid_token = world["grid"]["Authorization"][7:]
    with client.websocket_connect(f"/api/v1/setpoints/ws?token={grid_token}") as ws:
        got = {ws.receive_json()["site_id"] for _ in range(2)}
        assert got == {"a", "b"}


@pytest.mark.parametrize(("path", "who", "code"), [
    ("/api/v1/sites/a/setpoints/ws", "none", 4401),
    ("/api/v1/sites/a/setpoints/ws", "op_b", 4403),
    ("/api/v1/sites/nope/setpoints/ws", "grid", 4404),
    ("/api/v1/setpoints/ws", "op_a", 4403),
])
def test_websocket_refusals(client, world, make_site, path, who, code) -> None:  # type: ignore[no-untyped-def]
    from starlette.websockets import WebSocketDisconnect

    make_site("a")
    q = "" if who == "none" else f"?token={world[who]['Authorization'][7:]}"
    with client.websocket_connect(path + q) as ws, pytest.raises(WebSocketDisconnect) as exc:
        ws.receive_json()
    assert exc.value.code == code


def test_site_validation_and_conflicts(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a")
    base = {"site_id": "x", "name": "x", "site_type": "mining", "region_id": "KP",
            "contracted_mw": 5, "interruptible_share": 0.5, "tariff_pkr_per_kwh": 23,
            "owner_client_id": "op-a"}
    cases = [({"site_id": "a"}, 409), ({"region_id": "MARS"}, 404),
             ({"owner_client_id": "ghost"}, 422), ({"owner_client_id": "grid-1"}, 422),
             ({"contracted_mw": -1}, 422), ({"interruptible_share": 2}, 422),
             ({"site_type": "bakery"}, 422), ({"extra": 1}, 422)]
    for change, code in cases:
        r = client.post("/api/v1/sites", headers=world["grid"], json=base | change)
        assert r.status_code == code, (change, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    sites = client.get("/api/v1/sites", headers=world["grid"]).json()
    assert [s["site_id"] for s in sites] == ["a"]  # nothing half-created
    # deactivating sets 0 MW at once
    _signal(client, world["grid"], "KP", 10)
    r = client.patch("/api/v1/sites/a", headers=world["grid"], json={"active": False})
    assert r.json()["active"] is False and r.json()["setpoint_mw"] == 0.0


def test_websocket_closes_when_token_expires(client, actors, make_site) -> None:  # type: ignore[no-untyped-def]
    from starlette.websockets import WebSocketDisconnect

    from offtake.service.security import Role

    make_site("a")
    token = actors.token("op-a", Role.SITE_OPERATOR, ttl_s=2)
    with client.websocket_connect(f"/api/v1/sites/a/setpoints/ws?token={token}") as ws:
        assert ws.receive_json()["seq"] == 1
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
    assert exc.value.code == 4401
