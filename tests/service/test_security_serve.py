"""`offtake serve` as a real process: no token in its logs (#13 item 5), and workers that
die with their supervisor so a restart on the same port works (#13 item 8)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from svc_support import SECRET

from offtake.service.app import build_state
from offtake.service.domain.clients import create_client
from offtake.service.security import Role, issue_token
from offtake.service.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(env: dict[str, str], port: int, log: Path, *extra: str,
                wait_s: float = 60) -> subprocess.Popen:  # type: ignore[type-arg]
    fh = open(log, "ab")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen([sys.executable, "-m", "offtake.cli", "serve", "--port", str(port),
                             *extra], env=env, stdout=fh, stderr=fh)
    fh.close()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"offtake serve did not come up: {log.read_text()[-2000:]}")


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc; Linux)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFTAKE_")}
    return env | {"OFFTAKE_DATABASE_URL": url, "OFFTAKE_SECRET_KEY": SECRET,
                  "OFFTAKE_ALLOCATION_TICK_S": "0",
                  "OFFTAKE_PUBSUB_CHANNEL": f"s{uuid.uuid4().hex[:8]}"}


def test_tokens_never_reach_the_access_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'svc.db'}"
    state = build_state(Settings(database_url=url, secret_key=SECRET, allocation_tick_s=0))
    with state.sessions() as s:
        create_client(s, actor=None, name="g", roles=[Role.GRID_OPERATOR], client_id="g")
    state.engine.dispose()
    token = issue_token(client_id="g", roles={Role.GRID_OPERATOR}, key=SECRET, ttl_s=600)
    port, log = free_port(), tmp_path / "serve.log"
    proc = start_serve(_env(url), port, log, "--log-level", "info")
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/v1/me?token={token}",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 200
        import websockets.sync.client as wsc

        for kw in ({"uri": f"ws://127.0.0.1:{port}/api/v1/setpoints/ws?token={token}"},
                   {"uri": f"ws://127.0.0.1:{port}/api/v1/setpoints/ws",
                    "subprotocols": ["offtake.bearer", token]},
                   {"uri": f"ws://127.0.0.1:{port}/api/v1/setpoints/ws",
                    "additional_headers": {"Authorization": f"Bearer {token}"}}):
            with wsc.connect(**kw, open_timeout=10) as ws:  # type: ignore[arg-type]
                ws.send("hello")  # the all-sites stream starts empty: connected is enough
    finally:
        proc.terminate()
        proc.wait(15)
    text = log.read_text()
    assert "WebSocket /api/v1/setpoints/ws?token=[redacted]" in text, text[-3000:]
    assert "/api/v1/me?token=[redacted]" in text, text[-3000:]
    assert token not in text and token.split(".")[2] not in text


@pytest.mark.heavy  # loads several cores: never beside a timing test (tests/conftest.py)
@pytest.mark.postgres
def test_workers_die_with_a_killed_supervisor_and_the_port_is_reusable(  # type: ignore[no-untyped-def]
        pg_schema_url, tmp_path: Path) -> None:
    env = _env(pg_schema_url)
    port, log = free_port(), tmp_path / "serve.log"
    parent = start_serve(env, port, log, "--workers", "2", "--log-level", "warning")
    deadline = time.monotonic() + 30
    while len(workers := children_of(parent.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) >= 2, workers  # the two uvicorn workers (spawned processes)
    os.kill(parent.pid, signal.SIGKILL)  # the supervisor dies without cleaning up
    parent.wait()
    deadline = time.monotonic() + 15
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [w for w in workers if alive(w)]
    for w in left:  # do not leave them behind for the next test
        os.kill(w, signal.SIGKILL)
    assert not left, f"workers {left} outlived their supervisor"
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    again = start_serve(env, port, log, "--workers", "2", "--log-level", "warning")
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        again.terminate()
        again.wait(20)
