"""`offtake plan`: where to site how many MW of flexible loads, and how they run."""

from __future__ import annotations

from pathlib import Path

import typer

from offtake.commands._common import console, handle_errors, write_files
from offtake.defaults import DEFAULT_RESOLUTION


def parse_resolution(text: str) -> int:
    """'3h' or '3' -> 3 (hours per snapshot)."""
    from offtake.errors import InputError

    t = text.strip().lower().removesuffix("h")
    if not t.isdigit() or int(t) < 1:
        raise InputError(f"--resolution must be hours such as 1h or 3h; got {text!r}")
    return int(t)


def register(app: typer.Typer) -> None:
    @app.command("plan")
    @handle_errors
    def plan_cmd(
        scenario: str = typer.Option(None, "--scenario", "-s", help="Scenario folder or built-in name (default: pakistan-2025)."),
        out: Path = typer.Option(Path("offtake-out/plan"), "--out", "-o", help="Folder for CSV, JSON and PNG results."),
        resolution: str = typer.Option(DEFAULT_RESOLUTION, "--resolution", "-r", help="Hours per plan snapshot: 1h is the full year (slow), 3h averages three hours."),
        days: int = typer.Option(None, "--days", help="Plan on N representative days instead (a multiple of 12; fastest)."),
        cap_mw: float = typer.Option(None, "--cap-mw", help="National programme cap [MW] (default: the scenario's)."),
        export_pypsa: Path = typer.Option(None, "--export-pypsa", help="Also write the planning problem as a PyPSA netCDF file (.nc)."),
        plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
        baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also solve without flexible loads."),
        allow_unserved: bool = typer.Option(False, "--allow-unserved", help="Plan even when the scenario cannot serve its own demand (else exit 2 naming regions and hours)."),
    ) -> None:
        """Site MW of mining and AI data centres per region; dispatch, prices, curtailment."""
        import math

        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from offtake.errors import InputError
        from offtake.plan import PlanOptions, plan, plan_inputs, write_netcdf
        from offtake.scenario import load_scenario

        if cap_mw is not None and not (math.isfinite(cap_mw) and cap_mw >= 0):
            raise InputError(f"--cap-mw must be a non-negative number of MW; got {cap_mw}")
        if export_pypsa is not None and export_pypsa.suffix != ".nc":
            raise InputError(f"--export-pypsa must name a .nc file; got {export_pypsa}")
        opts = PlanOptions(resolution_h=parse_resolution(resolution), days=days, programme_cap_mw=cap_mw,
                           baseline=baseline, allow_unserved=allow_unserved)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                      transient=True) as prog:
            task = prog.add_task("loading scenario")
            sc = load_scenario(scenario)
            res = plan(sc, opts, progress=lambda msg: prog.update(task, description=msg))
            prog.update(task, description="writing results")
            files = result_files(res, plots)
            write_files(out, files)  # all or nothing
            if export_pypsa is not None:
                import logging
                import warnings

                prog.update(task, description="writing PyPSA network")
                logging.getLogger("pypsa").setLevel(logging.WARNING)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)
                    write_netcdf(plan_inputs(sc, opts, res), str(export_pypsa))
        print_summary(res)
        console.print(f"\nwrote {len(files)} files to [bold]{out}[/]"
                      + (f" and the PyPSA network to [bold]{export_pypsa}[/]" if export_pypsa else ""))


def result_files(res: object, plots: bool = True) -> dict[str, bytes | str]:
    from offtake.plan import PlanResult

    assert isinstance(res, PlanResult)
    cons = res.consumption_mw.copy()
    cons.columns = [f"{r}:{f}" for r, f in cons.columns]
    files: dict[str, bytes | str] = {
        "summary.json": res.to_json(),
        "capacity_mw.csv": res.capacity_mw.round(3).to_csv(),
        "sites.csv": res.flex_summary().round(4).to_csv(index=False),
        "by_type.csv": res.by_type().round(4).to_csv(),
        "generation_by_fuel.csv": res.fuel_mix().round(3).to_csv(),  # fuel,baseline_mwh_per_year,with_flex_mwh_per_year
        "generation_cost_by_fuel.csv": res.generation_by_fuel().round(4).to_csv(),
        "free_energy_by_fuel.csv": res.free_table().round(3).to_csv(index=False),  # spill, curtailment, unused take-or-pay
        "consumption_mw.csv": cons.round(3).to_csv(index_label="snapshot"),
        "dispatch_mw.csv": res.dispatch_mw.round(3).to_csv(index_label="snapshot"),
        "flow_mw.csv": res.flow_mw.round(3).to_csv(index_label="snapshot"),
        "price_usd_per_mwh.csv": res.price_usd_per_mwh.round(4).to_csv(index_label="snapshot"),
        "unserved_mw.csv": res.unserved_mw.round(6).to_csv(index_label="snapshot"),
        "weight_h.csv": res.weight_h.to_csv(index_label="snapshot"),
    }
    if plots:
        from offtake.plan.plots import all_pngs

        files.update(all_pngs(res))
    return files


def print_summary(res: object) -> None:
    from rich.table import Table

    from offtake.plan import PlanResult

    assert isinstance(res, PlanResult)
    t = Table(title=f"Flexible MW by region and type ({res.scenario_name}, {res.resolution})")
    t.add_column("region")
    for f in res.capacity_mw.columns:
        t.add_column(f"{f} MW", justify="right")
    t.add_column("total MW", justify="right")
    for reg, row in res.capacity_mw.iterrows():
        t.add_row(str(reg), *[f"{v:,.1f}" for v in row], f"{row.sum():,.1f}")
    tot = res.capacity_mw.sum()
    t.add_row("[bold]total[/]", *[f"[bold]{v:,.1f}[/]" for v in tot], f"[bold]{tot.sum():,.1f}[/]")
    console.print(t)
    bt = res.by_type()
    if not bt.empty:
        t2 = Table(title="Per type")
        for c in ("type", "MW", "GWh/yr", "curtailed h/yr", "curtailment rate"):
            t2.add_column(c, justify="right")
        for f, row in bt.iterrows():
            t2.add_row(str(f), f"{row.capacity_mw:,.1f}", f"{row.energy_mwh_per_year / 1e3:,.0f}",
                       f"{row.curtailed_hours_per_year:,.0f}", f"{row.curtailment_rate:.2%}")
        console.print(t2)
    s = res.summary()
    console.print(f"objective {res.objective_usd:,.0f} USD (minimised system cost minus flexible value); value "
                  f"created by flexible loads {res.net_value_usd_per_year:,.0f} USD/yr; "
                  f"unserved household energy {res.unserved_mwh:,.3f} MWh; extra generation cost "
                  f"{s['extra_generation_cost_usd_per_year']:,.0f} USD/yr; utilisation "
                  f"{s['utilisation_before']:.1%} -> {s['utilisation_after']:.1%}")
    for note in res.rounded_sites:
        console.print(f"[yellow]min site:[/] {note}")
