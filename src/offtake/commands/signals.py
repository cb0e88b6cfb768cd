"""``offtake signals publish``: a scenario day's forecast surplus and prices, posted to a
running service, so the planning half and the operations half meet.

For the chosen scenario day it posts, per region and hour,

* the **surplus** new load could take (``assess``'s hostable MW) as ``forecast`` signals
  (``POST /api/v1/surplus-signals``), and then
* asks the service to publish its **day-ahead schedule** (the allocation of those
  forecasts, per site, as OpenADR ``IMPORT_CAPACITY_LIMIT`` events) together with the
  hourly **PRICE** per region (``POST /api/v1/openadr/day-ahead``).

The price is the ``surplus_indexed`` tariff's: the plan's nodal marginal cost of the
region-hour (the dual of its energy balance, from ``plan`` on the scenario at
``--resolution``) plus ``--adder-usd-per-mwh``, never below ``--floor-usd-per-mwh``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import typer

from offtake.commands._common import console, handle_errors


def day_frames(scenario: Any, day: date, resolution_h: int) -> tuple[Any, Any]:
    """(hostable MW, nodal price USD/MWh) of ``day``: 24 hourly rows x region."""
    import pandas as pd

    from offtake.errors import InputError
    from offtake.plan.inputs import PlanOptions
    from offtake.plan.run import plan
    from offtake.surplus import assess

    hostable = assess(scenario).hostable_mw
    idx = pd.DatetimeIndex(hostable.index)
    rows = hostable[idx.date == day]
    if len(rows) != 24:
        raise InputError(f"scenario '{scenario.name}' has {len(rows)} hourly snapshots on {day} "
                         f"(needs 24; it covers {idx[0].date()} to {idx[-1].date()})")
    result = plan(scenario, PlanOptions(resolution_h=resolution_h, baseline=False))
    price = result.price_usd_per_mwh
    pidx = pd.DatetimeIndex(price.index)
    # each plan snapshot stands for resolution_h hours: carry it over its hours
    hourly = price.reindex(idx, method="ffill") if len(pidx) != len(idx) else price
    hourly.index = idx
    return rows, hourly[idx.date == day][rows.columns]


def register(app: typer.Typer) -> None:
    signals = typer.Typer(help="Surplus signals and prices to a running service.",
                          no_args_is_help=True)
    app.add_typer(signals, name="signals")

    @signals.command("publish")
    @handle_errors
    def publish_cmd(
        day: str = typer.Option(..., "--day", help="Scenario day, YYYY-MM-DD."),
        url: str = typer.Option(..., "--url", help="Service base URL, e.g. http://127.0.0.1:8000."),
        scenario: str = typer.Option(None, "--scenario", "-s",
                                     help="Scenario folder or built-in name (default: pakistan-2025)."),
        publish_date: str = typer.Option(None, "--publish-date",
                                         help="Calendar day the signals are for (default: --day)."),
        token: str = typer.Option(None, "--token", envvar="OFFTAKE_TOKEN",
                                  help="Bearer token of a grid operator (or use --client-id/--secret)."),
        client_id: str = typer.Option(None, "--client-id", help="Grid-operator client id."),
        secret: str = typer.Option(None, "--secret", envvar="OFFTAKE_CLIENT_SECRET",
                                   help="Its client secret."),
        resolution_minutes: int = typer.Option(60, "--interval-minutes",
                                               help="Schedule interval: 60 or 15."),
        plan_resolution_h: int = typer.Option(3, "--resolution",
                                              help="Hours per plan snapshot for the prices."),
        adder_usd_per_mwh: float = typer.Option(0.0, "--adder-usd-per-mwh",
                                                help="Added to the nodal marginal cost."),
        floor_usd_per_mwh: float = typer.Option(None, "--floor-usd-per-mwh",
                                                help="Lowest price published."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be posted."),
    ) -> None:
        """Post a scenario day's forecast surplus and prices to a running service."""
        import json
        import math

        from offtake.errors import InputError
        from offtake.scenario.io import load_scenario

        problems = []
        try:
            the_day = date.fromisoformat(day)
        except ValueError:
            raise InputError(f"--day '{day}' is not a date YYYY-MM-DD") from None
        try:
            target = date.fromisoformat(publish_date) if publish_date else the_day
        except ValueError:
            raise InputError(f"--publish-date '{publish_date}' is not a date YYYY-MM-DD") from None
        if resolution_minutes not in (15, 60):
            problems.append("--interval-minutes must be 15 or 60")
        if plan_resolution_h not in (1, 2, 3, 4, 6, 8, 12, 24):
            problems.append("--resolution must divide 24 (1, 2, 3, 4, 6, 8, 12 or 24)")
        if not math.isfinite(adder_usd_per_mwh) or abs(adder_usd_per_mwh) > 1e5:
            problems.append("--adder-usd-per-mwh must be a finite number of at most 1e5")
        if floor_usd_per_mwh is not None and (not math.isfinite(floor_usd_per_mwh)
                                              or abs(floor_usd_per_mwh) > 1e5):
            problems.append("--floor-usd-per-mwh must be a finite number of at most 1e5")
        if not url.startswith(("http://", "https://")):
            problems.append(f"--url '{url}' must start with http:// or https://")
        if not dry_run and not token and not (client_id and secret):
            problems.append("give --token, or --client-id and --secret (a grid operator)")
        if problems:
            raise InputError("signals publish: " + "; ".join(problems))

        sc = load_scenario(scenario)
        tz = sc.config.timezone if hasattr(sc.config, "timezone") else "Asia/Karachi"
        hostable, price = day_frames(sc, the_day, plan_resolution_h)
        price_out = price + adder_usd_per_mwh
        if floor_usd_per_mwh is not None:
            price_out = price_out.clip(lower=floor_usd_per_mwh)
        from zoneinfo import ZoneInfo

        start = datetime.combine(target, time(0), tzinfo=ZoneInfo(str(tz)))
        signals_body = {"signals": [
            {"region_id": r, "interval_start": (start + timedelta(hours=h)).isoformat(),
             "interval_end": (start + timedelta(hours=h + 1)).isoformat(),
             "available_mw": round(float(max(hostable[r].iloc[h], 0.0)), 3), "kind": "forecast"}
            for r in hostable.columns for h in range(24)]}
        per_hour = 60 // resolution_minutes
        prices = [{"region_id": r, "currency": "USD", "units": "MWH",
                   "values": [round(float(v), 3) for v in price_out[r].to_numpy()
                              for _ in range(per_hour)]} for r in price_out.columns]
        dayahead_body = {"day": target.isoformat(), "timezone": str(tz),
                         "resolution_minutes": resolution_minutes, "prices": prices}
        if dry_run:
            console.print_json(json.dumps({"signals": signals_body, "day_ahead": dayahead_body}))
            return
        out = _post_all(url.rstrip("/"), token, client_id, secret, signals_body, dayahead_body)
        console.print(f"posted {len(signals_body['signals'])} forecast signals for {target} "
                      f"({len(hostable.columns)} regions x 24 h); published {out['site_events']} "
                      f"site schedules and {out['price_events']} price events "
                      f"({out['intervals']} intervals of {resolution_minutes} min)")


def _post_all(url: str, token: str | None, client_id: str | None, secret: str | None,
              signals_body: dict[str, Any], dayahead_body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    from offtake.errors import InputError

    def fail(what: str, resp: httpx.Response) -> InputError:
        try:
            detail = resp.json().get("detail") or resp.json().get("error_description")
        except ValueError:
            detail = resp.text[:300]
        return InputError(f"{what}: HTTP {resp.status_code}: {detail}")

    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            if not token:
                r = http.post("/openadr3/3.1.0/auth/token", data={
                    "grant_type": "client_credentials", "client_id": client_id,
                    "client_secret": secret})
                if r.status_code != 200:
                    raise fail("token request refused", r)
                token = r.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            r = http.post("/api/v1/surplus-signals", json=signals_body, headers=headers)
            if r.status_code != 201:
                raise fail("posting the forecast signals failed", r)
            r = http.post("/api/v1/openadr/day-ahead", json=dayahead_body, headers=headers)
            if r.status_code != 201:
                raise fail("publishing the day-ahead schedule failed", r)
            out: dict[str, Any] = r.json()
            return out
    except httpx.HTTPError as exc:
        raise InputError(f"cannot reach the service at {url}: {exc}") from None
