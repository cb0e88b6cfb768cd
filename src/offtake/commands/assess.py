"""`offtake assess`: surplus by region and hour, with tables, CSV/JSON and plots."""

from __future__ import annotations

from pathlib import Path

import typer

from offtake.commands._common import console, handle_errors, output_dir, write_atomic


def parse_rates(text: str) -> tuple[float, ...]:
    """'0.25,0.5,1,5' (percent) -> (0.0025, 0.005, 0.01, 0.05)."""
    from offtake.errors import InputError

    try:
        vals = tuple(float(x) / 100 for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(f"--rates must be comma-separated percentages such as 0.25,0.5,1,5; got {text!r}") from None
    if not vals or any(not (0 < v < 1) for v in vals):
        raise InputError(f"--rates must be percentages between 0 and 100 (exclusive); got {text!r}")
    return vals


def parse_bands(text: str) -> tuple[float, ...]:
    """'0,40,60,80,120' (USD/MWh, cumulative upper limits) -> (0.0, 40.0, ...); 0 = the free band, always included."""
    import math

    from offtake.errors import InputError

    parts = [x.strip() for x in text.split(",")]
    try:
        vals = [float(x) for x in parts if x]
    except ValueError:
        raise InputError(f"--bands must be comma-separated USD/MWh figures such as 0,40,60,80,120; got {text!r}") from None
    bad = [v for v in vals if not math.isfinite(v) or v < 0 or v > 10000]
    if not vals or bad or "" in parts:
        raise InputError(f"--bands must list cost limits between 0 and 10000 USD/MWh, comma-separated, no empty entries; got {text!r}")
    if len(set(vals)) != len(vals):
        raise InputError(f"--bands lists a limit twice; got {text!r}")
    return tuple(sorted({0.0, *vals}))


def register(app: typer.Typer) -> None:
    @app.command("assess")
    @handle_errors
    def assess_cmd(
        scenario: str = typer.Option(None, "--scenario", "-s", help="Scenario folder or built-in name (default: pakistan-2025)."),
        out: Path = typer.Option(Path("offtake-out/assess"), "--out", "-o", help="Folder for CSV, JSON and PNG results."),
        rates: str = typer.Option("0.25,0.5,1,5", "--rates", help="Curtailment rates for headroom, in percent."),
        bands: str = typer.Option("0,40,60,80,120", "--bands",
                                  help="Cost bands in USD/MWh (cumulative: energy at <= each figure; 0 = free energy)."),
        plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
        long_table: bool = typer.Option(False, "--long-table", help="Also write surplus_long.csv (every hour x region; 4.5 MB for a year)."),
    ) -> None:
        """How much surplus is there, in which region, in which hours, and at what cost."""
        r = parse_rates(rates)
        b = parse_bands(bands)
        worker = PlotWorker() if plots else None  # imports matplotlib while the surplus is computed
        try:
            _run(scenario, out, r, b, plots, long_table, worker)
        finally:
            if worker is not None:
                worker.close()


def _run(scenario: str | None, out: Path, r: tuple[float, ...], b: tuple[float, ...], plots: bool, long_table: bool,
         worker: PlotWorker | None) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from offtake.scenario import load_scenario
    from offtake.surplus import assess

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True) as prog:
        t = prog.add_task("loading scenario")
        sc = load_scenario(scenario)
        prog.update(t, description="assessing surplus (baseline dispatch, cost bands, min-cut, headroom)")
        res = assess(sc, r, b)
        prog.update(t, description="writing results")
        with output_dir(out) as staged:  # all or nothing
            written = [out / p.name for p in write_results(res, staged, plots, long_table, worker)]
    print_summary(res)
    console.print(f"\nwrote {len(written)} files to [bold]{out}[/]")


def _free_core() -> bool:
    """True when the machine has a core to spare (1-minute load average below cores - 1)."""
    import os

    try:
        return os.getloadavg()[0] < (os.cpu_count() or 1) - 1
    except OSError:
        return False


class PlotWorker:
    """Draws the PNGs in a forked process while this one computes and writes the tables.

    Started before the assessment so that importing matplotlib overlaps with it; the
    result travels through a pipe.  Where ``fork`` is not available, or no core is free
    (measured on the shared 2-core machine: the child's imports then slow the parent more
    than the overlap saves), it draws in-process.
    """

    def __init__(self) -> None:
        import multiprocessing as mp

        self.proc = None
        if "fork" not in mp.get_all_start_methods() or not _free_core():
            return  # drawn in-process: without a free core the child only slows the parent down
        ctx = mp.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_plot_worker_main, args=(child,), daemon=True)
        self.proc.start()
        child.close()

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.terminate()
        self.conn.close()
        self.proc = None


def _plot_worker_main(conn: object) -> None:  # pragma: no cover - runs in the forked child
    try:
        from offtake.report import surplus_plots  # the slow import, while the parent computes

        job = conn.recv()  # type: ignore[attr-defined]
        if job is None:
            return
        res, out = job
        paths = surplus_plots.all_plots(res, Path(out))
        conn.send(("ok", [str(p) for p in paths]))  # type: ignore[attr-defined]
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which redraws to raise it
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))  # type: ignore[attr-defined]
        except OSError:
            pass


def write_results(res: object, out: Path, plots: bool = True, long_table: bool = False,
                  worker: PlotWorker | None = None) -> list[Path]:
    """Write the tables (and PNGs) of an assessment into ``out``; returns the paths written."""
    import pandas as pd

    from offtake.surplus import SurplusResult

    assert isinstance(res, SurplusResult)
    if plots and worker is not None and worker.proc is not None:
        worker.conn.send((res, str(out)))  # the child draws while the tables are written
        pending = True
    else:
        pending = False
    files = {
        "surplus_hourly.csv": res.hostable_mw.assign(NATIONAL=res.national_mw).round(2).to_csv(index_label="snapshot"),
        "surplus_duration_curves.csv": res.duration_curves().round(2).to_csv(),
        "surplus_available_at_least.csv": res.available_at_least().round(1).to_csv(index_label="region"),
        "surplus_month_hour_national.csv": res.month_hour().round(1).to_csv(),
        "headroom_by_region.csv": res.headroom_frame().round(4).to_csv(index=False),
        "surplus_summary.json": res.to_json(),
    }
    if long_table:
        files["surplus_long.csv"] = res.to_frame().round(
            {c: 3 for c in ("available_mw", "demand_mw", "local_surplus_mw", "hostable_mw", "national_split_mw")}).to_csv(index=False)
    if res.by_cost is not None:
        files["surplus_by_cost.csv"] = res.by_cost.table().round(
            {"mwh_per_year": 0, "mw_in_95pct_of_hours": 1, "hours_per_year": 0}).to_csv(index=False)
        files["surplus_free_month_hour.csv"] = pd.concat(res.by_cost.month_hour(0.0), names=["region"]).round(1).to_csv()
    written = []
    for name, text in files.items():
        write_atomic(out / name, text)
        written.append(out / name)
    if plots:
        if pending:
            assert worker is not None
            status, payload = worker.conn.recv()
            worker.close()
            if status == "ok":
                return written + [Path(p) for p in payload]
        from offtake.report.surplus_plots import all_plots

        written += all_plots(res, out)  # no worker, or it failed: draw here (its error surfaces)
    return written


def print_summary(res: object) -> None:
    from rich.table import Table

    from offtake.surplus import SurplusResult

    assert isinstance(res, SurplusResult)
    at = res.available_at_least()
    if res.by_cost is not None:
        print_cost_bands(res)
    tab = Table(title=f"Surplus at ANY COST (capacity: every plant at full availability) - {res.scenario_name} "
                      f"(MW; households and {res.reserve_margin:.0%} reserve served first)")
    tab.add_column("region")
    tab.add_column("mean", justify="right")
    for c in at.columns:
        tab.add_column(f"in {c[1:3]}% of hours", justify="right")
    tab.add_column("headroom @0.5% curt.", justify="right")
    for region in at.index:
        mean = res.national_mw.mean() if region == "NATIONAL" else res.hostable_mw[region].mean()
        hr = res.headroom.get(region)
        h05 = next((p.headroom_mw for p in hr.points if abs(p.rate - 0.005) < 1e-12), None) if hr else None
        tab.add_row(region, f"{mean:,.0f}", *[f"{v:,.0f}" for v in at.loc[region]], "-" if h05 is None else f"{h05:,.0f}",
                    style="bold" if region == "NATIONAL" else None)
    console.print(tab)
    console.print("Regional figures are what a region could host on its own (corridor-limited); they do not add up to the national figure.", style="dim")
    short = res.household_shortfall_mw
    if (short > 1e-6).any():
        console.print(f"[yellow]warning:[/] households short in {(short > 1e-6).sum()} hours ({short.sum():,.0f} MWh) even without new load")


def print_cost_bands(res: object) -> None:
    """Terminal table: energy a new load could take at <= each cost band, per region and NATIONAL."""
    from rich.table import Table

    from offtake.surplus import SurplusResult

    assert isinstance(res, SurplusResult) and res.by_cost is not None
    cb = res.by_cost
    t = cb.table()
    tab = Table(title=f"Surplus BY COST - {res.scenario_name}: what a new load could take at <= each cost [USD/MWh], "
                      "TWh/yr | MW in 95% of hours (cumulative bands; free = spill, curtailment, unused take-or-pay)")
    tab.add_column("region", no_wrap=True)
    for b in cb.bands_usd_per_mwh:
        tab.add_column("free" if b <= 0 else f"<= {b:g}", justify="right", no_wrap=True)
    for region, part in t.groupby("region", sort=False):
        tab.add_row(str(region), *[f"{row.mwh_per_year / 1e6:,.2f}|{round(row.mw_in_95pct_of_hours, -1):,.0f}"
                                   for row in part.itertuples()],
                    style="bold" if region == "NATIONAL" else None)
    console.print(tab)
    console.print("Regional rows: a region alone (corridor-limited; they do not add up). NATIONAL: the whole system. "
                  "Method: docs/surplus.md.", style="dim")
