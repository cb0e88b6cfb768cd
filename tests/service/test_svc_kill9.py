"""kill -9 of `offtake serve` between committing a batch of meter readings and answering
it, while 4 clients send readings with retries: after the restart no reading is lost, none
is counted twice, the ledger balances, and the resend of the committed-but-unanswered
batch is answered as duplicates (the path the clients' retry exists for).

The kill is put exactly there on purpose (``OFFTAKE_TEST_DIE_AFTER_COMMIT=N``: the Nth
batch a server process commits SIGKILLs that process before the response leaves); a
kill from outside at a random moment almost never lands between commit and answer.

Variants: SQLite and PostgreSQL with one process (the server dies; the test restarts
it), and PostgreSQL with ``--workers 2`` (a worker dies; uvicorn's supervisor starts a
new one, the port stays served).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from svc_support import SECRET, reset_tables
from test_security_serve import alive, children_of, free_port

from offtake.service.app import build_state
from offtake.service.security import Principal, Role, issue_token
from offtake.service.settings import Settings

CLIENTS, BATCHES, PER_BATCH = 4, 30, 5


def _start(env: dict[str, str], port: int, log: Path, workers: int) -> subprocess.Popen:  # type: ignore[type-arg]
    fh = open(log, "ab")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen([sys.executable, "-m", "offtake.cli", "serve", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning"],
                            env=env, stdout=fh, stderr=fh)
    fh.close()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"offtake serve did not come up: {log.read_text()[-2000:]}")


@pytest.fixture(params=[("sqlite", 1), ("postgres", 1), ("postgres", 2)],
                ids=["sqlite", "postgres", "postgres-workers2"])
def variant(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, int]:
    kind, workers = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'kill9.db'}", workers
    return request.getfixturevalue("pg_schema_url"), workers


@pytest.mark.heavy  # loads several cores: never beside a timing test (tests/conftest.py)
def test_kill9_between_commit_and_answer_loses_nothing(variant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from offtake.service.domain.clients import create_client
    from offtake.service.domain.sites import create_site
    from offtake.service.models import LedgerEntry, MeterReading
    from offtake.service.schemas import SiteCreate

    url, workers = variant
    settings = Settings(database_url=url, secret_key=SECRET, allocation_tick_s=0)
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

    die_at = 40  # per server process: each worker counts its own commits
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFTAKE_")} | {
        "OFFTAKE_DATABASE_URL": url, "OFFTAKE_SECRET_KEY": SECRET,
        "OFFTAKE_ALLOCATION_TICK_S": "0", "OFFTAKE_PUBSUB_CHANNEL": f"k{uuid.uuid4().hex[:8]}"}
    port, log = free_port(), tmp_path / "serve.log"
    token = issue_token(client_id="op-k", roles={Role.SITE_OPERATOR}, key=SECRET, ttl_s=3600)
    t0 = datetime(2025, 9, 1, tzinfo=UTC)
    sent: dict[str, float] = {}
    lock = threading.Lock()
    acked = [0]
    resent_committed: list[tuple[int, int]] = []  # (client, batch) answered "all duplicates"
    failures: list[str] = []

    def worker(i: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            for b in range(BATCHES):
                batch = []
                for k in range(PER_BATCH):
                    n = b * PER_BATCH + k
                    start = t0 + timedelta(minutes=n)
                    energy = 0.001 * (1 + n % 7)
                    batch.append({"reading_id": f"k{i}-{n}", "site_id": f"k{i}",
                                  "interval_start": start.isoformat(),
                                  "interval_end": (start + timedelta(minutes=1)).isoformat(),
                                  "energy_mwh": energy, "mean_mw": energy * 60,
                                  "max_mw": energy * 60})
                with lock:
                    sent.update({r["reading_id"]: r["energy_mwh"] for r in batch})
                lost_answer = False
                for _attempt in range(600):  # resend the same batch until it is acknowledged
                    try:
                        r = http.post("/api/v1/meter-readings", json={"readings": batch})
                        if r.status_code == 200:
                            body = r.json()
                            with lock:
                                acked[0] += 1
                                if lost_answer and body["duplicates"] == PER_BATCH:
                                    resent_committed.append((i, b))
                            break
                        if r.status_code < 500:
                            failures.append(r.text)
                            return
                    except httpx.HTTPError:
                        lost_answer = True
                    time.sleep(0.05)
                else:
                    failures.append(f"client {i} gave up on batch {b}")
                    return

    server = _start(env | {"OFFTAKE_TEST_DIE_AFTER_COMMIT": str(die_at)}, port, log, workers)
    first_workers = set(children_of(server.pid)) if workers > 1 else set()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    restarted_by_test = False
    if workers == 1:
        rc = server.wait(180)  # it kills itself at its die_at-th committed batch
        assert rc == -9, f"serve exited {rc}, not by the test hook's SIGKILL"
        server = _start(env, port, log, workers)  # restart without the hook
        restarted_by_test = True
    for t in threads:
        t.join(300)
    try:
        if workers > 1:  # the supervisor replaced the worker(s) that died
            assert server.poll() is None, "the supervisor itself died"
            assert any(not alive(w) for w in first_workers), "no worker was killed"
    finally:
        server.terminate()
        server.wait(20)

    text = log.read_text()
    assert f"test hook: batch {die_at} committed" in text
    assert not failures, failures[:3]
    assert acked[0] == CLIENTS * BATCHES
    assert restarted_by_test or workers > 1
    # the case this test exists for: a stored batch whose answer was lost, resent, and
    # answered as duplicates (so the client can drop it from its outbox)
    assert resent_committed, "no committed-but-unacknowledged batch was resent"
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
