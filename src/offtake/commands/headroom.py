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
        for c in ("curtailment rate", "headroom MW", "curtailed h/yr", "mean event h (h/transitions)", "mean run h"):
            tab.add_column(c, justify="right")
        for p in res.points:
            tab.add_row(f"{p.rate * 100:g}%", f"{p.headroom_mw:,.1f}", f"{p.curtailed_hours_per_year:,.1f}",
                        f"{p.mean_event_hours:.2f}", f"{p.mean_run_hours:.2f}")
        console.print(tab)
        console.print(f"thresholds: summer {res.summer_threshold_mw:,.1f} MW (Apr-Oct), winter {res.winter_threshold_mw:,.1f} MW (Nov-Mar)", style="dim")
