"""OpenADR 3 interface, in process (TestClient), on SQLite and PostgreSQL.

The third-party client test is in test_openadr_client.py; these check shapes, scopes,
access rules, report -> meter-reading ingestion and webhook notifications.
"""

from __future__ import annotations

import base64
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from sqlalchemy import text

from offtake.service.openadr import mapping
from offtake.service.security import Role

BASE = "/openadr3/3.0.1"


@pytest.fixture
def oadr(client, actors, app):  # type: ignore[no-untyped-def]
    """Empty OpenADR tables, a grid operator, two site operators, one site each, 12 MW
    allocated to site s-a (and 8 to s-b) in region SINDH."""
    with app.state.offtake.engine.begin() as conn:
        for table in ("oadr_deliveries", "oadr_subscriptions", "oadr_reports"):
            conn.execute(text(f"DELETE FROM {table}"))
    grid, _ = actors.make_client("grid", Role.GRID_OPERATOR)
    ven_a, secret_a = actors.make_client("ven-a", Role.SITE_OPERATOR)
    ven_b, _ = actors.make_client("ven-b", Role.SITE_OPERATOR)
    reg, _ = actors.make_client("reg", Role.REGULATOR)
    for site_id, owner in (("s-a", "ven-a"), ("s-b", "ven-b")):
        r = client.post("/api/v1/sites", headers=grid, json={
            "site_id": site_id, "name": site_id, "site_type": "mining", "region_id": "SINDH",
            "contracted_mw": 20, "interruptible_share": 1.0, "priority": 10,
            "tariff_pkr_per_kwh": 22.0, "owner_client_id": owner})
        assert r.status_code == 201, r.text
    t = datetime.now(UTC)
    r = client.post("/api/v1/surplus-signals", headers=grid, json={"signals": [{
        "region_id": "SINDH", "interval_start": (t - timedelta(minutes=5)).isoformat(),
        "interval_end": (t + timedelta(hours=2)).isoformat(), "available_mw": 20,
        "kind": "actual"}]})
    assert r.status_code == 201, r.text
    return {"grid": grid, "ven_a": ven_a, "ven_b": ven_b, "reg": reg, "secret_a": secret_a}


def _token(client, client_id: str, secret: str, scope: str = "", basic: bool = False):  # type: ignore[no-untyped-def]
    data = {"grant_type": "client_credentials", "scope": scope}
    headers = {}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(
            f"{client_id}:{secret}".encode()).decode()
    else:
        data |= {"client_id": client_id, "client_secret": secret}
    return client.post(f"{BASE}/auth/token", data=data, headers=headers)


def test_token_endpoint_scopes_and_errors(client, oadr) -> None:  # type: ignore[no-untyped-def]
    r = _token(client, "ven-a", oadr["secret_a"], basic=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert set(body["scope"].split()) == {"read_all", "write_reports", "write_subscriptions",
                                          "write_vens"}
    # a site operator may not ask for write_events
    r = _token(client, "ven-a", oadr["secret_a"], scope="read_all write_events")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    r = _token(client, "ven-a", "wrong-secret")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client.post(f"{BASE}/auth/token", data={"grant_type": "password", "client_id": "ven-a",
                                                "client_secret": oadr["secret_a"]})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    # a read-only token cannot post reports
    tok = _token(client, "ven-a", oadr["secret_a"], scope="read_all").json()["access_token"]
    r = client.post(f"{BASE}/reports", headers={"Authorization": f"Bearer {tok}"}, json={})
    assert r.status_code == 403


def test_programs_events_vens_in_spec_shape(client, oadr) -> None:  # type: ignore[no-untyped-def]
    progs = client.get(f"{BASE}/programs", headers=oadr["reg"]).json()
    assert {p["programName"] for p in progs} >= {"offtake-surplus-SINDH", "offtake-surplus-KP"}
    sindh = client.get(f"{BASE}/programs/offtake-surplus-SINDH", headers=oadr["reg"]).json()
    assert sindh["objectType"] == "PROGRAM" and sindh["payloadDescriptors"][0]["units"] == "KW"

    # a site operator sees only its own site's event, with the allocated 12 MW... in kW
    events = client.get(f"{BASE}/events", headers=oadr["ven_a"]).json()
    assert [e["id"] for e in events] == ["setpoint-s-a"]
    ev = events[0]
    assert ev["programID"] == "offtake-surplus-SINDH"
    payloads = {p["type"]: p["values"] for p in ev["intervals"][0]["payloads"]}
    site = client.get("/api/v1/sites/s-a", headers=oadr["grid"]).json()
    assert site["setpoint_mw"] > 0
    assert payloads["IMPORT_CAPACITY_LIMIT"] == [pytest.approx(site["setpoint_mw"] * 1000)]
    assert payloads["OFFTAKE_SETPOINT_SEQ"] == [site["setpoint_seq"]]
    assert client.get(f"{BASE}/events/setpoint-s-b", headers=oadr["ven_a"]).status_code == 404
    # the grid operator sees both; target filtering works
    all_events = client.get(f"{BASE}/events", headers=oadr["grid"]).json()
    assert {e["id"] for e in all_events} == {"setpoint-s-a", "setpoint-s-b"}
    only_b = client.get(f"{BASE}/events", headers=oadr["grid"], params={
        "targetType": "RESOURCE_NAME", "targetValues": ["s-b"]}).json()
    assert [e["id"] for e in only_b] == ["setpoint-s-b"]
    assert client.get(f"{BASE}/events", headers=oadr["grid"],
                      params={"limit": 51}).status_code == 422

    vens = client.get(f"{BASE}/vens", headers=oadr["ven_a"]).json()
    assert [v["venName"] for v in vens] == ["ven-a"]
    assert [r["resourceName"] for r in vens[0]["resources"]] == ["s-a"]
    res = client.get(f"{BASE}/vens/ven-a/resources", headers=oadr["grid"]).json()
    assert res[0]["venID"] == "ven-a"
    assert client.get(f"{BASE}/vens/ven-b", headers=oadr["ven_a"]).status_code == 404
    assert client.post(f"{BASE}/programs", headers=oadr["grid"], json={}).status_code == 403
    assert client.get(f"{BASE}/programs").status_code == 401


def _usage_report(site_id: str, start: datetime, kwh: list[float], event: str) -> dict:  # type: ignore[type-arg]
    return {"programID": "offtake-surplus-SINDH", "eventID": event, "clientName": "ven-a",
            "payloadDescriptors": [{"payloadType": "USAGE", "units": "KWH",
                                    "readingType": "DIRECT_READ"}],
            "resources": [{"resourceName": site_id, "intervals": [
                {"id": i, "intervalPeriod": {"start": (start + timedelta(minutes=15 * i))
                                             .isoformat(), "duration": "PT15M"},
                 "payloads": [{"type": "USAGE", "values": [v]}]} for i, v in enumerate(kwh)]}]}


def test_usage_report_becomes_meter_readings_once(client, oadr) -> None:  # type: ignore[no-untyped-def]
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    body = _usage_report("s-a", start, [1000.0, 1500.0], "setpoint-s-a")
    r = client.post(f"{BASE}/reports", headers=oadr["ven_a"], json=body)
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["objectType"] == "REPORT" and rep["resources"][0]["resourceName"] == "s-a"
    readings = client.get("/api/v1/sites/s-a/meter-readings", headers=oadr["grid"]).json()
    assert sorted(x["energy_mwh"] for x in readings) == [1.0, 1.5]
    assert sorted(x["mean_mw"] for x in readings) == [4.0, 6.0]  # 1 MWh in 15 min = 4 MW
    # the same report again: stored as a report, but no energy counted twice
    assert client.post(f"{BASE}/reports", headers=oadr["ven_a"], json=body).status_code == 201
    readings = client.get("/api/v1/sites/s-a/meter-readings", headers=oadr["grid"]).json()
    assert len(readings) == 2
    assert len(client.get(f"{BASE}/reports", headers=oadr["ven_a"]).json()) == 2
    assert client.get(f"{BASE}/reports", headers=oadr["ven_b"]).json() == []
    assert client.get(f"{BASE}/reports/{rep['id']}", headers=oadr["ven_b"]).status_code == 404


def test_bad_reports_change_nothing(client, oadr) -> None:  # type: ignore[no-untyped-def]
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    # another operator's site
    r = client.post(f"{BASE}/reports", headers=oadr["ven_a"],
                    json=_usage_report("s-b", start, [10.0], "setpoint-s-a"))
    assert r.status_code == 403, r.text
    # negative energy, unknown unit, missing period: one 422 naming each problem
    body = _usage_report("s-a", start, [-5.0], "setpoint-s-a")
    body["resources"][0]["intervals"].append({"id": 9, "payloads": [
        {"type": "USAGE", "values": [3]}]})
    r = client.post(f"{BASE}/reports", headers=oadr["ven_a"], json=body)
    assert r.status_code == 422
    assert "must be >= 0" in r.json()["detail"] and "no intervalPeriod" in r.json()["detail"]
    r = client.post(f"{BASE}/reports", headers=oadr["ven_a"],
                    json={**_usage_report("s-a", start, [1.0], "setpoint-s-a"),
                          "programID": "offtake-surplus-NOWHERE"})
    assert r.status_code == 404
    assert client.post(f"{BASE}/reports", headers=oadr["ven_a"], json={"x": 1}).status_code == 422
    assert client.get(f"{BASE}/reports", headers=oadr["grid"]).json() == []
    assert client.get("/api/v1/sites/s-a/meter-readings", headers=oadr["grid"]).json() == []


def test_business_client_event_sets_a_manual_limit(client, oadr) -> None:  # type: ignore[no-untyped-def]
    body = {"programID": "offtake-surplus-SINDH", "targets": [
        {"type": "RESOURCE_NAME", "values": ["s-b"]}],
        "payloadDescriptors": [{"payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}],
        "intervals": [{"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT",
                                              "values": [2500]}]}]}
    assert client.post(f"{BASE}/events", headers=oadr["ven_b"], json=body).status_code == 403
    r = client.post(f"{BASE}/events", headers=oadr["grid"], json=body)
    assert r.status_code == 201, r.text
    sp = client.get("/api/v1/sites/s-b/setpoint", headers=oadr["grid"]).json()
    assert sp["setpoint_mw"] == pytest.approx(2.5) and sp["reason"] == "manual"
    limit = {p["type"]: p["values"] for p in r.json()["intervals"][0]["payloads"]}
    assert limit["IMPORT_CAPACITY_LIMIT"] == [2500.0]


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", 0))
        type(self).received.append((self.headers.get("Authorization", ""), self.rfile.read(n)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_subscription_webhook_hears_curtailment(client, oadr) -> None:  # type: ignore[no-untyped-def]
    import json

    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        sub = {"clientName": "ven-a", "programID": "offtake-surplus-SINDH", "objectOperations": [
            {"objects": ["EVENT"], "operations": ["PUT", "POST"], "callbackUrl": url,
             "bearerToken": "hook-secret"}]}
        r = client.post(f"{BASE}/subscriptions", headers=oadr["ven_a"], json=sub)
        assert r.status_code == 201, r.text
        assert client.get(f"{BASE}/subscriptions", headers=oadr["ven_b"]).json() == []
        rep_sub = {"clientName": "ven-a", "programID": "offtake-surplus-SINDH",
                   "objectOperations": [{"objects": ["REPORT"], "operations": ["CREATE"],
                                         "callbackUrl": url, "bearerToken": "report-hook"}]}
        assert client.post(f"{BASE}/subscriptions", headers=oadr["ven_a"],
                           json=rep_sub).status_code == 201
        r = client.post("/api/v1/emergency-curtailments", headers=oadr["grid"],
                        json={"reason": "test"})
        assert r.status_code == 201, r.text
        start = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
        assert client.post(f"{BASE}/reports", headers=oadr["ven_a"], json=_usage_report(
            "s-a", start, [100.0], "setpoint-s-a")).status_code == 201
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(_Hook.received) < 2:
            time.sleep(0.05)
        time.sleep(0.3)  # a second (wrong) delivery would arrive now
    finally:
        server.shutdown()
    by_token = {}
    for auth, raw in _Hook.received:
        by_token.setdefault(auth, []).append(json.loads(raw))
    assert [n["objectType"] for n in by_token.pop("Bearer report-hook")] == ["REPORT"]
    # ven-a hears its own site only, exactly once, with the hook's bearer token
    assert len(_Hook.received) == 2, _Hook.received
    auth, raw = next((a, b) for a, b in _Hook.received if a != "Bearer report-hook")
    note = json.loads(raw)
    assert auth == "Bearer hook-secret"
    assert note["objectType"] == "EVENT" and note["operation"] == "PUT"
    assert note["object"]["id"] == "setpoint-s-a"
    limit = {p["type"]: p["values"] for p in note["object"]["intervals"][0]["payloads"]}
    assert limit["IMPORT_CAPACITY_LIMIT"] == [0.0]


def test_object_ids_round_trip() -> None:
    for text_id in ("s-a", "PUNJAB_N", "site.7:x", "enc-41", ""):
        oid = mapping.to_object_id(text_id)
        assert mapping.from_object_id(oid) == text_id or text_id == ""
    assert mapping.from_object_id("enc-zz") is None
