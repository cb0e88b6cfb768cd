"""OpenADR webhooks: a subscription hears only setpoint changes made after it was created.

Regression test for a flake of test_openadr.py::test_webhooks_in_each_versions_shape
(PostgreSQL, full suite): the setpoint watcher scans asynchronously, so when it ran late
it announced the allocation's setpoints, committed BEFORE the test subscribed, to the new
subscription, which then got two ``PUT setpoint-s-a`` (two versions of the event).  Here
the watcher is held back on purpose until the subscriptions exist.  SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from sqlalchemy import text

from offtake.service.openadr import runtime
from offtake.service.security import Role

B30 = "/openadr3/3.0.1"
B31 = "/openadr3/3.1.0"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, dict]]] = []

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", 0))
        type(self).received.append((self.path, self.headers.get("Authorization", ""),
                                    json.loads(self.rfile.read(n))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook(monkeypatch):  # type: ignore[no-untyped-def]
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OFFTAKE_OPENADR_CALLBACK_ALLOW", "127.0.0.1/32")
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def gate(monkeypatch):  # type: ignore[no-untyped-def]
    """The watcher's scans wait for ``open``; ``done`` is set after each scan that ran."""
    opened, done = threading.Event(), threading.Event()
    scan = runtime.OpenADRRuntime.scan

    def held(self):  # type: ignore[no-untyped-def]
        opened.wait(30)
        try:
            return scan(self)
        finally:
            done.set()

    monkeypatch.setattr(runtime.OpenADRRuntime, "scan", held)
    yield opened, done
    opened.set()


def _wait(pred, timeout_s: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not pred():
        time.sleep(0.05)
    return bool(pred())


def test_late_scan_does_not_announce_older_setpoints(client, actors, app, hook, gate) -> None:  # type: ignore[no-untyped-def]
    opened, done = gate
    with app.state.offtake.engine.begin() as conn:
        for table in ("oadr_deliveries", "oadr_subscriptions"):
            conn.execute(text(f"DELETE FROM {table}"))
    grid, _ = actors.make_client("grid", Role.GRID_OPERATOR)
    ven_a, _ = actors.make_client("ven-a", Role.SITE_OPERATOR)
    r = client.post("/api/v1/sites", headers=grid, json={
        "site_id": "s-a", "name": "s-a", "site_type": "mining", "region_id": "SINDH",
        "contracted_mw": 20, "interruptible_share": 1.0, "priority": 10,
        "tariff_pkr_per_kwh": 22.0, "owner_client_id": "ven-a"})
    assert r.status_code == 201, r.text
    t = datetime.now(UTC)
    r = client.post("/api/v1/surplus-signals", headers=grid, json={"signals": [{
        "region_id": "SINDH", "interval_start": (t - timedelta(minutes=5)).isoformat(),
        "interval_end": (t + timedelta(hours=3)).isoformat(), "available_mw": 20,
        "kind": "actual"}]})
    assert r.status_code == 201, r.text
    sp = client.get("/api/v1/sites/s-a/setpoint", headers=grid).json()
    assert sp["seq"] == 2 and sp["setpoint_mw"] == pytest.approx(20), sp  # allocated
    # subscribe (both versions) while the watcher has not scanned those setpoints yet
    ops = {"objects": ["EVENT"], "operations": ["CREATE", "UPDATE"]}
    r30 = client.post(f"{B30}/subscriptions", headers=ven_a, json={
        "clientName": "ven-a", "programID": "offtake-surplus-SINDH",
        "objectOperations": [{**ops, "callbackUrl": f"{hook}/v30", "bearerToken": "t30"}]})
    r31 = client.post(f"{B31}/subscriptions", headers=ven_a, json={
        "clientName": "ven-a", "objectOperations": [{**ops, "callbackUrl": f"{hook}/v31"}]})
    assert r30.status_code == 201 and r31.status_code == 201, (r30.text, r31.text)
    assert "_after_setpoint" not in r30.text and "_after_setpoint" not in r31.text
    # an update keeps the subscription's creation mark
    sub31 = r31.json()
    r = client.put(f"{B31}/subscriptions/{sub31['id']}", headers=ven_a, json={
        "clientName": "ven-a", "objectOperations": [{**ops, "callbackUrl": f"{hook}/v31",
                                                      "bearerToken": "t31"}]})
    assert r.status_code == 200 and "_after_setpoint" not in r.text, r.text
    assert "_after_setpoint" not in client.get(f"{B31}/subscriptions", headers=ven_a).text
    opened.set()
    assert _wait(done.is_set), "the watcher did not scan"
    time.sleep(0.5)  # a notification of the older setpoints would be sent now
    assert _Hook.received == []
    # a change after subscribing is announced once to each subscription, as its version says
    assert client.post("/api/v1/emergency-curtailments", headers=grid,
                       json={"reason": "test"}).status_code == 201
    assert _wait(lambda: len(_Hook.received) >= 2), _Hook.received
    time.sleep(0.5)  # a duplicate would arrive now
    got = sorted((path, auth, n["operation"], n["object"]["id"]) for path, auth, n in _Hook.received)
    assert got == [("/v30", "Bearer t30", "PUT", "setpoint-s-a"),
                   ("/v31", "Bearer t31", "UPDATE", "setpoint-s-a")]
    v30 = next(n for path, _a, n in _Hook.received if path == "/v30")
    values = v30["object"]["intervals"][0]["payloads"][0]["values"]
    assert values == [0.0] or values == [0], v30  # the curtailment's 0 MW, not the allocation
