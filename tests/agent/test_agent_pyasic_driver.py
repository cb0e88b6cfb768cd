"""The pyasic driver against the simulated LuxOS fleet: real TCP traffic, no mocks."""

from __future__ import annotations

import asyncio
import random

from offtake.agent.dispatch import plan_dispatch
from offtake.agent.drivers.base import ActionKind, MachineState
from offtake.agent.drivers.pyasic_miners import PyasicMinerDriver
from offtake.agent.sim.luxos_fleet import build_fleet


async def _settle(fleet, pred, timeout_s=5.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while loop.time() < end:
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


def test_probe_identifies_luxos_and_reads_presets():
    async def main():
        # one loopback address per miner on port 4028: pyasic probes and picks LuxOS itself
        fleet = build_fleet(2, time_scale=0.001, ip_per_miner=True,
                            subnet=random.randint(100, 250))
        await fleet.start()
        try:
            drv = PyasicMinerDriver([m.host for m in fleet.miners], firmware="auto")
            reading = await drv.machines()
            slot = drv._slots[fleet.miners[0].host]
            assert type(slot.miner).__name__ == "LUXMinerS19XP"
            assert reading.power_w == fleet.power_w() == 3010 + 3500
            m0 = reading.machines[0]
            assert m0.steps_w[-1] == 3010 and len(m0.steps_w) == 5
            assert abs(m0.order_key - 3010 / 140) < 1e-9      # J/TH from the full preset
            assert all(m.requests > 0 for m in fleet.miners)   # traffic really went there
        finally:
            await fleet.stop()
    asyncio.run(main())


def test_sleep_worst_first_then_power_target_then_resume():
    async def main():
        fleet = build_fleet(4, time_scale=0.001)
        await fleet.start()
        try:
            drv = PyasicMinerDriver(fleet.addresses(), firmware="luxos")
            ms = (await drv.machines()).machines
            # room for the two best at full power and a third at a reduced preset
            plan = plan_dispatch(ms, 3645 + 3531 + 2450 + 8 * 4)
            res = await drv.apply(list(plan.actions))
            assert all(r.ok for r in res), res
            by_model = {m.model: m for m in fleet.miners}
            assert not by_model["Antminer S19 XP"].mining          # 21.5 J/TH sleeps
            assert by_model["Antminer S21"].profile == "-2"         # 2450 W preset
            assert by_model["Antminer S21 XP"].mining and by_model["Antminer S21 Pro"].mining
            assert await _settle(fleet, lambda: fleet.power_w() <= plan.target_w)
            after = {m.machine_id: m for m in (await drv.machines()).machines}
            assert after[fleet.addresses()[0]].state is MachineState.SLEEPING
            # resume everything at full power: idempotent second apply does nothing new
            ms = (await drv.machines()).machines
            plan2 = plan_dispatch(ms, 1e9)
            assert {a.kind for a in plan2.actions} == {ActionKind.RESUME, ActionKind.SET_POWER}
            assert all(r.ok for r in await drv.apply(list(plan2.actions)))
            assert all(r.ok for r in await drv.apply(list(plan2.actions)))
            assert all(m.mining and m.profile == "default" for m in fleet.miners)
        finally:
            await fleet.stop()
    asyncio.run(main())


def test_unreachable_and_refused_miners_are_reported_not_fatal():
    async def main():
        fleet = build_fleet(3, time_scale=0.001)
        await fleet.start()
        try:
            drv = PyasicMinerDriver(fleet.addresses(), firmware="luxos", timeout_s=2.0)
            ms = (await drv.machines()).machines
            down, locked, fine = fleet.miners
            await fleet.take_down(down)
            locked.auth_ok = False
            plan = plan_dispatch(ms, 0.0)
            res = {r.action.machine_id: r for r in await drv.apply(list(plan.actions))}
            assert "unreachable" in res[f"127.0.0.1:{down.port}"].error
            assert "refused logon" in res[f"127.0.0.1:{locked.port}"].error
            assert res[f"127.0.0.1:{fine.port}"].ok and not fine.mining
            states = {m.machine_id: m for m in (await drv.machines()).machines}
            lost = states[f"127.0.0.1:{down.port}"]
            assert lost.state is MachineState.UNREACHABLE and lost.worst_case_w() == 3010
            assert states[f"127.0.0.1:{locked.port}"].state is MachineState.REFUSED
            locked.auth_ok = True      # operator fixes the credentials: miner usable again
            states = {m.machine_id: m for m in (await drv.machines()).machines}
            assert states[f"127.0.0.1:{locked.port}"].state is MachineState.RUNNING
        finally:
            await fleet.stop()
    asyncio.run(main())
