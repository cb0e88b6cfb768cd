"""MQTT notification of an event change to 1,000 subscribed VENs (OpenADR 3.1.0 binding).

``offtake serve`` (SQLite, 1 worker) publishes to the Mosquitto broker on 127.0.0.1:1883.
1,000 paho clients (one per VEN, each its own MQTT connection, driven by one select
loop in a separate process) subscribe, then a BL changes an event ``--changes`` times:

* ``program``: the VENs subscribe to the program's event topic
  (``programs/{programID}/events/+``): one publish, fanned out by the broker;
* ``per_ven``: each VEN subscribes to its own topic (``vens/{venID}/events/+``) and the
  event targets all 1,000 VENs: the VTN publishes 1,000 messages.

Latency = arrival at the VEN (its wall clock) - the moment the BL's HTTP request was sent;
p50/p99/max over every (change, VEN).  Target: p99 < 2 s.  Reported, not asserted; the
load average is recorded.

Usage: python bench/openadr_mqtt.py [--vens 1000] [--changes 5] [--mode program|per_ven|both]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"


def subscribers(topics: list[str], expect: int, ready_file: str, timeout_s: float) -> None:
    """Run in a child process: one MQTT connection per topic; print arrival times."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    arrivals: list[tuple[int, str, float]] = []
    subscribed = [0]
    clients = []
    for i, topic in enumerate(topics):
        c = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"bench-ven-{i}")

        def on_connect(client, _u, _f, _rc, _p, topic=topic):  # type: ignore[no-untyped-def]
            client.subscribe(topic, qos=1)

        def on_subscribe(*_a):  # type: ignore[no-untyped-def]
            subscribed[0] += 1

        def on_message(_c, _u, msg, i=i):  # type: ignore[no-untyped-def]
            arrivals.append((i, json.loads(msg.payload)["object"]["eventName"], time.time()))

        c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
        c.connect("127.0.0.1", 1883, keepalive=120)
        clients.append(c)
    by_sock = {c.socket(): c for c in clients}
    deadline = time.monotonic() + timeout_s
    announced = False
    while time.monotonic() < deadline and len(arrivals) < expect:
        if not announced and subscribed[0] >= len(clients):
            Path(ready_file).write_text("ready")
            announced = True
        wlist = [s for s, c in by_sock.items() if c.want_write()]
        r, w, _ = select.select(list(by_sock), wlist, [], 0.2)
        for s in r:
            by_sock[s].loop_read()
        for s in w:
            by_sock[s].loop_write()
        for c in clients:
            c.loop_misc()
    print(json.dumps(arrivals))


def run_mode(mode: str, port: int, bl: dict[str, str], vens: int, changes: int,
             prefix: str, program_id: str) -> dict[str, object]:
    import httpx

    base = f"http://127.0.0.1:{port}/openadr3/3.1.0"
    if mode == "program":
        topics = [f"{prefix}/programs/{program_id}/events/+"] * vens
        targets: list[str] | None = None
    else:
        topics = [f"{prefix}/vens/v{i}/events/+" for i in range(vens)]
        targets = [f"v{i}-site" for i in range(vens)]
    with tempfile.TemporaryDirectory() as tmp:
        ready = f"{tmp}/ready"
        proc = subprocess.Popen(
            [sys.executable, __file__, "--subscribe", "-"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"topics": topics, "expect": vens * changes,
                                     "ready_file": ready, "timeout_s": 60 + 15 * changes}))
        proc.stdin.close()
        deadline = time.monotonic() + 120
        while not Path(ready).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if not Path(ready).exists():
            proc.kill()
            raise RuntimeError("subscribers did not all subscribe")
        sent: dict[str, float] = {}
        event_id = None
        with httpx.Client(timeout=60) as http:
            for k in range(changes):
                name = f"{mode}-change-{k}"
                body = {"programID": program_id, "eventName": name,
                        "intervalPeriod": {"start": (datetime.now(UTC) + timedelta(days=1))
                                           .isoformat(), "duration": "PT1H"},
                        "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [k]}]}]}
                if targets is not None:
                    body["targets"] = targets
                sent[name] = time.time()
                if event_id is None:
                    r = http.post(f"{base}/events", json=body, headers=bl)
                    event_id = r.json()["id"]
                else:
                    r = http.put(f"{base}/events/{event_id}", json=body, headers=bl)
                if r.status_code not in (200, 201):
                    raise RuntimeError(f"BL write failed {r.status_code}: {r.text[:300]}")
                time.sleep(3)
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.wait(120)
    arrivals = json.loads(out.strip().splitlines()[-1])
    lat = sorted(t - sent[name] for _i, name, t in arrivals if name in sent)
    got = len(lat)

    def q(p: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(len(lat) * p))] * 1000, 1) if lat else None

    return {"mode": mode, "vens": vens, "changes": changes, "expected": vens * changes,
            "received": got, "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": q(1.0)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vens", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--mode", choices=["program", "per_ven", "both"], default="both")
    parser.add_argument("--subscribe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscribe:
        subscribers(**json.loads(sys.stdin.read()))
        return

    from _common import free_port, record, wait_healthy
    from sqlalchemy import insert

    from offtake.service.app import build_state
    from offtake.service.domain.clients import create_client
    from offtake.service.models import Setpoint, Site
    from offtake.service.security import Role, issue_token, set_hash_cost
    from offtake.service.settings import Settings

    set_hash_cost(time_cost=1, memory_cost_kib=1024)  # 1,000 clients to store; never in prod
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.db"
    prefix = f"bench{os.getpid()}"
    server = None
    try:
        state = build_state(Settings(database_url=url, secret_key=SECRET, allocation_tick_s=0))
        now = datetime.now(UTC)
        with state.sessions() as s:
            create_client(s, actor=None, name="bl", roles=[Role.GRID_OPERATOR], client_id="bl")
            for i in range(args.vens):
                create_client(s, actor=None, name=f"v{i}", roles=[Role.SITE_OPERATOR],
                              client_id=f"v{i}")
            s.execute(insert(Site), [{
                "site_id": f"v{i}-site", "name": f"v{i}", "site_type": "mining",
                "region_id": "KP", "contracted_mw": 10.0, "interruptible_share": 1.0,
                "priority": 1, "tariff_pkr_per_kwh": 22.98, "owner_client_id": f"v{i}",
                "active": True, "created_at": now, "setpoint_seq": 1, "setpoint_mw": 5.0}
                for i in range(args.vens)])
            s.execute(insert(Setpoint), [{
                "site_id": f"v{i}-site", "seq": 1, "setpoint_mw": 5.0, "reason": "allocation",
                "valid_from": now, "valid_until": None, "issued_at": now, "issued_by": "bench"}
                for i in range(args.vens)])
            s.commit()
        state.engine.dispose()
        port = free_port()
        env = {**os.environ, "OFFTAKE_DATABASE_URL": url, "OFFTAKE_SECRET_KEY": SECRET,
               "OFFTAKE_ALLOCATION_TICK_S": "0", "OFFTAKE_OPENADR_MQTT_PREFIX": prefix}
        server = subprocess.Popen(
            [sys.executable, "-m", "offtake.cli", "serve", "--port", str(port), "--workers", "1",
             "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

        wait_healthy(port, 90)
        bl = {"Authorization": "Bearer " + issue_token(client_id="bl", roles={Role.GRID_OPERATOR},
                                                      key=SECRET, ttl_s=3600)}
        modes = ["program", "per_ven"] if args.mode == "both" else [args.mode]
        runs = []
        for mode in modes:
            load = round(os.getloadavg()[0], 2)
            runs.append({**run_mode(mode, port, bl, args.vens, args.changes, prefix,
                                    "offtake-surplus-KP"), "loadavg_1m_before": load})
        record("openadr_mqtt", {"broker": "mosquitto 127.0.0.1:1883", "db": "sqlite",
                                "workers": 1, "runs": runs, "target_p99_ms": 2000})
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        tmp.cleanup()


if __name__ == "__main__":
    main()
