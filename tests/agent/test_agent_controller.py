"""The whole agent (all loops) on a simulated LuxOS fleet, against a fake service."""

from __future__ import annotations

import asyncio
import json
import socket
import time

from agent_fakes import FakeService, site_config

from offtake.agent.link import ServiceLink
from offtake.agent.runtime import Agent, build_site


def sp(mw: float, seq: int, **kw) -> dict:
    return {"site_id": "s1", "setpoint_mw": mw, "seq": seq, "reason": "allocation",
            "valid_from": "2026-01-01T00:00:00+00:00", "valid_until": None,
            "issued_at": "2026-01-01T00:00:00+00:00", **kw}


async def wait_for(pred, timeout_s=8.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


async def start(tmp_path, svc, **over):
    cfg = site_config(tmp_path, **over)
    site = await build_site(cfg)
    agent = Agent(cfg, site, ServiceLink(cfg.service, cfg.site_id, transport=svc.transport()))
    task = asyncio.create_task(agent.run())
    return agent, site, task


async def stop(task):
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def kinds(svc):
    return [e["kind"] for e in svc.events.values()]


def test_follows_setpoints_and_rejects_bad_ones(tmp_path):
    svc = FakeService(setpoint=sp(0.010, 1))

    async def main():
        agent, site, task = await start(tmp_path, svc)
        fleet = site.fleet
        try:
            # 6 miners (21.6 kW nameplate): 10 kW keeps the best ones running
            assert await wait_for(lambda: agent.ctl.last_seq == 1)
            def shaped():
                by = {(m.model, m.mining, m.profile) for m in fleet.miners}
                # the two most efficient run at full power, one S21 at a reduced preset
                # fills the gap, and both S19 XP (21.5 J/TH, worst) sleep
                return (("Antminer S21 XP", True, "default") in by
                        and ("Antminer S21 Pro", True, "default") in by
                        and not any(m.mining for m in fleet.miners
                                    if m.model == "Antminer S19 XP")
                        and sum(m.mining and m.profile != "default"
                                for m in fleet.miners) == 1)
            assert await wait_for(shaped), [(m.model, m.mining, m.profile) for m in fleet.miners]
            assert await wait_for(lambda: fleet.power_w() <= 10_000)
            for bad in (sp(-1, 2), json.dumps(sp(float("nan"), 2)), {"seq": 3}, sp(1.0, 4, site_id="x")):
                svc.setpoint = bad
                await asyncio.sleep(0.15)
            assert agent.ctl.last_seq == 1 and fleet.power_w() <= 10_000
            svc.setpoint = sp(0.004, 0)            # older seq: ignored
            await asyncio.sleep(0.15)
            assert agent.ctl.setpoint.setpoint_mw == 0.010
            svc.setpoint = sp(0.0, 5)
            assert await wait_for(lambda: fleet.power_w() <= 6 * 8 + 1)
            assert await wait_for(lambda: sum(
                "setpoint rejected" in e["detail"] for e in svc.events.values()) == 4)
            assert await wait_for(lambda: len(svc.readings) >= 2)
        finally:
            await stop(task)
    asyncio.run(main())


def test_link_loss_drops_to_safe_draw_and_reports_on_return(tmp_path):
    svc = FakeService(setpoint=sp(1.0, 1))

    async def main():
        agent, site, task = await start(tmp_path, svc)
        fleet = site.fleet
        try:
            assert await wait_for(lambda: agent.ctl.last_seq == 1)
            assert await wait_for(lambda: all(m.mining for m in fleet.miners))
            svc.online = False
            t0 = time.monotonic()
            assert await wait_for(lambda: agent.ctl.failsafe)
            # not before link_timeout_s of silence (last contact may predate going offline)
            assert time.monotonic() - agent.ctl.link.last_contact >= 0.5
            assert time.monotonic() - t0 < 5.0
            assert await wait_for(lambda: fleet.power_w() <= 6 * 8 + 1)
            n_offline = agent.ctl.outbox.count("reading", sent=False)
            svc.online = True
            assert await wait_for(lambda: not agent.ctl.failsafe)
            assert await wait_for(lambda: {"failsafe_enter", "failsafe_exit"} <= set(kinds(svc)))
            assert await wait_for(lambda: all(m.mining for m in fleet.miners))
            assert n_offline >= 1
            assert await wait_for(lambda: agent.ctl.outbox.count("reading", sent=False) == 0)
        finally:
            await stop(task)
    asyncio.run(main())


def test_underfrequency_trip_curtails_without_the_service(tmp_path):
    svc = FakeService(setpoint=sp(1.0, 1))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main():
        agent, site, task = await start(tmp_path, svc, meter={"feed": "udp", "udp_port": port},
                                        failsafe={"link_timeout_s": 5.0, "trip_hold_s": 0.3})
        fleet = site.fleet
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            assert await wait_for(lambda: agent.ctl.last_seq == 1)
            assert await wait_for(lambda: all(m.mining for m in fleet.miners))
            svc.online = False                       # trip must not need the service
            tx.sendto(b"not json", ("127.0.0.1", port))
            tx.sendto(json.dumps({"frequency_hz": 49.61}).encode(), ("127.0.0.1", port))
            t0 = time.monotonic()
            assert await wait_for(lambda: all(not m.mining for m in fleet.miners), 3.0)
            assert time.monotonic() - t0 < 3.0 and not agent.ctl.failsafe   # the trip did it
            for _ in range(20):                      # frequency back: hold, then release
                tx.sendto(b"50.0", ("127.0.0.1", port))
                await asyncio.sleep(0.03)
            svc.online = True
            assert await wait_for(lambda: not agent.ctl.guard.tripped)
            assert await wait_for(lambda: all(m.mining for m in fleet.miners))
            assert await wait_for(lambda: len([e for e in svc.events.values()
                                               if e["kind"] == "underfrequency_trip"]) == 2), \
                list(svc.events.values())
            trips = [e for e in svc.events.values() if e["kind"] == "underfrequency_trip"]
            assert "49.610 Hz" in trips[0]["detail"] and "cleared" in trips[1]["detail"]
        finally:
            tx.close()
            await stop(task)
    asyncio.run(main())


def test_unreachable_miner_never_leaves_site_above_setpoint(tmp_path):
    svc = FakeService(setpoint=sp(1.0, 1))

    async def main():
        agent, site, task = await start(tmp_path, svc)
        fleet = site.fleet
        try:
            assert await wait_for(lambda: agent.ctl.last_seq == 1)
            # settled at setpoint 1: the agent's ramped target has passed the whole fleet's draw and
            # every machine mines at full power (a fresh agent first holds the safe draw and ramps
            # up, so "all mining" alone is also true in the first milliseconds, before that sleep)
            full_w = sum(m.profile_power_w(m.profile) for m in fleet.miners)
            assert await wait_for(lambda: (agent.ctl.effective_mw or 0.0) * 1e6 >= full_w
                                  and all(m.mining for m in fleet.miners) and fleet.power_w() > 0.95 * full_w)
            best = max(fleet.miners, key=lambda m: m.nameplate_ths / m.nameplate_w)
            await fleet.take_down(best)              # still mining, but no longer answers
            svc.setpoint = sp(0.008, 2)              # room for two machines
            assert await wait_for(lambda: agent.ctl.last_seq == 2)
            assert await wait_for(lambda: fleet.power_w() <= 8000)
            assert best.mining                       # it could not be told anything ...
            assert await wait_for(lambda: sum(m.mining for m in fleet.miners) == 2), [
                (m.model, m.mining, m.profile) for m in fleet.miners]   # ... one runs beside it
            assert fleet.power_w() <= 8000
            assert await wait_for(lambda: any("unreachable" in e["detail"]
                                              for e in svc.events.values()))
        finally:
            await stop(task)
    asyncio.run(main())


def test_restarted_agent_picks_up_where_it_was(tmp_path):
    svc = FakeService(setpoint=sp(0.007, 3))

    async def main():
        agent, site, task = await start(tmp_path, svc)
        assert await wait_for(lambda: agent.ctl.last_seq == 3)
        await stop(task)
        svc.online = False                           # restart while the service is down
        agent2, site2, task2 = await start(tmp_path, svc)
        try:
            assert agent2.ctl.last_seq == 3 and agent2.ctl.setpoint.setpoint_mw == 0.007
            assert not agent2.ctl.failsafe           # was in contact moments ago
            assert await wait_for(lambda: site2.fleet.power_w() <= 7000)
            assert sum(m.mining for m in site2.fleet.miners) >= 1
        finally:
            await stop(task2)
    asyncio.run(main())
