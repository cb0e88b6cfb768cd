"""Plotly figures for the decision report (interactive, self-contained)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from offtake.scenario.schema import Scenario
from offtake.surplus import SurplusResult

PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
FUEL_COLORS = {
    "nuclear": "#8c564b", "hydro": "#1f77b4", "coal": "#3b3b3b", "gas": "#ff7f0e", "wind": "#17becf",
    "solar": "#f2c80f", "bagasse": "#2ca02c", "import": "#9467bd", "unserved": "#d62728",
}
LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50), height=420,
              font=dict(family="Segoe UI, Roboto, Helvetica, Arial", size=12))


def region_diagram(scenario: Scenario, value_mw: pd.Series, title: str, label: str, sited_mw: pd.Series | None = None) -> go.Figure:
    """Regions at their coordinates, corridors as lines; marker size = value (e.g. mean surplus)."""
    reg = scenario.regions
    lat = reg["lat"].astype(float)
    lon = reg["lon"].astype(float)
    fig = go.Figure()
    for _, ln in scenario.lines.iterrows():
        a, b = ln["from_region"], ln["to_region"]
        cap = max(float(ln["capacity_forward_mw"]), float(ln["capacity_backward_mw"]))
        fig.add_trace(go.Scatter(x=[lon[a], lon[b]], y=[lat[a], lat[b]], mode="lines",
                                 line=dict(width=1 + cap / 1500, color="#9aa7b4"), hoverinfo="text",
                                 text=f"{ln.name}: {cap:,.0f} MW", showlegend=False))
    v = value_mw.reindex(reg.index).fillna(0.0)
    size = 18 + 60 * np.sqrt(np.maximum(v.to_numpy(), 0) / max(v.max(), 1.0))
    fig.add_trace(go.Scatter(x=lon, y=lat, mode="markers+text", text=[f"{r}<br>{v[r]:,.0f} MW" for r in reg.index],
                             textposition="top center", marker=dict(size=size, color="#2a78b5", opacity=0.55,
                             line=dict(width=1, color="#12395b")), name=label,
                             hovertext=[f"{r}: {label} {v[r]:,.0f} MW" for r in reg.index], hoverinfo="text"))
    if sited_mw is not None:
        s = sited_mw.reindex(reg.index).fillna(0.0)
        ssize = 8 + 50 * np.sqrt(np.maximum(s.to_numpy(), 0) / max(s.max(), 1.0))
        fig.add_trace(go.Scatter(x=lon, y=lat, mode="markers", marker=dict(size=ssize, color="#e6550d", opacity=0.85),
                                 name="flexible load sited", hovertext=[f"{r}: sited {s[r]:,.0f} MW" for r in reg.index],
                                 hoverinfo="text"))
    fig.update_layout(**{**LAYOUT, "height": 520}, title=title, xaxis_title="longitude", yaxis_title="latitude")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def surplus_duration(res: SurplusResult) -> go.Figure:
    dc = res.duration_curves()
    share = dc.index.to_numpy() / len(dc) * 100
    step = max(1, len(dc) // 800)  # thin the curve: the shape, not 8,760 points per line
    fig = go.Figure()
    for i, col in enumerate(dc.columns):
        fig.add_trace(go.Scatter(x=share[::step], y=dc[col].to_numpy()[::step], mode="lines", name=col,
                                 line=dict(width=3 if col == "NATIONAL" else 1.6,
                                           color="black" if col == "NATIONAL" else PALETTE[i % len(PALETTE)])))
    fig.update_layout(**LAYOUT, title="Surplus duration curves: new load that could be hosted (regions alone, and nationally)",
                      xaxis_title="share of hours [%]", yaxis_title="MW")
    return fig


def surplus_heatmap(res: SurplusResult) -> go.Figure:
    table = res.month_hour() / 1e3
    fig = go.Figure(go.Heatmap(z=table.to_numpy(), x=[f"{h:02d}:00" for h in table.columns],
                               y=["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
                               colorscale="Viridis", colorbar=dict(title="GW")))
    fig.update_layout(**LAYOUT, title="National surplus by month and hour of day (mean GW)")
    fig.update_yaxes(autorange="reversed")
    return fig


def duration_lines(frame: pd.DataFrame, title: str, ytitle: str) -> go.Figure:
    """Each column sorted high to low against the share of hours."""
    fig = go.Figure()
    n = len(frame)
    share = np.arange(1, n + 1) / n * 100
    step = max(1, n // 800)
    for i, col in enumerate(frame.columns):
        y = -np.sort(-frame[col].to_numpy())
        fig.add_trace(go.Scatter(x=share[::step], y=y[::step], mode="lines", name=str(col),
                                 line=dict(color=PALETTE[i % len(PALETTE)], width=1.6)))
    fig.update_layout(**LAYOUT, title=title, xaxis_title="share of hours [%]", yaxis_title=ytitle)
    return fig


def stacked_dispatch(gen_by_fuel_mw: pd.DataFrame, demand_mw: pd.Series, flex_mw: pd.Series, title: str) -> go.Figure:
    """Stacked generation by fuel with household demand and demand + flexible load as lines."""
    fig = go.Figure()
    # a category axis: representative days are not consecutive in time
    x = [t.strftime("%b %d %H:%M") for t in pd.DatetimeIndex(gen_by_fuel_mw.index)]
    for fuel in gen_by_fuel_mw.columns:
        fig.add_trace(go.Scatter(x=x, y=gen_by_fuel_mw[fuel], stackgroup="gen", name=fuel, mode="lines",
                                 line=dict(width=0.5, color=FUEL_COLORS.get(fuel))))
    fig.add_trace(go.Scatter(x=x, y=demand_mw, name="household demand", mode="lines", line=dict(color="black", width=2)))
    fig.add_trace(go.Scatter(x=x, y=demand_mw + flex_mw, name="demand + flexible load", mode="lines",
                             line=dict(color="#d62728", width=2, dash="dot")))
    fig.update_layout(**LAYOUT, title=title, yaxis_title="MW")
    fig.update_xaxes(type="category", nticks=8)
    return fig


def npv_histogram(npv_by_load: dict[str, np.ndarray]) -> go.Figure:
    fig = go.Figure()
    for i, (load, v) in enumerate(npv_by_load.items()):
        fig.add_trace(go.Histogram(x=v / 1e6, name=load, opacity=0.6, nbinsx=70, marker_color=PALETTE[i % len(PALETTE)]))
    fig.add_vline(x=0, line=dict(color="#d62728", width=2))
    fig.update_layout(**LAYOUT, barmode="overlay", title="Investor NPV distribution (Monte Carlo paths)",
                      xaxis_title="NPV [million USD]", yaxis_title="paths")
    return fig


def tornado(frame: pd.DataFrame) -> go.Figure:
    """One-at-a-time sensitivities: change of mean NPV with each assumption at low / high."""
    fig = go.Figure()
    frame = frame[frame["swing_usd"] > 0].copy()
    frame["label"] = frame["load"] + ": " + frame["parameter"]
    frame = frame.sort_values("swing_usd")
    fig.add_trace(go.Bar(y=frame["label"], x=(frame["npv_low_usd"] - frame["base_npv_usd"]) / 1e6, orientation="h",
                         name="assumption low", marker_color="#cc6677"))
    fig.add_trace(go.Bar(y=frame["label"], x=(frame["npv_high_usd"] - frame["base_npv_usd"]) / 1e6, orientation="h",
                         name="assumption high", marker_color="#117733"))
    fig.update_layout(**{**LAYOUT, "height": max(380, 26 * len(frame) + 120)}, barmode="overlay",
                      title="Sensitivity of mean NPV (tornado)", xaxis_title="change of mean NPV [million USD]")
    return fig


def bars(frame: pd.DataFrame, title: str, ytitle: str) -> go.Figure:
    fig = go.Figure()
    for i, col in enumerate(frame.columns):
        fig.add_trace(go.Bar(x=list(frame.index), y=frame[col], name=str(col), marker_color=PALETTE[i % len(PALETTE)]))
    fig.update_layout(**LAYOUT, barmode="stack", title=title, yaxis_title=ytitle)
    return fig
