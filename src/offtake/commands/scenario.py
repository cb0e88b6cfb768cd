"""`offtake scenario validate|export|import-pypsa|list`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from offtake.commands._common import console, handle_errors


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Check, list and copy scenarios.", no_args_is_help=True)

    @sub.command("validate")
    @handle_errors
    def validate(path: str = typer.Argument(..., help="Scenario folder (or a built-in name).")) -> None:
        """Check a scenario folder; list every problem (file, line, column, rule)."""
        from offtake.scenario import load_scenario

        s = load_scenario(path)
        d = s.demand_mw.sum(axis=1)
        console.print(
            f"[green]ok[/] scenario [bold]{s.name}[/]: {len(s.regions)} regions, {len(s.generators)} generators "
            f"({s.generators['capacity_mw'].sum():,.0f} MW), {len(s.lines)} lines, {len(s.snapshots):,} hours, "
            f"peak demand {d.max():,.0f} MW, energy {d.sum() / 1e3:,.0f} GWh"
        )

    @sub.command("export")
    @handle_errors
    def export(name: str = typer.Argument(..., help="Built-in scenario name, e.g. pakistan-2025."),
               dest: Path = typer.Argument(..., help="Folder to create."),
               force: bool = typer.Option(False, "--force", help="Replace a non-empty folder.")) -> None:
        """Copy a built-in scenario out to a folder to edit it."""
        from offtake.scenario import export_scenario

        out = export_scenario(name, dest, overwrite=force)
        console.print(f"[green]exported[/] {name} to {out}")

    @sub.command("import-pypsa")
    @handle_errors
    def import_pypsa(network: Path = typer.Argument(..., help="PyPSA network: a .nc file or a folder of PyPSA CSV files."),
                     dest: Path = typer.Argument(..., help="Scenario folder to create."),
                     carrier_map: str = typer.Option(None, "--carrier-map", help="Fuel of PyPSA carriers the built-in "
                                                     "table lacks, e.g. 'Waste=oil,Other=gas'; '*=FUEL' for all the rest."),
                     timezone: str = typer.Option(None, "--timezone", help="IANA time zone of naive snapshots (default: UTC)."),
                     start: str = typer.Option(None, "--start", help="First hour when the snapshots are not timestamps."),
                     voll: float = typer.Option(None, "--voll", help="Value of lost load [USD/MWh] (default: the "
                                                "network's load-shedding cost, else max(10,000, 2 x top marginal cost))."),
                     name: str = typer.Option(None, "--name", help="Scenario name (default: from the file name)."),
                     force: bool = typer.Option(False, "--force", help="Replace a non-empty folder.")) -> None:
        """Read a PyPSA network into a scenario folder (lines become transport corridors: no KVL)."""
        import math

        from offtake.errors import InputError
        from offtake.scenario.pypsa_import import (
            REPORT_FILE,
            ImportOptions,
            import_network,
            parse_carrier_map,
        )

        if voll is not None and not (math.isfinite(voll) and voll > 0):
            raise InputError(f"--voll must be a positive number of USD/MWh; got {voll}")
        opts = ImportOptions(carrier_map=parse_carrier_map(carrier_map), timezone=timezone, start=start,
                             voll_usd_per_mwh=voll, name=name)
        out, rep = import_network(network, dest, opts, overwrite=force)
        c = rep.counts
        console.print(f"[green]imported[/] {network} to {out}: {c['regions']} regions, {c['generators']} generators, "
                      f"{c['lines']} corridors, {c['hours']:,} hourly rows")
        for s in rep.notes:
            console.print(f"note: {s}", highlight=False, markup=False)
        for s in rep.approximated:
            console.print(f"[yellow]approximated:[/] {escape(s)}", highlight=False)
        for s in rep.not_supported:
            console.print(f"[yellow]not supported:[/] {escape(s)}", highlight=False)
        console.print(f"this list is also in {out / REPORT_FILE}", highlight=False)

    @sub.command("list")
    def list_() -> None:
        """List built-in scenarios."""
        from offtake.scenario import builtin_names

        for n in builtin_names():
            console.print(n)

    app.add_typer(sub, name="scenario")
