"""`offtake sweep`: plan and value a grid of scenario variants on Dask distributed."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from offtake.commands._common import console, handle_errors, write_files

#: Figures shown in the printed table, when present: (column, header, scale); all are in the files.
_SHOWN = (("total_mw", "MW", 1.0), ("contribution_usd_per_year", "contrib. M USD/yr", 1e-6),
          ("other_consumers_change_pkr_per_kwh", "others Rs/kWh", 1.0))


def _connect(scheduler: str | None, workers: int, n_variants: int, timeout_s: float) -> tuple[Any, Any]:
    """A Dask client: on the given scheduler, else on a new LocalCluster of processes."""
    import logging

    from distributed import Client, LocalCluster

    from offtake.errors import InputError

    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        try:
            return None, Client(scheduler, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    n = max(1, min(workers, n_variants))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, Client(cluster)


def _print_table(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    frame = result.to_frame()
    shown = [(c, h, k) for c, h, k in _SHOWN if c in frame.columns]
    table = Table(title=f"Sweep: {len(frame)} variants, {result.n_failed} failed, "
                        f"{result.wall_s:.1f} s on {result.workers} worker(s)")
    numeric = {h for _, h, _ in shown}
    for col in ("#", *result.axes, "status", *(h for _, h, _ in shown)):
        # headers fold, figures never: a number is never cut at 80 columns
        table.add_column(escape(col), justify="left" if col == "status" else "right", overflow="fold",
                         no_wrap=col in numeric or col == "#")
    for idx, row in frame.head(40).iterrows():
        cells = [str(idx), *(escape(str(row[a])) for a in result.axes)]
        cells.append("ok" if row["status"] == "ok" else "[red]failed[/]")
        for c, _, k in shown:
            v = row[c]
            cells.append("" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * k:,.2f}")
        table.add_row(*cells)
    if len(frame) > 40:
        table.caption = f"first 40 of {len(frame)} rows; all rows are in the CSV/JSON"
    console.print(table)
    failed = frame[frame["status"] == "failed"]
    for error, rows in failed.groupby("error", sort=False):
        ids = ", ".join(map(str, rows.index[:20])) + (" ..." if len(rows) > 20 else "")
        console.print(f"[red]failed[/] variant(s) {ids}: {escape(str(error))}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("sweep")
    @handle_errors
    def sweep(
        grid: Annotated[Path, typer.Option("--grid", "-g", help="grid YAML: axes, plan options")],
        scenario: Annotated[str | None, typer.Option("--scenario", "-s", help="scenario folder or built-in name (default: pakistan-2025).")] = None,
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="address of a running Dask scheduler (tcp://host:8786); default: a LocalCluster")] = None,
        workers: Annotated[int, typer.Option("--workers", "-w", min=1, show_default=False, help="LocalCluster worker processes, 1 thread each (default: the number of CPUs, never more than the variants).")] = os.cpu_count() or 1,
        out: Annotated[Path, typer.Option("--out", "-o", help="folder for sweep.csv, sweep.json, sweep.png")] = Path("offtake-out/sweep"),
        connect_timeout: Annotated[float, typer.Option("--connect-timeout", min=0.1, help="seconds to wait for --scheduler")] = 10.0,
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
        cluster, client = _connect(scheduler, workers, g.n_variants, connect_timeout)
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
        write_files(out, files)  # all or nothing
        console.print(f"wrote {len(files)} files to [bold]{out}[/]")
        if result.all_failed:
            console.print("[red]every variant failed[/]")
            raise typer.Exit(1)
