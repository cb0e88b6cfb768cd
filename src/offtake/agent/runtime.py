"""Running an agent: drivers (and simulators) from the config, and the concurrent loops.

Loops: control (tick on every setpoint/trip or each ``control.interval_s``), push
(WebSocket, reconnecting), poll (GET setpoint every ``service.poll_interval_s``, also the
heartbeat), telemetry (sample draw, close an interval every ``telemetry.interval_s``),
sender (deliver outbox readings and events while the link is up) and the meter feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import shlex
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offtake.agent.config import SiteConfig
from offtake.agent.controller import Controller
from offtake.agent.drivers.base import Driver
from offtake.agent.link import AuthError, LinkError, ServiceLink
from offtake.agent.meter import MeterSample, follow_file, start_udp_feed

log = logging.getLogger("offtake.agent")
#: a reconstructed gap is sent as readings of at most this long (the service's limit) [s]
MAX_READING_S = 86_400.0


@dataclass
class Site:
    """A driver plus whatever simulators the config asked for, and the firm share [MW]."""

    driver: Driver
    firm_mw: float = 0.0
    fleet: Any = None            # SimFleet when miners.simulate is set
    cluster_state: Any = None    # path of the simulated GPU cluster's state file
    closers: list[Any] = field(default_factory=list)


async def build_site(cfg: SiteConfig) -> Site:
    """Create the driver for ``cfg`` (starting simulators in this event loop if asked)."""
    if cfg.kind == "mining":
        from offtake.agent.drivers.pyasic_miners import PyasicMinerDriver

        mc = cfg.miners
        assert mc is not None
        addresses, fleet, firmware = list(mc.addresses), None, mc.firmware
        if mc.simulate is not None:
            from offtake.agent.sim.luxos_fleet import build_fleet

            fleet = build_fleet(mc.simulate.count, time_scale=mc.simulate.time_scale,
                                ip_per_miner=mc.simulate.ip_per_miner,
                                units_per_miner=mc.simulate.units_per_miner)
            await fleet.start()
            addresses += fleet.addresses()
            firmware = "auto" if mc.simulate.ip_per_miner else "luxos"
        drv = PyasicMinerDriver(addresses, firmware=firmware, idle_w=mc.idle_w,
                                timeout_s=mc.timeout_s, concurrency=mc.concurrency)
        return Site(drv, 0.0, fleet=fleet)
    from offtake.agent.drivers.gpu import GpuClusterDriver, GpuJob

    gc = cfg.gpus
    assert gc is not None
    jobs = [GpuJob(j.name, j.kind, tuple(j.gpus), j.priority) for j in gc.jobs]
    cmds = {"power_cap_command": gc.power_cap_command,
            "power_query_command": gc.power_query_command,
            "pause_command": gc.pause_command, "resume_command": gc.resume_command}
    state = None
    if gc.simulate is not None:
        from offtake.agent.sim.gpu_cluster import init_state

        state = gc.simulate.state_file
        if not state.exists():
            init_state(state, {j.name: (j.kind, len(j.gpus)) for j in gc.jobs},
                       max_w=gc.gpu_max_w, min_w=gc.gpu_min_w, idle_w=gc.gpu_idle_w,
                       time_scale=gc.simulate.time_scale,
                       training_demand_w=gc.gpu_max_w * 680.0 / 700.0,
                       inference_demand_w=gc.gpu_max_w * 450.0 / 700.0)
        sim = f"{shlex.quote(sys.executable)} -m offtake.agent.sim.gpu_cluster " \
              f"{shlex.quote(str(state))}"
        cmds = {"power_cap_command": f"{sim} -i {{gpus}} -pl {{watts}}",
                "power_query_command": f"{sim} --query-gpu=index,power.draw,power.limit "
                                       "--format=csv,noheader,nounits",
                "pause_command": f"{sim} suspend {{job}}",
                "resume_command": f"{sim} resume {{job}}"}
    drv = GpuClusterDriver(jobs, gpu_max_w=gc.gpu_max_w, gpu_min_w=gc.gpu_min_w,
                           gpu_idle_w=gc.gpu_idle_w, cap_step_w=gc.cap_step_w,
                           timeout_s=gc.timeout_s, **cmds)
    firm_mw = sum(len(j.gpus) * gc.gpu_max_w for j in gc.jobs if j.kind == "inference") / 1e6
    return Site(drv, firm_mw, cluster_state=state)


class Agent:
    """One site's agent: a controller plus its loops; ``run()`` until cancelled."""

    def __init__(self, cfg: SiteConfig, site: Site, link: ServiceLink | None = None) -> None:
        self.cfg = cfg
        self.site = site
        self.ctl = Controller(cfg, site.driver, firm_mw=site.firm_mw)
        self.link = link if link is not None else ServiceLink(cfg.service, cfg.site_id)
        self.readings_sent = 0

    # --- service side ----------------------------------------------------------------
    def _heard(self) -> None:
        self.ctl.contact()
        self.ctl.note_skew(self.link.skew_s)

    async def _push_loop(self) -> None:
        ping_s = max(0.5, self.cfg.failsafe.link_timeout_s / 3)
        while True:
            connected = False
            try:
                async for msg in self.link.setpoint_stream(ping_s):
                    if not connected:
                        log.info("connected: push channel to %s open", self.cfg.service.url)
                        connected = True
                    self._heard()
                    self.ctl.offer_setpoint(msg)
            except AuthError as exc:
                log.error("%s", exc)
                await asyncio.sleep(10)
            except (LinkError, OSError, asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001
                if isinstance(exc, asyncio.CancelledError):
                    raise
                log.info("push channel down (%s); reconnecting, polling meanwhile", type(exc).__name__)
                log.debug("push channel down: %r", exc)
            await asyncio.sleep(min(2.0, self.cfg.service.poll_interval_s))

    async def _poll_loop(self) -> None:
        polled = False
        while True:
            try:
                raw = await self.link.get_setpoint()
                if not polled:
                    log.info("connected: %s answers, site %s", self.cfg.service.url, self.cfg.site_id)
                    polled = True
                self._heard()
                self.ctl.offer_setpoint(raw)
            except AuthError as exc:
                log.error("%s", exc)
            except LinkError as exc:
                log.debug("poll failed: %s", exc)
            await asyncio.sleep(self.cfg.service.poll_interval_s)

    async def flush(self) -> int:
        """Deliver queued events and readings; returns readings delivered (LinkError
        propagates and leaves the rest queued, ids unchanged, for the next try)."""
        ob = self.ctl.outbox
        for ev in ob.pending("event", 100):
            await self.link.post_event(ev)
            ob.mark_sent([ev["event_id"]])
            self._heard()
        sent = 0
        while batch := ob.pending("reading", self.cfg.telemetry.batch_size):
            await self.link.post_readings(batch)
            ob.mark_sent([r["reading_id"] for r in batch])
            sent += len(batch)
            self._heard()
        self.readings_sent += sent
        return sent

    async def _send_loop(self) -> None:
        while True:
            try:
                await self.flush()
            except LinkError as exc:
                log.debug("delivery deferred: %s", exc)
            await asyncio.sleep(min(1.0, self.cfg.telemetry.interval_s))

    # --- site side -------------------------------------------------------------------
    async def _control_loop(self) -> None:
        """Act at once on a new setpoint, a trip or a finished sweep; else every interval."""
        while True:
            self.ctl.wake.clear()
            try:
                await self.ctl.tick(fresh=False)
            except Exception:  # a driver bug must not stop the loop; the next tick retries
                log.exception("control tick failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.ctl.wake.wait(), self.cfg.control.interval_s)

    async def _sweep_loop(self) -> None:
        """Read the fleet continuously (its own task, so a long sweep never delays acting)."""
        while True:
            started = time.monotonic()
            try:
                await self.ctl.refresh()
                self.ctl.wake.set()
            except Exception:
                log.exception("fleet sweep failed")
            await asyncio.sleep(max(0.0, self.cfg.control.interval_s
                                    - (time.monotonic() - started)))

    async def _telemetry_loop(self) -> None:
        tc = self.cfg.telemetry
        start = time.time() + self.ctl.skew_s
        samples: list[float] = []
        prev = self._load_telemetry()
        gap_from = float(prev["end"]) if prev is not None and float(prev["end"]) < start else None
        # wait this long for the meter's register before estimating the gap from draw
        register_wait_until = time.monotonic() + max(tc.interval_s, 3 * self.cfg.meter.poll_s)
        while True:
            await asyncio.sleep(tc.sample_s)
            mw = self.meter_mw if self.meter_mw is not None else self.ctl.measured_mw
            end = time.time() + self.ctl.skew_s
            if gap_from is not None:
                assert prev is not None
                have_register = (self.meter_energy_mwh is not None
                                 and prev.get("register_mwh") is not None)
                if not have_register and time.monotonic() < register_wait_until:
                    continue  # what the site draws now belongs to the gap
                self.reconstruct_gap(prev, gap_from, end, mw)
                gap_from = None
                start, samples = end, []
                self._save_telemetry(end, mw)
                continue
            if mw is not None:
                samples.append(mw)
            if end - start >= tc.interval_s:
                if samples:
                    mean = sum(samples) / len(samples)
                    rid = str(uuid.uuid4())
                    self.ctl.outbox.add("reading", rid, {
                        "reading_id": rid, "site_id": self.cfg.site_id,
                        "interval_start": datetime.fromtimestamp(start, UTC).isoformat(),
                        "interval_end": datetime.fromtimestamp(end, UTC).isoformat(),
                        "energy_mwh": mean * (end - start) / 3600.0, "mean_mw": mean,
                        "max_mw": max(samples)})
                    self._save_telemetry(end, mean)
                else:
                    self._save_telemetry(end, None)
                start, samples = end, []

    # --- energy drawn while the agent was down ----------------------------------------
    meter_mw: float | None = None
    meter_energy_mwh: float | None = None  # the site meter's import register [MWh]

    @property
    def _telemetry_path(self) -> Path:
        return Path(self.cfg.state_dir) / "telemetry.json"

    def _load_telemetry(self) -> dict[str, Any] | None:
        """Where metering stopped last time: ``end`` (UNIX s, service time), the last mean
        draw ``mw`` and the meter register ``register_mwh`` at that moment."""
        try:
            data = json.loads(self._telemetry_path.read_text())
            float(data["end"])
            return dict(data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError, OSError) as exc:
            log.error("telemetry state %s unreadable (%s); the downtime gap is not metered",
                      self._telemetry_path, exc)
            return None

    def _save_telemetry(self, end: float, mw: float | None) -> None:
        path = self._telemetry_path
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps({"end": end, "mw": mw, "register_mwh": self.meter_energy_mwh}))
        os.replace(tmp, path)

    def reconstruct_gap(self, prev: dict[str, Any], gap_start: float, gap_end: float,
                        mw_now: float | None) -> list[dict[str, Any]]:
        """Queue readings (flagged ``reconstructed``) for [gap_start, gap_end), when the
        agent was not metering: from the meter register if it was read at both ends,
        else estimated as the mean of the draw before and after the gap."""
        hours = (gap_end - gap_start) / 3600.0
        if hours <= 0:
            return []
        reg0, reg1 = prev.get("register_mwh"), self.meter_energy_mwh
        energy: float | None = None
        how = ""
        if reg0 is not None and reg1 is not None and reg1 >= float(reg0):
            energy, how = reg1 - float(reg0), "meter register"
        else:
            if reg0 is not None and reg1 is not None:
                log.warning("meter register went back (%.6f -> %.6f MWh): reset or replaced "
                            "meter; estimating the gap from draw", reg0, reg1)
            known = [float(x) for x in (prev.get("mw"), mw_now) if x is not None]
            if known:
                energy, how = sum(known) / len(known) * hours, "draw before and after"
        if energy is None:
            log.error("no meter register and no draw known: %.0f s while the agent was down "
                      "are not metered", gap_end - gap_start)
            return []
        pieces = max(1, math.ceil((gap_end - gap_start) / MAX_READING_S))
        step = (gap_end - gap_start) / pieces
        out = []
        for k in range(pieces):
            a, b = gap_start + k * step, gap_start + (k + 1) * step
            e = energy / pieces
            mean = e / ((b - a) / 3600.0)
            rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"offtake-gap|{self.cfg.site_id}|{a!r}"))
            reading = {"reading_id": rid, "site_id": self.cfg.site_id,
                       "interval_start": datetime.fromtimestamp(a, UTC).isoformat(),
                       "interval_end": datetime.fromtimestamp(b, UTC).isoformat(),
                       "energy_mwh": e, "mean_mw": mean, "max_mw": mean,
                       "reconstructed": True}
            self.ctl.outbox.add("reading", rid, reading)
            out.append(reading)
        log.warning("metered %.6f MWh drawn while the agent was down (%.1f s, from the %s); "
                    "sent as reconstructed reading(s)", energy, gap_end - gap_start, how)
        return out

    def _on_meter(self, sample: MeterSample | None, raw: str) -> None:
        if sample is None:
            log.warning("meter feed: ignored malformed reading %r", raw[:80])
            return
        if sample.site_mw is not None:
            self.meter_mw = sample.site_mw
        if sample.energy_mwh is not None:
            self.meter_energy_mwh = sample.energy_mwh
        self.ctl.frequency(sample.frequency_hz)

    async def run(self) -> None:
        mc = self.cfg.meter
        await self.ctl.refresh()
        coros = [self._control_loop(), self._sweep_loop(), self._poll_loop(), self._send_loop(),
                 self._telemetry_loop()]
        if self.cfg.service.use_websocket:
            coros.append(self._push_loop())
        transport = None
        if mc.feed == "udp":
            transport = await start_udp_feed(mc.udp_host, mc.udp_port, self._on_meter)
        elif mc.feed == "file" and mc.file is not None:
            coros.append(follow_file(mc.file, mc.poll_s, self._on_meter))
        tasks = [asyncio.create_task(c) for c in coros]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(LinkError, asyncio.TimeoutError):
                await asyncio.wait_for(self.flush(), 5.0)   # deliver what is pending
            if transport is not None:
                transport.close()
            await self.link.close()
            await self.site.driver.close()
            if self.site.fleet is not None:
                await self.site.fleet.stop()
            self.ctl.outbox.close()
