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


def register(app: typer.Typer) -> None:
    @app.command("assess")
    @handle_errors
    def assess_cmd(
        scenario: str = typer.Option(None, "--scenario", "-s", help="Scenario folder or built-in name [default: pakistan-2025]."),
        out: Path = typer.Option(Path("offtake-out/assess"), "--out", "-o", help="Folder for CSV, JSON and PNG results."),
        rates: str = typer.Option("0.25,0.5,1,5", "--rates", help="Curtailment rates for headroom, in percent."),
        plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
    ) -> None:
        """How much surplus is there, in which region, in which hours."""
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from offtake.scenario import load_scenario
        from offtake.surplus import assess

        r = parse_rates(rates)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True) as prog:
            t = prog.add_task("loading scenario")
            sc = load_scenario(scenario)
            prog.update(t, description="assessing surplus (transport LP, min-cut, headroom)")
            res = assess(sc, r)
            prog.update(t, description="writing results")
            with output_dir(out) as staged:  # all or nothing
                written = [out / p.name for p in write_results(res, staged, plots)]
        print_summary(res)
        console.print(f"\nwrote {len(written)} files to [bold]{out}[/]")


def write_results(res: object, out: Path, plots: bool = True) -> list[Path]:
    from offtake.surplus import SurplusResult

    assert isinstance(res, SurplusResult)
    files = {
        "surplus_hourly.csv": res.hostable_mw.assign(NATIONAL=res.national_mw).round(2).to_csv(index_label="snapshot"),
        "surplus_long.csv": res.to_frame().round({c: 3 for c in ("available_mw", "demand_mw", "local_surplus_mw", "hostable_mw", "national_split_mw")}).to_csv(index=False),
        "surplus_duration_curves.csv": res.duration_curves().round(2).to_csv(),
        "surplus_available_at_least.csv": res.available_at_least().round(1).to_csv(index_label="region"),
        "surplus_month_hour_national.csv": res.month_hour().round(1).to_csv(),
        "headroom_by_region.csv": res.headroom_frame().round(4).to_csv(index=False),
        "surplus_summary.json": res.to_json(),
    }
    written = []
    for name, text in files.items():
        write_atomic(out / name, text)
        written.append(out / name)
    if plots:
        from offtake.report.surplus_plots import all_plots

        written += all_plots(res, out)
    return written


def print_summary(res: object) -> None:
    from rich.table import Table

    from offtake.surplus import SurplusResult

    assert isinstance(res, SurplusResult)
    at = res.available_at_least()
    tab = Table(title=f"Surplus for new interruptible load - {res.scenario_name} (MW; households and {res.reserve_margin:.0%} reserve served first)")
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
