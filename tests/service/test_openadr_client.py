"""Interoperability: the third-party ``openadr3-client`` (PyPI) as a BL and as a VEN
against the service on a loopback port, in 3.1.0 and in 3.0.1 mode, on SQLite and
PostgreSQL.

The client needs Python >= 3.12 and the project runs on 3.11, so it runs in its own
venv (``.venv312``, built by scripts/make_venv312.sh; built here if missing) as a
subprocess: tests/service/openadr_client_script.py.  Where no Python >= 3.12 exists
the test is skipped with the reason shown, except under ``CI=true``, where a missing
interpreter or venv fails the run.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from _live_server import empty_tables, serve  # tests/service/_live_server.py

from offtake.service.domain.clients import create_client
from offtake.service.security import Role, issue_token

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("openadr_client_script.py")
VENV = Path(os.environ.get("OFFTAKE_VENV312", REPO / ".venv312"))


def _python312() -> str | None:
    """A Python >= 3.12 interpreter, or None."""
    candidates = [os.environ.get("OFFTAKE_PY312", ""), shutil.which("python3.12") or "",
                  shutil.which("python3.13") or "",
                  *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python")))]
    for cand in filter(None, candidates):
        try:
            out = subprocess.run([cand, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                                 capture_output=True, text=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.stdout.strip() == "True":
            return cand
    return None


@pytest.fixture  # function scope: require_component is function-scoped
def venv_python(require_component) -> str:  # type: ignore[no-untyped-def]
    py = VENV / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import openadr3_client, paho.mqtt"],
                                      capture_output=True, timeout=60, check=False).returncode == 0:
        return str(py)
    interp = _python312()
    if interp is None:
        require_component("Python >= 3.12 (for openadr3-client)", False,
                          "set OFFTAKE_PY312 or install one, then run scripts/make_venv312.sh")
    build = subprocess.run(["bash", str(REPO / "scripts" / "make_venv312.sh"), interp],
                           capture_output=True, text=True, timeout=600,
                           env={**os.environ, "OFFTAKE_VENV312": str(VENV)}, check=False)
    assert build.returncode == 0, f"building {VENV} failed:\n{build.stderr[-3000:]}"
    return str(py)


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, Any]]] = []

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", 0))
        type(self).received.append((self.headers.get("Authorization", ""),
                                    json.loads(self.rfile.read(n))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def live(app, monkeypatch):  # type: ignore[no-untyped-def]
    """The session's app on a loopback port, a webhook receiver, a unique MQTT prefix."""
    monkeypatch.setenv("OFFTAKE_OPENADR_CALLBACK_ALLOW", "127.0.0.1/32")
    monkeypatch.setenv("OFFTAKE_OPENADR_MQTT_PREFIX", f"t{os.getpid()}{id(app) % 10000}")
    empty_tables(app.state.offtake.engine)
    _Hook.received = []
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    with serve(app) as url:
        yield url, f"http://127.0.0.1:{hook.server_port}/hook"
    hook.shutdown()


def _setup(app, http: httpx.Client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with app.state.offtake.sessions() as session:
        _g, grid_secret = create_client(session, actor=None, name="grid BL",
                                        roles=[Role.GRID_OPERATOR], client_id="grid")
        _c, ven_secret = create_client(session, actor=None, name="VEN of miner A",
                                       roles=[Role.SITE_OPERATOR], client_id="miner-a")
        _o, other_secret = create_client(session, actor=None, name="other",
                                         roles=[Role.SITE_OPERATOR], client_id="miner-b")
    for site_id, owner in (("mine-a.1", "miner-a"), ("mine-b", "miner-b")):
        r = http.post("/api/v1/sites", json={
            "site_id": site_id, "name": site_id, "site_type": "mining",
            "region_id": "PUNJAB_S", "contracted_mw": 30, "interruptible_share": 1.0,
            "priority": 10, "tariff_pkr_per_kwh": 22.0, "owner_client_id": owner})
        assert r.status_code == 201, r.text
    t = datetime.now(UTC)
    r = http.post("/api/v1/surplus-signals", json={"signals": [{
        "region_id": "PUNJAB_S", "interval_start": (t - timedelta(hours=3)).isoformat(),
        "interval_end": (t + timedelta(hours=3)).isoformat(), "available_mw": 45,
        "kind": "actual"}]})
    assert r.status_code == 201, r.text
    return {"grid_secret": grid_secret, "ven_secret": ven_secret, "other_secret": other_secret}


@pytest.mark.timing  # wall-clock checks: never beside a heavy test (tests/conftest.py)
@pytest.mark.parametrize("version", ["3.1.0", "3.0.1"])
def test_third_party_client_as_bl_and_ven(app, live, venv_python, version,  # type: ignore[no-untyped-def]
                                          require_component) -> None:
    url, hook = live
    rt = app.state.openadr
    require_component("Mosquitto on 127.0.0.1:1883", rt is not None and rt.mqtt is not None
                      and rt.mqtt.connected.wait(5), "apt-get install mosquitto")
    key = app.state.offtake.signing_key
    grid_h = {"Authorization": "Bearer " + issue_token(client_id="grid",
                                                       roles={Role.GRID_OPERATOR}, key=key,
                                                       ttl_s=600)}
    with httpx.Client(base_url=url, headers=grid_h, timeout=30) as http:
        creds = _setup(app, http)
        before = http.get("/api/v1/sites/mine-a.1/setpoint").json()
        cfg = {"version": version, "base": f"{url}/openadr3/{version}",
               "bl": ["grid", creds["grid_secret"]], "ven": ["miner-a", creds["ven_secret"]],
               "site": "mine-a.1", "other_site": "mine-b", "program": "offtake-surplus-PUNJAB_S",
               "webhook": hook, "mqtt": version == "3.1.0", "lead_s": 5, "step_s": 2}
        run = subprocess.run([venv_python, str(SCRIPT), json.dumps(cfg)], capture_output=True,
                             text=True, timeout=180, check=False)
        assert run.returncode == 0, f"openadr3-client failed:\n{run.stdout}\n{run.stderr[-5000:]}"
        out = json.loads(run.stdout.strip().splitlines()[-1])

        # tokens, discovery
        if version == "3.1.0":
            assert out["token_url"] == f"{url}/openadr3/3.1.0/auth/token"
        assert "write_reports" in out["form_token_scope"]
        # BL program CRUD; Offtake's region program refused with a reason
        assert out["program_updated_name"].endswith("-2") and out["program_deleted"]
        assert out["program_after_delete"] == 404
        assert out["region_program_delete"]["status"] == 403
        assert "no BL may change or delete it" in out["region_program_delete"]["body"]["detail"]
        # BL event CRUD
        assert out["event_updated_name"] == "spare v2"
        assert out["event_after_delete"]["status"] == 404
        # VEN registration and reads with filters and pagination
        if version == "3.1.0":
            assert out["ven_registered"] == ["miner-a", "miner-a"]
            assert out["resources"] == ["mine-a.1"]
        assert out["ven_names"] == ["miner-a"]
        assert out["event_id"] in out["ven_event_ids"]
        assert "setpoint-enc-" + b"mine-a.1".hex() in out["ven_event_ids"]
        assert len(out["pages"][0]) == 1 and len(out["pages"][1]) == 1
        assert out["pages"][0] != out["pages"][1]
        assert out["ven_saw_intervals"] == out["event_kw"]
        assert out["seen_before_start_s"] > 0  # the VEN read the schedule ahead of its start
        # subscriptions: the webhook (and MQTT) heard the BL's new event
        notes = [n for auth, n in _Hook.received if auth == "Bearer interop-hook"
                 and n["object"]["id"] == out["notify_event_id"]]
        assert notes and notes[0]["operation"] == ("CREATE" if version == "3.1.0" else "POST")
        if version == "3.1.0":
            assert out["notifiers_mqtt_uris"] == ["mqtt://127.0.0.1:1883"]
            assert [o for t, o, i in out["mqtt_received"] if i == out["notify_event_id"]] == \
                ["CREATE"], out["mqtt_received"]
        # negative cases: problem bodies with the documented statuses
        unauth = 401 if version == "3.1.0" else 403
        for case in ("no_token", "forged_token"):
            assert out[case]["status"] == unauth and out[case]["body"]["status"] == unauth, out[case]
        for case in ("ven_writes_program", "ven_writes_event"):
            assert out[case]["status"] == 403, out[case]
        assert out["invalid_body"]["status"] == 400 and out["invalid_body"]["body"]["detail"]
        assert out["unknown_event"]["status"] == 404
        assert out["unknown_program"]["status"] == 404

        # the USAGE report became meter readings (kWh -> MWh)
        readings = sorted(http.get("/api/v1/sites/mine-a.1/meter-readings").json(),
                          key=lambda r: r["interval_start"])
        assert [r["energy_mwh"] for r in readings] == [u / 1000 for u in out["usage_kwh"]]
        assert datetime.fromisoformat(readings[0]["interval_start"]) == \
            datetime.fromisoformat(out["usage_start"])
        if version == "3.1.0":
            assert out["report_client_id"] == "miner-a"

        # the future-dated schedule took effect at each interval's start, not before
        start = datetime.fromisoformat(out["event_start"])
        step = timedelta(seconds=out["event_step_s"])
        history = http.get("/api/v1/sites/mine-a.1/setpoints", params={"limit": 50}).json()
        manual = sorted((h for h in history if h["reason"] == "manual"),
                        key=lambda h: h["seq"])
        assert [h["setpoint_mw"] for h in manual] == [kw / 1000 for kw in out["event_kw"]], history
        for i, h in enumerate(manual):
            issued = datetime.fromisoformat(h["issued_at"])
            due = start + i * step
            assert issued >= due, (i, issued, due)  # never before its start
            assert (issued - due).total_seconds() < 1.5, (i, issued, due)  # and on time
            assert datetime.fromisoformat(h["valid_until"]) == due + step
        assert before["reason"] == "allocation"
        assert http.get("/api/v1/sites/mine-b/meter-readings").json() == []
