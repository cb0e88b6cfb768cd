"""Meter-reading ingestion on PostgreSQL through `offtake serve --workers N`.

A separate load process (asyncio + httpx, C concurrent connections over loopback) posts
batches of B readings for D seconds after a warm-up; every request is timed.  Reports
sustained readings/s and request latency p50/p99 per batch size.  Targets: >= 1,000
readings/s and p99 < 50 ms.  Needs PostgreSQL on 127.0.0.1:5432 (database ``test``; a
fresh schema is created and dropped).

Usage: python bench/service_ingest.py [--workers 2] [--concurrency 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
PG = os.environ.get("OFFTAKE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"


async def _load(port: int, token: str, sites: int, batch: int, concurrency: int,
                warmup_s: float, seconds: float, offset_h: int) -> dict[str, float]:
    import httpx

    lat_ms: list[float] = []
    readings = [0]
    counter = [0]
    t_start = time.perf_counter()
    t_measure, t_end = t_start + warmup_s, t_start + warmup_s + seconds
    base = (datetime.now(UTC) - timedelta(hours=8) + timedelta(hours=offset_h)).replace(
        second=0, microsecond=0)  # recent minutes, like live agents
    run_tag = uuid.uuid4().hex[:6]

    async def one(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < t_end:
            body = []
            for _ in range(batch):
                n = counter[0]
                counter[0] += 1
                start = base + timedelta(minutes=n // sites)
                body.append({"reading_id": f"{run_tag}-{n}", "site_id": f"b{n % sites}",
                             "interval_start": start.isoformat(),
                             "interval_end": (start + timedelta(minutes=1)).isoformat(),
                             "energy_mwh": 0.01, "mean_mw": 0.6, "max_mw": 0.6})
            t = time.perf_counter()
            r = await client.post("/api/v1/meter-readings", json={"readings": body})
            done = time.perf_counter()
            if r.status_code != 200 or r.json()["accepted"] != batch:
                raise RuntimeError(f"bad response {r.status_code}: {r.text[:200]}")
            if t >= t_measure and done <= t_end:
                lat_ms.append((done - t) * 1000)
                readings[0] += batch

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                 headers={"Authorization": f"Bearer {token}"},
                                 timeout=30) as client:
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
    lat_ms.sort()
    return {"requests": len(lat_ms), "readings": readings[0],
            "readings_per_s": round(readings[0] / seconds, 1),
            "p50_ms": round(lat_ms[len(lat_ms) // 2], 2),
            "p99_ms": round(lat_ms[int(len(lat_ms) * 0.99)], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batches", default="1,10")
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: run as load process
    args = parser.parse_args()
    if args.load:
        cfg = json.loads(args.load)
        print(json.dumps(asyncio.run(_load(**cfg))))
        return

    from _common import free_port, record, wait_healthy
    from sqlalchemy import create_engine, insert, text

    from offtake.service.app import build_state
    from offtake.service.domain.clients import create_client
    from offtake.service.models import Setpoint, Site
    from offtake.service.security import Role, issue_token
    from offtake.service.settings import Settings

    schema = f"bench_{os.getpid()}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    server = None
    try:
        state = build_state(Settings(database_url=url, secret_key=SECRET, allocation_tick_s=0))
        now = datetime.now(UTC)
        with state.sessions() as s:
            create_client(s, actor=None, name="op", roles=[Role.SITE_OPERATOR], client_id="op")
            s.execute(insert(Site), [{
                "site_id": f"b{i}", "name": f"b{i}", "site_type": "mining", "region_id": "KP",
                "contracted_mw": 10.0, "interruptible_share": 1.0, "priority": 1,
                "tariff_pkr_per_kwh": 22.98, "owner_client_id": "op", "active": True,
                "created_at": now, "setpoint_seq": 1, "setpoint_mw": 10.0}
                for i in range(args.sites)])
            s.execute(insert(Setpoint), [{
                "site_id": f"b{i}", "seq": 1, "setpoint_mw": 10.0, "reason": "manual",
                "valid_from": now - timedelta(days=1), "valid_until": None,
                "issued_at": now - timedelta(days=1), "issued_by": "bench"}
                for i in range(args.sites)])
            s.commit()
        state.engine.dispose()
        port = free_port()
        env = {**os.environ, "OFFTAKE_DATABASE_URL": url, "OFFTAKE_SECRET_KEY": SECRET,
               "OFFTAKE_ALLOCATION_TICK_S": "0",
               "OFFTAKE_PUBSUB_CHANNEL": f"bench_{os.getpid()}"}
        server = subprocess.Popen(
            [sys.executable, "-m", "offtake.cli", "serve", "--port", str(port), "--workers",
             str(args.workers), "--log-level", "warning"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(port, 60)
        token = issue_token(client_id="op", roles={Role.SITE_OPERATOR}, key=SECRET, ttl_s=3600)  # the service caps exp at its TTL (3600 s)
        runs = []
        for k, batch in enumerate(int(b) for b in args.batches.split(",")):
            cfg = {"port": port, "token": token, "sites": args.sites, "batch": batch,
                   "concurrency": args.concurrency, "warmup_s": 2.0, "seconds": args.seconds,
                   "offset_h": 3 * k}
            out = subprocess.run([sys.executable, __file__, "--load", json.dumps(cfg)],
                                 capture_output=True, text=True, check=False)
            if out.returncode:
                raise RuntimeError(f"load process failed: {out.stderr[-2000:]}")
            runs.append({"batch": batch, **json.loads(out.stdout.strip().splitlines()[-1])})
        record("service_ingest", {
            "db": "postgresql", "workers": args.workers, "concurrency": args.concurrency,
            "seconds": args.seconds, "runs": runs, "target_readings_per_s": 1000,
            "target_p99_ms": 50})
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
