"""OpenADR 3 VTN in process (TestClient), on SQLite and PostgreSQL, both mounted versions.

Every response checked here is validated against the published spec's schema for its
operation and status (tests/service/openadr_spec.py).  The third-party client tests
are in test_openadr_client.py.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from openadr_spec import Spec
from sqlalchemy import text

from offtake.service.openadr import mapping, schedule
from offtake.service.security import Role

B30 = "/openadr3/3.0.1"
B31 = "/openadr3/3.1.0"
SPEC = {"3.0.1": Spec("3.0.1"), "3.1.0": Spec("3.1.0")}
OADR_TABLES = ("oadr_deliveries", "oadr_subscriptions", "oadr_reports", "oadr_applications",
               "oadr_slots", "oadr_events", "oadr_programs", "oadr_vens")


@pytest.fixture
def oadr(client, actors, app):  # type: ignore[no-untyped-def]
    """Empty OpenADR tables, a grid operator, two site operators with one site each in
    SINDH (20 MW contracted), 20 MW of actual surplus allocated between them."""
    with app.state.offtake.engine.begin() as conn:
        for table in OADR_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    grid, grid_secret = actors.make_client("grid", Role.GRID_OPERATOR)
    ven_a, secret_a = actors.make_client("ven-a", Role.SITE_OPERATOR)
    ven_b, secret_b = actors.make_client("ven-b", Role.SITE_OPERATOR)
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
        "interval_end": (t + timedelta(hours=3)).isoformat(), "available_mw": 20,
        "kind": "actual"}]})
    assert r.status_code == 201, r.text
    return {"grid": grid, "ven_a": ven_a, "ven_b": ven_b, "reg": reg, "secret_a": secret_a,
            "secret_b": secret_b, "grid_secret": grid_secret}


def _token(client, base: str, client_id: str, secret: str, scope: str = "",  # type: ignore[no-untyped-def]
           basic: bool = False):
    data = {"grant_type": "client_credentials", "scope": scope}
    headers = {}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(
            f"{client_id}:{secret}".encode()).decode()
    else:
        data |= {"client_id": client_id, "client_secret": secret}
    return client.post(f"{base}/auth/token", data=data, headers=headers)


def _setpoint(client, grid, site: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/sites/{site}/setpoint", headers=grid).json()


def _limit_event(program: str, targets: Any, kw: list[float], start: datetime,
                 step: str = "PT1H", priority: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "programID": program, "eventName": "grid limit",
        "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                                "payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}],
        "intervalPeriod": {"start": start.isoformat(), "duration": step},
        "intervals": [{"id": i, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [v]}]}
                      for i, v in enumerate(kw)]}
    if targets is not None:
        body["targets"] = targets
    if priority is not None:
        body["priority"] = priority
    return body


def _site_targets(version: str, site: str) -> Any:
    return [site] if version == "3.1.0" else [{"type": "RESOURCE_NAME", "values": [site]}]


# ---------------------------------------------------------------- tokens and discovery
def test_token_scopes_basic_and_form_and_errors(client, oadr) -> None:  # type: ignore[no-untyped-def]
    for base, spec in ((B30, SPEC["3.0.1"]), (B31, SPEC["3.1.0"])):
        r = _token(client, base, "ven-a", oadr["secret_a"], basic=True)
        body = spec.check(r, "post", "/auth/token")
        assert body["token_type"] == "Bearer" and body["expires_in"] > 0
        assert set(body["scope"].split()) == {"read_all", "read_targets", "read_ven_objects",
                                              "write_reports", "write_subscriptions",
                                              "write_vens"}
        # the 3.1.0 VEN scopes, in the form body
        r = _token(client, base, "ven-a", oadr["secret_a"],
                   scope="read_targets read_ven_objects write_reports")
        assert spec.check(r, "post", "/auth/token")["scope"] == \
            "read_targets read_ven_objects write_reports"
        r = _token(client, base, "ven-a", oadr["secret_a"], scope="read_all write_events")
        assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
        r = _token(client, base, "ven-a", "wrong-secret")  # 3.0.1 documents no 401 here
        assert r.status_code == (401 if base == B31 else 403)
        assert spec.check(r, "post", "/auth/token")
        assert r.json()["error"] == "invalid_client"
        r = client.post(f"{base}/auth/token", data={"grant_type": "password",
                                                    "client_id": "ven-a",
                                                    "client_secret": oadr["secret_a"]})
        assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    # a read-only token cannot post reports
    tok = _token(client, B31, "ven-a", oadr["secret_a"], scope="read_targets").json()
    r = client.post(f"{B31}/reports", headers={"Authorization": f"Bearer {tok['access_token']}"},
                    json={})
    assert SPEC["3.1.0"].check(r, "post", "/reports") and r.status_code == 403


def test_auth_server_and_notifiers_discovery(client, oadr) -> None:  # type: ignore[no-untyped-def]
    s = SPEC["3.1.0"]
    r = client.get(f"{B31}/auth/server")
    assert s.check(r, "get", "/auth/server")["tokenURL"].endswith("/openadr3/3.1.0/auth/token")
    r = client.get(f"{B31}/notifiers", headers=oadr["ven_a"])
    body = s.check(r, "get", "/notifiers")
    assert body["WEBHOOK"] is True
    assert body["MQTT"]["URIS"] == ["mqtt://127.0.0.1:1883"]
    assert body["MQTT"]["authentication"] == {"method": "ANONYMOUS"}
    r = client.get(f"{B31}/notifiers/mqtt/topics/programs/offtake-surplus-SINDH/events",
                   headers=oadr["ven_a"])
    topics = s.check(r, "get", "/notifiers/mqtt/topics/programs/{programID}/events")["topics"]
    assert topics["UPDATE"].endswith("programs/offtake-surplus-SINDH/events/update")
    r = client.get(f"{B31}/notifiers/mqtt/topics/vens/ven-a/events", headers=oadr["ven_a"])
    assert s.check(r, "get", "/notifiers/mqtt/topics/vens/{venID}/events")["topics"][
        "CREATE"].endswith("vens/ven-a/events/create")
    # another VEN's topics: 404; the BL-wide event topics need read_bl: 403 for a VEN
    r = client.get(f"{B31}/notifiers/mqtt/topics/vens/ven-b/events", headers=oadr["ven_a"])
    assert s.check(r, "get", "/notifiers/mqtt/topics/vens/{venID}/events") and r.status_code == 404
    r = client.get(f"{B31}/notifiers/mqtt/topics/events", headers=oadr["ven_a"])
    assert s.check(r, "get", "/notifiers/mqtt/topics/events") and r.status_code == 403
    r = client.get(f"{B31}/notifiers/mqtt/topics/events", headers=oadr["grid"])
    assert s.check(r, "get", "/notifiers/mqtt/topics/events")["topics"]["ALL"].endswith("events/+")


# ---------------------------------------------------------------- reads, both versions
@pytest.mark.parametrize("version", ["3.0.1", "3.1.0"])
def test_reads_in_spec_shape(client, oadr, version) -> None:  # type: ignore[no-untyped-def]
    s, base = SPEC[version], f"/openadr3/{version}"
    progs = s.check(client.get(f"{base}/programs", headers=oadr["reg"]), "get", "/programs")
    assert {p["programName"] for p in progs} >= {"offtake-surplus-SINDH", "offtake-surplus-KP"}
    sindh = s.check(client.get(f"{base}/programs/offtake-surplus-SINDH", headers=oadr["reg"]),
                    "get", "/programs/{programID}")
    assert sindh["targets"] == (["SINDH"] if version == "3.1.0" else
                                [{"type": "SERVICE_AREA", "values": ["SINDH"]}])

    events = s.check(client.get(f"{base}/events", headers=oadr["ven_a"]), "get", "/events")
    assert [e["id"] for e in events] == ["setpoint-s-a"]
    payloads = {p["type"]: p["values"] for p in events[0]["intervals"][0]["payloads"]}
    site = client.get("/api/v1/sites/s-a", headers=oadr["grid"]).json()
    assert site["setpoint_mw"] > 0
    assert payloads["IMPORT_CAPACITY_LIMIT"] == [pytest.approx(site["setpoint_mw"] * 1000)]
    assert payloads["OFFTAKE_SETPOINT_SEQ"] == [site["setpoint_seq"]]
    r = client.get(f"{base}/events/setpoint-s-b", headers=oadr["ven_a"])
    assert s.check(r, "get", "/events/{eventID}") and r.status_code == 404
    all_events = s.check(client.get(f"{base}/events", headers=oadr["grid"]), "get", "/events")
    assert {e["id"] for e in all_events} == {"setpoint-s-a", "setpoint-s-b"}
    params: dict[str, Any] = ({"targets": ["s-b"]} if version == "3.1.0" else
                              {"targetType": "RESOURCE_NAME", "targetValues": ["s-b"]})
    only_b = s.check(client.get(f"{base}/events", headers=oadr["grid"], params=params),
                     "get", "/events")
    assert [e["id"] for e in only_b] == ["setpoint-s-b"]
    page2 = s.check(client.get(f"{base}/events", headers=oadr["grid"],
                               params={"skip": 1, "limit": 1}), "get", "/events")
    assert [e["id"] for e in page2] == ["setpoint-s-b"]
    r = client.get(f"{base}/events", headers=oadr["grid"], params={"limit": 51})
    assert s.check(r, "get", "/events") and r.status_code == 400

    vens = s.check(client.get(f"{base}/vens", headers=oadr["ven_a"]), "get", "/vens")
    assert [v["venName"] for v in vens] == ["ven-a"]
    if version == "3.1.0":
        assert vens[0]["clientID"] == "ven-a"
        res = s.check(client.get(f"{base}/resources", headers=oadr["grid"],
                                 params={"venID": "ven-a"}), "get", "/resources")
        assert [(r["resourceName"], r["clientID"]) for r in res] == [("s-a", "ven-a")]
        one = s.check(client.get(f"{base}/resources/s-b", headers=oadr["ven_a"]),
                      "get", "/resources/{resourceID}")
        assert one["status"] == 404
    else:
        assert [r["resourceName"] for r in vens[0]["resources"]] == ["s-a"]
        res = s.check(client.get(f"{base}/vens/ven-a/resources", headers=oadr["grid"]),
                      "get", "/vens/{venID}/resources")
        assert res[0]["venID"] == "ven-a"
    r = client.get(f"{base}/vens/ven-b", headers=oadr["ven_a"])
    assert s.check(r, "get", "/vens/{venID}") and r.status_code == 404
    unauth = 401 if version == "3.1.0" else 403  # 3.0.1 documents no 401
    r = client.get(f"{base}/programs")
    assert s.check(r, "get", "/programs") and r.status_code == unauth
    r = client.get(f"{base}/programs", headers={"Authorization": "Bearer forged.token.x"})
    assert s.check(r, "get", "/programs") and r.status_code == unauth


# ---------------------------------------------------------------- the BL surface
@pytest.mark.parametrize("version", ["3.0.1", "3.1.0"])
def test_bl_program_and_event_crud(client, oadr, version) -> None:  # type: ignore[no-untyped-def]
    s, base, grid = SPEC[version], f"/openadr3/{version}", oadr["grid"]
    prog = {"programName": f"dr-{version}", "payloadDescriptors": [
        {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "IMPORT_CAPACITY_LIMIT",
         "units": "KW"}]}
    r = client.post(f"{base}/programs", headers=oadr["ven_a"], json=prog)
    assert s.check(r, "post", "/programs") and r.status_code == 403
    created = s.check(client.post(f"{base}/programs", headers=grid, json=prog),
                      "post", "/programs")
    pid = created["id"]
    r = client.post(f"{base}/programs", headers=grid, json=prog)
    assert s.check(r, "post", "/programs") and r.status_code == 409
    r = client.post(f"{base}/programs", headers=grid, json={"programName": ""})
    assert s.check(r, "post", "/programs") and r.status_code == 400
    upd = s.check(client.put(f"{base}/programs/{pid}", headers=grid,
                             json={**prog, "programName": f"dr2-{version}"}),
                  "put", "/programs/{programID}")
    assert upd["programName"] == f"dr2-{version}" and upd["id"] == pid
    # Offtake's region programs: refused with a reason
    for method in ("put", "delete"):
        r = client.request(method, f"{base}/programs/offtake-surplus-SINDH", headers=grid,
                           json={"programName": "mine"} if method == "put" else None)
        body = s.check(r, method, "/programs/{programID}")
        assert r.status_code == 403 and "region 'SINDH'" in body["detail"]
    r = client.put(f"{base}/programs/prog-nope", headers=grid, json=prog)
    assert s.check(r, "put", "/programs/{programID}") and r.status_code == 404

    # events: several per program, several intervals each; a VEN may not write them
    start = datetime.now(UTC) + timedelta(hours=2)
    targets = _site_targets(version, "s-b")
    body = _limit_event(pid, targets, [3000, 2000, 1000], start)
    r = client.post(f"{base}/events", headers=oadr["ven_b"], json=body)
    assert s.check(r, "post", "/events") and r.status_code == 403
    e1 = s.check(client.post(f"{base}/events", headers=grid, json=body), "post", "/events")
    e2 = s.check(client.post(f"{base}/events", headers=grid,
                             json=_limit_event(pid, targets, [500] * 4, start, "PT15M")),
                 "post", "/events")
    assert e1["id"] != e2["id"] and len(e1["intervals"]) == 3
    assert datetime.fromisoformat(e1["intervalPeriod"]["start"]) == start  # not rewritten
    listed = s.check(client.get(f"{base}/events", headers=grid, params={"programID": pid}),
                     "get", "/events")
    assert {e["id"] for e in listed} == {e1["id"], e2["id"]}
    # ven-b sees them (they target its site), ven-a does not
    seen_b = s.check(client.get(f"{base}/events", headers=oadr["ven_b"],
                                params={"programID": pid}), "get", "/events")
    assert {e["id"] for e in seen_b} == {e1["id"], e2["id"]}
    assert s.check(client.get(f"{base}/events", headers=oadr["ven_a"],
                              params={"programID": pid}), "get", "/events") == []
    # two hours ahead: nothing applied yet
    assert _setpoint(client, grid, "s-b")["reason"] == "allocation"
    new = _limit_event(pid, targets, [4000], start)
    u = s.check(client.put(f"{base}/events/{e2['id']}", headers=grid, json=new),
                "put", "/events/{eventID}")
    assert len(u["intervals"]) == 1 and u["modificationDateTime"] >= e2["modificationDateTime"]
    d = s.check(client.delete(f"{base}/events/{e1['id']}", headers=grid),
                "delete", "/events/{eventID}")
    assert d["id"] == e1["id"]
    r = client.get(f"{base}/events/{e1['id']}", headers=grid)
    assert s.check(r, "get", "/events/{eventID}") and r.status_code == 404
    r = client.delete(f"{base}/events/setpoint-s-a", headers=grid)
    body = s.check(r, "delete", "/events/{eventID}")
    assert r.status_code == 403 and "live setpoint" in body["detail"]
    # invalid bodies: 400 problems naming the fault, nothing stored
    for bad in ({"programID": pid}, {**body, "intervals": "x"},
                _limit_event(pid, targets, [-5], start),
                _limit_event(pid, _site_targets(version, "s-b"), [1, 2], start, "PT0S")):
        r = client.post(f"{base}/events", headers=grid, json=bad)
        assert s.check(r, "post", "/events") and r.status_code == 400, r.text
    # a create naming an unknown program: 400 (creates document no 404)
    r = client.post(f"{base}/events", headers=grid, json=_limit_event("prog-none", None, [1], start))
    assert s.check(r, "post", "/events") and r.status_code == 400
    assert "unknown program 'prog-none'" in r.json()["detail"]
    # deleting the program deletes its events
    s.check(client.delete(f"{base}/programs/{pid}", headers=grid), "delete",
            "/programs/{programID}")
    assert client.get(f"{base}/events/{e2['id']}", headers=grid).status_code == 404


def test_versions_share_one_store(client, oadr) -> None:  # type: ignore[no-untyped-def]
    """A 3.0.1 BL's event is a 3.1.0 VEN's event, with targets in each version's shape."""
    start = datetime.now(UTC) + timedelta(hours=1)
    ev = SPEC["3.0.1"].check(client.post(f"{B30}/events", headers=oadr["grid"], json=_limit_event(
        "offtake-surplus-SINDH", [{"type": "RESOURCE_NAME", "values": ["s-a"]}], [100], start)),
        "post", "/events")
    got = SPEC["3.1.0"].check(client.get(f"{B31}/events/{ev['id']}", headers=oadr["ven_a"]),
                              "get", "/events/{eventID}")
    assert got["targets"] == ["s-a"] and got["intervals"] == ev["intervals"]
    ev31 = SPEC["3.1.0"].check(client.post(f"{B31}/events", headers=oadr["grid"], json=_limit_event(
        "offtake-surplus-SINDH", ["s-b", "ven-b"], [100], start)), "post", "/events")
    got = SPEC["3.0.1"].check(client.get(f"{B30}/events/{ev31['id']}", headers=oadr["ven_b"]),
                              "get", "/events/{eventID}")
    assert got["targets"] == [{"type": "RESOURCE_NAME", "values": ["s-b"]},
                              {"type": "VEN_NAME", "values": ["ven-b"]}]
    # a region program's event may not target another region's site
    r = client.post(f"{B31}/events", headers=oadr["grid"], json=_limit_event(
        "offtake-surplus-KP", ["s-a"], [100], start))
    assert SPEC["3.1.0"].check(r, "post", "/events") and r.status_code == 400
    assert "not in region 'KP'" in r.json()["detail"]


# ---------------------------------------------------------------- schedules
def test_schedule_applies_at_start_by_priority_then_recency(client, oadr, app) -> None:  # type: ignore[no-untyped-def]
    grid = oadr["grid"]
    t0 = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    prog = "offtake-surplus-SINDH"
    low = client.post(f"{B31}/events", headers=grid, json=_limit_event(
        prog, ["s-b"], [5000, 6000], t0, "PT1H", priority=5)).json()
    high = client.post(f"{B31}/events", headers=grid, json=_limit_event(
        prog, ["s-b"], [1000], t0 + timedelta(minutes=30), "PT30M", priority=1)).json()
    newer_same = client.post(f"{B31}/events", headers=grid, json=_limit_event(
        prog, ["s-b"], [7000], t0 + timedelta(minutes=90), "PT10M", priority=5)).json()
    sessions = app.state.offtake.sessions

    def winner(at: datetime) -> tuple[str, float] | None:
        with sessions() as session:
            w = schedule.winners(session, at).get("s-b")
        return (w.event_id, w.limit_mw) if w else None

    assert winner(t0 - timedelta(seconds=1)) is None  # not before its start
    assert winner(t0) == (low["id"], 5.0)
    assert winner(t0 + timedelta(minutes=45)) == (high["id"], 1.0)  # priority 1 beats 5
    assert winner(t0 + timedelta(minutes=61)) == (low["id"], 6.0)  # second interval
    assert winner(t0 + timedelta(minutes=95)) == (newer_same["id"], 7.0)  # same priority: newer
    assert winner(t0 + timedelta(minutes=121)) is None
    # the setpoint stream is untouched until the start
    with sessions() as session:
        assert schedule.apply_due(session) == []
    assert _setpoint(client, grid, "s-b")["reason"] == "allocation"


@pytest.mark.timing  # wall-clock checks: never beside a heavy test (tests/conftest.py)
def test_future_event_takes_effect_at_its_start_not_before(client, oadr, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Real time: a two-interval event 2 s ahead; the ticker applies each at its start."""
    grid = oadr["grid"]
    before = _setpoint(client, grid, "s-b")
    start = datetime.now(UTC) + timedelta(seconds=2)
    ev = client.post(f"{B31}/events", headers=grid, json=_limit_event(
        "offtake-surplus-SINDH", ["s-b"], [3000, 1500], start, "PT2S")).json()
    seen: list[tuple[float, float, str]] = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        sp = _setpoint(client, grid, "s-b")
        seen.append(((datetime.now(UTC) - start).total_seconds(), sp["setpoint_mw"], sp["reason"]))
        if (datetime.now(UTC) - start).total_seconds() > 4.6:
            break
        time.sleep(0.1)
    early = [x for x in seen if x[0] < -0.05]
    assert early and all(mw == before["setpoint_mw"] for _t, mw, _r in early)  # not before
    first = [mw for t, mw, _r in seen if 0.6 < t < 1.8]
    second = [mw for t, mw, _r in seen if 2.6 < t < 3.8]
    assert first and set(first) == {3.0}, seen
    assert second and set(second) == {1.5}, seen
    after = [r for t, _mw, r in seen if t > 4.5]
    assert after and after[-1] == "allocation", seen  # released when the schedule ended
    history = client.get("/api/v1/sites/s-b/setpoints/history", headers=grid)
    if history.status_code == 200:
        starts = [h for h in history.json() if h["reason"] == "manual"]
        assert all(datetime.fromisoformat(h["valid_from"]) >= start for h in starts)
    assert ev["intervalPeriod"]["start"].startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))


def test_region_program_event_without_targets_limits_every_site(client, oadr) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"{B31}/events", headers=oadr["grid"], json=_limit_event(
        "offtake-surplus-SINDH", None, [2500], datetime.now(UTC) - timedelta(seconds=1)))
    assert r.status_code == 201, r.text
    for site in ("s-a", "s-b"):
        sp = _setpoint(client, oadr["grid"], site)
        assert sp["setpoint_mw"] == pytest.approx(2.5) and sp["reason"] == "manual"
    client.delete(f"{B31}/events/{r.json()['id']}", headers=oadr["grid"])
    assert _setpoint(client, oadr["grid"], "s-a")["reason"] == "allocation"


# ---------------------------------------------------------------- reports
def _usage_report(version: str, site_id: str, start: datetime, kwh: list[float], event: str,
                  client_name: str = "ven-a") -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventID": event, "clientName": client_name,
        "payloadDescriptors": [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE",
                                "units": "KWH", "readingType": "DIRECT_READ"}],
        "resources": [{"resourceName": site_id, "intervals": [
            {"id": i, "intervalPeriod": {"start": (start + timedelta(minutes=15 * i)).isoformat(),
                                         "duration": "PT15M"},
             "payloads": [{"type": "USAGE", "values": [v]}]} for i, v in enumerate(kwh)]}]}
    if version == "3.0.1":
        body["programID"] = "offtake-surplus-SINDH"
    return body


@pytest.mark.parametrize("version", ["3.0.1", "3.1.0"])
def test_usage_report_becomes_meter_readings_once(client, oadr, version) -> None:  # type: ignore[no-untyped-def]
    s, base = SPEC[version], f"/openadr3/{version}"
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    body = _usage_report(version, "s-a", start, [1000.0, 1500.0], "setpoint-s-a")
    rep = s.check(client.post(f"{base}/reports", headers=oadr["ven_a"], json=body),
                  "post", "/reports")
    assert rep["resources"][0]["resourceName"] == "s-a"
    if version == "3.1.0":
        assert rep["clientID"] == "ven-a"  # from the token, not the body
    readings = client.get("/api/v1/sites/s-a/meter-readings", headers=oadr["grid"]).json()
    assert sorted(x["energy_mwh"] for x in readings) == [1.0, 1.5]
    assert sorted(x["mean_mw"] for x in readings) == [4.0, 6.0]  # 1 MWh in 15 min = 4 MW
    s.check(client.post(f"{base}/reports", headers=oadr["ven_a"], json=body), "post", "/reports")
    assert len(client.get("/api/v1/sites/s-a/meter-readings", headers=oadr["grid"]).json()) == 2
    assert len(s.check(client.get(f"{base}/reports", headers=oadr["ven_a"]), "get",
                       "/reports")) == 2
    assert s.check(client.get(f"{base}/reports", headers=oadr["ven_b"]), "get", "/reports") == []
    r = client.get(f"{base}/reports/{rep['id']}", headers=oadr["ven_b"])
    assert s.check(r, "get", "/reports/{reportID}") and r.status_code == 404


@pytest.mark.parametrize("version", ["3.0.1", "3.1.0"])
def test_bad_reports_change_nothing(client, oadr, version) -> None:  # type: ignore[no-untyped-def]
    s, base = SPEC[version], f"/openadr3/{version}"
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    cases: list[tuple[dict[str, Any], int, str]] = [
        (_usage_report(version, "s-b", start, [10.0], "setpoint-s-a"), 403, "another operator"),
        (_usage_report(version, "s-a", start, [1.0], "setpoint-s-a", client_name="ven-b"),
         403, "names another VEN"),
        (_usage_report(version, "s-a", start, [-5.0], "setpoint-s-a"), 400, "must be >= 0"),
        (_usage_report(version, "s-a", start, [1.0], "evt-unknown"), 400, "unknown event"),
        ({"x": 1}, 400, "invalid request"),
    ]
    if version == "3.0.1":
        cases.append(({**_usage_report(version, "s-a", start, [1.0], "setpoint-s-a"),
                       "programID": "offtake-surplus-KP"}, 400, "is not the program"))
    for body, status, words in cases:
        r = client.post(f"{base}/reports", headers=oadr["ven_a"], json=body)
        got = s.check(r, "post", "/reports")
        assert r.status_code == status and words in got["detail"], (words, got)
    assert client.get(f"{base}/reports", headers=oadr["grid"]).json() == []
    assert client.get("/api/v1/sites/s-a/meter-readings", headers=oadr["grid"]).json() == []


def test_report_reading_ids_cannot_be_preclaimed(client, oadr) -> None:  # type: ignore[no-untyped-def]
    """#13 item 3: operator B pre-claims the id A's report would get; A's energy is stored."""
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    old_style = str(uuid.uuid5(mapping.READING_NAMESPACE, f"s-a|{start.isoformat()}"))
    r = client.post("/api/v1/meter-readings", headers=oadr["ven_b"], json={"readings": [{
        "reading_id": old_style, "site_id": "s-b", "interval_start": start.isoformat(),
        "interval_end": (start + timedelta(minutes=15)).isoformat(), "energy_mwh": 0.5,
        "mean_mw": 2.0, "max_mw": 2.0}]})
    assert r.status_code in (200, 201), r.text
    rep = client.post(f"{B31}/reports", headers=oadr["ven_a"],
                      json=_usage_report("3.1.0", "s-a", start, [1000.0], "setpoint-s-a"))
    assert rep.status_code == 201, rep.text
    got = client.get("/api/v1/sites/s-a/meter-readings", headers=oadr["grid"]).json()
    assert [x["energy_mwh"] for x in got] == [1.0]
    # the same interval again with other figures: 409, nothing stored, no 201
    r = client.post(f"{B31}/reports", headers=oadr["ven_a"],
                    json=_usage_report("3.1.0", "s-a", start, [900.0], "setpoint-s-a"))
    assert SPEC["3.1.0"].check(r, "post", "/reports") and r.status_code == 409
    assert len(client.get(f"{B31}/reports", headers=oadr["ven_a"]).json()) == 1


# ---------------------------------------------------------------- VEN registration
def test_ven_registration_31(client, oadr) -> None:  # type: ignore[no-untyped-def]
    s = SPEC["3.1.0"]
    r = client.post(f"{B31}/vens", headers=oadr["ven_a"], json={
        "objectType": "VEN_VEN_REQUEST", "venName": "ven-a",
        "attributes": [{"type": "LOCATION", "values": ["Karachi"]}]})
    ven = s.check(r, "post", "/vens")
    assert r.status_code == 201 and ven["clientID"] == "ven-a"
    assert ven["attributes"] == [{"type": "LOCATION", "values": ["Karachi"]}]
    r = client.post(f"{B31}/vens", headers=oadr["ven_a"], json={
        "objectType": "VEN_VEN_REQUEST", "venName": "ven-a"})
    assert s.check(r, "post", "/vens") and r.status_code == 400  # already registered
    r = client.post(f"{B31}/vens", headers=oadr["ven_a"], json={
        "objectType": "BL_VEN_REQUEST", "venName": "ven-b", "clientID": "ven-b"})
    assert s.check(r, "post", "/vens") and r.status_code == 403
    # the BL assigns a group target; events aimed at the group reach the VEN
    r = client.put(f"{B31}/vens/ven-a", headers=oadr["grid"], json={
        "objectType": "BL_VEN_REQUEST", "venName": "ven-a", "clientID": "ven-a",
        "targets": ["group-karachi"]})
    assert s.check(r, "put", "/vens/{venID}")["targets"] == ["group-karachi"]
    ev = client.post(f"{B31}/events", headers=oadr["grid"], json={
        "programID": "offtake-surplus-SINDH", "targets": ["group-karachi"],
        "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}]}).json()
    assert [e["id"] for e in client.get(f"{B31}/events", headers=oadr["ven_a"],
                                        params={"targets": ["group-karachi"]}).json()] == [ev["id"]]
    assert client.get(f"{B31}/events/{ev['id']}", headers=oadr["ven_b"]).status_code == 404
    r = client.delete(f"{B31}/vens/ven-a", headers=oadr["grid"])
    assert s.check(r, "delete", "/vens/{venID}") and r.status_code == 403


# ---------------------------------------------------------------- notifications
class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []
    redirect_to: ClassVar[str] = ""

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", 0))
        type(self).received.append((self.path, self.headers.get("Authorization", ""),
                                    self.rfile.read(n)))
        if self.path == "/redirect":
            self.send_response(307)
            self.send_header("Location", type(self).redirect_to)
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook(monkeypatch):  # type: ignore[no-untyped-def]
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.redirect_to = f"http://127.0.0.1:{server.server_port}/landed"
    monkeypatch.setenv("OFFTAKE_OPENADR_CALLBACK_ALLOW", "127.0.0.1/32")
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _wait(pred, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not pred():
        time.sleep(0.05)


def test_webhooks_in_each_versions_shape(client, oadr, hook) -> None:  # type: ignore[no-untyped-def]
    sub30 = {"clientName": "ven-a", "programID": "offtake-surplus-SINDH", "objectOperations": [
        {"objects": ["EVENT"], "operations": ["UPDATE", "CREATE"], "callbackUrl": f"{hook}/v30",
         "bearerToken": "hook-30"}]}
    sub31 = {"clientName": "ven-b", "objectOperations": [
        {"objects": ["EVENT"], "operations": ["CREATE", "UPDATE"], "callbackUrl": f"{hook}/v31",
         "bearerToken": "hook-31"}]}
    SPEC["3.0.1"].check(client.post(f"{B30}/subscriptions", headers=oadr["ven_a"], json=sub30),
                        "post", "/subscriptions")
    got = SPEC["3.1.0"].check(client.post(f"{B31}/subscriptions", headers=oadr["ven_b"],
                                          json=sub31), "post", "/subscriptions")
    assert got["clientID"] == "ven-b"
    assert client.get(f"{B30}/subscriptions", headers=oadr["ven_b"]).json()[0]["programID"] == ""
    # the GET/POST/PUT spelling some clients use is accepted and echoed as sent
    alt = client.post(f"{B31}/subscriptions", headers=oadr["ven_b"], json={
        **sub31, "objectOperations": [{**sub31["objectOperations"][0], "operations": ["POST"],
                                       "callbackUrl": f"{hook}/alt"}]})
    assert alt.status_code == 201 and alt.json()["objectOperations"][0]["operations"] == ["POST"]
    client.delete(f"{B31}/subscriptions/{alt.json()['id']}", headers=oadr["ven_b"])
    # an emergency curtailment changes both setpoint events; a BL event for s-b follows
    assert client.post("/api/v1/emergency-curtailments", headers=oadr["grid"],
                       json={"reason": "test"}).status_code == 201
    _wait(lambda: len(_Hook.received) >= 2)
    ev = client.post(f"{B31}/events", headers=oadr["grid"], json={
        "programID": "offtake-surplus-SINDH", "targets": ["s-b"],
        "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}]}).json()
    _wait(lambda: len(_Hook.received) >= 3)
    time.sleep(0.3)  # a duplicate or a wrong delivery would arrive now
    by_path: dict[str, list[tuple[str, Any]]] = {}
    for path, auth, raw in _Hook.received:
        by_path.setdefault(path, []).append((auth, json.loads(raw)))
    v30 = by_path["/v30"]
    assert [(a, n["operation"], n["object"]["id"]) for a, n in v30] == [
        ("Bearer hook-30", "PUT", "setpoint-s-a")]
    assert v30[0][1]["object"]["targets"][0] == {"type": "RESOURCE_NAME", "values": ["s-a"]}
    v31 = sorted(by_path["/v31"], key=lambda x: x[1]["object"]["id"])
    assert [(a, n["operation"], n["object"]["id"]) for a, n in v31] == sorted(
        [("Bearer hook-31", "CREATE", ev["id"]), ("Bearer hook-31", "UPDATE", "setpoint-s-b")],
        key=lambda x: x[2])
    assert all(isinstance(t, str) for _a, n in v31 for t in n["object"]["targets"])


def test_subscription_callbacks_refuse_internal_targets(client, oadr, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """#13 item 4 (SSRF): loopback, link-local, private targets are refused (400)."""
    monkeypatch.delenv("OFFTAKE_OPENADR_CALLBACK_ALLOW", raising=False)
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://169.254.169.254/latest",
                "http://10.1.2.3/x", "http://192.168.0.1/", "http://[::1]/x", "ftp://example.com/",
                "http://100.64.0.1/", "http://0.0.0.0/"):
        for base, spec in ((B30, SPEC["3.0.1"]), (B31, SPEC["3.1.0"])):
            r = client.post(f"{base}/subscriptions", headers=oadr["ven_a"], json={
                "clientName": "ven-a", "programID": "offtake-surplus-SINDH",
                "objectOperations": [{"objects": ["EVENT"], "operations": ["UPDATE"],
                                      "callbackUrl": url}]})
            assert spec.check(r, "post", "/subscriptions") and r.status_code == 400, (url, r.text)
    assert client.get(f"{B31}/subscriptions", headers=oadr["ven_a"]).json() == []
    monkeypatch.setenv("OFFTAKE_OPENADR_CALLBACK_ALLOW", "127.0.0.1/32")
    r = client.post(f"{B31}/subscriptions", headers=oadr["ven_a"], json={
        "clientName": "ven-a", "objectOperations": [{"objects": ["EVENT"],
                                                     "operations": ["UPDATE"],
                                                     "callbackUrl": "http://127.0.0.1:9/x"}]})
    assert r.status_code == 201, r.text


def test_webhook_redirect_is_not_followed(client, oadr, hook, app) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"{B31}/subscriptions", headers=oadr["ven_a"], json={
        "clientName": "ven-a", "objectOperations": [
            {"objects": ["EVENT"], "operations": ["UPDATE"], "callbackUrl": f"{hook}/redirect"}]})
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/emergency-curtailments", headers=oadr["grid"],
                       json={"reason": "t"}).status_code == 201
    _wait(lambda: any(p == "/redirect" for p, _a, _b in _Hook.received))

    def failed() -> bool:
        with app.state.offtake.engine.connect() as conn:
            return conn.execute(text("SELECT status, last_error FROM oadr_deliveries")).all()

    _wait(lambda: bool(failed()) and failed()[0][0] == "failed")
    rows = failed()
    assert rows and rows[0][0] == "failed" and "redirects are not followed" in rows[0][1], rows
    assert all(r[0] == "failed" for r in rows), rows
    assert {p for p, _a, _b in _Hook.received} == {"/redirect"}  # nothing landed


def test_mqtt_notification_on_event_change(client, oadr, app, require_component) -> None:  # type: ignore[no-untyped-def]
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    rt = app.state.openadr
    assert rt is not None and rt.mqtt is not None
    require_component("Mosquitto on 127.0.0.1:1883", rt.mqtt.connected.wait(5),
                      "apt-get install mosquitto (the MQTT notifier binding's broker)")
    got: list[tuple[str, Any]] = []
    sub = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    sub.on_message = lambda _c, _u, m: got.append((m.topic, json.loads(m.payload)))
    ready = threading.Event()
    sub.on_subscribe = lambda *_a: ready.set()
    sub.connect("127.0.0.1", 1883)
    sub.loop_start()
    try:
        topics = client.get(f"{B31}/notifiers/mqtt/topics/vens/ven-b/events",
                            headers=oadr["ven_b"]).json()["topics"]
        sub.subscribe(topics["ALL"], qos=1)
        assert ready.wait(5)
        ev = client.post(f"{B31}/events", headers=oadr["grid"], json=_limit_event(
            "offtake-surplus-SINDH", ["s-b"], [1000], datetime.now(UTC) + timedelta(hours=1)))
        assert ev.status_code == 201
        _wait(lambda: any(n["object"]["id"] == ev.json()["id"] for _t, n in got), 5)
    finally:
        sub.loop_stop()
        sub.disconnect()
    mine = [(t, n) for t, n in got if n["object"]["id"] == ev.json()["id"]]
    assert mine, got
    topic, note = mine[0]
    assert topic == topics["CREATE"] and note["operation"] == "CREATE"
    assert note["objectType"] == "EVENT" and note["object"]["targets"] == ["s-b"]


# ---------------------------------------------------------------- day-ahead publication
def test_day_ahead_schedule_and_prices_for_a_ven(client, oadr) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Karachi")
    day = (datetime.now(tz) + timedelta(days=1)).date()
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    # a forecast of 30 MW in hours 0-11 and 8 MW in hours 12-23 (sites: 20 + 20 MW)
    signals = [{"region_id": "SINDH", "interval_start": (start + timedelta(hours=h)).isoformat(),
                "interval_end": (start + timedelta(hours=h + 1)).isoformat(),
                "available_mw": 30 if h < 12 else 8, "kind": "forecast"} for h in range(24)]
    assert client.post("/api/v1/surplus-signals", headers=oadr["grid"],
                       json={"signals": signals}).status_code == 201
    prices = [40.0 + h for h in range(24)]
    r = client.post("/api/v1/openadr/day-ahead", headers=oadr["grid"], json={
        "day": day.isoformat(), "prices": [{"region_id": "SINDH", "values": prices}]})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["intervals"] == 24 and out["price_events"] == 1
    assert client.post("/api/v1/openadr/day-ahead", headers=oadr["ven_a"],
                       json={"day": day.isoformat()}).status_code == 403
    evs = SPEC["3.1.0"].check(client.get(f"{B31}/events", headers=oadr["ven_a"]), "get", "/events")
    by_id = {e["id"]: e for e in evs}
    tag = day.strftime("%Y%m%d")
    da = by_id[f"da-s-a-{tag}"]
    kw = [iv["payloads"][0]["values"][0] for iv in da["intervals"]]
    # equal sites split the forecast: 15 MW each while 30 MW, 4 MW each while 8 MW
    assert kw == [15000.0] * 12 + [4000.0] * 12
    assert datetime.fromisoformat(da["intervalPeriod"]["start"]) == start
    assert da["intervalPeriod"]["duration"] == "PT1H"
    price = by_id[f"price-SINDH-{tag}"]
    assert [iv["payloads"][0]["values"][0] for iv in price["intervals"]] == prices
    assert price["payloadDescriptors"][0]["currency"] == "USD"
    assert f"da-s-b-{tag}" not in by_id  # another site's schedule is not ven-a's
    # informational: publishing the plan changes no setpoint
    assert _setpoint(client, oadr["grid"], "s-a")["reason"] == "allocation"


def test_day_ahead_quarter_hours_and_bad_input(client, oadr) -> None:  # type: ignore[no-untyped-def]
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    r = client.post("/api/v1/openadr/day-ahead", headers=oadr["grid"], json={
        "day": day, "resolution_minutes": 15,
        "prices": [{"region_id": "SINDH", "values": [50.0] * 96}]})
    assert r.status_code == 201, r.text
    assert r.json()["intervals"] == 96
    ev = client.get(f"{B31}/events/price-SINDH-{day.replace('-', '')}", headers=oadr["ven_a"]).json()
    assert len(ev["intervals"]) == 96 and ev["intervalPeriod"]["duration"] == "PT15M"
    for bad, words in (({"day": day, "prices": [{"region_id": "SINDH", "values": [1.0] * 23}]},
                        "need 24 values"),
                       ({"day": day, "prices": [{"region_id": "MARS", "values": [1.0] * 24}]},
                        "unknown region"),
                       ({"day": day, "resolution_minutes": 30}, "15 or 60"),
                       ({"day": day, "timezone": "Mars/Olympus"}, "unknown timezone")):
        r = client.post("/api/v1/openadr/day-ahead", headers=oadr["grid"], json=bad)
        assert 400 <= r.status_code < 500 and words in r.json()["detail"], (bad, r.text)
    # nothing of the refused posts was stored: still one price event for that day
    ids = [e["id"] for e in client.get(f"{B31}/events", headers=oadr["grid"]).json()]
    assert sum(i.startswith("price-") for i in ids) == 1


def test_two_workers_apply_a_slot_once(client, oadr, app) -> None:  # type: ignore[no-untyped-def]
    """Two schedulers (as in two workers) racing on the same slot: one setpoint, not two."""
    start = datetime.now(UTC) + timedelta(hours=1)
    client.post(f"{B31}/events", headers=oadr["grid"], json=_limit_event(
        "offtake-surplus-SINDH", ["s-a"], [1500], start, "PT1H"))
    seq_before = _setpoint(client, oadr["grid"], "s-a")["seq"]
    at = start + timedelta(minutes=1)
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def worker() -> None:
        with app.state.offtake.sessions() as session:
            barrier.wait()
            results.append(schedule.apply_due(session, at=at, site_ids={"s-a"}))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(len(r) for r in results) == [0, 1], results
    # (the real-time ticker may hand the site back afterwards: that hold is not "now")
    history = client.get("/api/v1/sites/s-a/setpoints", headers=oadr["grid"]).json()
    held = [h for h in history if h["seq"] > seq_before and h["reason"] == "manual"]
    assert [h["setpoint_mw"] for h in held] == [pytest.approx(1.5)], history
