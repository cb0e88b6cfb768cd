"""The site controller: setpoint in, per-machine actions out, measured draw confirmed.

Target [MW] = the newest valid setpoint, lowered to the safe draw while the service is
unreachable or an under-frequency trip holds; raised no faster than the configured
ramp; lowered at once.  Every tick reads the fleet, plans (``dispatch.plan_dispatch``)
and sends only the actions that change something (lowering ones first).  State that a
restarted agent needs (last seq, setpoint, trip, last contact) is written atomically
to ``state_dir/state.json``; events go to the outbox and reach the service later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from offtake.agent.config import SiteConfig
from offtake.agent.dispatch import Plan, plan_dispatch
from offtake.agent.drivers.base import Action, ActionKind, Driver, Machine, MachineState
from offtake.agent.failsafe import FrequencyGuard, LinkWatch
from offtake.agent.link import Setpoint, SetpointError, parse_setpoint
from offtake.agent.outbox import Outbox

log = logging.getLogger("offtake.agent")


@dataclass(frozen=True)
class TickReport:
    """What one control tick saw and did; power in MW."""

    target_mw: float
    measured_mw: float
    planned_mw: float
    actions: int
    failed: int
    failsafe: bool
    tripped: bool


def utcnow_iso(skew_s: float = 0.0) -> str:
    return datetime.fromtimestamp(time.time() + skew_s, UTC).isoformat()


class Controller:
    def __init__(self, cfg: SiteConfig, driver: Driver, *, firm_mw: float = 0.0) -> None:
        self.cfg = cfg
        self.driver = driver
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_path = Path(cfg.state_dir) / "state.json"
        self.outbox = Outbox(Path(cfg.state_dir) / "outbox.sqlite")
        self.firm_mw = firm_mw
        self.safe_mw = (cfg.failsafe.safe_draw_mw if cfg.failsafe.safe_draw_mw is not None
                        else (0.0 if cfg.kind == "mining" else firm_mw))
        now = time.monotonic()
        self.link = LinkWatch(cfg.failsafe.link_timeout_s, now)
        self.guard = FrequencyGuard(cfg.failsafe.underfrequency_hz, cfg.failsafe.trip_hold_s)
        self.setpoint: Setpoint | None = None
        self.last_seq = -1
        self.failsafe = False
        self.effective_mw: float | None = None
        self.skew_s = 0.0
        self.wake = asyncio.Event()
        self.measured_mw: float | None = None
        self.last_tick: TickReport | None = None
        self.changed_at: float | None = None      # monotonic time the target last moved
        self.confirmed_at: float | None = None    # monotonic time the draw met the target
        self._machines: dict[str, Machine] = {}
        self._swept_at = 0.0
        self._trim_mw = 0.0
        self._errors_reported: dict[str, str] = {}
        self._last_tick_t = now
        self._restore()

    # --- persistence -----------------------------------------------------------------
    def _restore(self) -> None:
        if not self.state_path.exists():
            return
        try:
            s = json.loads(self.state_path.read_text())
            if s.get("setpoint"):
                self.setpoint = Setpoint.model_validate(s["setpoint"])
            self.last_seq = int(s.get("last_seq", -1))
            self.failsafe = bool(s.get("failsafe", False))
            self.guard.tripped = bool(s.get("tripped", False))
            # downtime is not lost contact: the restarted agent gets a fresh grace period
            # (the saved last-contact time is stale: it is only written on state changes)
            self.link.last_contact = time.monotonic()
            self.effective_mw = s.get("effective_mw")
        except (ValueError, TypeError, KeyError) as exc:
            log.error("state file %s unreadable (%s); starting at safe draw", self.state_path, exc)

    def save(self) -> None:
        from offtake.commands._common import write_atomic

        silent = self.link.silent_for_s(time.monotonic())
        write_atomic(self.state_path, json.dumps({
            "last_seq": self.last_seq,
            "setpoint": self.setpoint.model_dump(mode="json") if self.setpoint else None,
            "failsafe": self.failsafe, "tripped": self.guard.tripped,
            "effective_mw": self.effective_mw, "last_contact_wall": time.time() - silent}))

    # --- events ----------------------------------------------------------------------
    def event(self, kind: str, detail: str) -> None:
        """Log a site event and queue it for the service (sent once the link is up)."""
        eid = str(uuid.uuid4())
        log.warning("%s: %s", kind, detail)
        self.outbox.add("event", eid, {"event_id": eid, "kind": kind,
                                       "at": utcnow_iso(self.skew_s), "detail": detail})

    # --- inputs ----------------------------------------------------------------------
    def contact(self) -> None:
        """The service answered: clear the link fail-safe if it was on."""
        self.link.touch(time.monotonic())
        if self.failsafe:
            self.failsafe = False
            self.event("failsafe_exit", "service reachable again; following setpoints")
            self.save()
            self.wake.set()

    def note_skew(self, skew_s: float | None) -> None:
        if skew_s is None:
            return
        if abs(skew_s) > self.cfg.control.max_clock_skew_s and abs(self.skew_s) <= \
                self.cfg.control.max_clock_skew_s:
            self.event("clock_skew", f"local clock differs from the service by {skew_s:+.1f} s;"
                       " using service time for setpoint validity and telemetry")
        self.skew_s = skew_s

    def offer_setpoint(self, raw: str | bytes | dict) -> bool:
        """Validate and take a setpoint message; True when it was applied."""
        try:
            sp = parse_setpoint(raw, self.cfg.site_id)
        except SetpointError as exc:
            # the poll repeats a bad message: report each distinct problem once
            self._report_once("setpoint", f"setpoint rejected, keeping seq {self.last_seq}: {exc}")
            return False
        if sp.seq <= self.last_seq:
            return False
        self.setpoint, self.last_seq = sp, sp.seq
        log.info("setpoint seq %d: %.3f MW (%s)", sp.seq, sp.setpoint_mw, sp.reason)
        self.save()
        self.wake.set()
        return True

    def frequency(self, hz: float) -> None:
        change = self.guard.observe(hz, time.monotonic())
        if change == "trip":
            self.event("underfrequency_trip", f"frequency {hz:.3f} Hz below "
                       f"{self.guard.threshold_hz} Hz: curtailed to {self.safe_mw:.3f} MW")
            self.save()
            self.wake.set()
        elif change == "clear":
            self.event("underfrequency_trip", f"cleared: frequency back at or above "
                       f"{self.guard.threshold_hz} Hz for {self.guard.hold_s:g} s")
            self.save()
            self.wake.set()

    # --- target ----------------------------------------------------------------------
    def target_mw(self, now: float) -> float:
        """The draw the site may take now [MW], before ramp limiting."""
        if self.link.lost(now) and not self.failsafe:
            self.failsafe = True
            self.event("failsafe_enter", f"no answer from the service for "
                       f"{self.link.silent_for_s(now):.0f} s: holding safe draw "
                       f"{self.safe_mw:.3f} MW")
            self.save()
        sp = self.setpoint
        if sp is None:
            target = self.safe_mw
        else:
            service_now = datetime.fromtimestamp(time.time() + self.skew_s, UTC)
            target = sp.setpoint_mw
            if sp.valid_until is not None and service_now >= sp.valid_until:
                target = min(target, self.safe_mw)   # expired, nothing newer: be safe
        if self.failsafe or self.guard.tripped:
            target = min(target, self.safe_mw)
        return max(0.0, target)

    def _ramped(self, target: float, now: float) -> float:
        prev = self.effective_mw
        dt = max(0.0, now - self._last_tick_t)
        self._last_tick_t = now
        if prev is None or target <= prev:
            return target
        step = self.cfg.control.ramp_up_mw_per_min / 60.0 * max(dt, self.cfg.control.interval_s)
        return min(target, prev + step)

    # --- one tick --------------------------------------------------------------------
    async def refresh(self) -> None:
        """One sweep of the fleet: machine states and measured draw."""
        reading = await self.driver.machines()
        self._machines = {m.machine_id: m for m in reading.machines}
        self._swept_at = time.monotonic()
        self.measured_mw = reading.power_w / 1e6
        for m in reading.machines:
            if m.detail:
                self._report_once(m.machine_id, m.detail)
            elif m.machine_id in self._errors_reported:
                del self._errors_reported[m.machine_id]   # recovered: report anew later

    async def tick(self, *, fresh: bool = True) -> TickReport:
        """Plan and act; ``fresh`` sweeps first, else the latest sweep is used (fast path
        for a new setpoint or a trip: no waiting for a sweep of thousands of machines)."""
        if fresh or not self._machines:
            await self.refresh()
        now = time.monotonic()
        target = self.target_mw(now)
        effective = self._ramped(target, now)
        if self.effective_mw is None or abs(effective - self.effective_mw) > 1e-9:
            self.changed_at, self.confirmed_at = now, None
            self._trim_mw = 0.0
            self.effective_mw = effective
            self.save()
        measured = self.measured_mw or 0.0
        tol = self.cfg.control.tolerance_mw
        if self.confirmed_at is None and measured <= effective + tol:
            self.confirmed_at = now
            log.info("site at %.3f MW <= target %.3f MW", measured, effective)
        elif (self.confirmed_at is None and self.changed_at is not None
              and now - self.changed_at > self.cfg.control.confirm_timeout_s):
            excess = measured - effective
            self._report_once("draw", f"site draws {measured:.3f} MW, above its target "
                              f"{effective:.3f} MW after {now - self.changed_at:.0f} s; "
                              "curtailing further")
            self._trim_mw = min(effective, self._trim_mw + excess)
            self.changed_at = now
        plan = plan_dispatch(list(self._machines.values()),
                             max(0.0, effective - self._trim_mw) * 1e6)
        failed = await self._execute(plan)
        rep = TickReport(effective, measured, plan.planned_w / 1e6, len(plan.actions), failed,
                         self.failsafe, self.guard.tripped)
        self.last_tick = rep
        return rep

    def _report_once(self, key: str, detail: str) -> None:
        if self._errors_reported.get(key) != detail:
            self._errors_reported[key] = detail
            self.event("driver_error", detail)

    async def _execute(self, plan: Plan) -> int:
        if not plan.actions:
            return 0
        down = [a for a in plan.actions if a.kind is ActionKind.SLEEP or (
            a.kind is ActionKind.SET_POWER and (a.watts or 0) < (
                self._machines[a.machine_id].target_w or self._machines[a.machine_id].rated_w))]
        up = [a for a in plan.actions if a not in down]
        failed = 0
        for batch in (down, up):
            if not batch:
                continue
            results = await self.driver.apply(batch)
            for r in results:
                m = self._machines[r.action.machine_id]
                if r.ok:
                    self._errors_reported.pop(m.machine_id, None)
                    self._machines[m.machine_id] = _after(m, r.action)
                else:
                    failed += 1
                    self._report_once(m.machine_id, r.error or f"{m.machine_id}: action failed")
                    bad = (MachineState.REFUSED if "refused" in r.error
                           else MachineState.UNREACHABLE)
                    self._machines[m.machine_id] = replace(m, state=bad, detail=r.error)
            if failed and batch is down:
                # a machine that would not curtail is now charged at worst case: re-plan
                # before raising anything, so the site cannot end up above its target
                return failed + await self._execute(plan_dispatch(
                    list(self._machines.values()), plan.target_w))
        return failed


def _after(m: Machine, a: Action) -> Machine:
    if a.kind is ActionKind.SLEEP:
        return replace(m, state=MachineState.SLEEPING)
    return replace(m, state=MachineState.RUNNING, target_w=a.watts)
