"""Emergency curtailment reaching 1,000 connected agents over WebSocket.

`offtake serve --workers N` on PostgreSQL (so the push crosses processes through
LISTEN/NOTIFY); a separate process holds one WebSocket per site (1,000 sites), each
having received its current setpoint.  The grid operator then posts one emergency
curtailment; latency per agent = time its ``emergency`` message arrives minus the time
the POST was sent (same machine clock).  Reports p50/p99/max; target p99 < 2 s.

Usage: python bench/service_push.py [--agents 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from service_ingest import PG, SECRET, _free_port, _wait


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=1000)
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
    try:
        state = build_state(Settings(database_url=url, secret_key=SECRET, allocation_tick_s=0))
        now = datetime.now(UTC)
        with state.sessions() as s:
            create_client(s, actor=None, name="op", roles=[Role.SITE_OPERATOR], client_id="op")
            s.execute(insert(Site), [{
                "site_id": f"p{i}", "name": f"p{i}", "site_type": "mining", "region_id": "SINDH",
                "contracted_mw": 10.0, "interruptible_share": 1.0, "priority": 1,
                "tariff_pkr_per_kwh": 22.98, "owner_client_id": "op", "active": True,
                "created_at": now, "setpoint_seq": 1, "setpoint_mw": 5.0}
                for i in range(args.agents)])
            s.execute(insert(Setpoint), [{
                "site_id": f"p{i}", "seq": 1, "setpoint_mw": 5.0, "reason": "manual",
                "valid_from": now, "valid_until": None, "issued_at": now, "issued_by": "bench"}
                for i in range(args.agents)])
            s.commit()
        state.engine.dispose()
        port = _free_port()
        env = {**os.environ, "OFFTAKE_DATABASE_URL": url, "OFFTAKE_SECRET_KEY": SECRET,
               "OFFTAKE_ALLOCATION_TICK_S": "0", "OFFTAKE_PUBSUB_CHANNEL": schema}
        server = subprocess.Popen(
            [sys.executable, "-m", "offtake.cli", "serve", "--port", str(port), "--workers",
             str(args.workers), "--log-level", "warning"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(port)
        op_token = issue_token(client_id="op", roles={Role.SITE_OPERATOR}, key=SECRET,
                               ttl_s=3600)
        grid = issue_token(client_id="grid", roles={Role.GRID_OPERATOR}, key=SECRET, ttl_s=3600)
        cfg = {"port": port, "token": op_token, "n": args.agents}
        t_connect = time.time()
        agents = subprocess.Popen([sys.executable, __file__, "--agents-run", json.dumps(cfg)],
                                  stdout=subprocess.PIPE, text=True)
        assert agents.stdout is not None
        line = agents.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"agents failed to connect: {line!r}")
        connect_s = time.time() - t_connect
        time.sleep(1.0)  # let every socket settle
        t0 = time.time()
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/emergency-curtailments",
                       headers={"Authorization": f"Bearer {grid}"},
                       json={"reason": "benchmark"}, timeout=60)
        post_s = time.time() - t0
        assert r.status_code == 201 and r.json()["sites_affected"] == args.agents, r.text
        arrived = json.loads(agents.stdout.readline())
        agents.wait(30)
        lat = sorted(a - t0 for a in arrived)
        record("service_push", {
            "db": "postgresql", "workers": args.workers, "agents": args.agents,
            "received": len(lat), "connect_all_s": round(connect_s, 2),
            "post_response_s": round(post_s, 3), "p50_s": round(lat[len(lat) // 2], 3),
            "p99_s": round(lat[int(len(lat) * 0.99) - 1], 3), "max_s": round(lat[-1], 3),
            "target_p99_s": 2.0})
    finally:
        for proc in (agents, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
