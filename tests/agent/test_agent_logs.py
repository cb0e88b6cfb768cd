"""`offtake agent -v` says what it does: connected, every setpoint, fail-safe in and out;
--check says where the fleet comes from; config errors name keys, not columns."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from offtake.agent.link import ServiceLink
from offtake.agent.runtime import Agent, Site
from offtake.cli import app
from offtake.commands.agent import _agent_logging

from agent_fakes import FakeService, site_config
from test_agent_outbox import NoMachines


def _setpoint(mw: float, seq: int) -> dict:
    now = datetime.now(UTC)
    return {"site_id": "s1", "seq": seq, "setpoint_mw": mw, "reason": "allocation",
            "valid_from": (now - timedelta(seconds=5)).isoformat(),
            "valid_until": (now + timedelta(minutes=10)).isoformat(), "issued_at": now.isoformat()}


def test_verbose_agent_logs_connected_setpoint_and_fail_safe(tmp_path, capsys) -> None:
    svc = FakeService(setpoint=_setpoint(0.004, 1))
    cfg = site_config(tmp_path)
    agent = Agent(cfg, Site(NoMachines()), ServiceLink(cfg.service, cfg.site_id, transport=svc.transport()))
    _agent_logging(True)

    async def scenario() -> None:
        task = asyncio.create_task(agent.run())
        await asyncio.sleep(0.6)
        svc.online = False  # the link goes: after link_timeout_s (0.5 s) the agent holds its safe draw
        await asyncio.sleep(1.2)
        svc.online = True
        await asyncio.sleep(0.6)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(scenario())
    finally:
        logging.getLogger("offtake.agent").setLevel(logging.WARNING)
    err = capsys.readouterr().err
    assert "connected: http://service.test answers, site s1" in err
    assert "setpoint seq 1: 0.004 MW (allocation)" in err
    assert "failsafe_enter: no answer from the service" in err
    assert "failsafe_exit: service reachable again" in err


def _yaml(tmp_path, miners: str) -> str:
    p = tmp_path / "site.yaml"
    p.write_text(f"""site_id: s1
kind: bitcoin_mining
service: {{url: "http://127.0.0.1:8000", client_id: site-1, client_secret_env: X}}
miners: {miners}
""")
    return str(p)


def test_check_says_where_the_fleet_comes_from_and_refuses_both(tmp_path) -> None:
    r = CliRunner()
    res = r.invoke(app, ["agent", "--config", _yaml(tmp_path, "{simulate: {count: 5}}"), "--check"])
    assert res.exit_code == 0 and "SIMULATED fleet of 5" in res.output, res.output
    res = r.invoke(app, ["agent", "--config", _yaml(tmp_path, '{addresses: ["10.0.0.5"]}'), "--check"])
    assert res.exit_code == 0 and "1 real address(es)" in res.output, res.output
    res = r.invoke(app, ["agent", "--config", _yaml(tmp_path, '{addresses: ["10.0.0.5"], simulate: {count: 5}}'),
                         "--check"])
    assert res.exit_code == 2 and "not both" in res.output, res.output


def test_config_errors_name_keys_not_columns(tmp_path) -> None:
    res = CliRunner().invoke(app, ["agent", "--config", _yaml(tmp_path, "{simulate: {count: -1}}"), "--check"])
    assert res.exit_code == 2
    assert "key 'miners.simulate.count'" in res.output and "column" not in res.output, res.output


def test_site_types_share_the_scenario_vocabulary(tmp_path) -> None:
    from offtake.agent.config import load_config
    from offtake.service.schemas import SiteCreate, SiteType

    p = tmp_path / "site.yaml"
    base = ('site_id: s1\nkind: {kind}\nservice: {{url: "http://x", client_id: c, client_secret_env: X}}\n'
            "miners: {{simulate: {{count: 2}}}}\n")
    for kind in ("bitcoin_mining", "mining"):  # the new name, and the old one (deprecated alias)
        p.write_text(base.format(kind=kind))
        assert load_config(p).kind == "mining"
    p.write_text(base.format(kind="gold_mining"))
    from offtake.errors import InputError

    with pytest.raises(InputError, match="key 'kind'"):
        load_config(p)
    assert {t.value for t in SiteType} == {"bitcoin_mining", "ai_training", "ai_inference"}
    site = SiteCreate(name="x", site_type="mining", region_id="KP", contracted_mw=1, interruptible_share=1,
                      tariff_pkr_per_kwh=1, owner_client_id="a")
    assert site.site_type is SiteType.BITCOIN_MINING
