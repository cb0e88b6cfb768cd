"""`offtake value`: investor view per load type and system view of the tariff, for a plan."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from offtake.commands._common import console, handle_errors, write_files
from offtake.defaults import DEFAULT_RESOLUTION


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return f"{v:,.{digits}f}"
    return str(v)


def _print(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    s = result.system
    inv = Table(title=f"Investor view at Rs {s.tariff_pkr_per_kwh:g}/kWh "
                      f"({s.tariff_usd_per_mwh:,.1f} USD/MWh), scenario {result.scenario}")
    inv.add_column("figure")
    for v in result.loads:
        inv.add_column(f"{v.name}\n({v.load_kind})", justify="right")
    figures = [
        ("MW planned", lambda v: _fmt(v.mw, 0)),
        ("energy drawn [GWh/yr]", lambda v: _fmt(v.mwh_per_year / 1e3, 1)),
        ("curtailed [h/yr]", lambda v: _fmt(v.curtailment_hours_per_year, 0)),
        ("NPV [M USD]", lambda v: _fmt(v.npv_usd / 1e6, 1)),
        ("IRR [/yr]", lambda v: "-" if math.isnan(v.irr_per_year) else f"{v.irr_per_year:.1%}"),
        ("payback [yr]", lambda v: _fmt(v.payback_years, 1)),
        ("break-even tariff [Rs/kWh]", lambda v: _fmt(v.breakeven_tariff_pkr_per_kwh)),
        ("break-even tariff [USD/MWh]", lambda v: _fmt(v.breakeven_tariff_usd_per_mwh, 1)),
        ("operating break-even [Rs/kWh]", lambda v: _fmt(v.operating_breakeven_pkr_per_kwh)),
        ("pays at this tariff", lambda v: _fmt(v.pays_at_tariff)),
    ]
    for name, cell in figures:
        inv.add_row(escape(name), *(cell(v) for v in result.loads))
    notes = [f"{v.name}: {v.basis}" for v in result.loads if v.basis != "plan"]
    head = "break-even tariff: NPV = 0 ('-': no tariff >= 0 pays); operating: first month, capex not counted"
    inv.caption = escape("\n".join([head, *notes]))
    console.print(inv)

    sys_t = Table(title="System view: what the tariff does to everyone else")
    sys_t.add_column("figure")
    sys_t.add_column("value", justify="right")
    rows = [
        ("flexible load planned [MW]", _fmt(s.mw, 0)),
        ("energy drawn [GWh/yr]", _fmt(s.mwh_per_year / 1e3, 1)),
        ("extra generation cost [M USD/yr]", _fmt(s.extra_generation_cost_usd_per_year / 1e6, 1)),
        (f"energy cost caused [Rs/kWh] ({s.energy_cost_source})", _fmt(s.energy_cost_pkr_per_kwh)),
        ("contribution to capacity charges [Rs bn/yr]", _fmt(s.contribution_pkr_per_year / 1e9)),
        ("contribution to capacity charges [M USD/yr]", _fmt(s.contribution_usd_per_year / 1e6, 1)),
        ("other consumers' average tariff change [Rs/kWh]", _fmt(s.other_consumers_change_pkr_per_kwh, 3)),
        ("  as share of the industrial tariff", f"{s.industrial_change_share:+.2%}"),
        ("  as share of the average power purchase price", f"{s.average_ppp_change_share:+.2%}"),
        ("full cost (IMF test) [Rs/kWh]", _fmt(s.full_cost_pkr_per_kwh)),
        ("tariff recovers full cost", _fmt(s.recovers_full_cost)),
        ("viable tariff window [Rs/kWh]", "empty" if s.window_is_empty else
         f"{s.window_lower_pkr_per_kwh:.2f} - {s.window_upper_pkr_per_kwh:.2f}"),
        ("window includes the full-cost tariff", _fmt(s.window_imf_compliant)),
    ]
    for name, value in rows:
        sys_t.add_row(escape(name), value)
    console.print(sys_t)


def register(app: typer.Typer) -> None:
    @app.command("value")
    @handle_errors
    def value(
        scenario: Annotated[str | None, typer.Option("--scenario", "-s", help="scenario folder or built-in name (default: pakistan-2025).")] = None,
        plan_dir: Annotated[Path | None, typer.Option("--plan-dir", help="results folder of `offtake plan` (default: run the plan)")] = None,
        tariff: Annotated[float | None, typer.Option("--tariff", help="tariff for the new loads [PKR/kWh] (default: the scenario's offered tariff)")] = None,
        btc_price: Annotated[float | None, typer.Option("--btc-price", help="BTC price for the mining valuation [USD] (default 100,000)")] = None,
        resolution: Annotated[str, typer.Option("--resolution", help="plan resolution when the plan is run here (1h, 3h, ...)")] = DEFAULT_RESOLUTION,
        days: Annotated[int | None, typer.Option("--days", help="plan on representative days (multiple of 12) instead")] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="folder for value_loads.csv, value_system.csv, value.json")] = Path("offtake-out/value"),
    ) -> None:
        """Break-even tariff, NPV, IRR and payback per load type; tariff impact on other consumers."""
        from offtake.economics.value import ValueAssumptions, plan_figures, value_plan
        from offtake.errors import InputError
        from offtake.scenario import load_scenario

        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out} exists and is not a folder")
        if tariff is not None and not (math.isfinite(tariff) and tariff >= 0):
            raise InputError(f"--tariff must be a finite number >= 0 PKR/kWh (got {tariff})")
        if btc_price is not None and not (math.isfinite(btc_price) and btc_price > 0):
            raise InputError(f"--btc-price must be a finite number > 0 USD (got {btc_price})")
        s = load_scenario(scenario)
        if plan_dir is not None:
            from offtake.economics.value import figures_from_plan_dir

            figures = figures_from_plan_dir(plan_dir, s)
        else:
            from offtake.plan import plan
            from offtake.plan.inputs import PlanOptions
            from offtake.sweep import parse_plan_options

            raw = {"days": days} if days is not None else {"resolution": resolution}
            opts = PlanOptions(**parse_plan_options(raw, "options"))
            with console.status(f"planning {s.name} ({f'{days} days' if days else resolution})"):
                figures = plan_figures(plan(s, opts))
        result = value_plan(s, figures, tariff_pkr_per_kwh=tariff,
                            assumptions=ValueAssumptions(btc_price_usd=btc_price))
        _print(result)
        files = {"value_loads.csv": result.to_frame().to_csv(),
                 "value_system.csv": result.system_frame().to_csv(), "value.json": result.to_json()}
        write_files(out, files)  # all or nothing
        console.print(f"wrote {len(files)} files to [bold]{out}[/]")
