"""`offtake risk`: Monte Carlo of investor NPV per load type, with a tornado chart.

Sizes, uptime and curtailment come from a plan (``--plan-dir`` of `offtake plan`, or a
plan solved here at the default resolution); the tariff is the scenario's offered tariff
unless ``--tariff`` says otherwise.  ``--bitcoin-mw`` / ``--aidc-mw`` value a site of that
size instead (with ``--uptime``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from offtake.commands._common import console, handle_errors, write_atomic
from offtake.defaults import DEFAULT_RESOLUTION, DEFAULT_SEED


def _png(fig: Any) -> bytes:
    import io

    from offtake.report.mpl import plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _histogram_png(result: Any) -> bytes:
    from offtake.report.mpl import npv_histogram_figure, style

    style()
    return _png(npv_histogram_figure(result.distributions))


def _tornado_png(result: Any) -> bytes:
    from offtake.report.mpl import style, tornado_figure

    style()
    return _png(tornado_figure(result.tornado_frame()))


def _load_kind(name: str, scenario: Any) -> Any:
    from offtake.economics.loads import LoadKind

    fl = scenario.flex_loads
    if "load_type" in fl.columns and name in fl.index and isinstance(fl.loc[name, "load_type"], str):
        return LoadKind.BITCOIN if fl.loc[name, "load_type"].startswith("bitcoin") else LoadKind.AIDC
    return LoadKind.BITCOIN if "bitcoin" in name or "mining" in name else LoadKind.AIDC


def loads_from_plan(figures: Any, scenario: Any) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """LoadInputs for every type the plan sited (MW, MWh/yr, curtailed hours/yr), and their names."""
    from offtake.economics.loads import LoadInputs

    loads, names = [], []
    for f in figures.loads:
        if f.mw <= 1e-6:
            continue
        loads.append(LoadInputs.from_plan(_load_kind(f.name, scenario), f.mw, mwh_per_year=f.mwh_per_year,
                                          curtailment_hours_per_year=f.curtailment_hours_per_year))
        names.append(f.name)
    return tuple(loads), tuple(names)


def register(app: typer.Typer) -> None:
    @app.command("risk")
    @handle_errors
    def risk(
        scenario: Annotated[str | None, typer.Option("--scenario", "-s", help="Scenario folder or built-in name; gives the tariff and the plan (default: pakistan-2025).")] = None,
        plan_dir: Annotated[Path | None, typer.Option("--plan-dir", help="Results folder of `offtake plan`: MW, uptime and curtailment per load type (default: plan here).")] = None,
        resolution: Annotated[str, typer.Option("--resolution", help="Plan resolution when the plan is solved here (1h, 3h, ...).")] = DEFAULT_RESOLUTION,
        days: Annotated[int | None, typer.Option("--days", help="Plan on N representative days instead (a multiple of 12).")] = None,
        paths: Annotated[int, typer.Option("--paths", min=100, help="Monte Carlo paths.")] = 10_000,
        months: Annotated[int, typer.Option("--months", min=1, help="Horizon in months.")] = 120,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")] = DEFAULT_SEED,
        tariff: Annotated[float | None, typer.Option("--tariff", help="Tariff for the new loads [Rs/kWh] (default: the scenario's offered tariff).")] = None,
        bitcoin_mw: Annotated[float | None, typer.Option("--bitcoin-mw", help="Value a mining site of this size [MW] instead of the plan's.")] = None,
        aidc_mw: Annotated[float | None, typer.Option("--aidc-mw", help="Value an AI data centre of this size [MW] instead of the plan's.")] = None,
        uptime: Annotated[float, typer.Option("--uptime", help="Uptime share of a site given by --bitcoin-mw/--aidc-mw [0-1].")] = 0.9,
        btc_price: Annotated[float, typer.Option("--btc-price", help="Starting BTC price [USD].")] = 100_000.0,
        tornado: Annotated[bool, typer.Option("--tornado/--no-tornado", help="One-at-a-time sensitivities.")] = True,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for CSV, JSON and PNG files (default: print only, write nothing).")] = None,
    ) -> None:
        """Investor NPV distributions (P10/P50/P90, probability of loss, VaR, CVaR) per load."""
        import math

        import numpy as np
        from rich.table import Table

        from offtake.economics.bitcoin import MINERS, REFERENCE_MINER, MiningCase
        from offtake.economics.finance import HOURS_PER_YEAR
        from offtake.economics.loads import LoadInputs, LoadKind
        from offtake.errors import InputError
        from offtake.report.labels import flex_label
        from offtake.risk import RiskAssumptions, run_risk
        from offtake.scenario import load_scenario

        if out is not None and out.exists() and not out.is_dir():
            raise InputError(f"--out {out} exists and is not a folder")
        if tariff is not None and not (math.isfinite(tariff) and tariff >= 0):
            raise InputError(f"--tariff must be a finite number >= 0 Rs/kWh (got {tariff})")
        if not 0.0 <= uptime <= 1.0:
            raise InputError(f"--uptime must be a share between 0 and 1 (got {uptime})")
        for name, v in (("--bitcoin-mw", bitcoin_mw), ("--aidc-mw", aidc_mw)):
            if v is not None and not (math.isfinite(v) and v >= 0):
                raise InputError(f"{name} must be a finite number >= 0 MW (got {v})")
        sc = load_scenario(scenario)
        tariff_v = float(sc.config.tariffs.offered_pkr_per_kwh if tariff is None else tariff)
        if bitcoin_mw is not None or aidc_mw is not None:
            if plan_dir is not None:
                raise InputError("give either --plan-dir or --bitcoin-mw/--aidc-mw, not both")
            hours = HOURS_PER_YEAR * (1.0 - uptime)
            pairs = [(k, mw, n) for k, mw, n in ((LoadKind.BITCOIN, bitcoin_mw, "bitcoin_mining"),
                                                 (LoadKind.AIDC, aidc_mw, "ai_datacentre")) if mw]
            loads = tuple(LoadInputs(k, mw=mw, uptime_share=uptime, curtailment_hours_per_year=hours) for k, mw, _ in pairs)
            names = tuple(n for _, _, n in pairs)
            basis = f"sites given on the command line, uptime {uptime:.0%}"
        else:
            from offtake.economics.value import figures_from_plan_dir, plan_figures

            if plan_dir is not None:
                figures = figures_from_plan_dir(plan_dir, sc)
                basis = f"plan in {plan_dir}"
            else:
                from offtake.commands.plan import parse_resolution
                from offtake.plan import PlanOptions, plan

                opts = PlanOptions(resolution_h=parse_resolution(resolution), days=days)
                with console.status(f"planning {sc.name} ({f'{days} representative days' if days else resolution}) for the MW to value"):
                    figures = plan_figures(plan(sc, opts))
                basis = f"plan of {sc.name} at {f'{days} representative days' if days else resolution}"
            loads, names = loads_from_plan(figures, sc)
        if not loads:
            raise InputError("nothing to value: the plan sites no flexible load and no --bitcoin-mw/--aidc-mw was given")
        assumptions = RiskAssumptions(n_paths=paths, n_months=months, tariff_pkr_per_kwh=tariff_v,
                                      btc_price_usd=btc_price, pkr_per_usd=float(sc.config.usd_exchange_rate))
        with console.status(f"simulating {paths:,} paths x {months} months"):
            result = run_risk(assumptions, np.random.default_rng(seed), loads=loads, mining=MiningCase(miner=MINERS[REFERENCE_MINER]),
                              with_tornado=tornado, seed=seed)

        table = Table(title=f"Investor NPV (million USD), {paths:,} paths x {months} months, "
                            f"tariff Rs {tariff_v:.2f}/kWh, seed {seed}")
        for col in ("load", "MW", "mean", "P10", "P50", "P90", "P(loss)", "VaR95", "CVaR95"):
            table.add_column(col, justify="left" if col == "load" else "right",
                             overflow="fold" if col == "load" else None, no_wrap=col != "load")
        for name, d in zip(names, result.distributions):
            table.add_row(flex_label(name), f"{d.mw:,.0f}", *(f"{v / 1e6:,.0f}" for v in
                          (d.mean_usd, d.p10_usd, d.p50_usd, d.p90_usd)),
                          f"{d.prob_loss:.0%}", f"{d.var95_usd / 1e6:,.0f}", f"{d.cvar95_usd / 1e6:,.0f}")
        table.caption = (f"sizes: {basis}. P10/P50/P90: 10th/50th/90th percentile NPV; P(loss): share of paths with "
                         "NPV < 0; VaR95/CVaR95: loss not exceeded in 95 % of paths / mean loss in the worst 5 % "
                         "(positive = loss)")
        console.print(table)

        if out is None:
            console.print("wrote nothing (give --out DIR for CSV, JSON and PNG files)", style="dim")
            return
        from offtake.report.tables import csv_text

        summary = result.to_frame()
        summary.index = list(names)
        summary.index.name = "load"
        files: dict[str, bytes | str] = {
            "risk_summary.csv": csv_text(summary),
            "risk_npv_paths.csv": csv_text(result.paths_frame().set_axis(list(names), axis=1).rename_axis("path")),
            "risk.json": result.to_json(),
            "risk_npv_histogram.png": _histogram_png(result),
        }
        if tornado:
            files["risk_tornado.csv"] = csv_text(result.tornado_frame())
            files["risk_tornado.png"] = _tornado_png(result)
        for name, data in files.items():
            write_atomic(out / name, data)
        console.print(f"wrote {len(files)} files to {out}")
