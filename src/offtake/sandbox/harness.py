"""What the sandbox and the certifier share: the real service in a subprocess, clients and
tokens, a TCP link proxy per agent (so a link loss is a real dropped connection), an agent
process per site, the stored readings and an agent's outbox."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

KEY = "sandbox-signing-key-that-is-long-enough-0123456789"
HTTP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LinkProxy:
    """TCP proxy between one agent and the service; ``down()`` drops the link."""

    def __init__(self, target_port: int) -> None:
        self.port, self.target = free_port(), target_port
        self.up = True
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen(64)
        self.srv.settimeout(0.2)
        self.conns: list[socket.socket] = []
        self.stop_flag = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def _accept(self) -> None:
        while not self.stop_flag:
            try:
                c, _ = self.srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                c.close()
                continue
            self.conns += [c, u]
            threading.Thread(target=self._pipe, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c), daemon=True).start()

    def down(self) -> None:
        self.up = False
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns = []

    def close(self) -> None:
        self.stop_flag = True
        self.down()
        self.srv.close()


@dataclass
class SiteRun:
    """One site's agent process (``offtake agent --config DIR/site.yaml`` unless ``command``)."""

    site_id: str
    region: str
    dir: Path
    udp_port: int
    proxy: LinkProxy
    secret: str
    command: list[str] | None = None
    proc: subprocess.Popen | None = None
    log: Any = None

    def start(self) -> None:
        self.log = open(self.dir / "agent.log", "a")  # noqa: SIM115 (closed in stop())
        cmd = self.command or [sys.executable, "-m", "offtake.cli", "agent", "--config",
                               str(self.dir / "site.yaml")]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.log is not None:
            self.log.close()
            self.log = None

    def send_frequency(self, hz: float, seconds: float) -> None:
        """Feed the site's UDP meter input ``hz`` every 0.1 s for ``seconds``."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            for _ in range(max(1, round(seconds / 0.1))):
                u.sendto(f'{{"frequency_hz": {hz}}}'.encode(), ("127.0.0.1", self.udp_port))
                time.sleep(0.1)


class Service:
    """``offtake serve`` on a free loopback port with a fresh database; admin and grid tokens."""

    def __init__(self, out: Path, database_url: str | None = None, env: dict[str, str] | None = None) -> None:
        self.out = out
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = database_url or os.environ.get("OFFTAKE_DATABASE_URL") or f"sqlite:///{out / 'sandbox.db'}"
        self.env = {**os.environ, "OFFTAKE_SECRET_KEY": KEY, "OFFTAKE_ALLOCATION_TICK_S": "0", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.admin: dict[str, str] = {}
        self.grid: dict[str, str] = {}
        # one connection pool; generous timeout: 20 agents starting on 2 cores can stall the service
        self.http = httpx.Client(timeout=HTTP_TIMEOUT_S)

    def start(self, timeout_s: float = 90.0) -> None:
        self.log = open(self.out / "serve.log", "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen([sys.executable, "-m", "offtake.cli", "serve", "--port", str(self.port),
                                      "--database-url", self.db, "--log-level", "warning"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{self.url}/docs", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("service did not start: " + (self.out / "serve.log").read_text())
            time.sleep(0.2)
        text = (self.out / "serve.log").read_text()
        aid = re.search(r"client_id:\s+(\S+)", text)
        asec = re.search(r"client_secret:\s+(\S+)", text)
        if aid is None or asec is None:
            raise RuntimeError("the service did not print its first admin credentials (is the database "
                               f"{self.db} fresh?)")
        self.admin = self.token(aid.group(1), asec.group(1))
        self.grid = self.token("grid-1", self.client("grid-1", "grid_operator"))

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.log.close()
            self.proc = None
        self.http.close()

    def token(self, cid: str, secret: str) -> dict[str, str]:
        r = self.http.post(f"{self.url}/auth/token", data={"grant_type": "client_credentials",
                                                        "client_id": cid, "client_secret": secret})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def client(self, cid: str, role: str) -> str:
        r = self.http.post(f"{self.url}/api/v1/clients", headers=self.admin,
                       json={"name": cid, "roles": [role], "client_id": cid})
        r.raise_for_status()
        return str(r.json()["client_secret"])

    def regions(self) -> set[str]:
        return {r["region_id"] for r in self.http.get(f"{self.url}/api/v1/regions", headers=self.grid).json()}

    def post_signal(self, region: str, start: datetime, end: datetime, mw: float, kind: str) -> None:
        r = self.http.post(f"{self.url}/api/v1/surplus-signals", headers=self.grid, json={"signals": [{
            "region_id": region, "interval_start": start.isoformat(),
            "interval_end": end.isoformat(), "available_mw": round(max(mw, 0.0), 6), "kind": kind}]})
        r.raise_for_status()

    def readings(self, site_id: str, since: datetime) -> list[dict]:
        """Every stored reading of the site from ``since``, in 10-minute windows (the
        service answers at most 5,000 per request; 0.5 s telemetry is 1,200 per window)."""
        got: list[dict] = []
        a, stop = since, datetime.now(UTC) + timedelta(minutes=1)
        while a < stop:
            b = a + timedelta(minutes=10)
            r = self.http.get(f"{self.url}/api/v1/sites/{site_id}/meter-readings", headers=self.grid,
                          params={"start": a.isoformat(), "end": b.isoformat(), "limit": 5000})
            r.raise_for_status()
            got += r.json()
            a = b
        return got

    def wait_safe(self, sites: list[SiteRun], timeout_s: float, safe_mw: float | dict[str, float]) -> None:
        """Commissioning: wait until every site has reported a reading at or below its safe draw
        (one figure for all, or per site id)."""
        since = datetime.now(UTC)
        waiting = {s.site_id for s in sites}
        deadline = time.monotonic() + timeout_s
        while waiting:
            for sid in sorted(waiting):
                lim = safe_mw[sid] if isinstance(safe_mw, dict) else safe_mw
                if any(r["max_mw"] <= lim for r in self.readings(sid, since)):
                    waiting.discard(sid)
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"sites {sorted(waiting)} did not reach safe draw in {timeout_s} s")
            time.sleep(0.3)


def outbox_ids(path: Path) -> tuple[list[str], list[str]]:
    """Reading ids in an agent's outbox: (acknowledged by the service, not yet acknowledged)."""
    if not path.exists():
        return [], []
    con = sqlite3.connect(path)
    try:
        rows = list(con.execute("SELECT record_id, sent_at IS NOT NULL FROM outbox WHERE kind='reading'"))
    finally:
        con.close()
    return [r for r, done in rows if done], [r for r, done in rows if not done]


def sent_ids(sites: list[SiteRun], readings: dict[str, list[dict]]) -> dict[str, list[str]]:
    """Readings each agent sent: those it saw acknowledged, plus those the service stored whose answer
    the agent never got (stopped between the service's commit and its reply: the outbox would resend
    them and get "duplicate"); a stored reading in neither is an unknown one."""
    sent = {}
    for s in sites:
        acked, pending = outbox_ids(s.dir / "state" / "outbox.sqlite")
        stored_ids = {r["reading_id"] for r in readings.get(s.site_id, [])}
        sent[s.site_id] = acked + [i for i in pending if i in stored_ids]
    return sent
