"""kill -9 of `offtake serve` (PostgreSQL) while 4 clients send meter readings with retries:
after a restart no reading is lost, none is counted twice, and the ledger balances."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from svc_support import SECRET

from offtake.service.app import build_state
from offtake.service.security import Principal, Role, issue_token
from offtake.service.settings import Settings

pytestmark = pytest.mark.postgres
CLIENTS, BATCHES, PER_BATCH = 4, 30, 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], port: int, log) -> subprocess.Popen:  # type: ignore[no-untyped-def,type-arg]
    proc = subprocess.Popen([sys.executable, "-m", "offtake.cli", "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("offtake serve did not come up")


def test_kill9_loses_nothing(pg_schema_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from svc_support import reset_tables

    from offtake.service.domain.clients import create_client
    from offtake.service.domain.sites import create_site
    from offtake.service.models import LedgerEntry, MeterReading
    from offtake.service.schemas import SiteCreate

    settings = Settings(database_url=pg_schema_url, secret_key=SECRET, allocation_tick_s=0)
    state = build_state(settings)

    class _App:  # reset_tables wants something with .state.offtake
        class state:
            offtake = state

    reset_tables(_App)
    admin = Principal("admin-k", frozenset({Role.ADMIN}))
    with state.sessions() as s:
        create_client(s, actor=None, name="op", roles=[Role.SITE_OPERATOR], client_id="op-k")
        for i in range(CLIENTS):
            create_site(s, actor=admin, data=SiteCreate(
                site_id=f"k{i}", name=f"k{i}", site_type="mining", region_id="KP",
                contracted_mw=10, interruptible_share=1, tariff_pkr_per_kwh=22.98,
                owner_client_id="op-k"))

    env = {**os.environ, "OFFTAKE_DATABASE_URL": pg_schema_url, "OFFTAKE_SECRET_KEY": SECRET,
           "OFFTAKE_ALLOCATION_TICK_S": "0", "OFFTAKE_PUBSUB_CHANNEL": f"k{uuid.uuid4().hex[:8]}"}
    port = _free_port()
    log = open(tmp_path / "serve.log", "ab")  # noqa: SIM115
    token = issue_token(client_id="op-k", roles={Role.SITE_OPERATOR}, key=SECRET, ttl_s=3600)
    t0 = datetime(2025, 9, 1, tzinfo=UTC)
    sent: dict[str, float] = {}
    acked = [0]
    lock = threading.Lock()
    failures: list[str] = []

    def worker(i: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            for b in range(BATCHES):
                batch = []
                for k in range(PER_BATCH):
                    n = b * PER_BATCH + k
                    start = t0 + timedelta(minutes=n)
                    batch.append({"reading_id": f"k{i}-{n}", "site_id": f"k{i}",
                                  "interval_start": start.isoformat(),
                                  "interval_end": (start + timedelta(minutes=1)).isoformat(),
                                  "energy_mwh": 0.001 * (1 + n % 7), "mean_mw": 0.1,
                                  "max_mw": 0.1})
                with lock:
                    sent.update({r["reading_id"]: r["energy_mwh"] for r in batch})
                for _attempt in range(400):  # retry the same batch until it is acknowledged
                    try:
                        r = http.post("/api/v1/meter-readings", json={"readings": batch})
                        if r.status_code == 200:
                            with lock:
                                acked[0] += 1
                            break
                        if r.status_code < 500:
                            failures.append(r.text)
                            return
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.05)
                else:
                    failures.append(f"client {i} gave up on batch {b}")
                    return
                time.sleep(0.01)

    server = _start(env, port, log)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    while acked[0] < CLIENTS * BATCHES // 3:
        time.sleep(0.005)
    os.kill(server.pid, signal.SIGKILL)  # mid-stream: requests are in flight
    server.wait()
    killed_at = acked[0]
    time.sleep(0.5)
    server = _start(env, port, log)
    for t in threads:
        t.join(120)
    server.terminate()
    server.wait(10)
    log.close()

    assert not failures, failures[:3]
    assert 0 < killed_at < CLIENTS * BATCHES
    with state.sessions() as s:
        ids = set(s.scalars(select(MeterReading.reading_id)))
        assert ids == set(sent)  # none lost (and nothing extra)
        energy = s.scalar(select(func.sum(MeterReading.energy_mwh)))
        assert energy == pytest.approx(sum(sent.values()))
        # counted once: one ledger transaction per reading, each summing to zero
        per_txn = dict(s.execute(select(LedgerEntry.txn_id, func.sum(LedgerEntry.amount_paisa))
                                 .group_by(LedgerEntry.txn_id)).tuples().all())
        assert set(per_txn) == ids and all(v == 0 for v in per_txn.values())
        billed = s.scalar(select(func.sum(LedgerEntry.energy_mwh)).where(
            LedgerEntry.account.like("site:%"), LedgerEntry.kind == "energy"))
        assert billed == pytest.approx(sum(sent.values()))
        assert s.scalar(select(func.sum(LedgerEntry.amount_paisa))) == 0
    state.engine.dispose()
