"""``offtake sandbox run``: the service and real agents on a scenario's surplus (docs/sandbox.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from offtake.commands._common import console, handle_errors


def register(app: typer.Typer) -> None:
    sandbox = typer.Typer(help="Run the programme end to end on a compressed clock.",
                          no_args_is_help=True)
    app.add_typer(sandbox, name="sandbox")

    @sandbox.command("run")
    @handle_errors
    def run_cmd(
        out: Path = typer.Option(..., "--out", help="Folder for the database, logs and report."),  # noqa: B008
        scenario: str = typer.Option("pakistan-2025", "--scenario", help="Scenario name or folder (default: pakistan-2025)."),
        start: str | None = typer.Option(None, "--from", help="First scenario day, YYYY-MM-DD (default: its first day)."),
        days: float = typer.Option(2.0, "--days", help="Simulated days (default: 2)."),
        hours: int | None = typer.Option(None, "--hours", help="Simulated hours (overrides --days)."),
        speed: float = typer.Option(3600.0, "--speed", help="Simulated seconds per wall second (default: 3600)."),
        regions: int = typer.Option(2, "--regions", help="Regions with sites (default: 2)."),
        sites: int = typer.Option(2, "--sites-per-region", help="Sites per region (default: 2)."),
        seed: int = typer.Option(20251125, "--seed", help="Forecast-error seed (default: 20251125)."),
    ) -> None:
        """Real service + one real agent per site, scenario surplus replayed, faults injected."""
        from offtake.errors import InputError
        from offtake.sandbox.run import Options, Sandbox

        n = hours if hours is not None else round(days * 24)
        if n < 5:
            raise InputError("--hours/--days: at least 5 simulated hours (one per injected fault)")
        if not 0 < speed <= 7200:
            raise InputError("--speed: must be in (0, 7200]")
        opt = Options(scenario=scenario, start=start, hours=n, speed=speed, regions=regions,
                      sites_per_region=sites, seed=seed)
        from rich.progress import Progress

        with Progress(console=console) as bar:
            task = bar.add_task("simulated clock", total=n)

            def tick(i: int, total: int, sim: str) -> None:
                bar.update(task, completed=i, description=f"simulated {sim}")
            s = Sandbox(out, opt).run(progress=tick)
        hf = s["households_first"]
        console.print(f"households first: {'passed' if hf['passed'] else 'FAILED'} "
                      f"({len(hf['violations'])} violations); faults recovered: "
                      f"{s['all_faults_recovered']}; telemetry exactly once: {s['exactly_once']}; "
                      f"report {out / 'sandbox.html'}", highlight=False)
        if not (hf["passed"] and s["all_faults_recovered"] and s["exactly_once"]):
            raise typer.Exit(1)
