"""`offtake sweep`: plan and value a grid of scenario variants on Dask distributed."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from offtake.commands._common import console, handle_errors, write_atomic

#: Columns shown in the printed table, when present (all are in the files).
_SHOWN = ("total_mw", "total_mwh_per_year", "contribution_usd_per_year",
          "other_consumers_change_pkr_per_kwh", "window_upper_pkr_per_kwh", "wall_s")


def _connect(scheduler: str | None, workers: int, n_variants: int) -> tuple[Any, Any]:
    """A Dask client: on the given scheduler, else on a new LocalCluster of processes."""
    import logging

    from distributed import Client, LocalCluster

    from offtake.errors import InputError

    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        try:
            return None, Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    n = max(1, min(workers, n_variants))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, Client(cluster)


def _print_table(result: Any) -> None:
    from rich.table import Table

    frame = result.to_frame()
    shown = [c for c in _SHOWN if c in frame.columns]
    table = Table(title=f"Sweep: {len(frame)} variants, {result.n_failed} failed, "
                        f"{result.wall_s:.1f} s on {result.workers} worker(s)")
    for col in ("variant", *result.axes, "status", *shown):
        table.add_column(col, justify="left" if col in ("status",) else "right", no_wrap=True)
    for idx, row in frame.head(40).iterrows():
        cells = [str(idx), *(str(row[a]) for a in result.axes)]
        cells.append("ok" if row["status"] == "ok" else f"[red]failed[/]: {row['error'][:60]}")
        for c in shown:
            v = row[c]
            cells.append("" if v is None or (isinstance(v, float) and math.isnan(v)) else
                         f"{v:,.2f}" if abs(float(v)) < 100 else f"{v:,.0f}")
        table.add_row(*cells)
    if len(frame) > 40:
        table.caption = f"first 40 of {len(frame)} rows; all rows are in the CSV/JSON"
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("sweep")
    @handle_errors
    def sweep(
        grid: Annotated[Path, typer.Option("--grid", "-g", help="grid YAML: axes, plan options")],
        scenario: Annotated[str | None, typer.Option("--scenario", "-s", help="scenario folder or built-in name [default: pakistan-2025]")] = None,
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="address of a running Dask scheduler (tcp://host:8786); default: a LocalCluster")] = None,
        workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="LocalCluster worker processes (1 thread each)")] = os.cpu_count() or 1,
        out: Annotated[Path, typer.Option("--out", "-o", help="folder for sweep.csv, sweep.json, sweep.png")] = Path("offtake-out/sweep"),
    ) -> None:
        """Plan and value every combination of the grid's axes; failed variants are listed, not dropped."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from offtake.errors import InputError
        from offtake.report.sweep_plots import sweep_png
        from offtake.scenario import load_scenario
        from offtake.sweep import check_grid_on, load_grid, run_sweep

        g = load_grid(grid)
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out} exists and is not a folder")
        base = load_scenario(scenario)
        check_grid_on(base, g)
        console.print(f"{g.n_variants} variants of [bold]{base.name}[/] "
                      f"({' x '.join(f'{n} {len(v)}' for n, v in g.axes)})")
        cluster, client = _connect(scheduler, workers, g.n_variants)
        failed = 0
        try:
            with Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                          console=console, transient=False) as progress:
                task = progress.add_task("sweep", total=g.n_variants, failed=0)

                def on_row(row: dict[str, Any]) -> None:
                    nonlocal failed
                    failed += row["status"] == "failed"
                    progress.update(task, advance=1, failed=failed)

                result = run_sweep(base, g, client=client, on_row=on_row)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        _print_table(result)
        files: dict[str, bytes | str] = {"sweep.csv": result.to_frame().to_csv(),
                                         "sweep.json": result.to_json(), "sweep.png": sweep_png(result)}
        for name, data in files.items():
            write_atomic(out / name, data)
        console.print(f"wrote {len(files)} files to [bold]{out}[/]")
        if result.all_failed:
            console.print("[red]every variant failed[/]")
            raise typer.Exit(1)
