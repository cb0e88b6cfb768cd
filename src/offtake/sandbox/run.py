"""``offtake sandbox run``: the real service (``offtake serve`` subprocess) and one real
``offtake agent`` subprocess per site (simulated LuxOS miners), fed one scenario hour per
``3600 / speed`` wall seconds with the scenario's surplus; faults injected; readings
pulled back from the service and checked (households first)."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from offtake.sandbox.harness import LinkProxy, Service, SiteRun, free_port, sent_ids

MINERS_PER_SITE = 10
SITE_MW = 0.030            # 10 simulated miners (about 3 kW each at full preset)
LINK_TIMEOUT_S = 2.0
TOL_REL, TOL_ABS_MW = 0.02, 0.001   # compliance tolerance (docs/sandbox.md)
GRACE_S = 1.5              # response time allowed after a signal falls


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
        svc = self.svc = Service(self.out, self.opt.database_url)
        sites: list[SiteRun] = []
        try:
            svc.start()
            svc_regions = svc.regions()
            regions = [r for r in scen_regions if r in svc_regions][: self.opt.regions]
            if not regions:
                raise RuntimeError(f"no scenario region known to the service ({scen_regions})")
            for region in regions:
                for k in range(self.opt.sites_per_region):
                    sid = f"{region.lower()}-mine-{k + 1:02d}"
                    secret = svc.client(f"op-{sid}", "site_operator")
                    r = httpx.post(f"{svc.url}/api/v1/sites", headers=svc.grid, json={
                        "site_id": sid, "name": sid, "site_type": "bitcoin_mining", "region_id": region,
                        "contracted_mw": SITE_MW, "interruptible_share": 1.0, "priority": 1 + k,
                        "tariff_pkr_per_kwh": 22.98, "owner_client_id": f"op-{sid}"})
                    r.raise_for_status()
                    d = self.out / "sites" / sid
                    d.mkdir(parents=True, exist_ok=True)
                    s = SiteRun(sid, region, d, free_port(), LinkProxy(svc.port), secret)
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
            svc.wait_safe(sites, timeout_s=60, safe_mw=0.0002)
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
                    svc.post_signal(region, t0 - timedelta(seconds=0.2), end, actual.iloc[h, j], "actual")
                    if h + 1 < n:
                        svc.post_signal(region, end, end + timedelta(seconds=step_s),
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
            readings = {s.site_id: svc.readings(s.site_id, t_run0 - timedelta(minutes=10)) for s in sites}
            sent = sent_ids(sites, readings)
            # the service invoices closed months only (service clock): try, and keep its answer
            period = t_run0.strftime("%Y-%m")
            inv = httpx.post(f"{svc.url}/api/v1/invoices", headers=svc.grid, json={"period": period})
            invoices = {"period": period, "status": inv.status_code, "answer": inv.json(),
                        "ledger_balance": {s.site_id: httpx.get(
                            f"{svc.url}/api/v1/ledger/balance", headers=svc.grid,
                            params={"site_id": s.site_id}).json() for s in sites}}
            from offtake.sandbox.report import build
            return build(self.out, self.opt, regions, {s.site_id: s.region for s in sites}, hours,
                         readings, sent, faults, invoices, step_s,
                         {"wall_s": wall_s, "driver_cpu_s": cpu_s, "hours": n})
        finally:
            for s in sites:
                s.stop(signal.SIGKILL)
                s.proxy.close()
            svc.stop()

    # ---------------------------------------------------------------- faults
    def inject(self, kind: str, region: str, sites: list[SiteRun], step_s: float) -> dict:
        svc = self.svc
        t0 = datetime.now(UTC)
        rec: dict[str, Any] = {"kind": kind, "at": t0.isoformat()}
        site = next(s for s in sites if s.region == region)
        if kind == "emergency_curtailment":
            r = httpx.post(f"{svc.url}/api/v1/emergency-curtailments", headers=svc.grid,
                           json={"region_id": region, "reason": "sandbox: regional shortage"})
            r.raise_for_status()
            cid = r.json()["curtailment_id"]
            rec.update(region=region, sites_affected=r.json()["sites_affected"])
            time.sleep(min(step_s * 0.6, 3.0))
            httpx.post(f"{svc.url}/api/v1/emergency-curtailments/{cid}/release",
                       headers=svc.grid).raise_for_status()
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
            site.send_frequency(49.5, 3.0)
            site.send_frequency(50.0, 2.0)
            rec["released"] = datetime.now(UTC).isoformat()
        return rec
