"""The decision report's "surplus by cost" section and its summary.json block.

Self-contained: :func:`cost_band_section` returns the section, its CSV tables and its
plotly figures; :func:`summary_block` the ``surplus_by_cost`` entry of summary.json.
Both read ``SurplusResult.by_cost`` (:mod:`offtake.surplus_cost`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from offtake.report.html import Section, esc, table_html

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def band_label(b: float) -> str:
    return "free" if b <= 0 else f"<= {b:g} USD/MWh"


def summary_block(surplus: Any) -> dict[str, Any] | None:
    """``summary.json["surplus_by_cost"]``: per region and NATIONAL, per cumulative band:
    ``mwh_per_year``, ``mw_in_95pct_of_hours``, ``hours_per_year`` (units in the keys)."""
    cb = getattr(surplus, "by_cost", None)
    return None if cb is None else cb.summary()


def band_table(surplus: Any) -> pd.DataFrame:
    """Region x band: TWh a year a new load could take at <= each cost (wide, for the report)."""
    t = surplus.by_cost.table()
    wide = t.pivot(index="region", columns="band_max_usd_per_mwh", values="mwh_per_year") / 1e6
    wide = wide.reindex(list(dict.fromkeys(t["region"])))
    wide.columns = [f"{band_label(b)} [TWh/yr]" for b in wide.columns]
    p95 = t.pivot(index="region", columns="band_max_usd_per_mwh", values="mw_in_95pct_of_hours").reindex(wide.index)
    wide["free, MW in 95% of hours"] = p95[0.0].round(-1)
    wide["largest band, MW in 95% of hours"] = p95[p95.columns.max()].round(-1)
    return wide.reset_index()


def free_heatmap(surplus: Any) -> Any:
    """Free energy by month and hour of day, NATIONAL and every region, one shared colour scale."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    tables = surplus.by_cost.month_hour(0.0)
    cols = ["NATIONAL", *[c for c in tables if c != "NATIONAL"]]
    ncol = 4
    nrow = int(np.ceil(len(cols) / ncol))
    fig = make_subplots(rows=nrow, cols=ncol, subplot_titles=cols, shared_xaxes=True, shared_yaxes=True,
                        horizontal_spacing=0.03, vertical_spacing=0.12)
    vmax = max(float(np.nanmax(tables[c].to_numpy())) for c in cols) or 1.0
    for i, c in enumerate(cols):
        fig.add_trace(go.Heatmap(z=tables[c].to_numpy(), x=list(range(24)), y=MONTHS, coloraxis="coloraxis",
                                 hovertemplate=f"{esc(c)}<br>%{{y}} %{{x}}:00<br>%{{z:,.0f}} MW<extra></extra>"),
                      row=i // ncol + 1, col=i % ncol + 1)
    fig.update_layout(template="plotly_white", height=260 * nrow + 80, margin=dict(l=50, r=20, t=70, b=40),
                      title="Free energy a new load could take (spill, curtailment, unused take-or-pay): mean MW by month "
                            "and hour (local time); regions alone, not additive",
                      coloraxis=dict(colorscale="Viridis", cmin=0.0, cmax=vmax, colorbar=dict(title="mean MW")))
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=9))
    fig.update_xaxes(tickvals=list(range(0, 24, 3)), ticktext=[f"{h:02d}" for h in range(0, 24, 3)], tickfont=dict(size=9))
    return fig


def cost_band_section(surplus: Any, tariff_usd_per_mwh: float | None = None) -> tuple[Section | None, dict[str, pd.DataFrame], dict[str, Any]]:
    """The report section "Surplus by cost", its tables (CSV name -> frame) and figures (PNG name -> plotly)."""
    cb = getattr(surplus, "by_cost", None)
    if cb is None:
        return None, {}, {}
    t = cb.table()
    nat = t[t["region"] == "NATIONAL"].set_index("band_max_usd_per_mwh")
    bands = list(cb.bands_usd_per_mwh)
    kpis = [(f"{nat.loc[0.0, 'mwh_per_year'] / 1e6:,.2f} TWh / yr", "free energy a new load could take, whole system "
             "(spill, curtailment, unused take-or-pay, unneeded must-run output)"),
            (f"{nat.loc[0.0, 'mw_in_95pct_of_hours']:,.0f} MW", "free power available in 95% of hours, whole system")]
    below = [b for b in bands if tariff_usd_per_mwh is not None and 0 < b <= tariff_usd_per_mwh]
    if below:
        b = max(below)
        kpis.append((f"{nat.loc[b, 'mwh_per_year'] / 1e6:,.2f} TWh / yr",
                     f"energy at <= {b:g} USD/MWh (the largest band under the tariff of {tariff_usd_per_mwh:,.1f} USD/MWh)"))
    top = max(bands)
    kpis.append((f"{nat.loc[top, 'mw_in_95pct_of_hours']:,.0f} MW", f"power at <= {top:g} USD/MWh in 95% of hours, whole system"))
    paragraphs = [
        "What a new load could take, split by what it costs the system to serve it. A band's figure is all energy at or "
        "below that cost (the bands are cumulative; <b>free</b> = band 0). Free energy is output that is lost if nobody "
        "takes it: spilled hydro, curtailed wind and solar, take-or-pay volume paid for anyway, must-run output that "
        "households do not need. Above that, a band holds plant whose marginal cost is at or below its limit, after "
        "households and the reserve are served at least cost (the baseline dispatch, no new load), delivered within "
        "corridor limits.",
        "Regional rows are what one region could take on its own; they do not add up to NATIONAL, the whole system with "
        "the load placed anywhere. Method, approximations and a hand-solved check: docs/surplus.md.",
        f"The baseline needed the transport LP in {cb.lp_hours:,} of {len(cb.index):,} hours (corridors binding); the other "
        "hours are the merit order in closed form.",
    ]
    tables = {"surplus_by_cost.csv": t}
    figs = {"surplus_free_heatmap": free_heatmap(surplus)}
    sec = Section("Surplus by cost: where the energy is free or cheap", "surplus-by-cost", kpis=kpis, paragraphs=paragraphs,
                  figures=[figs["surplus_free_heatmap"]], tables=[table_html(band_table(surplus), "{:,.2f}", index=False)])
    return sec, tables, figs


__all__ = ["band_table", "cost_band_section", "free_heatmap", "summary_block"]
