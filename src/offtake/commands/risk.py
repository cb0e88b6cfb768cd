"""`offtake risk`: Monte Carlo of investor NPV per load type, with a tornado chart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from offtake.commands._common import console, handle_errors, write_atomic


def _histogram_png(result: Any) -> bytes:
    import io

    import numpy as np
    from matplotlib.figure import Figure

    dists = result.distributions
    fig = Figure(figsize=(6.0, 3.2 * len(dists)))
    for i, d in enumerate(dists, start=1):
        ax = fig.add_subplot(len(dists), 1, i)
        ax.hist(d.npv_usd / 1e6, bins=60, color="#4477aa")
        for q, style in ((d.p10_usd, ":"), (d.p50_usd, "-"), (d.p90_usd, ":")):
            ax.axvline(q / 1e6, color="k", linestyle=style, linewidth=1)
        ax.axvline(0.0, color="#cc3311", linewidth=1.5)
        ax.set_title(f"{d.load} ({d.mw:g} MW): P(loss) = {d.prob_loss:.0%}")
        ax.set_xlabel("NPV [million USD]")
        ax.set_ylabel("paths")
        ax.set_xlim(np.percentile(d.npv_usd / 1e6, [0.5, 99.5]))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _tornado_png(result: Any) -> bytes:
    import io

    from matplotlib.figure import Figure

    frame = result.tornado_frame()
    frame = frame[frame["swing_usd"] > 0]
    loads = list(dict.fromkeys(frame["load"]))
    fig = Figure(figsize=(7.0, 0.4 * max(len(frame), 4) + 1.2 * max(len(loads), 1)))
    for i, load in enumerate(loads, start=1):
        bars = frame[frame["load"] == load].iloc[::-1]
        ax = fig.add_subplot(len(loads), 1, i)
        base = bars["base_npv_usd"].iloc[0] / 1e6
        y = range(len(bars))
        ax.barh(y, bars["npv_low_usd"] / 1e6 - base, left=base, color="#cc6677", label="low")
        ax.barh(y, bars["npv_high_usd"] / 1e6 - base, left=base, color="#117733", label="high")
        ax.set_yticks(list(y), list(bars["parameter"]))
        ax.axvline(base, color="k", linewidth=1)
        ax.set_title(f"{load}: mean NPV with one assumption at low / high")
        ax.set_xlabel("mean NPV [million USD]")
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def register(app: typer.Typer) -> None:
    @app.command("risk")
    @handle_errors
    def risk(
        paths: Annotated[int, typer.Option("--paths", min=1, help="Monte Carlo paths")] = 10_000,
        months: Annotated[int, typer.Option("--months", min=1, help="horizon [months]")] = 120,
        seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same numbers)")] = 42,
        tariff: Annotated[float, typer.Option("--tariff", help="tariff for the new loads [PKR/kWh]")] = 22.98,
        bitcoin_mw: Annotated[float, typer.Option("--bitcoin-mw", help="mining site size [MW]; 0 skips")] = 100.0,
        aidc_mw: Annotated[float, typer.Option("--aidc-mw", help="AI data-centre size [MW]; 0 skips")] = 100.0,
        uptime: Annotated[float, typer.Option("--uptime", help="base uptime share (plan's MWh / (MW x 8760))")] = 0.9,
        btc_price: Annotated[float, typer.Option("--btc-price", help="starting BTC price [USD]")] = 100_000.0,
        tornado: Annotated[bool, typer.Option("--tornado/--no-tornado", help="one-at-a-time sensitivities")] = True,
        out: Annotated[Path | None, typer.Option("--out", help="folder for CSV, JSON and PNG files")] = None,
    ) -> None:
        """Investor NPV distributions (P10/P50/P90, probability of loss, VaR, CVaR) per load."""
        import numpy as np
        from rich.table import Table

        from offtake.economics.finance import HOURS_PER_YEAR
        from offtake.economics.loads import LoadInputs, LoadKind
        from offtake.errors import InputError
        from offtake.risk import RiskAssumptions, run_risk

        if out is not None and out.exists() and not out.is_dir():
            raise InputError(f"--out {out} exists and is not a folder")
        hours = HOURS_PER_YEAR * (1.0 - min(max(uptime, 0.0), 1.0))
        loads = tuple(LoadInputs(kind, mw=mw, uptime_share=uptime, curtailment_hours_per_year=hours)
                      for kind, mw in ((LoadKind.BITCOIN, bitcoin_mw), (LoadKind.AIDC, aidc_mw))
                      if mw != 0.0)
        if not loads:
            raise InputError("both --bitcoin-mw and --aidc-mw are 0: nothing to value")
        assumptions = RiskAssumptions(n_paths=paths, n_months=months, tariff_pkr_per_kwh=tariff,
                                      btc_price_usd=btc_price)
        with console.status(f"simulating {paths:,} paths x {months} months"):
            result = run_risk(assumptions, np.random.default_rng(seed), loads=loads,
                              with_tornado=tornado, seed=seed)

        table = Table(title=f"Investor NPV, {paths:,} paths x {months} months, tariff Rs {tariff:g}/kWh, seed {seed}")
        for col in ("load", "MW", "mean", "P10", "P50", "P90", "P(loss)", "VaR95", "CVaR95"):
            table.add_column(col, justify="left" if col == "load" else "right", no_wrap=True)
        for d in result.distributions:
            table.add_row(d.load, f"{d.mw:g}", *(f"{v / 1e6:,.1f}" for v in
                          (d.mean_usd, d.p10_usd, d.p50_usd, d.p90_usd)),
                          f"{d.prob_loss:.1%}", f"{d.var95_usd / 1e6:,.1f}", f"{d.cvar95_usd / 1e6:,.1f}")
        table.caption = "million USD; VaR/CVaR are losses at 95 % (positive = loss)"
        console.print(table)

        if out is not None:
            files: dict[str, bytes | str] = {
                "risk_summary.csv": result.to_frame().to_csv(),
                "risk_npv_paths.csv": result.paths_frame().to_csv(index_label="path"),
                "risk.json": result.to_json(),
                "risk_npv_histogram.png": _histogram_png(result),
            }
            if tornado:
                files["risk_tornado.csv"] = result.tornado_frame().to_csv(index=False)
                files["risk_tornado.png"] = _tornado_png(result)
            for name, data in files.items():
                write_atomic(out / name, data)
            console.print(f"wrote {len(files)} files to {out}")
