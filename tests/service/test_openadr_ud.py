"""A second third-party client on the 3.0.1 mount: ``oadr30-ven-ud`` (PyPI, an open-source
OpenADR 3.0 VEN), in the .venv312 interpreter (scripts/make_venv312.sh installs it).

The library refuses payload types outside its own registry, so it cannot read Offtake's
setpoint events (they carry the private ``OFFTAKE_SETPOINT_SEQ``, which the spec allows);
it reads a BL program's events instead.  It asks for ``scope=read_all`` only, so it
cannot register or report (403, as for any read-only token).

The BL (here plain HTTP) posts a BL program and in it a two-interval IMPORT_CAPACITY_LIMIT schedule 4 s ahead;
the library's VEN fetches a token (form body), reads programs and events, and its own
EventScheduler fires a callback as each interval starts.  Checked: it read the schedule
before it began, each callback came at or after its interval's start, and the service
applied each limit at its start too.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from _live_server import empty_tables, serve

from offtake.service.domain.clients import create_client
from offtake.service.security import Role

SCRIPT = Path(__file__).with_name("openadr_ud_script.py")
VENV = Path(__file__).resolve().parents[2] / ".venv312"


@pytest.fixture  # function scope: require_component is function-scoped
def ud_python(require_component) -> str:  # type: ignore[no-untyped-def]
    py = VENV / "bin" / "python"
    ok = py.exists() and subprocess.run([str(py), "-c", "import oadr30.vtn"], capture_output=True,
                                        timeout=60, check=False).returncode == 0
    require_component("oadr30-ven-ud in .venv312 (Python 3.12)", ok, "run scripts/make_venv312.sh")
    return str(py)


@pytest.mark.timing  # wall-clock checks: never beside a heavy test (tests/conftest.py)
def test_oadr30_ven_ud_reads_and_schedules_on_time(app, ud_python) -> None:  # type: ignore[no-untyped-def]
    empty_tables(app.state.offtake.engine)
    with app.state.offtake.sessions() as session:
        _g, grid_secret = create_client(session, actor=None, name="grid",
                                        roles=[Role.GRID_OPERATOR], client_id="grid")
        _v, ven_secret = create_client(session, actor=None, name="ven", roles=[Role.SITE_OPERATOR],
                                       client_id="ud-ven")
    with serve(app) as url:
        b = f"{url}/openadr3/3.0.1"
        tok = httpx.post(f"{b}/auth/token", data={"grant_type": "client_credentials",
                                                  "client_id": "grid",
                                                  "client_secret": grid_secret}).json()
        grid = {"Authorization": f"Bearer {tok['access_token']}"}
        assert httpx.post(f"{url}/api/v1/sites", headers=grid, json={
            "site_id": "ud-1", "name": "ud-1", "site_type": "mining", "region_id": "KP",
            "contracted_mw": 10, "interruptible_share": 1.0, "priority": 1,
            "tariff_pkr_per_kwh": 22.0, "owner_client_id": "ud-ven"}).status_code == 201
        prog = httpx.post(f"{b}/programs", headers=grid, json={"programName": "ud-dr"})
        assert prog.status_code == 201, prog.text
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
        ev = httpx.post(f"{b}/events", headers=grid, json={
            "programID": prog.json()["id"], "eventName": "ud schedule",
            "targets": [{"type": "RESOURCE_NAME", "values": ["ud-1"]}],
            "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                                    "payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}],
            "intervalPeriod": {"start": start.isoformat(), "duration": "PT2S"},
            "intervals": [{"id": i, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT",
                                                  "values": [v]}]}
                          for i, v in enumerate((4000, 2500))]})
        assert ev.status_code == 201, ev.text
        cfg = {"base": b, "client_id": "ud-ven", "secret": ven_secret, "event_id": ev.json()["id"],
               "program_id": prog.json()["id"],
               "until": (start + timedelta(seconds=5)).timestamp()}
        t_read = time.time()
        run = subprocess.run([ud_python, str(SCRIPT), json.dumps(cfg)], capture_output=True,
                             text=True, timeout=120, check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        out = json.loads(run.stdout.strip().splitlines()[-1])
        history = httpx.get(f"{url}/api/v1/sites/ud-1/setpoints", headers=grid).json()
    assert t_read < start.timestamp()
    assert {"offtake-surplus-KP", prog.json()["id"]} <= set(out["programs"])
    assert out["found"] == 1 and out["future_segments"] == 2, out
    # the library calls back when a segment starts and again when it ends: keep the first
    first: dict[str, dict] = {}  # type: ignore[type-arg]
    for f in sorted(out["fired"], key=lambda f: f["at"]):
        first.setdefault(f["start"], f)
    fired = sorted(first.values(), key=lambda f: f["at"])
    assert [f["values"] for f in fired] == [[4000], [2500]], out
    for i, f in enumerate(fired):
        due = start.timestamp() + 2 * i
        assert due - 0.05 <= f["at"] < due + 1.5, (i, f, due)  # at its start, not before
    manual = sorted((h for h in history if h["reason"] == "manual"), key=lambda h: h["seq"])
    assert [h["setpoint_mw"] for h in manual] == [4.0, 2.5]
    for i, h in enumerate(manual):
        assert datetime.fromisoformat(h["issued_at"]) >= start + timedelta(seconds=2 * i)
