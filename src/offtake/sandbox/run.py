"""``offtake sandbox run``: the real service (``offtake serve`` subprocess) and one real
``offtake agent`` subprocess per site (simulated LuxOS miners or a simulated GPU cluster),
sites sized from the plan (or the programme's offer, as a what-if), fed one scenario hour per
``3600 / speed`` wall seconds with the scenario's surplus and the design's hourly prices;
faults injected; readings pulled back from the service and checked (households first);
every simulated month invoiced by the service on its simulated billing clock."""

from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from offtake.sandbox.harness import LinkProxy, Service, SiteRun, free_port, sent_ids
from offtake.sandbox.programme import GPU_W, Programme, SitePlan

LINK_TIMEOUT_S = 2.0
TOL_REL = 0.02             # compliance tolerance: 2 % of the signal ...
TOL_SITE_REL = 0.005       # ... plus 0.5 % of the region's fleet MW (meter and control granularity)
GRACE_S = 1.5              # response time allowed after a signal falls (wall seconds)
ALLOCATION_TICK_S = 0.2    # the service re-allocates this often: signals posted ahead take effect on time
MINER_IDLE_W = 8.0         # a sleeping LuxOS miner
GPU_IDLE_SHARE = 0.10      # a paused GPU draws ~70 W of 700 W


@dataclass
class Options:
    scenario: str = "pakistan-2025"
    start: str | None = None           # YYYY-MM-DD; default the tightest window of the scenario
    hours: int = 48
    speed: float = 900.0
    regions: int = 2
    sites_per_region: int = 2          # mining sites per region (AI training: one per region)
    miners_per_site: int = 10
    pods_per_site: int = 8
    design: str = "surplus_indexed"
    level: float = 2.0                 # Rs/kWh over marginal cost: covers the 1.5 Rs/kWh network charge
    floor: float | None = None
    seed: int = 20251125
    forecast_error: float = 0.10       # relative sd of the day-ahead forecast
    database_url: str | None = None


def safe_mw(s: SitePlan) -> float:
    """The site's draw when told to stop: sleeping miners / paused GPUs (MW)."""
    if s.kind == "mining":
        return s.units * s.unit_multiplier * MINER_IDLE_W / 1e6
    return s.units * s.unit_multiplier * GPU_W * GPU_IDLE_SHARE / 1e6


def agent_config(s: SitePlan, d: Path, proxy_port: int, secret: str, udp_port: int) -> dict:
    cfg: dict[str, Any] = {
        "site_id": s.site_id, "kind": s.load_type, "state_dir": str(d / "state"),
        "service": {"url": f"http://127.0.0.1:{proxy_port}", "client_id": f"op-{s.site_id}",
                    "client_secret": secret, "poll_interval_s": 0.5},
        "failsafe": {"link_timeout_s": LINK_TIMEOUT_S, "underfrequency_hz": 49.7, "trip_hold_s": 0.5},
        # a fleet sweep reads every simulated device over TCP; sweep larger fleets less often (a new
        # setpoint or a trip acts at once on the latest sweep, the agent's fast path)
        "control": {"interval_s": round(max(0.3, s.units * 0.01), 2), "ramp_up_mw_per_min": max(60.0, s.mw * 60),
                    "tolerance_mw": round(s.mw * TOL_SITE_REL, 4)},
        "telemetry": {"interval_s": 0.5, "sample_s": 0.1},
        "meter": {"feed": "udp", "udp_host": "127.0.0.1", "udp_port": udp_port}}
    if s.kind == "mining":
        cfg["miners"] = {"idle_w": MINER_IDLE_W * s.unit_multiplier,
                         "simulate": {"count": s.units, "time_scale": 0.002,
                                      "units_per_miner": s.unit_multiplier}}
    else:
        pod_w = GPU_W * s.unit_multiplier
        n_train = s.units
        cfg["gpus"] = {"pause_command": "x", "resume_command": "x",
                       "gpu_max_w": pod_w, "gpu_min_w": pod_w * 200 / 700, "gpu_idle_w": pod_w * GPU_IDLE_SHARE,
                       "cap_step_w": pod_w * 50 / 700,
                       "simulate": {"state_file": str(d / "gpus.json"), "time_scale": 0.05},
                       "jobs": [{"name": "pretrain", "kind": "training", "priority": 1,
                                 "gpus": list(range(n_train // 2))},
                                {"name": "finetune", "kind": "training", "priority": 2,
                                 "gpus": list(range(n_train // 2, n_train))}]}
    return cfg


def tightest_start(scenario: Any, days: float) -> str:
    """The first day of the window of ``days`` with the least hostable MW (national mean)."""
    from offtake.surplus import assess

    h = assess(scenario).hostable_mw.mean(axis=1)
    n = max(1, round(days * 24))
    roll = h.rolling(n).sum().shift(-(n - 1))
    day_starts = roll[[t.hour == 0 for t in roll.index]].dropna()
    return str(day_starts.idxmin().date())


@dataclass
class Sandbox:
    out: Path
    opt: Options

    def programme(self) -> Programme:
        from offtake.economics.designs import Design
        from offtake.sandbox.programme import build_programme
        from offtake.scenario.io import load_scenario

        sc = load_scenario(self.opt.scenario)
        start = self.opt.start or tightest_start(sc, self.opt.hours / 24)
        design = Design(self.opt.design, self.opt.level,
                        self.opt.floor if self.opt.design == "surplus_indexed" else None)
        return build_programme(sc, design, start=start, hours=self.opt.hours, regions=self.opt.regions,
                               sites_per_region=self.opt.sites_per_region,
                               miners_per_site=self.opt.miners_per_site, pods_per_site=self.opt.pods_per_site)

    def register(self, svc: Service, s: SitePlan, prio: int) -> str:
        secret = svc.client(f"op-{s.site_id}", "site_operator")
        d = self.opt.design
        body = {"site_id": s.site_id, "name": s.site_id, "site_type": s.load_type, "region_id": s.region,
                "contracted_mw": round(s.mw, 3), "interruptible_share": 1.0, "priority": prio,
                "tariff_pkr_per_kwh": self.opt.level if d == "flat" else 22.98,
                "owner_client_id": f"op-{s.site_id}", "tariff_design": d}
        if d == "surplus_indexed":
            body["tariff_adder_pkr_per_kwh"] = self.opt.level
            if self.opt.floor:
                body["tariff_floor_pkr_per_kwh"] = self.opt.floor
        svc.http.post(f"{svc.url}/api/v1/sites", headers=svc.grid, json=body).raise_for_status()
        return secret

    def post(self, svc: Service, prog: Programme, frame: pd.DataFrame, kind: str, hours: range,
             wall_origin: datetime, step_s: float) -> None:
        """Signals (``frame``, MW) and the plan's marginal prices (the service adds each site's adder)
        of simulated ``hours`` as ``kind``, on their wall-clock intervals."""
        prices, signals = [], []
        for j in hours:
            if not 0 <= j < len(frame):
                continue
            a = wall_origin + timedelta(seconds=step_s * j)
            b = a + timedelta(seconds=step_s)
            for r in prog.regions:
                signals.append({"region_id": r, "interval_start": a.isoformat(), "interval_end": b.isoformat(),
                                "available_mw": round(max(float(frame.iloc[j][r]), 0.0), 6), "kind": kind})
                prices.append({"region_id": r, "interval_start": a.isoformat(), "interval_end": b.isoformat(),
                               "price_pkr_per_kwh": round(max(float(prog.marginal_pkr_per_kwh.iloc[j][r]), 0.0), 4),
                               "kind": kind})
        if prices and self.opt.design != "flat":
            svc.http.post(f"{svc.url}/api/v1/prices", headers=svc.grid, json={"prices": prices}).raise_for_status()
        if signals:
            svc.http.post(f"{svc.url}/api/v1/surplus-signals", headers=svc.grid,
                       json={"signals": signals}).raise_for_status()

    def run(self, progress: Any = None) -> dict:
        rng = np.random.default_rng(self.opt.seed)
        t_prep = time.monotonic()
        prog = self.programme()          # bad input (scenario, --from, design) fails here, nothing written
        prep_s = time.monotonic() - t_prep
        self.out.mkdir(parents=True, exist_ok=True)
        step_s = 3600.0 / self.opt.speed
        svc = self.svc = Service(self.out, self.opt.database_url, env={"OFFTAKE_SANDBOX_CLOCK": "1", "OFFTAKE_ALLOCATION_TICK_S": str(ALLOCATION_TICK_S),
                                                                "OFFTAKE_COMPLIANCE_GRACE_S": str(GRACE_S)})
        sites: list[SiteRun] = []
        plans = {s.site_id: s for s in prog.sites}
        try:
            svc.start()
            missing = set(prog.regions) - svc.regions()
            if missing:
                raise RuntimeError(f"scenario regions unknown to the service: {sorted(missing)}")
            for i, sp in enumerate(prog.sites):
                secret = self.register(svc, sp, 1 + i % self.opt.sites_per_region)
                d = self.out / "sites" / sp.site_id
                d.mkdir(parents=True, exist_ok=True)
                s = SiteRun(sp.site_id, sp.region, d, free_port(), LinkProxy(svc.port), secret)
                (d / "site.yaml").write_text(json.dumps(agent_config(sp, d, s.proxy.port, secret, s.udp_port),
                                                        indent=1))
                sites.append(s)
                s.start()
                time.sleep(0.2)          # stagger: each agent boots its simulated fleet at full power
            # commissioning (not part of the replay): simulated fleets boot at full power; wait
            # until every agent has taken control and reported its safe draw
            svc.wait_safe(sites, timeout_s=90 + 10 * len(sites), safe_mw={s.site_id: safe_mw(s) * 1.5 + 1e-4 for s in prog.sites})
            actual = prog.signal_mw
            forecast = (actual * (1 + self.opt.forecast_error * rng.standard_normal(actual.shape))).clip(lower=0)
            n = len(actual)
            faults_at = {max(1, n // 5): "emergency_curtailment", max(2, 2 * n // 5): "link_loss",
                         max(3, 3 * n // 5): "agent_restart", max(4, 4 * n // 5): "under_frequency"}
            faults: list[dict] = []
            injectors: list[threading.Thread] = []
            hours: list[dict] = []
            wall_origin = datetime.now(UTC) + timedelta(seconds=1.0)
            clock = svc.http.put(f"{svc.url}/api/v1/admin/sim-clock", headers=svc.admin, json={
                "wall_origin": wall_origin.isoformat(), "sim_origin": prog.hours[0].isoformat(),
                "speed": self.opt.speed})
            clock.raise_for_status()
            self.post(svc, prog, forecast, "forecast", range(24), wall_origin, step_s)   # day-ahead
            self.post(svc, prog, actual, "actual", range(1), wall_origin, step_s)
            wall0, cpu0 = time.monotonic(), time.process_time()
            for h in range(n):
                t0 = wall_origin + timedelta(seconds=h * step_s)
                left = (t0 - datetime.now(UTC)).total_seconds()
                if left > 0:
                    time.sleep(left)
                end = t0 + timedelta(seconds=step_s)
                # at each simulated noon, the next day's day-ahead forecast (signals and prices);
                # each hour, the next hour's actual; the service's allocation tick issues
                # setpoints when an interval starts
                if prog.hours[h].tz_convert("Asia/Karachi").hour == 12:
                    nxt = h + 12
                    self.post(svc, prog, forecast, "forecast", range(nxt, nxt + 24), wall_origin, step_s)
                self.post(svc, prog, actual, "actual", range(h + 1, h + 2), wall_origin, step_s)
                for region in prog.regions:
                    hours.append({"hour": h, "sim_time": prog.hours[h].isoformat(), "region": region,
                                  "wall_start": t0.isoformat(), "wall_end": end.isoformat(),
                                  "signal_mw": float(actual.iloc[h][region]),
                                  "forecast_mw": float(forecast.iloc[h][region]),
                                  "price_pkr_per_kwh": float(prog.price_pkr_per_kwh.iloc[h][region]),
                                  "plan_mw": float(prog.plan_mw.iloc[h][region])})
                kind = faults_at.get(h)
                if kind:   # in the background: the clock (signals, prices) goes on meanwhile
                    rec: dict[str, Any] = {"kind": kind, "hour": h}
                    th = threading.Thread(target=self.inject, args=(rec, prog.regions[0], sites, step_s),
                                          daemon=True)
                    th.start()
                    faults.append(rec)
                    injectors.append(th)
                if progress is not None:
                    progress(h + 1, n, prog.hours[h].strftime("%Y-%m-%d %H:%M"))
            left = (wall_origin + timedelta(seconds=n * step_s) - datetime.now(UTC)).total_seconds()
            if left > 0:
                time.sleep(left)
            for th in injectors:
                th.join(30)
            wall_s, cpu_s = time.monotonic() - wall0, time.process_time() - cpu0
            time.sleep(1.5)                                  # last readings drain
            for s in sites:
                s.stop()
            t_from = wall_origin - timedelta(minutes=15)
            readings = {s.site_id: svc.readings(s.site_id, t_from) for s in sites}
            sent = sent_ids(sites, readings)
            invoices = self.close_books(svc, prog)
            from offtake.sandbox.report import build
            return build(self.out, self.opt, prog, plans, hours, readings, sent, faults, invoices, step_s,
                         {"wall_s": wall_s, "driver_cpu_s": cpu_s, "hours": n, "prepare_s": prep_s,
                          "wall_origin": wall_origin.isoformat()})
        finally:
            for s in sites:
                s.stop(signal.SIGKILL)
                s.proxy.close()
            svc.stop()

    def close_books(self, svc: Service, prog: Programme) -> dict:
        """Move the simulated clock past the last simulated month and invoice every month."""
        months = sorted({t.strftime("%Y-%m") for t in prog.hours.tz_convert("Asia/Karachi")})
        last = pd.Timestamp(months[-1] + "-01", tz="Asia/Karachi") + pd.offsets.MonthBegin(1)
        now = datetime.now(UTC)
        svc.http.put(f"{svc.url}/api/v1/admin/sim-clock", headers=svc.admin, json={
            "wall_origin": now.isoformat(), "sim_origin": (last + pd.Timedelta(minutes=1)).isoformat(),
            "speed": self.opt.speed}).raise_for_status()
        out: dict[str, Any] = {"months": months, "invoices": [], "refused": []}
        for m in months:
            r = svc.http.post(f"{svc.url}/api/v1/invoices", headers=svc.grid, json={"period": m})
            if r.status_code == 201:
                out["invoices"] += r.json()
            else:
                out["refused"].append({"period": m, "status": r.status_code, "answer": r.json()})
        out["ledger_balance"] = svc.http.get(f"{svc.url}/api/v1/ledger/balance", headers=svc.grid).json()
        return out

    # ---------------------------------------------------------------- faults
    def inject(self, rec: dict[str, Any], region: str, sites: list[SiteRun], step_s: float) -> None:
        """Inject ``rec["kind"]`` and record when it started and was released (into ``rec``)."""
        svc = self.svc
        kind = rec["kind"]
        rec["at"] = datetime.now(UTC).isoformat()
        site = next(s for s in sites if s.region == region)
        if kind == "emergency_curtailment":
            r = svc.http.post(f"{svc.url}/api/v1/emergency-curtailments", headers=svc.grid,
                           json={"region_id": region, "reason": "sandbox: regional shortage"})
            r.raise_for_status()
            cid = r.json()["curtailment_id"]
            rec.update(region=region, sites_affected=r.json()["sites_affected"])
            time.sleep(min(step_s * 0.6, 3.0))
            svc.http.post(f"{svc.url}/api/v1/emergency-curtailments/{cid}/release",
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
