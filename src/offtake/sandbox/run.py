"""``offtake sandbox run``: the real service (``offtake serve`` subprocess) and one real
``offtake agent`` subprocess per site (simulated LuxOS miners), fed one scenario hour per
``3600 / speed`` wall seconds with the scenario's surplus; faults injected; readings
pulled back from the service and checked (households first)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

KEY = "sandbox-signing-key-that-is-long-enough-0123456789"
MINERS_PER_SITE = 10
SITE_MW = 0.030            # 10 simulated miners (about 3 kW each at full preset)
LINK_TIMEOUT_S = 2.0
TOL_REL, TOL_ABS_MW = 0.02, 0.001   # compliance tolerance (docs/sandbox.md)
GRACE_S = 1.5              # response time allowed after a signal falls


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
    site_id: str
    region: str
    dir: Path
    udp_port: int
    proxy: LinkProxy
    secret: str
    proc: subprocess.Popen | None = None
    log: Any = None

    def start(self) -> None:
        self.log = open(self.dir / "agent.log", "a")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "offtake.cli", "agent", "--config", str(self.dir / "site.yaml")],
            stdout=self.log, stderr=subprocess.STDOUT)

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


@dataclass
class Options:
    scenario: str = "pakistan-2025"
    start: str | None = None           # YYYY-MM-DD; default the scenario's first day
    hours: int = 48
    speed: float = 3600.0
    regions: int = 2
    sites_per_region: int = 2
    seed: int = 20251125
    forecast_error: float = 0.10       # relative sd of the day-ahead forecast
    database_url: str | None = None


@dataclass
class Sandbox:
    out: Path
    opt: Options
    log: list[dict] = field(default_factory=list)

    # ---------------------------------------------------------------- helpers
    def _h(self, who: dict) -> dict:
        return who

    def token(self, cid: str, secret: str) -> dict[str, str]:
        r = httpx.post(f"{self.url}/auth/token", data={"grant_type": "client_credentials",
                                                        "client_id": cid, "client_secret": secret})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def client(self, cid: str, role: str) -> str:
        r = httpx.post(f"{self.url}/api/v1/clients", headers=self.admin,
                       json={"name": cid, "roles": [role], "client_id": cid})
        r.raise_for_status()
        return str(r.json()["client_secret"])

    def post_signal(self, region: str, start: datetime, end: datetime, mw: float, kind: str) -> None:
        r = httpx.post(f"{self.url}/api/v1/surplus-signals", headers=self.grid, json={"signals": [{
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
            r = httpx.get(f"{self.url}/api/v1/sites/{site_id}/meter-readings", headers=self.grid,
                          params={"start": a.isoformat(), "end": b.isoformat(), "limit": 5000})
            r.raise_for_status()
            got += r.json()
            a = b
        return got

    def commission(self, sites: list[SiteRun], timeout_s: float) -> None:
        since = datetime.now(UTC)
        waiting = {s.site_id for s in sites}
        deadline = time.monotonic() + timeout_s
        while waiting:
            for sid in sorted(waiting):
                got = self.readings(sid, since)
                if any(r["max_mw"] <= 0.0002 for r in got):
                    waiting.discard(sid)
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"sites {sorted(waiting)} did not reach safe draw in {timeout_s} s")
            time.sleep(0.3)

    # ---------------------------------------------------------------- phases
    def surplus_hours(self) -> tuple[Any, list[str]]:
        """Scenario hostable MW for the replayed hours, scaled to the sandbox fleet."""
        import pandas as pd

        from offtake.scenario.io import load_scenario
        from offtake.surplus import assess

        sc = load_scenario(self.opt.scenario)
        host = assess(sc).hostable_mw
        idx = pd.DatetimeIndex(host.index)
        first = idx[0] if self.opt.start is None else idx[idx.date >= pd.Timestamp(self.opt.start).date()][0]
        rows = host[idx >= first].iloc[: self.opt.hours]
        return rows, list(rows.columns)

    def run(self, progress: Any = None) -> dict:
        self.out.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(self.opt.seed)
        host, scen_regions = self.surplus_hours()
        step_s = 3600.0 / self.opt.speed
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        db = self.opt.database_url or os.environ.get("OFFTAKE_DATABASE_URL") \
            or f"sqlite:///{self.out / 'sandbox.db'}"
        env = {**os.environ, "OFFTAKE_SECRET_KEY": KEY, "OFFTAKE_ALLOCATION_TICK_S": "0"}
        svc_log = open(self.out / "serve.log", "w")  # noqa: SIM115 (closed in finally)
        svc = subprocess.Popen([sys.executable, "-m", "offtake.cli", "serve", "--port", str(port),
                                "--database-url", db, "--log-level", "warning"],
                               stdout=svc_log, stderr=subprocess.STDOUT, env=env)
        sites: list[SiteRun] = []
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{self.url}/docs", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if svc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("service did not start: " + (self.out / "serve.log").read_text())
                time.sleep(0.2)
            text = (self.out / "serve.log").read_text()
            aid = re.search(r"client_id:\s+(\S+)", text).group(1)     # type: ignore[union-attr]
            asec = re.search(r"client_secret:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
            self.admin = self.token(aid, asec)
            self.grid = self.token("grid-1", self.client("grid-1", "grid_operator"))
            svc_regions = {r["region_id"] for r in httpx.get(
                f"{self.url}/api/v1/regions", headers=self.grid).json()}
            regions = [r for r in scen_regions if r in svc_regions][: self.opt.regions]
            if not regions:
                raise RuntimeError(f"no scenario region known to the service ({scen_regions})")
            for region in regions:
                for k in range(self.opt.sites_per_region):
                    sid = f"{region.lower()}-mine-{k + 1:02d}"
                    secret = self.client(f"op-{sid}", "site_operator")
                    r = httpx.post(f"{self.url}/api/v1/sites", headers=self.grid, json={
                        "site_id": sid, "name": sid, "site_type": "bitcoin_mining", "region_id": region,
                        "contracted_mw": SITE_MW, "interruptible_share": 1.0, "priority": 1 + k,
                        "tariff_pkr_per_kwh": 22.98, "owner_client_id": f"op-{sid}"})
                    r.raise_for_status()
                    d = self.out / "sites" / sid
                    d.mkdir(parents=True, exist_ok=True)
                    s = SiteRun(sid, region, d, free_port(), LinkProxy(port), secret)
                    cfg = {"site_id": sid, "kind": "bitcoin_mining", "state_dir": str(d / "state"),
                           "service": {"url": f"http://127.0.0.1:{s.proxy.port}",
                                       "client_id": f"op-{sid}", "client_secret": secret,
                                       "poll_interval_s": 0.5},
                           "failsafe": {"link_timeout_s": LINK_TIMEOUT_S, "underfrequency_hz": 49.7,
                                        "trip_hold_s": 0.5},
                           "control": {"interval_s": 0.3, "ramp_up_mw_per_min": 60.0,
                                       "tolerance_mw": 0.001},
                           "telemetry": {"interval_s": 0.5, "sample_s": 0.1},
                           "meter": {"feed": "udp", "udp_host": "127.0.0.1", "udp_port": s.udp_port},
                           "miners": {"simulate": {"count": MINERS_PER_SITE, "time_scale": 0.002}}}
                    (d / "site.yaml").write_text(json.dumps(cfg, indent=1))
                    sites.append(s)
                    s.start()
            # commissioning (not part of the replay): simulated miners boot hashing at full
            # power; wait until every agent has taken control and reported its safe draw
            self.commission(sites, timeout_s=60)
            fleet_mw = {r: SITE_MW * self.opt.sites_per_region for r in regions}
            # scale: the region's hostable MW as a share of its largest hour, times its fleet
            peak = host[regions].max().replace(0, 1.0)
            actual = (host[regions] / peak).clip(0, 1) * [fleet_mw[r] for r in regions]
            forecast = actual * (1 + self.opt.forecast_error * rng.standard_normal(actual.shape))
            forecast = forecast.clip(lower=0)
            n = len(actual)
            faults_at = {max(1, n // 5): "emergency_curtailment", max(2, 2 * n // 5): "link_loss",
                         max(3, 3 * n // 5): "agent_restart", max(4, 4 * n // 5): "under_frequency"}
            faults: list[dict] = []
            hours: list[dict] = []
            t_run0 = datetime.now(UTC)
            wall0, cpu0 = time.monotonic(), time.process_time()
            for h in range(n):
                t0 = datetime.now(UTC)
                sim = actual.index[h]
                for j, region in enumerate(regions):
                    end = t0 + timedelta(seconds=step_s)
                    self.post_signal(region, t0 - timedelta(seconds=0.2), end, actual.iloc[h, j], "actual")
                    if h + 1 < n:
                        self.post_signal(region, end, end + timedelta(seconds=step_s),
                                         forecast.iloc[h + 1, j], "forecast")
                    hours.append({"hour": h, "sim_time": str(sim), "region": region,
                                  "wall_start": t0.isoformat(), "wall_end": end.isoformat(),
                                  "signal_mw": float(actual.iloc[h, j]),
                                  "forecast_mw": float(forecast.iloc[h, j])})
                kind = faults_at.get(h)
                if kind:
                    faults.append(self.inject(kind, regions[0], sites, step_s))
                if progress is not None:
                    progress(h + 1, n, str(sim))
                left = step_s - (datetime.now(UTC) - t0).total_seconds()
                if left > 0:
                    time.sleep(left)
            wall_s, cpu_s = time.monotonic() - wall0, time.process_time() - cpu0
            for f in faults:
                f.setdefault("recovered", True)
            time.sleep(1.5)                                  # last readings drain
            for s in sites:
                s.stop()
            readings = {s.site_id: self.readings(s.site_id, t_run0 - timedelta(minutes=10))
                        for s in sites}
            # sent = readings the agent saw acknowledged, plus those the service stored whose answer the
            # agent never got (stopped between the service's commit and its reply: the outbox would
            # resend them and get "duplicate"); a stored reading in neither is an unknown one
            sent = {}
            for s in sites:
                acked, pending = _outbox_ids(s.dir / "state" / "outbox.sqlite")
                stored_ids = {r["reading_id"] for r in readings.get(s.site_id, [])}
                sent[s.site_id] = acked + [i for i in pending if i in stored_ids]
            # the service invoices closed months only (service clock): try, and keep its answer
            period = t_run0.strftime("%Y-%m")
            inv = httpx.post(f"{self.url}/api/v1/invoices", headers=self.grid,
                             json={"period": period})
            invoices = {"period": period, "status": inv.status_code, "answer": inv.json(),
                        "ledger_balance": {s.site_id: httpx.get(
                            f"{self.url}/api/v1/ledger/balance", headers=self.grid,
                            params={"site_id": s.site_id}).json() for s in sites}}
            from offtake.sandbox.report import build
            return build(self.out, self.opt, regions, {s.site_id: s.region for s in sites}, hours,
                         readings, sent, faults, invoices, step_s,
                         {"wall_s": wall_s, "driver_cpu_s": cpu_s, "hours": n})
        finally:
            for s in sites:
                s.stop(signal.SIGKILL)
                s.proxy.close()
            svc.kill()
            svc.wait(10)
            svc_log.close()

    # ---------------------------------------------------------------- faults
    def inject(self, kind: str, region: str, sites: list[SiteRun], step_s: float) -> dict:
        t0 = datetime.now(UTC)
        rec: dict[str, Any] = {"kind": kind, "at": t0.isoformat()}
        site = next(s for s in sites if s.region == region)
        if kind == "emergency_curtailment":
            r = httpx.post(f"{self.url}/api/v1/emergency-curtailments", headers=self.grid,
                           json={"region_id": region, "reason": "sandbox: regional shortage"})
            r.raise_for_status()
            cid = r.json()["curtailment_id"]
            rec.update(region=region, sites_affected=r.json()["sites_affected"])
            time.sleep(min(step_s * 0.6, 3.0))
            httpx.post(f"{self.url}/api/v1/emergency-curtailments/{cid}/release",
                       headers=self.grid).raise_for_status()
            rec["released"] = datetime.now(UTC).isoformat()
        elif kind == "link_loss":
            site.proxy.down()
            rec["site"] = site.site_id
            time.sleep(LINK_TIMEOUT_S + 1.5)
            site.proxy.up = True
            rec["released"] = datetime.now(UTC).isoformat()
        elif kind == "agent_restart":
            site.stop(signal.SIGKILL)
            rec["site"] = site.site_id
            site.start()
            rec["released"] = datetime.now(UTC).isoformat()
        elif kind == "under_frequency":
            rec["site"] = site.site_id
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                for _ in range(30):
                    u.sendto(b'{"frequency_hz": 49.5}', ("127.0.0.1", site.udp_port))
                    time.sleep(0.1)
                for _ in range(20):
                    u.sendto(b'{"frequency_hz": 50.0}', ("127.0.0.1", site.udp_port))
                    time.sleep(0.1)
            rec["released"] = datetime.now(UTC).isoformat()
        return rec


def _outbox_ids(path: Path) -> tuple[list[str], list[str]]:
    """Reading ids in an agent's outbox: (acknowledged by the service, not yet acknowledged)."""
    import sqlite3

    if not path.exists():
        return [], []
    con = sqlite3.connect(path)
    try:
        rows = list(con.execute("SELECT record_id, sent_at IS NOT NULL FROM outbox WHERE kind='reading'"))
    finally:
        con.close()
    return [r for r, done in rows if done], [r for r, done in rows if not done]
