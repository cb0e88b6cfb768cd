"""Emergency curtailment: POST -> 1,000 WebSocket sites -> real agents at their new draw.

`offtake serve --workers N` on PostgreSQL (so the push crosses processes through
LISTEN/NOTIFY).  Two kinds of site are connected when the grid operator posts one
emergency curtailment (every site to 0 MW):

* ``--agents`` (1,000) plain WebSocket connections in a separate process, each having
  received its current setpoint: latency = arrival of its ``emergency`` message - POST.
* ``--real-agents`` (10) real agents (:class:`offtake.agent.runtime.Agent`, as the agent
  end-to-end test runs them) each driving a simulated LuxOS fleet of ``--miners`` machines
  through pyasic over TCP (``offtake.agent.sim``): latency = the moment the fleet's
  ground-truth draw is down to every machine asleep - POST.  That is push, agent, miner
  commands and the simulated stop (5 s on a real S21, scaled by ``TIME_SCALE``).

Both are timed on one machine clock.  With fewer than 100 samples the tail is reported
as ``max``, not as a p99.  Target: p99 < 2 s.

Usage: python bench/service_push.py [--agents 1000] [--real-agents 10] [--miners 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import free_port, wait_healthy
from service_ingest import PG, SECRET


async def _agents(port: int, token: str, n: int) -> None:
    import websockets

    arrived: list[float] = []
    ready = 0
    done = asyncio.Event()
    sem = asyncio.Semaphore(100)  # connect in waves, as a fleet reconnecting would

    async def agent(i: int) -> None:
        nonlocal ready
        async with sem:
            ws = await websockets.connect(
                f"ws://127.0.0.1:{port}/api/v1/sites/p{i}/setpoints/ws?token={token}",
                max_queue=None, open_timeout=60)
            first = json.loads(await ws.recv())
            assert first["site_id"] == f"p{i}"
        ready += 1
        if ready == n:
            print("READY", flush=True)
        async with ws:
            while True:
                msg = json.loads(await ws.recv())
                if msg["reason"] == "emergency":
                    arrived.append(time.time())
                    if len(arrived) == n:
                        done.set()
                    return

    tasks = [asyncio.create_task(agent(i)) for i in range(n)]
    try:
        await asyncio.wait_for(done.wait(), timeout=120)
    finally:
        for t in tasks:
            t.cancel()
    print(json.dumps(arrived), flush=True)


TIME_SCALE = 0.001  # simulated miner physics: 5 s stop -> 5 ms


class RealAgents:
    """Real agents on one event loop in a background thread (as tests/agent/test_agent_e2e.py)."""

    def __init__(self) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.agents: list = []
        self.tasks: list = []

    def start(self, cfg: dict) -> object:
        from offtake.agent.config import parse_config
        from offtake.agent.runtime import Agent, build_site

        async def go() -> object:
            c = parse_config(cfg)
            agent = Agent(c, await build_site(c))
            self.tasks.append(asyncio.ensure_future(agent.run()))
            return agent

        agent = asyncio.run_coroutine_threadsafe(go(), self.loop).result(60)
        self.agents.append(agent)
        return agent

    def stop(self) -> None:
        async def halt() -> None:
            for t in self.tasks:
                t.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            for a in self.agents:
                await a.site.fleet.stop()

        asyncio.run_coroutine_threadsafe(halt(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _tail(lat: list[float]) -> dict[str, float | int]:
    lat = sorted(lat)
    out: dict[str, float | int] = {"n": len(lat), "p50_s": round(lat[len(lat) // 2], 3), "max_s": round(lat[-1], 3)}
    if len(lat) >= 100:
        out["p99_s"] = round(lat[int(len(lat) * 0.99) - 1], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--real-agents", type=int, default=10)
    parser.add_argument("--miners", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--agents-run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agents_run:
        cfg = json.loads(args.agents_run)
        asyncio.run(_agents(**cfg))
        return

    import httpx
    from _common import record
    from sqlalchemy import create_engine, insert, text

    from offtake.service.app import build_state
    from offtake.service.domain.clients import create_client
    from offtake.service.models import Setpoint, Site
    from offtake.service.security import Role, issue_token
    from offtake.service.settings import Settings

    schema = f"benchpush_{os.getpid()}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    server = agents = None
    real: RealAgents | None = None
    try:
        state = build_state(Settings(database_url=url, secret_key=SECRET, allocation_tick_s=0))
        now = datetime.now(UTC)
        real_ids = [f"a{k}" for k in range(args.real_agents)]
        secrets: dict[str, str] = {}
        with state.sessions() as s:
            create_client(s, actor=None, name="op", roles=[Role.SITE_OPERATOR], client_id="op")
            create_client(s, actor=None, name="grid", roles=[Role.GRID_OPERATOR], client_id="grid")
            for sid in real_ids:
                secrets[sid] = create_client(s, actor=None, name=f"op-{sid}", roles=[Role.SITE_OPERATOR],
                                             client_id=f"op-{sid}")[1]
            s.execute(insert(Site), [{
                "site_id": f"p{i}", "name": f"p{i}", "site_type": "mining", "region_id": "SINDH",
                "contracted_mw": 10.0, "interruptible_share": 1.0, "priority": 1,
                "tariff_pkr_per_kwh": 22.98, "owner_client_id": "op", "active": True,
                "created_at": now, "setpoint_seq": 1, "setpoint_mw": 5.0}
                for i in range(args.agents)] + [{
                "site_id": sid, "name": sid, "site_type": "mining", "region_id": "SINDH",
                "contracted_mw": 1.0, "interruptible_share": 1.0, "priority": 1,
                "tariff_pkr_per_kwh": 22.98, "owner_client_id": f"op-{sid}", "active": True,
                "created_at": now, "setpoint_seq": 1, "setpoint_mw": 1.0} for sid in real_ids])
            s.execute(insert(Setpoint), [{
                "site_id": f"p{i}", "seq": 1, "setpoint_mw": 5.0, "reason": "manual",
                "valid_from": now, "valid_until": None, "issued_at": now, "issued_by": "bench"}
                for i in range(args.agents)] + [{
                "site_id": sid, "seq": 1, "setpoint_mw": 1.0, "reason": "manual",
                "valid_from": now, "valid_until": None, "issued_at": now, "issued_by": "bench"}
                for sid in real_ids])
            s.commit()
        state.engine.dispose()
        port = free_port()
        env = {**os.environ, "OFFTAKE_DATABASE_URL": url, "OFFTAKE_SECRET_KEY": SECRET,
               "OFFTAKE_ALLOCATION_TICK_S": "0", "OFFTAKE_PUBSUB_CHANNEL": schema}
        server = subprocess.Popen(
            [sys.executable, "-m", "offtake.cli", "serve", "--port", str(port), "--workers",
             str(args.workers), "--log-level", "warning"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(port, 60)
        ttl = int(os.environ.get("OFFTAKE_TOKEN_TTL_S", "3600"))
        op_token = issue_token(client_id="op", roles={Role.SITE_OPERATOR}, key=SECRET, ttl_s=ttl)
        grid = issue_token(client_id="grid", roles={Role.GRID_OPERATOR}, key=SECRET, ttl_s=ttl)
        tmp = Path(tempfile.mkdtemp(prefix="benchpush-"))
        real = RealAgents()
        for sid in real_ids:
            real.start({"site_id": sid, "kind": "bitcoin_mining", "state_dir": str(tmp / sid),
                        "service": {"url": f"http://127.0.0.1:{port}", "client_id": f"op-{sid}",
                                    "client_secret": secrets[sid], "poll_interval_s": 5.0},
                        "failsafe": {"link_timeout_s": 60.0},
                        "control": {"interval_s": 0.5, "ramp_up_mw_per_min": 1e6, "tolerance_mw": 0.0},
                        "telemetry": {"interval_s": 5.0},
                        "miners": {"simulate": {"count": args.miners, "time_scale": TIME_SCALE}}})
        cfg = {"port": port, "token": op_token, "n": args.agents}
        t_connect = time.time()
        agents = subprocess.Popen([sys.executable, __file__, "--agents-run", json.dumps(cfg)],
                                  stdout=subprocess.PIPE, text=True)
        assert agents.stdout is not None
        line = agents.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"agents failed to connect: {line!r}")
        connect_s = time.time() - t_connect
        fleets = [a.site.fleet for a in real.agents]  # type: ignore[attr-defined]
        asleep_w = [sum(m.idle_w for m in f.miners) + 1e-6 for f in fleets]
        deadline = time.monotonic() + 60
        while not all(a.ctl.setpoint is not None for a in real.agents):  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                raise RuntimeError("real agents got no first setpoint")
            time.sleep(0.05)
        full_w = [sum(m.nameplate_w for m in f.miners) for f in fleets]
        while not all(f.power_w() >= 0.9 * w for f, w in zip(fleets, full_w)):  # agents start at safe draw, then ramp
            if time.monotonic() > deadline + 60:
                raise RuntimeError(f"fleets not drawing before the curtailment: {[f.power_w() for f in fleets]}")
            time.sleep(0.05)
        time.sleep(1.0)  # let every socket settle
        drawn: list[float | None] = [None] * len(fleets)

        def watch() -> None:  # from before the POST: an agent may be down before the POST returns
            while any(d is None for d in drawn) and time.time() - t0 < 60:
                now_t = time.time()
                for k, f in enumerate(fleets):
                    if drawn[k] is None and f.power_w() <= asleep_w[k]:
                        drawn[k] = now_t - t0
                time.sleep(0.002)

        import threading

        watcher = threading.Thread(target=watch, daemon=True)
        t0 = time.time()
        watcher.start()
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/emergency-curtailments",
                       headers={"Authorization": f"Bearer {grid}"},
                       json={"reason": "benchmark"}, timeout=60)
        post_s = time.time() - t0
        assert r.status_code == 201 and r.json()["sites_affected"] == args.agents + len(real_ids), r.text
        watcher.join(70)
        if any(d is None for d in drawn):
            raise RuntimeError(f"real agents not at their new draw after 60 s: {drawn}")
        arrived = json.loads(agents.stdout.readline())
        agents.wait(30)
        lat = [a - t0 for a in arrived]
        record("service_push", {
            "db": "postgresql", "workers": args.workers, "agents": args.agents,
            "received": len(lat), "connect_all_s": round(connect_s, 2),
            "post_response_s": round(post_s, 3), "message": _tail(lat),
            "real_agents": len(real_ids), "miners_per_agent": args.miners, "time_scale": TIME_SCALE,
            "to_new_draw": _tail([d for d in drawn if d is not None]),
            "target_p99_s": 2.0})
    finally:
        if real is not None:
            real.stop()
        for proc in (agents, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
