"""`offtake headroom FILE.csv`: curtailment-enabled headroom of any hourly demand series."""

from __future__ import annotations

from pathlib import Path

import typer

from offtake.commands._common import console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command("headroom")
    @handle_errors
    def headroom_cmd(
        file: Path = typer.Argument(..., help="CSV with columns timestamp,demand_mw (ISO 8601, hourly)."),
        rates: str = typer.Option("0.25,0.5,1,5", "--rates", help="Curtailment rates in percent."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """Largest flat new load that is curtailed at most r% of its energy (Norris et al., 2025)."""
        from rich.markup import escape
        from rich.table import Table

        from offtake.commands.assess import parse_rates
        from offtake.headroom import curtailment_headroom, read_demand_csv

        r = parse_rates(rates)
        series = read_demand_csv(str(file))
        res = curtailment_headroom(series, r)
        if as_json:
            typer.echo(res.to_json())
            return
        tab = Table(title=f"Curtailment-enabled headroom - {file.name} ({len(res.years)} years, {res.hours:,} hours)")
        for c in ("curtailment rate", "headroom [MW]", "curtailed [h/yr]", "h per start/stop", "h per run"):
            tab.add_column(escape(c), justify="right", overflow="fold")  # '[h/yr]' is not markup
        for p in res.points:
            tab.add_row(f"{p.rate * 100:g}%", f"{p.headroom_mw:,.1f}", f"{p.curtailed_hours_per_year:,.1f}",
                        f"{p.mean_event_hours:.2f}", f"{p.mean_run_hours:.2f}")
        tab.caption = ("curtailment rate: the share of the new load's energy it gives up; headroom: the largest flat "
                       "load that gives up no more; h per start/stop: curtailed hours / start and stop transitions "
                       "(the study's measure); h per run: curtailed hours / runs of consecutive curtailed hours")
        console.print(tab)
        console.print(f"thresholds (the highest existing demand in each peak window; the new load is curtailed by "
                      f"whatever it adds above them): summer "
                      f"{res.summer_threshold_mw:,.1f} MW (Apr-Oct), winter {res.winter_threshold_mw:,.1f} MW (Nov-Mar)",
                      style="dim")
