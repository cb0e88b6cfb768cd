"""Interoperability: the third-party ``openadr3-client`` (PyPI) as a VEN against the
service on a loopback port, on SQLite and PostgreSQL.

The client needs Python >= 3.12 and the project runs on 3.11, so it runs in its own
venv (``.venv312``, built by scripts/make_venv312.sh; built here if missing) as a
subprocess: tests/service/openadr_client_script.py.  Skipped, with the reason shown,
only where no Python >= 3.12 interpreter exists.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


@pytest.fixture(scope="module")
def venv_python() -> str:
    py = VENV / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import openadr3_client"],
                                      capture_output=True, timeout=60, check=False).returncode == 0:
        return str(py)
    interp = _python312()
    if interp is None:
        pytest.skip("no Python >= 3.12 interpreter found (needed by openadr3-client); "
                    "set OFFTAKE_PY312 or install one, then run scripts/make_venv312.sh")
    build = subprocess.run(["bash", str(REPO / "scripts" / "make_venv312.sh"), interp],
                           capture_output=True, text=True, timeout=600,
                           env={**os.environ, "OFFTAKE_VENV312": str(VENV)}, check=False)
    assert build.returncode == 0, f"building {VENV} failed:\n{build.stderr[-3000:]}"
    return str(py)


@pytest.fixture
def live_url(app):  # type: ignore[no-untyped-def]
    """The session's app served by uvicorn on a loopback port, in a thread."""
    empty_tables(app.state.offtake.engine)
    with serve(app) as url:
        yield url


def test_third_party_ven_reads_limit_and_reports_usage(app, live_url, venv_python) -> None:  # type: ignore[no-untyped-def]
    key = app.state.offtake.signing_key
    with app.state.offtake.sessions() as session:
        create_client(session, actor=None, name="grid", roles=[Role.GRID_OPERATOR],
                      client_id="grid")
        _c, ven_secret = create_client(session, actor=None, name="VEN of miner A",
                                       roles=[Role.SITE_OPERATOR], client_id="miner-a")
        create_client(session, actor=None, name="other", roles=[Role.SITE_OPERATOR],
                      client_id="miner-b")
    grid = {"Authorization": "Bearer " + issue_token(client_id="grid",
                                                     roles={Role.GRID_OPERATOR}, key=key,
                                                     ttl_s=600)}
    with httpx.Client(base_url=live_url, headers=grid, timeout=30) as http:
        for site_id, owner, mw in (("mine-a.1", "miner-a", 30), ("mine-b", "miner-b", 30)):
            r = http.post("/api/v1/sites", json={
                "site_id": site_id, "name": site_id, "site_type": "mining",
                "region_id": "PUNJAB_S", "contracted_mw": mw, "interruptible_share": 1.0,
                "priority": 10, "tariff_pkr_per_kwh": 22.0, "owner_client_id": owner})
            assert r.status_code == 201, r.text
        t = datetime.now(UTC)
        r = http.post("/api/v1/surplus-signals", json={"signals": [{
            "region_id": "PUNJAB_S", "interval_start": (t - timedelta(hours=1)).isoformat(),
            "interval_end": (t + timedelta(hours=1)).isoformat(), "available_mw": 45,
            "kind": "actual"}]})
        assert r.status_code == 201, r.text
        setpoint = http.get("/api/v1/sites/mine-a.1/setpoint").json()
        assert setpoint["setpoint_mw"] > 0

        run = subprocess.run([venv_python, str(SCRIPT), f"{live_url}/openadr3/3.0.1", "miner-a",
                              ven_secret, "mine-a.1"], capture_output=True, text=True,
                             timeout=120, check=False)
        assert run.returncode == 0, f"openadr3-client failed:\n{run.stdout}\n{run.stderr[-4000:]}"
        out = json.loads(run.stdout.strip().splitlines()[-1])

        # what the third-party client saw
        assert "offtake-surplus-PUNJAB_S" in out["programs"]
        assert out["event_program_id"] == "offtake-surplus-PUNJAB_S"
        assert out["limit_kw"] == pytest.approx(setpoint["setpoint_mw"] * 1000)
        assert out["ven_names"] == ["miner-a"] and out["ven_resources"] == ["mine-a.1"]
        assert out["report_id"] in out["report_ids_listed"]

        # what the service stored: one meter reading from the report, in MWh
        readings = http.get("/api/v1/sites/mine-a.1/meter-readings").json()
        assert len(readings) == 1, readings
        got = readings[0]
        assert got["energy_mwh"] == pytest.approx(out["usage_kwh"] / 1000)
        assert got["mean_mw"] == pytest.approx(setpoint["setpoint_mw"])
        assert datetime.fromisoformat(got["interval_start"]) == \
            datetime.fromisoformat(out["interval_start"])
        assert got["allowed_mw"] == pytest.approx(setpoint["setpoint_mw"])
        assert not got["flagged"]  # drew exactly its limit
        assert http.get("/api/v1/sites/mine-b/meter-readings").json() == []
