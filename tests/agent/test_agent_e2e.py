"""End to end: the real service (``offtake serve`` subprocess, SQLite), two agents (a
simulated LuxOS mining fleet through pyasic, a simulated GPU cluster through its command
line), surplus posted, draws follow setpoints; the service is killed and both sites fall
to their safe draw; it restarts and every reading arrives once."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from offtake.agent.config import parse_config
from offtake.agent.outbox import Outbox
from offtake.agent.runtime import Agent, build_site
from offtake.agent.sim.gpu_cluster import cluster_power_w

KEY = "e2e-signing-key-that-is-long-enough-0123456789"
LINK_TIMEOUT_S = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """``offtake serve`` in a subprocess; start, kill and start again on one database."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = f"sqlite:///{tmp / 'svc.db'}"
        self.proc: subprocess.Popen | None = None
        self.out = tmp / "serve.log"

    def start(self) -> str:
        env = {**os.environ, "OFFTAKE_SECRET_KEY": KEY, "OFFTAKE_ALLOCATION_TICK_S": "0"}
        self.log = open(self.out, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "offtake.cli", "serve", "--port", str(self.port),
             "--database-url", self.db, "--log-level", "warning"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/docs", timeout=1).status_code == 200:
                    return self.out.read_text()
            except httpx.HTTPError:
                time.sleep(0.2)
            assert self.proc.poll() is None, self.out.read_text()
        raise AssertionError("service did not start: " + self.out.read_text())

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()


def token(url: str, cid: str, secret: str) -> dict[str, str]:
    r = httpx.post(f"{url}/auth/token", data={"grant_type": "client_credentials",
                                               "client_id": cid, "client_secret": secret})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def make_client(url: str, admin: dict, cid: str, role: str) -> str:
    r = httpx.post(f"{url}/api/v1/clients", headers=admin,
                   json={"name": cid, "roles": [role], "client_id": cid})
    assert r.status_code == 201, r.text
    return str(r.json()["client_secret"])


def surplus(url: str, grid: dict, mw: float) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    r = httpx.post(f"{url}/api/v1/surplus-signals", headers=grid, json={"signals": [{
        "region_id": "KP", "interval_start": start.isoformat(),
        "interval_end": (start + timedelta(hours=2)).isoformat(), "available_mw": mw,
        "kind": "actual"}]})
    assert r.status_code == 201, r.text


def agent_cfg(tmp: Path, url: str, site: str, secret: str, kind: str) -> dict:
    base = {"site_id": site, "kind": kind, "state_dir": str(tmp / site),
            "service": {"url": url, "client_id": f"op-{site}", "client_secret": secret,
                        "poll_interval_s": 0.5},
            "failsafe": {"link_timeout_s": LINK_TIMEOUT_S},
            "control": {"interval_s": 0.3, "ramp_up_mw_per_min": 60.0, "tolerance_mw": 0.001},
            "telemetry": {"interval_s": 0.5, "sample_s": 0.1}}
    if kind == "mining":
        base["miners"] = {"simulate": {"count": 10, "time_scale": 0.002}}
    else:
        base["gpus"] = {"pause_command": "x", "resume_command": "x",
                        "simulate": {"state_file": str(tmp / "gpus.json"), "time_scale": 0.05},
                        "jobs": [{"name": "serve", "kind": "inference", "gpus": list(range(8))},
                                 {"name": "pretrain", "kind": "training", "priority": 1,
                                  "gpus": list(range(8, 20))},
                                 {"name": "finetune", "kind": "training", "priority": 2,
                                  "gpus": list(range(20, 32))}]}
    return base


class Agents:
    """Both agents on one event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.agents: list[Agent] = []
        self.tasks: list = []

    def start(self, cfg: dict) -> Agent:
        async def go() -> Agent:
            c = parse_config(cfg)
            agent = Agent(c, await build_site(c))
            self.tasks.append(asyncio.ensure_future(agent.run()))
            return agent
        agent = asyncio.run_coroutine_threadsafe(go(), self.loop).result(30)
        self.agents.append(agent)
        return agent

    def stop(self) -> None:
        async def halt() -> None:
            for t in self.tasks:
                t.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(halt(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def unsent(agent: Agent) -> int:
    """Readings still queued on the agent's disk (own connection: another thread)."""
    ob = Outbox(agent.cfg.state_dir / "outbox.sqlite")
    try:
        return ob.count("reading", sent=False)
    finally:
        ob.close()


def until(pred, timeout_s: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for: {what}")


@pytest.mark.timing  # wall-clock checks: never beside a heavy test (tests/conftest.py)
@pytest.mark.skipif(sys.platform != "linux", reason="simulated fleets use Linux loopback")
def test_two_sites_follow_fail_safe_and_lose_no_telemetry(tmp_path):
    svc = Service(tmp_path)
    out = svc.start()
    admin_id = re.search(r"client_id:\s+(\S+)", out).group(1)
    admin_secret = re.search(r"client_secret:\s+(\S+)", out).group(1)
    admin = token(svc.url, admin_id, admin_secret)
    grid = token(svc.url, "grid-1", make_client(svc.url, admin, "grid-1", "grid_operator"))
    secrets = {s: make_client(svc.url, admin, f"op-{s}", "site_operator") for s in ("mine", "ai")}
    for site, stype, mw, share, prio in (("mine", "mining", 0.030, 1.0, 1),
                                         ("ai", "ai_training", 0.022, 0.7, 2)):
        r = httpx.post(f"{svc.url}/api/v1/sites", headers=grid, json={
            "site_id": site, "name": site, "site_type": stype, "region_id": "KP",
            "contracted_mw": mw, "interruptible_share": share, "priority": prio,
            "tariff_pkr_per_kwh": 22.98, "owner_client_id": f"op-{site}"})
        assert r.status_code == 201, r.text

    agents = Agents()
    try:
        mine = agents.start(agent_cfg(tmp_path, svc.url, "mine", secrets["mine"], "mining"))
        ai = agents.start(agent_cfg(tmp_path, svc.url, "ai", secrets["ai"], "ai"))
        fleet, gpu_state = mine.site.fleet, tmp_path / "gpus.json"

        def mine_mw() -> float:
            return fleet.power_w() / 1e6

        def ai_mw() -> float:
            return cluster_power_w(gpu_state) / 1e6

        # surplus 0.02 MW: AI firm block (0.022 * 0.3 = 0.0066) first, the rest to mining
        surplus(svc.url, grid, 0.020)
        until(lambda: mine.ctl.setpoint is not None and ai.ctl.setpoint is not None
              and mine.ctl.setpoint.setpoint_mw > 0, 20, "first setpoints pushed")
        sp_mine, sp_ai = mine.ctl.setpoint.setpoint_mw, ai.ctl.setpoint.setpoint_mw
        assert sp_mine == pytest.approx(0.020 - 0.0066) and sp_ai == pytest.approx(0.0066)
        until(lambda: mine_mw() <= sp_mine and mine_mw() >= sp_mine - 0.004, 20,
              f"mining draw {mine_mw():.4f} near its setpoint {sp_mine}")
        until(lambda: ai_mw() <= sp_ai + 0.0005, 20, "AI draw at its setpoint")

        # more surplus: both rise (bounded ramp), still at or below their setpoints
        surplus(svc.url, grid, 0.060)
        until(lambda: ai.ctl.setpoint.setpoint_mw == pytest.approx(0.022)
              and mine.ctl.setpoint.setpoint_mw == pytest.approx(0.030), 20, "second setpoints")
        until(lambda: 0.030 - 0.004 <= mine_mw() <= 0.030, 20, "mining draw follows up")
        until(lambda: ai_mw() >= 0.015, 30, "training resumed")
        assert ai_mw() <= 0.022 + 0.0005

        # the service dies: both sites fall to safe draw within the link timeout
        svc.kill()
        killed = time.monotonic()
        until(lambda: mine.ctl.failsafe and ai.ctl.failsafe, LINK_TIMEOUT_S + 5, "fail-safe")
        until(lambda: mine_mw() <= 10 * 8 / 1e6 + 1e-9, 10, "mining at safe draw (all asleep)")
        firm_mw = 8 * 700 / 1e6
        until(lambda: ai_mw() <= firm_mw, 10, "AI at its firm (inference) share")
        assert time.monotonic() - killed < LINK_TIMEOUT_S + 10
        assert ai.ctl.safe_mw == pytest.approx(firm_mw)
        time.sleep(1.5)                     # readings pile up in the outboxes meanwhile
        offline = [unsent(a) for a in (mine, ai)]
        assert all(n >= 1 for n in offline), offline

        # back: fail-safe exits, buffered readings delivered, setpoints followed again
        svc.start()
        until(lambda: not mine.ctl.failsafe and not ai.ctl.failsafe, 20, "fail-safe exit")
        until(lambda: 0.030 - 0.004 <= mine_mw() <= 0.030, 30, "mining back at setpoint")
    finally:
        agents.stop()

    # every reading each agent made is in the service exactly once
    for agent in (mine, ai):
        ob = Outbox(agent.cfg.state_dir / "outbox.sqlite")
        made = {r[0] for r in ob._db.execute(
            "SELECT record_id FROM outbox WHERE kind='reading'").fetchall()}
        left = ob.count("reading", sent=False)
        ob.close()
        got = httpx.get(f"{svc.url}/api/v1/sites/{agent.cfg.site_id}/meter-readings",
                        headers=grid, params={"limit": 1000}).json()
        ids = [r["reading_id"] for r in got]
        assert len(ids) == len(set(ids))
        assert set(ids) == made, (len(made), len(ids), left)
        assert left == 0
        kinds = {e["kind"] for e in httpx.get(
            f"{svc.url}/api/v1/sites/{agent.cfg.site_id}/events", headers=grid).json()}
        assert {"failsafe_enter", "failsafe_exit"} <= kinds
    svc.kill()

