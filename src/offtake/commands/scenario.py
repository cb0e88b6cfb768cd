"""`offtake scenario validate|export|list`."""

from __future__ import annotations

from pathlib import Path

import typer

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

    @sub.command("list")
    def list_() -> None:
        """List built-in scenarios."""
        from offtake.scenario import builtin_names

        for n in builtin_names():
            console.print(n)

    app.add_typer(sub, name="scenario")
