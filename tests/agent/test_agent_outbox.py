"""Telemetry and events buffered on disk while offline are delivered exactly once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from offtake.agent.drivers.base import FleetReading
from offtake.agent.link import LinkError, ServiceLink
from offtake.agent.outbox import Outbox
from offtake.agent.runtime import Agent, Site

from agent_fakes import FakeService, site_config


class NoMachines:
    async def machines(self):
        return FleetReading(())

    async def read_power_w(self):
        return 0.0

    async def apply(self, actions):
        return []

    async def close(self):
        return None


def reading(i: int) -> dict:
    rid = str(uuid.uuid4())
    return {"reading_id": rid, "site_id": "s1", "interval_start": f"2026-01-01T00:00:{i:02d}Z",
            "interval_end": f"2026-01-01T00:00:{i + 1:02d}Z", "energy_mwh": 0.001,
            "mean_mw": 3.6, "max_mw": 3.7}


def test_outbox_keeps_ids_and_ignores_a_second_add(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite")
    r = reading(1)
    assert ob.add("reading", r["reading_id"], r)
    assert not ob.add("reading", r["reading_id"], r)
    assert ob.pending("reading") == [r]
    ob.mark_sent([r["reading_id"]])
    assert ob.pending("reading") == [] and ob.count("reading", sent=True) == 1


def _agent(tmp_path, svc):
    cfg = site_config(tmp_path)
    link = ServiceLink(cfg.service, cfg.site_id, transport=svc.transport())
    return Agent(cfg, Site(NoMachines()), link)


def test_offline_buffer_delivered_exactly_once_across_restart_and_lost_reply(tmp_path):
    svc = FakeService(online=False)

    async def phase1():
        agent = _agent(tmp_path, svc)
        made = [reading(i) for i in range(7)]
        for r in made:
            agent.ctl.outbox.add("reading", r["reading_id"], r)
        with pytest.raises(LinkError):
            await agent.flush()                      # offline: nothing leaves, nothing lost
        assert agent.ctl.outbox.count("reading", sent=False) == 7
        svc.online = True
        svc.drop_next_response = True                # stored by the service, reply lost
        with pytest.raises(LinkError):
            await agent.flush()
        assert len(svc.readings) == 7                # the service has them ...
        assert agent.ctl.outbox.count("reading", sent=False) == 7   # ... agent doesn't know
        await agent.link.close()
        agent.ctl.outbox.close()
        return {r["reading_id"] for r in made}

    ids = asyncio.run(phase1())

    async def phase2():                              # agent restarted from the same disk
        agent = _agent(tmp_path, svc)
        assert await agent.flush() == 7              # resent with the same ids
        assert await agent.flush() == 0              # nothing left to send
        await agent.link.close()
        agent.ctl.outbox.close()

    asyncio.run(phase2())
    assert set(svc.readings) == ids                  # every reading once, none twice
    assert svc.posts == 2


def test_wrong_service_credentials_are_reported_clearly(tmp_path):
    svc = FakeService(secret="other")

    async def main():
        agent = _agent(tmp_path, svc)
        agent.ctl.outbox.add("reading", "r1", reading(1) | {"reading_id": "r1"})
        with pytest.raises(LinkError, match="refused the credentials of client 'site-1'"):
            await agent.flush()
        assert agent.ctl.outbox.count("reading", sent=False) == 1
        await agent.link.close()
        agent.ctl.outbox.close()

    asyncio.run(main())
