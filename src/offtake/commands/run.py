"""`offtake run`: scenario -> surplus -> plan -> value -> risk -> report, in one command."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from offtake.commands._common import console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command("run")
    @handle_errors
    def run_cmd(
        scenario: str = typer.Option(None, "--scenario", "-s", help="Scenario folder or built-in name [default: pakistan-2025]."),
        out: Path = typer.Option(Path("offtake-out/run"), "--out", "-o", help="Folder for report.html, PNG, CSV and summary.json."),
        resolution: str = typer.Option("3h", "--resolution", "-r", help="Hours per plan snapshot: 1h (full year, slow), 3h (default)."),
        days: int = typer.Option(None, "--days", help="Plan on representative days instead (multiple of 12; fastest)."),
        tariff: float = typer.Option(None, "--tariff", help="Tariff for flexible loads [PKR/kWh; default: the scenario's offered tariff]."),
        cap_mw: float = typer.Option(None, "--cap-mw", help="National programme cap [MW; default: the scenario's]."),
        paths: int = typer.Option(10_000, "--paths", help="Monte Carlo paths for the risk analysis."),
        seed: int = typer.Option(20251125, "--seed", help="Random seed (results are reproducible)."),
    ) -> None:
        """The main job: a decision report for a scenario (built-in Pakistan by default)."""
        import time

        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from offtake.commands.plan import parse_resolution
        from offtake.errors import InputError
        from offtake.pipeline import STAGES, RunOptions, run
        from offtake.report.decision import write_run

        hours = parse_resolution(resolution)
        for name, v in (("--tariff", tariff), ("--cap-mw", cap_mw)):
            if v is not None and not (math.isfinite(v) and v >= 0):
                raise InputError(f"{name} must be a non-negative number; got {v}")
        if paths < 100:
            raise InputError(f"--paths must be at least 100 for meaningful percentiles; got {paths}")
        opts = RunOptions(scenario=scenario, resolution_h=hours, days=days, programme_cap_mw=cap_mw,
                          tariff_pkr_per_kwh=tariff, risk_paths=paths, seed=seed)
        labels = {"scenario": "loading and validating the scenario", "surplus": "assessing surplus by region and hour",
                  "plan": f"planning siting and dispatch (linopy + HiGHS, {f'{days} representative days' if days else resolution})", "value": "valuing investor and system views",
                  "risk": f"Monte Carlo risk ({paths:,} paths) and sensitivities"}
        t0 = time.perf_counter()
        with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console) as prog:
            task = prog.add_task("starting", total=len(STAGES) + 1)

            def progress(stage: str, i: int, n: int) -> None:
                prog.update(task, completed=i, description=labels.get(stage, stage))

            result = run(opts, progress)
            prog.update(task, completed=len(STAGES), description="writing report.html, figures and tables")
            written = write_run(result, out)
            prog.update(task, completed=len(STAGES) + 1, description="done")
        print_summary(result)
        console.print(f"\nwrote {len(written)} files to [bold]{out}[/] in {time.perf_counter() - t0:,.0f} s; open [bold]{out / 'report.html'}[/] in a browser")


def print_summary(result: object) -> None:
    from rich.table import Table

    from offtake.report import planview

    r = result  # RunResult
    cap = planview.capacity(r.plan)  # type: ignore[attr-defined]
    tab = Table(title=f"MW to offer by region and load type (tariff Rs {r.tariff_pkr_per_kwh:.2f}/kWh)")  # type: ignore[attr-defined]
    tab.add_column("region")
    for c in cap.columns:
        tab.add_column(str(c), justify="right")
    tab.add_column("total", justify="right")
    for reg, row in cap.iterrows():
        tab.add_row(str(reg), *[f"{v:,.0f}" for v in row], f"{row.sum():,.0f}")
    tab.add_row("TOTAL", *[f"{v:,.0f}" for v in cap.sum()], f"{cap.to_numpy().sum():,.0f}", style="bold")
    console.print(tab)
    val = r.value  # type: ignore[attr-defined]
    vt = Table(title="Does it pay?")
    for c in ("load type", "MW", "uptime", "NPV [M USD]", "break-even tariff [Rs/kWh]", "P(loss)"):
        vt.add_column(c, justify="right")
    risk = {}
    if r.risk is not None:  # type: ignore[attr-defined]
        risk = {lab: d for lab, d in zip(r.risk_labels, r.risk.distributions)}  # type: ignore[attr-defined]
    for v in val.loads:
        d = risk.get(v.name)
        sited = v.mw > 0 and v.basis == "plan"
        be = v.breakeven_tariff_pkr_per_kwh
        be_text = f"{be:,.2f}" if not math.isnan(be) else ("none >= 0" if sited else "-")
        vt.add_row(v.name, f"{v.mw:,.0f}" if sited else "not sited", f"{v.uptime_share:.1%}" if sited else "-",
                   f"{v.npv_usd / 1e6:,.1f}" if sited else "-", be_text, "-" if d is None else f"{d.prob_loss:.0%}")
    console.print(vt)
    s = val.system
    console.print(f"other consumers' average tariff changes by [bold]{s.other_consumers_change_pkr_per_kwh:+.2f} Rs/kWh[/]; "
                  f"contribution to capacity charges {s.contribution_usd_per_year / 1e6:,.0f} M USD/yr; "
                  f"full-cost (IMF) test: {'passed' if s.recovers_full_cost else 'failed'} (full cost Rs {s.full_cost_pkr_per_kwh:.2f}/kWh)")
