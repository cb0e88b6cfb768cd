"""Miners through pyasic: stop/resume mining, power targets (presets), draw from get_data.

Addresses are ``host`` or ``host:port``.  With ``firmware="auto"`` pyasic probes each
host on port 4028 (web and RPC) and picks the backend itself; with a named firmware
(``luxos``) the backend class is built directly and pointed at the given port, which
lets a test fleet use one port per miner on 127.0.0.1.  Either way every reading and
command is real traffic on the miner's JSON API.

Efficiency (J/TH) comes from the firmware's presets (watts and TH/s of the full-power
preset); the dispatcher sleeps the worst machines first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from typing import Any

from offtake.agent.drivers.base import (
    Action,
    ActionKind,
    ActionResult,
    FleetReading,
    Machine,
    MachineState,
)

log = logging.getLogger("offtake.agent.miners")

FIRMWARES = ("auto", "luxos")


@dataclass
class _Slot:
    """What the driver knows about one miner between sweeps."""

    address: str
    host: str
    port: int
    miner: Any = None              # the pyasic miner object once identified
    steps_w: tuple[float, ...] = ()
    efficiency_j_per_th: float = 1e9
    intent: MachineState | None = None   # last state this agent commanded
    target_w: float | None = None
    refused: str = ""              # why the miner refuses commands ("" when it does not)
    last: Machine | None = None


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.partition(":")
    return host, int(port) if port else 4028


class PyasicMinerDriver:
    """A fleet of miners reached through pyasic (see module docstring)."""

    def __init__(self, addresses: list[str], *, firmware: str = "auto", idle_w: float = 8.0,
                 timeout_s: float = 5.0, concurrency: int = 256,
                 default_rated_w: float = 3500.0) -> None:
        if firmware not in FIRMWARES:
            raise ValueError(f"firmware must be one of {FIRMWARES}, got {firmware!r}")
        self.firmware = firmware
        self.idle_w = idle_w
        self.timeout_s = timeout_s
        self.default_rated_w = default_rated_w
        self._sem = asyncio.Semaphore(concurrency)
        self._slots = {a: _Slot(a, *_split(a)) for a in addresses}

    # --- identification ------------------------------------------------------------
    async def _identify(self, slot: _Slot) -> None:
        import pyasic
        from pyasic.miners.factory import MINER_CLASSES, MinerTypes

        if self.firmware == "auto":
            if slot.port != 4028:
                raise ValueError(f"{slot.address}: firmware 'auto' probes port 4028 only; "
                                 "name the firmware to use another port")
            miner = await pyasic.get_miner(slot.host)
        else:
            miner = MINER_CLASSES[MinerTypes.LUX_OS][None](slot.host)
            miner.rpc.port = slot.port
        if miner is None:
            return
        slot.miner = miner
        steps: list[float] = []
        full_ths = 0.0
        if getattr(miner, "supports_presets", False):
            with contextlib.suppress(Exception):
                cfg = await miner.get_config()
                presets = getattr(cfg.mining_mode, "available_presets", None) or []
                pairs = sorted((float(p.power), float(p.hashrate or 0)) for p in presets
                               if p.power)
                steps = [w for w, _ in pairs]
                if pairs:
                    full_ths = pairs[-1][1]
        if not steps:
            data = await miner.get_data(include=["wattage", "wattage_limit"])
            steps = [float(data.wattage_limit or data.wattage or self.default_rated_w)]
        slot.steps_w = tuple(steps)
        if full_ths > 0:
            slot.efficiency_j_per_th = steps[-1] / full_ths

    # --- reading -------------------------------------------------------------------
    async def _read(self, slot: _Slot) -> Machine:
        async with self._sem:
            try:
                if slot.miner is None:
                    await asyncio.wait_for(self._identify(slot), self.timeout_s)
                watts = None
                if slot.miner is not None:
                    data = await asyncio.wait_for(
                        slot.miner.get_data(include=["wattage", "wattage_limit"]), self.timeout_s)
                    watts = data.wattage
                    if data.wattage_limit:
                        slot.target_w = float(data.wattage_limit)
                    if slot.refused and watts is not None and hasattr(slot.miner.rpc, "auth"):
                        if await asyncio.wait_for(slot.miner.rpc.auth(), self.timeout_s):
                            slot.refused = ""   # credentials fixed on the miner side
            except (asyncio.TimeoutError, OSError, ValueError, LookupError) as exc:
                log.debug("%s: read failed: %s", slot.address, exc)
                watts = None
        steps = slot.steps_w or (self.default_rated_w,)
        if watts is None:
            state, detail = MachineState.UNREACHABLE, f"{slot.address}: miner unreachable (no answer on its API)"
        elif slot.refused:
            state, detail = MachineState.REFUSED, slot.refused
        else:
            detail = ""
            if slot.intent is not None:
                state = slot.intent
            else:
                state = MachineState.RUNNING if watts > 3 * self.idle_w else MachineState.SLEEPING
        m = Machine(machine_id=slot.address, steps_w=steps, idle_w=self.idle_w,
                    order_key=slot.efficiency_j_per_th, state=state,
                    power_w=None if watts is None else float(watts),
                    target_w=slot.target_w, detail=detail)
        slot.last = m
        return m

    async def machines(self) -> FleetReading:
        ms = await asyncio.gather(*(self._read(s) for s in self._slots.values()))
        errors = tuple(m.detail for m in ms if m.detail)
        return FleetReading(machines=tuple(ms), errors=errors)

    async def read_power_w(self) -> float:
        return (await self.machines()).power_w

    # --- commands ------------------------------------------------------------------
    async def _reachable(self, slot: _Slot) -> bool:
        try:
            _, w = await asyncio.wait_for(asyncio.open_connection(slot.host, slot.port), 1.0)
        except (OSError, asyncio.TimeoutError):
            return False
        w.close()
        with contextlib.suppress(OSError):
            await w.wait_closed()
        return True

    async def _session(self, slot: _Slot) -> None:
        rpc = slot.miner.rpc
        if not hasattr(rpc, "auth"):
            return
        try:
            token = await rpc.auth()
        except (LookupError, TypeError, ValueError, OSError):
            token = None    # pyasic raises these on an empty reply (miner gone)
        if token is None:
            if not await self._reachable(slot):
                raise ConnectionError(f"{slot.address}: miner unreachable")
            slot.refused = (f"{slot.address}: miner refused logon (wrong credentials, or "
                            "another session holds the API)")
            raise PermissionError(slot.refused)

    async def _do(self, slot: _Slot, action: Action) -> bool:
        miner = slot.miner
        if action.kind is ActionKind.SLEEP:
            return bool(await miner.stop_mining())
        if action.watts is not None and len(slot.steps_w) > 1 and (
                slot.target_w is None or abs(slot.target_w - action.watts) > 0.5):
            if not await miner.set_power_limit(int(action.watts)):
                return False
            slot.target_w = float(max(s for s in slot.steps_w if s <= action.watts + 0.5)
                                  if any(s <= action.watts + 0.5 for s in slot.steps_w)
                                  else slot.steps_w[0])
        if action.kind is ActionKind.RESUME:
            return bool(await miner.resume_mining())
        return True

    async def _apply_one(self, action: Action) -> ActionResult:
        slot = self._slots.get(action.machine_id)
        if slot is None:
            return ActionResult(action, False, f"unknown machine {action.machine_id!r}")
        async with self._sem:
            for attempt in (1, 2):
                try:
                    if slot.miner is None:
                        await asyncio.wait_for(self._identify(slot), self.timeout_s)
                        if slot.miner is None:
                            raise ConnectionError(f"{slot.address}: miner unreachable")
                    await asyncio.wait_for(self._session(slot), self.timeout_s)
                    ok = await asyncio.wait_for(self._do(slot, action), self.timeout_s)
                except PermissionError as exc:
                    return ActionResult(action, False, str(exc))
                except (ConnectionError, OSError, asyncio.TimeoutError) as exc:
                    return ActionResult(action, False, str(exc) or
                                        f"{slot.address}: no answer within {self.timeout_s} s")
                except Exception as exc:  # pyasic raises assorted errors on odd replies
                    ok = False
                    log.debug("%s: %s failed: %r", slot.address, action.kind, exc)
                if ok:
                    slot.refused = ""
                    slot.intent = (MachineState.SLEEPING if action.kind is ActionKind.SLEEP
                                   else MachineState.RUNNING)
                    if slot.last is not None:
                        slot.last = replace(slot.last, state=slot.intent)
                    return ActionResult(action, True)
                # a stale session token is the usual cause: drop it and try once more
                with contextlib.suppress(AttributeError):
                    slot.miner.rpc.session_token = None
            if not await self._reachable(slot):
                return ActionResult(action, False, f"{slot.address}: miner unreachable")
            return ActionResult(action, False, f"{slot.address}: {action.kind} rejected by miner")

    async def apply(self, actions: list[Action]) -> list[ActionResult]:
        return list(await asyncio.gather(*(self._apply_one(a) for a in actions)))

    async def close(self) -> None:
        return None
