"""OpenADR 3.1.0 polling under load: 1,000 VENs poll ``GET /events?targets=<their site>``
through ``offtake serve --workers N`` while a BL rewrites a 96-interval schedule.

Setup: 1,000 site-operator clients (one VEN each) with one site each across the seven
regions, their setpoints, and one BL event of 96 15-minute IMPORT_CAPACITY_LIMIT
intervals (tomorrow) aimed at 100 of the sites.  A separate load process (asyncio +
httpx, C connections) cycles through the 1,000 VEN tokens for D seconds after a warm-up,
timing every request; a second task PUTs a new version of the 96-interval event every
``--bl-period`` seconds with the BL's token.  Reports requests/s, p50/p99 of the VEN
polls and of the BL updates, and the load average.  Reported, not asserted.

Usage: python bench/openadr_poll.py [--db sqlite|postgres] [--workers 2 (PostgreSQL) | 1 (SQLite)] [--concurrency 32]
       [--seconds 15] [--vens 1000]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
PG = os.environ.get("OFFTAKE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
REGIONS = ["KP", "PUNJAB_N", "PUNJAB_C", "PUNJAB_S", "SINDH", "KARACHI", "BALOCHISTAN"]


def schedule_body(version: int, targets: list[str]) -> dict[str, object]:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
    return {"programID": "offtake-surplus-KP", "eventName": f"bench schedule v{version}",
            "targets": targets, "priority": 3,
            "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                                    "payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}],
            "intervalPeriod": {"start": start.isoformat(), "duration": "PT15M"},
            "intervals": [{"id": i, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT",
                                                  "values": [1000 + (i * 37 + version) % 5000]}]}
                          for i in range(96)]}


async def _load(port: int, tokens: list[str], sites: list[str], bl_token: str, event_id: str,
                bl_targets: list[str], concurrency: int, warmup_s: float, seconds: float,
                bl_period_s: float) -> dict[str, object]:
    import httpx

    lat_ms: list[float] = []
    bl_ms: list[float] = []
    errors: dict[str, int] = {}
    counter = [0]
    t_start = time.perf_counter()
    t_measure, t_end = t_start + warmup_s, t_start + warmup_s + seconds
    base = f"http://127.0.0.1:{port}/openadr3/3.1.0"

    async def ven(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < t_end:
            i = counter[0] % len(tokens)
            counter[0] += 1
            t = time.perf_counter()
            r = await client.get(f"{base}/events", params={"targets": sites[i], "limit": 50},
                                 headers={"Authorization": f"Bearer {tokens[i]}"})
            done = time.perf_counter()
            if r.status_code != 200 or not r.json():
                errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                continue
            if t >= t_measure and done <= t_end:
                lat_ms.append((done - t) * 1000)

    async def bl(client: httpx.AsyncClient) -> None:
        version = 1
        while time.perf_counter() < t_end:
            version += 1
            t = time.perf_counter()
            r = await client.put(f"{base}/events/{event_id}", json=schedule_body(version, bl_targets),
                                 headers={"Authorization": f"Bearer {bl_token}"})
            done = time.perf_counter()
            if r.status_code != 200:
                errors[f"bl-{r.status_code}"] = errors.get(f"bl-{r.status_code}", 0) + 1
            elif t >= t_measure and done <= t_end:
                bl_ms.append((done - t) * 1000)
            await asyncio.sleep(max(0.0, bl_period_s - (done - t)))

    limits = httpx.Limits(max_connections=concurrency + 1, max_keepalive_connections=concurrency + 1)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        await asyncio.gather(bl(client), *(ven(client) for _ in range(concurrency)))
    lat_ms.sort()
    bl_ms.sort()

    def q(xs: list[float], p: float) -> float | None:
        return round(xs[min(len(xs) - 1, int(len(xs) * p))], 2) if xs else None

    return {"requests": len(lat_ms), "requests_per_s": round(len(lat_ms) / seconds, 1),
            "p50_ms": q(lat_ms, 0.5), "p99_ms": q(lat_ms, 0.99), "max_ms": q(lat_ms, 1.0),
            "bl_updates": len(bl_ms), "bl_p50_ms": q(bl_ms, 0.5), "bl_p99_ms": q(bl_ms, 0.99),
            "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=None,
                        help="default 2 on PostgreSQL, 1 on SQLite (serve refuses several "
                             "workers on SQLite: it serialises writers)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--vens", type=int, default=1000)
    parser.add_argument("--bl-period", type=float, default=1.0)
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: run as load process
    args = parser.parse_args()
    if args.workers is None:
        args.workers = 2 if args.db == "postgres" else 1
    if args.load:  # the config (1,000 tokens) comes on stdin
        print(json.dumps(asyncio.run(_load(**json.loads(sys.stdin.read())))))
        return

    import httpx
    from _common import free_port, record, wait_healthy
    from sqlalchemy import create_engine, insert, text

    from offtake.service.app import build_state
    from offtake.service.domain.clients import create_client
    from offtake.service.models import Setpoint, Site
    from offtake.service.security import Role, issue_token, set_hash_cost
    from offtake.service.settings import Settings

    set_hash_cost(time_cost=1, memory_cost_kib=1024)  # 1,000 clients to store; never in prod
    tmp = tempfile.TemporaryDirectory()
    admin = None
    if args.db == "postgres":
        schema = f"bench_oadr_{os.getpid()}"
        admin = create_engine(PG)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp.name}/bench.db"
    server = None
    try:
        state = build_state(Settings(database_url=url, secret_key=SECRET, allocation_tick_s=0))
        now = datetime.now(UTC)
        sites = [f"v{i}-site" for i in range(args.vens)]
        with state.sessions() as s:
            create_client(s, actor=None, name="bl", roles=[Role.GRID_OPERATOR], client_id="bl")
            for i in range(args.vens):
                create_client(s, actor=None, name=f"v{i}", roles=[Role.SITE_OPERATOR],
                              client_id=f"v{i}")
            s.execute(insert(Site), [{
                "site_id": sites[i], "name": sites[i], "site_type": "mining",
                "region_id": REGIONS[i % len(REGIONS)], "contracted_mw": 10.0,
                "interruptible_share": 1.0, "priority": 1, "tariff_pkr_per_kwh": 22.98,
                "owner_client_id": f"v{i}", "active": True, "created_at": now,
                "setpoint_seq": 1, "setpoint_mw": 5.0} for i in range(args.vens)])
            s.execute(insert(Setpoint), [{
                "site_id": sites[i], "seq": 1, "setpoint_mw": 5.0, "reason": "allocation",
                "valid_from": now - timedelta(hours=1), "valid_until": None,
                "issued_at": now - timedelta(hours=1), "issued_by": "bench"}
                for i in range(args.vens)])
            s.commit()
        state.engine.dispose()
        port = free_port()
        env = {**os.environ, "OFFTAKE_DATABASE_URL": url, "OFFTAKE_SECRET_KEY": SECRET,
               "OFFTAKE_ALLOCATION_TICK_S": "0", "OFFTAKE_PUBSUB_CHANNEL": f"bench_{os.getpid()}",
               "OFFTAKE_OPENADR_MQTT_PREFIX": f"bench{os.getpid()}"}
        server = subprocess.Popen(
            [sys.executable, "-m", "offtake.cli", "serve", "--port", str(port), "--workers",
             str(args.workers), "--log-level", "warning"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(port, 90)
        bl_token = issue_token(client_id="bl", roles={Role.GRID_OPERATOR}, key=SECRET, ttl_s=3600)
        tokens = [issue_token(client_id=f"v{i}", roles={Role.SITE_OPERATOR}, key=SECRET,
                              ttl_s=3600) for i in range(args.vens)]
        kp = [sites[i] for i in range(args.vens) if REGIONS[i % len(REGIONS)] == "KP"][:100]
        r = httpx.post(f"http://127.0.0.1:{port}/openadr3/3.1.0/events", json=schedule_body(1, kp),
                       headers={"Authorization": f"Bearer {bl_token}"}, timeout=60)
        if r.status_code != 201:
            raise RuntimeError(f"creating the schedule failed: {r.status_code} {r.text[:300]}")
        cfg = {"port": port, "tokens": tokens, "sites": sites, "bl_token": bl_token,
               "event_id": r.json()["id"], "bl_targets": kp, "concurrency": args.concurrency,
               "warmup_s": 3.0, "seconds": args.seconds, "bl_period_s": args.bl_period}
        load1_before = os.getloadavg()[0]
        out = subprocess.run([sys.executable, __file__, "--load", "-"], input=json.dumps(cfg),
                             capture_output=True, text=True, check=False)
        if out.returncode:
            raise RuntimeError(f"load process failed: {out.stderr[-2000:]}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        record("openadr_poll", {
            "db": args.db, "workers": args.workers, "vens": args.vens,
            "concurrency": args.concurrency, "seconds": args.seconds,
            "schedule_intervals": 96, "bl_period_s": args.bl_period,
            "loadavg_1m_before": round(load1_before, 2), **figures})
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        tmp.cleanup()


if __name__ == "__main__":
    main()
