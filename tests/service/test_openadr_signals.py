"""``offtake signals publish``: a scenario day's forecasts and prices reach a running
service and a VEN reads them as OpenADR 3.1.0 events (SQLite and PostgreSQL).

The scenario is the tiny one with its regions renamed to two of the service's
(north -> SINDH, south -> KARACHI).  Hand check of its prices: north's hydro (1 USD/MWh)
has spare capacity every hour, so its nodal price is 1; south's load (500-700 MW) is
more than the 300 MW corridor and 160 MW of solar, so gas (80 USD/MWh) is marginal in
every hour.  With ``--adder-usd-per-mwh 5`` the VEN must read 6 and 85; with a floor of
50, 50 and 85.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from _live_server import empty_tables, serve
from typer.testing import CliRunner

from offtake.cli import app as cli_app
from offtake.scenario.tiny import write_tiny_scenario
from offtake.service.domain.clients import create_client
from offtake.service.security import Role
from offtake.surplus import assess


@pytest.fixture(scope="module")
def renamed(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    folder = write_tiny_scenario(tmp_path_factory.mktemp("tiny-signals"))
    for f in folder.iterdir():
        if f.is_file():
            f.write_text(f.read_text().replace("north", "SINDH").replace("south", "KARACHI"))
    return folder


def test_signals_publish_reaches_a_ven(app, renamed) -> None:  # type: ignore[no-untyped-def]
    empty_tables(app.state.offtake.engine)
    with app.state.offtake.sessions() as session:
        _g, grid_secret = create_client(session, actor=None, name="grid",
                                        roles=[Role.GRID_OPERATOR], client_id="grid")
        _v, ven_secret = create_client(session, actor=None, name="ven", roles=[Role.SITE_OPERATOR],
                                       client_id="ven-k")
    day = (datetime.now(ZoneInfo("Asia/Karachi")) + timedelta(days=2)).date()
    with serve(app) as url:
        tok = httpx.post(f"{url}/openadr3/3.1.0/auth/token", data={
            "grant_type": "client_credentials", "client_id": "grid",
            "client_secret": grid_secret}).json()["access_token"]
        grid = {"Authorization": f"Bearer {tok}"}
        r = httpx.post(f"{url}/api/v1/sites", headers=grid, json={
            "site_id": "k-1", "name": "k-1", "site_type": "mining", "region_id": "KARACHI",
            "contracted_mw": 100, "interruptible_share": 1.0, "priority": 10,
            "tariff_pkr_per_kwh": 22.0, "owner_client_id": "ven-k"})
        assert r.status_code == 201, r.text
        run = CliRunner().invoke(cli_app, [
            "signals", "publish", "--scenario", str(renamed), "--day", "2025-01-01",
            "--publish-date", day.isoformat(), "--url", url, "--client-id", "grid",
            "--secret", grid_secret, "--resolution", "1", "--adder-usd-per-mwh", "5"])
        assert run.exit_code == 0, run.output
        said = " ".join(run.output.split())
        assert "posted 48 forecast signals" in said and "1 site schedules and 2 price" in said
        vtok = httpx.post(f"{url}/openadr3/3.1.0/auth/token", data={
            "grant_type": "client_credentials", "client_id": "ven-k",
            "client_secret": ven_secret}).json()["access_token"]
        events = httpx.get(f"{url}/openadr3/3.1.0/events",
                           headers={"Authorization": f"Bearer {vtok}"}).json()
        by_id = {e["id"]: e for e in events}
        tag = day.strftime("%Y%m%d")
        prices = [iv["payloads"][0]["values"][0] for iv in by_id[f"price-KARACHI-{tag}"]["intervals"]]
        assert prices == [85.0] * 24
        assert f"price-SINDH-{tag}" not in by_id  # ven-k has no site in SINDH
        sched = by_id[f"da-k-1-{tag}"]
        kw = [iv["payloads"][0]["values"][0] for iv in sched["intervals"]]
        hostable = assess(__import__("offtake.scenario.io", fromlist=["x"]).load_scenario(
            renamed)).hostable_mw["KARACHI"].iloc[:24].to_numpy()
        assert kw == [round(min(100.0, h) * 1000, 3) for h in hostable]
        assert min(kw) < 100_000 < max(kw) + 1  # the night hours are below the contract
        # a floor lifts the cheap region: published for the grid operator (reads all)
        run = CliRunner().invoke(cli_app, [
            "signals", "publish", "--scenario", str(renamed), "--day", "2025-01-01",
            "--publish-date", day.isoformat(), "--url", url, "--token", tok, "--resolution", "1",
            "--floor-usd-per-mwh", "50"])
        assert run.exit_code == 0, run.output
        sindh = httpx.get(f"{url}/openadr3/3.1.0/events/price-SINDH-{tag}", headers=grid).json()
        assert [iv["payloads"][0]["values"][0] for iv in sindh["intervals"]] == [50.0] * 24
        # bad input: exit 2, a message, nothing posted
        for args, words in ((["--day", "2025-13-01"], "not a date"),
                            (["--day", "2025-03-01"], "has 0 hourly snapshots"),
                            (["--day", "2025-01-01", "--interval-minutes", "7"], "15 or 60")):
            bad = CliRunner().invoke(cli_app, ["signals", "publish", "--scenario", str(renamed),
                                               "--url", url, "--token", tok, *args])
            assert bad.exit_code == 2 and words in " ".join(bad.output.split()), bad.output
        wrong = CliRunner().invoke(cli_app, [
            "signals", "publish", "--scenario", str(renamed), "--day", "2025-01-01",
            "--url", url, "--client-id", "grid", "--secret", "nope"])
        assert wrong.exit_code == 2 and "token request refused" in " ".join(wrong.output.split())
