"""``offtake sandbox certify``: qualify a site operator's agent before admission.

The real service (``harness.Service``) and the operator's agent (its own config, with the
service URL, credentials, state folder and meter feed replaced) run through a scripted
battery; every figure is measured from what the service stored (meter readings) and the
agent's outbox, then checked against documented thresholds (docs/certify.md).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from offtake.sandbox.certify_input import Plan, Thresholds, load_thresholds, prepare, prepare_ven
from offtake.sandbox.harness import LinkProxy, Service, SiteRun, free_port, outbox_ids, sent_ids

__all__ = ["TESTS", "Certifier", "Plan", "Thresholds", "load_thresholds", "prepare", "prepare_ven"]

#: setpoint levels of the step test, as shares of the site's controllable range
STEP_LEVELS = (1.0, 0.5, 0.0, 1.0)
#: the simulated under-frequency event: this far below the declared threshold, then back above it [Hz]
UFR_DEPTH_HZ, UFR_RECOVERED_HZ = 0.2, 0.3
#: the service on 2 busy cores can be slow to answer; a timeout is not an agent's fault [s]
HTTP_TIMEOUT_S = 60.0
TESTS = ("commissioning", "setpoint_steps", "emergency_curtailment", "link_loss",
         "under_frequency", "report_cadence", "exactly_once")


class MeterFeed:
    """The site meter the certifier plays: grid frequency to the agent's UDP feed every 0.1 s."""

    def __init__(self, port: int, hz: float) -> None:
        self.port, self.hz, self.stop_flag = port, hz, False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            while not self.stop_flag:
                u.sendto(json.dumps({"frequency_hz": self.hz}).encode(), ("127.0.0.1", self.port))
                time.sleep(0.1)

    def close(self) -> None:
        self.stop_flag = True
        self.thread.join(2)


class AgentExited(RuntimeError):
    pass


@dataclass
class Certifier:
    plan: Plan
    out: Path
    log: list[dict] = field(default_factory=list)

    # ------------------------------------------------------------------ helpers
    def now(self) -> float:
        return (datetime.now(UTC) - self.t0).total_seconds()

    def mark(self, what: str, **kw: Any) -> float:
        t = self.now()
        self.log.append({"t_s": round(t, 3), "what": what, **kw})
        return t

    def readings(self) -> list[dict]:
        rows = self.svc.readings(self.site.site_id, self.t0 - timedelta(minutes=1))
        out = [{"start": (datetime.fromisoformat(str(r["interval_start"])) - self.t0).total_seconds(),
                "end": (datetime.fromisoformat(str(r["interval_end"])) - self.t0).total_seconds(),
                "mean": r["mean_mw"], "max": r["max_mw"], "allowed": r["allowed_mw"],
                "id": r["reading_id"], "reconstructed": bool(r.get("reconstructed"))} for r in rows]
        return sorted(out, key=lambda r: r["start"])

    def wait(self, done: Any, limit_s: float) -> None:
        """Poll the stored readings until ``done(readings)`` or ``limit_s`` passes."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.site.proc is not None and self.site.proc.poll() is not None:
                raise AgentExited(f"the agent process exited with code {self.site.proc.returncode} "
                                  f"(see {self.site.dir / 'agent.log'})")
            if done(self.readings()):
                return
            time.sleep(0.3)

    def signal_mw(self, mw: float) -> None:
        t = datetime.now(UTC)
        self.svc.post_signal(self.region, t - timedelta(seconds=0.2), t + timedelta(hours=2), mw, "actual")

    # ----------------------------------------------------------------- figures
    @property
    def res_s(self) -> float:
        """Measurement resolution: the first reading wholly after an instant ends within two
        declared telemetry intervals of it, and the agent stamps readings with its own clock
        (``clock_tolerance_s``)."""
        return 2 * self.plan.declared["telemetry_interval_s"] + self.tol_s

    @property
    def tol_s(self) -> float:
        return self.plan.thresholds.clock_tolerance_s

    @property
    def safe_level(self) -> float:
        p = self.plan
        return p.safe_mw + p.idle_floor_mw + p.thresholds.safe_band_rel * p.contracted_mw

    def reachable(self, target_mw: float) -> float:
        """What the site can settle at for a setpoint: never below its safe draw + idle floor
        (paused GPUs, sleeping miners still draw)."""
        return max(target_mw, self.plan.safe_mw + self.plan.idle_floor_mw)

    def level(self, share: float) -> float:
        p = self.plan
        return p.safe_mw + share * (p.contracted_mw - p.safe_mw)

    def up_limit(self, delta_mw: float) -> float:
        ramp = self.plan.declared["ramp_up_mw_per_min"] / 60.0
        return max(0.0, delta_mw) / ramp + self.plan.thresholds.step_up_allowance_s + self.res_s

    def limit(self, prev: float, target: float) -> float:
        return self.plan.thresholds.step_down_s + self.res_s if target < prev else self.up_limit(target - prev)

    def band(self) -> tuple[float, float]:
        th, c = self.plan.thresholds, self.plan.contracted_mw
        return th.under_tolerance_rel * c, th.over_tolerance_rel * c + th.over_tolerance_mw

    def hold_s(self) -> float:
        return self.plan.thresholds.hold_readings * self.plan.declared["telemetry_interval_s"] + self.tol_s

    # ----------------------------------------------------------------- battery
    def run(self, progress: Any = None, announce: Any = None) -> dict:
        """The battery; ``progress(name, i)`` per test; ``announce(info)`` (VEN mode) gets the
        VTN URL and credentials to give the VEN."""
        p = self.plan
        for name in ("certificate.json", "certificate.html"):   # a crash must not leave an old one looking current
            (self.out / name).unlink(missing_ok=True)
        run_dir = self.out / "run"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        (run_dir / "agent").mkdir(parents=True)
        self.svc = svc = Service(run_dir)
        self.site = None
        self.feed: MeterFeed | None = None
        self.progress = progress or (lambda name, i: None)
        ex: dict[str, Any] = {}
        error = None
        try:
            svc.start()
            self.region = min(svc.regions())
            sid = p.site_id
            secret = svc.client(f"op-{sid}", "site_operator")
            httpx.post(f"{svc.url}/api/v1/sites", headers=svc.grid, json={
                "site_id": sid, "name": f"certification of {sid}", "site_type": p.site_type,
                "region_id": self.region, "contracted_mw": round(p.contracted_mw, 6),
                "interruptible_share": round(1 - p.safe_mw / p.contracted_mw, 6), "priority": 1,
                "tariff_pkr_per_kwh": 0.0, "owner_client_id": f"op-{sid}"}, timeout=HTTP_TIMEOUT_S).raise_for_status()
            d = run_dir / "agent"
            self.site = SiteRun(sid, self.region, d, free_port(), LinkProxy(svc.port), secret)
            try:
                if p.mode == "ven":
                    self.attach_ven(d, secret, announce, ex)
                else:
                    self.attach_agent(d, secret, ex)
                self.battery(ex)
            except AgentExited as exc:
                error = str(exc)
                self.mark("agent_exited", detail=error)
            self.site.stop(signal.SIGINT)       # SIGINT: the agent delivers what is queued, then exits
            time.sleep(0.5)
            readings = self.readings()
            stored = self.svc.readings(sid, self.t0 - timedelta(minutes=1))
            outbox = d / "state" / "outbox.sqlite"
            sent = sent_ids([self.site], {sid: stored})[sid] if outbox.exists() else None
            pending = outbox_ids(outbox)[1] if outbox.exists() else []
            return self.evaluate(readings, ex, sent, pending, error)
        finally:
            if self.feed is not None:
                self.feed.close()
            if self.site is not None:
                self.site.stop(signal.SIGKILL)
                self.site.proxy.close()
            svc.stop()

    def attach_agent(self, d: Path, secret: str, ex: dict) -> None:
        """Native agent: write its config copy, start the meter feed and the agent."""
        p = self.plan
        (d / "site.yaml").write_text(json.dumps(self.agent_config(d, secret), indent=1))
        if p.command is not None:
            self.site.command = [part.replace("{config}", str(d / "site.yaml")) for part in p.command]
        self.nominal_hz = p.declared["underfrequency_hz"] + UFR_RECOVERED_HZ
        self.feed = MeterFeed(self.site.udp_port, self.nominal_hz)
        self.t0 = datetime.now(UTC)
        self.progress("commissioning", 0)
        ex["commissioning"] = self.mark("agent_started")
        self.site.start()

    def attach_ven(self, d: Path, secret: str, announce: Any, ex: dict) -> None:
        """OpenADR VEN: publish the VTN URL and credentials, start the VEN if a command was
        given, and wait for its first USAGE report (commissioning starts there)."""
        p = self.plan
        info = {"vtn_url": f"http://127.0.0.1:{self.site.proxy.port}/openadr3/3.1.0",
                "client_id": f"op-{p.site_id}", "client_secret": secret, "site_id": p.site_id,
                "scopes": "read_targets read_ven_objects write_reports write_vens",
                "event_id": f"setpoint-{p.site_id}"}
        (d / "ven.json").write_text(json.dumps(info, indent=1))
        if announce is not None:
            announce(info)
        self.t0 = datetime.now(UTC)
        self.progress(f"waiting for the VEN's first report (up to {p.wait_s:g} s)", 0)
        if p.command is not None:
            subs = {"{url}": info["vtn_url"], "{client_id}": info["client_id"],
                    "{client_secret}": secret, "{site_id}": p.site_id}
            cmd = []
            for part in p.command:
                for k, v in subs.items():
                    part = part.replace(k, v)
                cmd.append(part)
            self.site.command = cmd
            self.mark("ven_started")
            self.site.start()
        self.wait(lambda rs: bool(rs), p.wait_s)
        rs = self.readings()
        if not rs:
            raise AgentExited(f"no report from the VEN within {p.wait_s:g} s (it was given {info['vtn_url']})")
        self.mark("ven_first_report", reading_start_s=round(rs[0]["start"], 3))
        ex["commissioning"] = rs[0]["start"]
        self.progress("commissioning", 0)

    def battery(self, ex: dict) -> None:
        p, svc = self.plan, self.svc
        self.wait(lambda rs: any(r["max"] <= self.safe_level for r in rs), p.thresholds.commissioning_s)
        self.progress("setpoint steps", 1)
        ex["steps"] = []
        prev = self.level(0.0)
        for share in STEP_LEVELS:
            target = self.level(share)
            t = self.mark("signal", mw=target)
            self.signal_mw(target)
            ex["steps"].append({"t": t, "share": share, "target": target, "prev": prev})
            self.wait_settled(t, target, self.limit(prev, target))
            prev = target
        ex["steps_end"] = self.now()
        self.progress("emergency curtailment", 2)
        t = self.mark("emergency_curtailment")
        r = httpx.post(f"{svc.url}/api/v1/emergency-curtailments", headers=svc.grid,
                       json={"region_id": self.region, "reason": "certification"}, timeout=HTTP_TIMEOUT_S)
        r.raise_for_status()
        self.wait_safe(t, p.thresholds.emergency_safe_s + self.res_s)
        rel = self.mark("release")
        httpx.post(f"{svc.url}/api/v1/emergency-curtailments/{r.json()['curtailment_id']}/release",
                   headers=svc.grid, timeout=HTTP_TIMEOUT_S).raise_for_status()
        self.wait_settled(rel, prev, self.up_limit(prev - p.safe_mw))
        ex["emergency"] = {"t": t, "release": rel, "end": self.now(), "target": prev}
        self.progress("link loss", 3)
        t = self.mark("link_down")
        self.site.proxy.down()
        time.sleep(p.declared["link_timeout_s"] + p.thresholds.link_allowance_s + self.res_s + 0.5)
        self.site.proxy.up = True
        up = self.mark("link_up")
        self.wait_settled(up, prev, self.up_limit(prev - p.safe_mw) + p.declared["poll_interval_s"])
        ex["link"] = {"t": t, "up": up, "end": self.now(), "target": prev}
        if self.feed is not None:
            self.progress("under-frequency", 4)
            low = p.declared["underfrequency_hz"] - UFR_DEPTH_HZ
            t = self.mark("frequency", hz=low)
            self.feed.hz = low
            self.wait_safe(t, p.thresholds.ufr_allowance_s + self.res_s)
            back = self.mark("frequency", hz=self.nominal_hz)
            self.feed.hz = self.nominal_hz
            self.wait_settled(back, prev, p.declared["trip_hold_s"] + self.up_limit(prev - p.safe_mw))
            ex["ufr"] = {"t": t, "back": back, "end": self.now(), "target": prev, "low_hz": low,
                         "recovered_hz": self.nominal_hz}
        self.progress("telemetry", 5)

    def agent_config(self, d: Path, secret: str) -> dict[str, Any]:
        """The operator's config with service, credentials, state folder and meter feed replaced."""
        cfg = copy.deepcopy(self.plan.raw)
        service = dict(cfg.get("service") or {})
        service.update(url=f"http://127.0.0.1:{self.site.proxy.port}", client_id=f"op-{self.plan.site_id}",
                       client_secret=secret)
        service.pop("client_secret_env", None)
        cfg["service"] = service
        cfg["state_dir"] = str(d / "state")
        cfg["meter"] = {"feed": "udp", "udp_host": "127.0.0.1", "udp_port": self.site.udp_port}
        gpus = cfg.get("gpus")
        if isinstance(gpus, dict) and isinstance(gpus.get("simulate"), dict):
            gpus["simulate"] = {**gpus["simulate"], "state_file": str(d / "gpu-cluster.json")}
        from offtake.agent.config import parse_config

        parse_config(cfg, "certifier's copy of the site config")
        return cfg

    def wait_settled(self, t: float, target: float, limit_s: float) -> None:
        hold = self.hold_s()

        def done(rs: list[dict]) -> bool:
            s = settle(rs, t, float("inf"), self.reachable(target), *self.band())
            return s["settle_s"] is not None and s["last_end_s"] - (t + s["settle_s"]) >= hold

        self.wait(done, limit_s + hold + 1.0)

    def wait_safe(self, t: float, limit_s: float) -> None:
        def done(rs: list[dict]) -> bool:
            s = first_at_or_below(rs, t, self.safe_level)
            return s is not None and rs[-1]["end"] - (t + s) >= self.hold_s()

        self.wait(done, limit_s + self.hold_s() + 0.5)

    # -------------------------------------------------------------- evaluation
    def evaluate(self, rs: list[dict], ex: dict, sent: list[str] | None, pending: list[str],
                 error: str | None) -> dict:
        from offtake.sandbox.certify_report import evaluate

        return evaluate(self, rs, ex, sent, pending, error)


def settle(rs: list[dict], t0: float, t1: float, target: float, under: float, over: float,
           prev: float | None = None) -> dict:
    """Step response of the readings wholly inside [t0, t1): ``settle_s`` = from t0 to the end of
    the last reading outside [target - under, target + over] (mean MW), or to the start of the
    first reading when none is outside; None when the window ends outside the band.
    ``overshoot_mw`` = highest max MW above the higher of ``prev`` and ``target``."""
    win = [r for r in rs if r["start"] >= t0 - 1e-3 and r["end"] <= t1 + 1e-3]
    res: dict[str, Any] = {"readings": len(win), "settle_s": None, "overshoot_mw": None,
                           "last_end_s": win[-1]["end"] if win else None,
                           "final_mean_mw": win[-1]["mean"] if win else None}
    if not win:
        return res
    outside = [i for i, r in enumerate(win) if not target - under <= r["mean"] <= target + over]
    if not outside:
        res["settle_s"] = max(0.0, win[0]["start"] - t0)
    elif outside[-1] < len(win) - 1:
        res["settle_s"] = win[outside[-1]]["end"] - t0
    ref = target if prev is None else max(prev, target)
    res["overshoot_mw"] = max(0.0, max(r["max"] for r in win) - ref)
    return res


def first_at_or_below(rs: list[dict], t0: float, level_mw: float, t1: float = float("inf")) -> float | None:
    """From t0 to the end of the first reading inside [t0, t1] whose max is <= level [s]."""
    for r in rs:
        if r["start"] >= t0 - 1e-3 and r["end"] <= t1 + 1e-3 and r["max"] <= level_mw:
            return float(r["end"] - t0)
    return None


def above(rs: list[dict], a: float, b: float, level_mw: float) -> list[dict]:
    """Readings wholly inside [a, b] whose max exceeds ``level_mw``."""
    return [r for r in rs if r["start"] >= a - 1e-3 and r["end"] <= b + 1e-3 and r["max"] > level_mw]


def percentile(x: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(x), q)) if x else None


def config_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def identity(plan: Plan) -> dict[str, Any]:
    from offtake import __version__

    if plan.mode == "ven":
        agent = "OpenADR 3.1.0 VEN, " + ("started by --agent-command" if plan.command else "started by its operator")
        command = plan.command   # the template: the secret is filled in at run time, never recorded
    else:
        agent = "third-party (--agent-command)" if plan.command else "Offtake's own agent"
        command = plan.command or [sys.executable, "-m", "offtake.cli", "agent", "--config", "{config}"]
    return {"config_file": str(plan.config_path.resolve()), "config_sha256": config_sha256(plan.config_path),
            "site_id": plan.site_id, "kind": plan.site_type, "mode": plan.mode, "command": command, "agent": agent,
            "hardware": plan.sized_from, "offtake_version": __version__,
            "date_utc": datetime.now(UTC).isoformat(timespec="seconds")}
