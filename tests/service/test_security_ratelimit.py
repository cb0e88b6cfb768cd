"""Attacks on the token endpoint (#13 item 6): unthrottled token requests grew the server
from 202 MB to 1.1 GB and slowed /healthz to 2 s.  Failed logins are now limited per
client id and per address with bounded memory, and secret checks run at most
``login_concurrency`` at a time."""

from __future__ import annotations

import threading
import time
import tracemalloc
from pathlib import Path

import httpx
import pytest
from svc_support import SECRET
from test_security_serve import _env, free_port, start_serve

from offtake.service.app import build_state
from offtake.service.ratelimit import FailureTable
from offtake.service.security import Role
from offtake.service.settings import Settings

FORM = {"grant_type": "client_credentials"}


def _form(cid: str, secret: str) -> dict[str, str]:
    return FORM | {"client_id": cid, "client_secret": secret}


def test_failure_table_memory_is_bounded_under_many_addresses() -> None:
    table = FailureTable(limit=30, window_s=60, lock_s=60, max_keys=10_000)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for i in range(50_000):  # 50,000 distinct addresses, one failure each
        table.fail(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(table) == 10_000
    assert grown < 8 * 2**20, f"{grown / 2**20:.1f} MiB for 10,000 entries"
    # a locked key that keeps trying stays (most recently seen), old ones went first
    t = [0.0]
    small = FailureTable(limit=2, window_s=60, lock_s=30, max_keys=3, clock=lambda: t[0])
    small.fail("attacker")
    small.fail("attacker")
    for k in ("a", "b"):
        small.fail(k)
    small.fail("attacker")
    small.fail("c")
    assert small.locked_for_s("attacker") == 30 and small.locked_for_s("a") == 0
    t[0] = 31
    assert small.locked_for_s("attacker") == 0


def test_failed_logins_lock_the_client_id(client, actors) -> None:  # type: ignore[no-untyped-def]
    _h, secret = actors.make_client("victim", Role.SITE_OPERATOR)
    _h2, other_secret = actors.make_client("bystander", Role.SITE_OPERATOR)
    limit = client.app.state.offtake.settings.login_max_failures_per_client
    for _ in range(limit):
        assert client.post("/auth/token", data=_form("victim", "guess")).status_code == 401
    r = client.post("/auth/token", data=_form("victim", secret))  # even the right secret
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "too many failed logins for client 'victim'" in r.json()["detail"]
    # the OpenADR token endpoint shares the limit
    r = client.post("/openadr3/auth/token", data=_form("victim", secret))
    assert r.status_code in (404, 429), r.text
    # another client is not affected
    assert client.post("/auth/token", data=_form("bystander", other_secret)).status_code == 200


def test_failed_logins_lock_the_address(client, actors) -> None:  # type: ignore[no-untyped-def]
    _h, secret = actors.make_client("legit", Role.SITE_OPERATOR)
    limit = client.app.state.offtake.settings.login_max_failures_per_address
    for i in range(limit):  # a different client id each time: the per-client limit never trips
        assert client.post("/auth/token", data=_form(f"guess-{i}", "x")).status_code == 401
    r = client.post("/auth/token", data=_form("legit", secret))
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) >= 1
    assert "too many failed logins from testclient" in r.json()["detail"]
    # the rest of the API is not throttled
    assert client.get("/healthz").status_code == 200


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


@pytest.mark.heavy  # loads several cores: never beside a timing test (tests/conftest.py)
def test_token_flood_from_many_addresses_keeps_memory_and_healthz(tmp_path: Path) -> None:
    """A real server (argon2 at production cost: 64 MiB per check) flooded from 12 loopback
    addresses with wrong secrets for random client ids, 12 requests in flight at once."""
    url = f"sqlite:///{tmp_path / 'svc.db'}"
    build_state(Settings(database_url=url, secret_key=SECRET, allocation_tick_s=0)).engine.dispose()
    port, log = free_port(), tmp_path / "serve.log"
    proc = start_serve(_env(url), port, log, "--log-level", "warning")
    base = f"http://127.0.0.1:{port}"
    try:
        httpx.post(f"{base}/auth/token", data=_form("warm-up", "x"), timeout=30)
        rss0 = _rss_kib(proc.pid)
        statuses: list[int] = []
        health: list[float] = []
        health_failures: list[str] = []
        stop = threading.Event()

        def flood(i: int) -> None:
            transport = httpx.HTTPTransport(local_address=f"127.0.0.{10 + i}")
            with httpx.Client(base_url=base, transport=transport, timeout=120) as c:
                for k in range(3):
                    statuses.append(c.post("/auth/token",
                                           data=_form(f"x{i}-{k}", "wrong")).status_code)

        def probe() -> None:
            with httpx.Client(base_url=base, timeout=3) as c:
                while not stop.is_set():
                    t0 = time.monotonic()
                    try:
                        assert c.get("/healthz").status_code == 200
                        health.append(time.monotonic() - t0)
                    except Exception as exc:  # noqa: BLE001
                        health_failures.append(repr(exc))
                    time.sleep(0.1)

        prober = threading.Thread(target=probe)
        prober.start()
        threads = [threading.Thread(target=flood, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        stop.set()
        prober.join(10)
        peak = _rss_kib(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(15)
    assert len(statuses) == 36 and set(statuses) <= {401, 429}, statuses
    assert not health_failures, health_failures[:3]
    assert health, "no /healthz answer during the flood"
    grown_mib = (peak - rss0) / 1024
    # 4 concurrent checks x 64 MiB, plus slack; unthrottled: 12 x 64 MiB
    assert grown_mib < 400, f"server grew {grown_mib:.0f} MiB under the flood"
    print(f"flood: {len(statuses)} requests, RSS +{grown_mib:.0f} MiB (peak), "
          f"/healthz max {max(health) * 1000:.0f} ms over {len(health)} probes")


def test_concurrency_cap_queues_then_refuses() -> None:
    """At most ``concurrency`` token requests run at once; ``queue`` more wait; the rest 429."""
    import asyncio

    from offtake.service.ratelimit import LoginGuard, TokenThrottle

    running, peak, release = [0], [0], asyncio.Event()

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await release.wait()
        running[0] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    throttle = TokenThrottle(app, LoginGuard(concurrency=2, queue=3))

    async def one(i: int) -> int:
        status = [0]

        async def send(msg):  # type: ignore[no-untyped-def]
            if msg["type"] == "http.response.start":
                status[0] = msg["status"]

        scope = {"type": "http", "path": "/auth/token", "client": (f"10.0.0.{i}", 1)}
        await throttle(scope, None, send)  # type: ignore[arg-type]
        return status[0]

    async def main() -> list[int]:
        tasks = [asyncio.create_task(one(i)) for i in range(8)]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(*tasks)

    statuses = asyncio.run(main())
    assert peak[0] == 2
    assert sorted(statuses) == [200] * 5 + [429] * 3
