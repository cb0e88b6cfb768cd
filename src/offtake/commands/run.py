"""`offtake run`: scenario -> surplus -> plan -> value -> risk -> report, in one command.

Besides the report it writes ``run.yaml`` (the resolved options; ``offtake run --config
run.yaml`` reruns the same job), the plan's tables under the names `offtake plan` uses,
and ``tables.xlsx`` (every CSV table as one sheet).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from offtake.commands._common import console, handle_errors, output_dir, write_atomic
from offtake.defaults import DEFAULT_RESOLUTION, DEFAULT_SEED

# run.yaml keys -> CLI parameter names (one name per option, as on the command line)
CONFIG_KEYS = ("scenario", "out", "resolution", "days", "tariff", "cap_mw", "paths", "seed", "export_pypsa",
               "allow_unserved")


def read_config(path: Path) -> dict[str, Any]:
    """Options from a run.yaml (as `offtake run` writes it); unknown keys are an error."""
    from offtake.errors import InputError
    from offtake.scenario.yamlsafe import load_yaml

    if not path.is_file():
        raise InputError(f"--config {path}: no such file")
    data = load_yaml(path, label=f"--config {path}")  # bounded: size, depth, no aliases, duplicate keys refused
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"--config {path}: expected a mapping of option: value")
    unknown = sorted(set(data) - set(CONFIG_KEYS) - {"offtake_version"})
    if unknown:
        raise InputError(f"--config {path}: unknown key {', '.join(unknown)}; known keys: {', '.join(CONFIG_KEYS)}")
    return {k: v for k, v in data.items() if k in CONFIG_KEYS}


def config_yaml(values: dict[str, Any]) -> str:
    """run.yaml text: the resolved options, rerunnable with `offtake run --config run.yaml`."""
    import yaml

    from offtake import __version__

    head = ("# Resolved options of this run. Rerun it with: offtake run --config run.yaml\n"
            "# (options given on the command line as well override this file)\n")
    body = {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items()}
    return head + yaml.safe_dump({**body, "offtake_version": __version__}, sort_keys=False)


def register(app: typer.Typer) -> None:
    @app.command("run")
    @handle_errors
    def run_cmd(
        ctx: typer.Context,
        scenario: str = typer.Option(None, "--scenario", "-s", help="Scenario folder or built-in name (default: pakistan-2025)."),
        out: Path = typer.Option(Path("offtake-out/run"), "--out", "-o", help="Folder for report.html, PNG, CSV, tables.xlsx, summary.json and run.yaml."),
        resolution: str = typer.Option(DEFAULT_RESOLUTION, "--resolution", "-r", help="Hours per plan snapshot: 1h is the full year (slow), 3h averages three hours."),
        days: int = typer.Option(None, "--days", help="Plan on N representative days instead (a multiple of 12; fastest)."),
        tariff: float = typer.Option(None, "--tariff", help="Tariff for flexible loads [PKR/kWh] (default: the scenario's offered tariff)."),
        cap_mw: float = typer.Option(None, "--cap-mw", help="National programme cap [MW] (default: the scenario's)."),
        paths: int = typer.Option(10_000, "--paths", help="Monte Carlo paths for the risk analysis."),
        seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Random seed of the Monte Carlo (same seed, same numbers)."),
        export_pypsa: Path = typer.Option(None, "--export-pypsa", help="Also write the planning problem as a PyPSA netCDF file (.nc)."),
        config: Path = typer.Option(None, "--config", help="Read options from a run.yaml that an earlier run wrote."),
        allow_unserved: bool = typer.Option(False, "--allow-unserved", help="Plan even when the scenario cannot serve its own demand (else exit 2 naming regions and hours)."),
    ) -> None:
        """The main job: a decision report for a scenario (built-in Pakistan by default)."""
        import time

        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from offtake.commands.plan import parse_resolution
        from offtake.errors import InputError
        from offtake.pipeline import STAGES, RunOptions, run
        from offtake.report.decision import write_run

        values: dict[str, Any] = {"scenario": scenario, "out": out, "resolution": resolution, "days": days,
                                  "tariff": tariff, "cap_mw": cap_mw, "paths": paths, "seed": seed,
                                  "export_pypsa": export_pypsa, "allow_unserved": allow_unserved}
        if config is not None:
            given = {k for k in CONFIG_KEYS  # by name: typer may carry its own copy of click's enum
                     if getattr(ctx.get_parameter_source(k), "name", "") == "COMMANDLINE"}
            for k, v in read_config(config).items():
                if k not in given:
                    values[k] = v
            for k in ("out", "export_pypsa"):
                values[k] = None if values[k] is None else Path(values[k])
        scenario, out, resolution, days = values["scenario"], values["out"], str(values["resolution"]), values["days"]
        tariff, cap_mw, paths, seed, export_pypsa = (values[k] for k in ("tariff", "cap_mw", "paths", "seed", "export_pypsa"))
        allow_unserved = bool(values["allow_unserved"])
        hours = parse_resolution(resolution)
        for name, v in (("--tariff", tariff), ("--cap-mw", cap_mw)):
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"{name} must be a non-negative number; got {v}")
        if not isinstance(paths, int) or paths < 100:
            raise InputError(f"--paths must be at least 100 for meaningful percentiles; got {paths}")
        if not isinstance(seed, int):
            raise InputError(f"--seed must be an integer; got {seed!r}")
        if export_pypsa is not None and export_pypsa.suffix != ".nc":
            raise InputError(f"--export-pypsa must name a .nc file; got {export_pypsa}")
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out} exists and is not a folder")
        opts = RunOptions(scenario=scenario, resolution_h=hours, days=days, programme_cap_mw=cap_mw, allow_unserved=allow_unserved,
                          tariff_pkr_per_kwh=tariff, risk_paths=paths, seed=seed)
        labels = {"scenario": "loading and validating the scenario", "surplus": "assessing surplus by region and hour",
                  "plan": f"planning siting and dispatch (linopy + HiGHS, {f'{days} representative days' if days else f'{hours}-hour steps'})",
                  "value": "valuing investor and system views",
                  "risk": f"Monte Carlo risk ({paths:,} paths) and sensitivities"}
        t0 = time.perf_counter()
        with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console) as prog:
            task = prog.add_task("starting", total=len(STAGES) + 1)

            def progress(stage: str, i: int, n: int) -> None:
                prog.update(task, completed=i, description=labels.get(stage, stage))

            result = run(opts, progress)
            prog.update(task, completed=len(STAGES), description="writing report.html, figures and tables")
            with output_dir(out) as staged:  # all or nothing
                written = write_run(result, staged)
                written += write_plan_tables(result, staged, {p.name for p in written})
                write_atomic(staged / "run.yaml", config_yaml(values))
                written.append(staged / "run.yaml")
                written.append(write_workbook(staged))
            if export_pypsa is not None:
                prog.update(task, description="writing the PyPSA network")
                export_network(result, export_pypsa)
            prog.update(task, completed=len(STAGES) + 1, description="done")
        print_summary(result)
        console.print(f"\nwrote {len(written)} files to [bold]{out}[/] in {time.perf_counter() - t0:,.0f} s"
                      + (f" and the PyPSA network to [bold]{export_pypsa}[/]" if export_pypsa else "")
                      + f"; open [bold]{out / 'report.html'}[/] in a browser; rerun with "
                      f"[bold]offtake run --config {out / 'run.yaml'}[/]")


def write_plan_tables(result: Any, out: Path, already: set[str]) -> list[Path]:
    """The plan's tables under the names `offtake plan` gives them (CSV only; no second summary)."""
    from offtake.commands.plan import result_files

    written = []
    for name, data in result_files(result.plan, plots=False).items():
        if name.endswith(".csv") and name not in already:
            write_atomic(out / name, data)
            written.append(out / name)
    return written


def write_workbook(out: Path) -> Path:
    """Every CSV in ``out`` as one sheet of ``tables.xlsx`` (sheet names cut to Excel's 31 characters)."""
    import io

    import pandas as pd

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for f in sorted(out.glob("*.csv")):
            frame = pd.read_csv(f)
            frame.to_excel(xw, sheet_name=f.stem[:31], index=False)
    write_atomic(out / "tables.xlsx", buf.getvalue())
    return out / "tables.xlsx"


def export_network(result: Any, path: Path) -> None:
    import logging
    import warnings

    from offtake.plan import PlanOptions, plan_inputs, write_netcdf

    o = result.options
    popts = PlanOptions(resolution_h=o.resolution_h, days=o.days, programme_cap_mw=o.programme_cap_mw)
    logging.getLogger("pypsa").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        write_netcdf(plan_inputs(result.scenario, popts, result.plan), str(path))


def print_summary(result: object) -> None:
    from rich.table import Table

    from offtake.report import planview
    from offtake.report.labels import flex_label

    r = result  # RunResult
    cap = planview.capacity(r.plan)  # type: ignore[attr-defined]
    tab = Table(title=f"MW to offer by region and load type (tariff Rs {r.tariff_pkr_per_kwh:.2f}/kWh)")  # type: ignore[attr-defined]
    tab.add_column("region", overflow="fold")
    for c in cap.columns:
        tab.add_column(f"{flex_label(str(c))} [MW]", justify="right", overflow="fold")
    tab.add_column("total [MW]", justify="right", no_wrap=True)
    for reg, row in cap.iterrows():
        tab.add_row(str(reg), *[f"{v:,.0f}" for v in row], f"{row.sum():,.0f}")
    tab.add_row("TOTAL", *[f"{v:,.0f}" for v in cap.sum()], f"{cap.to_numpy().sum():,.0f}", style="bold")
    console.print(tab)
    val = r.value  # type: ignore[attr-defined]
    vt = Table(title="Does it pay?")
    for c in ("load type", "MW", "uptime", "NPV [M USD]", "break-even tariff [Rs/kWh]", "P(loss)"):
        vt.add_column(c, justify="right", overflow="fold")
    risk = {}
    if r.risk is not None:  # type: ignore[attr-defined]
        risk = {lab: d for lab, d in zip(r.risk_labels, r.risk.distributions)}  # type: ignore[attr-defined]
    for v in val.loads:
        d = risk.get(v.name)
        sited = v.mw > 0 and v.basis == "plan"
        be = v.breakeven_tariff_pkr_per_kwh
        be_text = f"{be:,.2f}" if not math.isnan(be) else ("none >= 0" if sited else "-")
        vt.add_row(flex_label(v.name), f"{v.mw:,.0f}" if sited else "not sited", f"{v.uptime_share:.1%}" if sited else "-",
                   f"{v.npv_usd / 1e6:,.1f}" if sited else "-", be_text, "-" if d is None else f"{d.prob_loss:.0%}")
    vt.caption = ("uptime: share of the year the load draws power; break-even: the tariff at which NPV is zero; "
                  "P(loss): share of Monte Carlo paths with NPV < 0")
    console.print(vt)
    s = val.system
    console.print(f"other consumers' average tariff changes by [bold]{round(s.other_consumers_change_pkr_per_kwh, 2) + 0.0:+.2f} Rs/kWh[/]; "
                  f"contribution to capacity charges {s.contribution_usd_per_year / 1e6:,.0f} M USD/yr; "
                  f"full-cost (IMF) test: {'passed' if s.recovers_full_cost else 'failed'} (full cost Rs {s.full_cost_pkr_per_kwh:.2f}/kWh)")
    em = getattr(r, "emissions", None)
    if em is not None and math.isfinite(em.extra_tco2_per_year) and em.flex_mwh_per_year > 1e-6:
        console.print(f"CO2 of the extra generation: [bold]{em.extra_tco2_per_year / 1e6 + 0.0:,.2f} Mt/yr[/] "
                      f"({em.tco2_per_mwh_drawn:,.2f} tCO2 per MWh the flexible loads draw)")
    elif em is not None:
        console.print("CO2 of the extra generation: none (no flexible load is sited)")
    if getattr(r, "offered", None) is not None or getattr(r, "deal", None) is not None:
        import html
        import re

        from offtake.report import deal_section

        console.print("[bold]The decision[/]")
        for par in deal_section.headline(r):  # the report's headline, in plain text
            console.print(html.unescape(re.sub(r"<[^>]+>", "", par)), markup=False, highlight=False)
