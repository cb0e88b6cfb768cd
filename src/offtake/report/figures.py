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
    # the generators' fuel vocabulary
    "coal_local": "#5a3d2b", "coal_imported": "#3b3b3b", "rlng": "#ffbb78", "oil": "#7f7f7f",
}
LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50), height=420,
              font=dict(family="Segoe UI, Roboto, Helvetica, Arial", size=12))


CORRIDOR_LEGEND_MW = (1000, 3000, 6000)


def _mw10(v: float) -> str:
    """MW rounded to 10 (what a regional figure can claim), below 100 MW to 1."""
    return f"{v:,.0f}" if abs(v) < 100 else f"{round(v, -1):,.0f}"


def _corridor_width(cap_mw: float) -> float:
    return 1.0 + cap_mw / 1000.0


def region_diagram(scenario: Scenario, value_mw: pd.Series, title: str, label: str, sited_mw: pd.Series | None = None) -> go.Figure:
    """Siting map: national outlines (shipped with the package), corridors as lines whose width
    is their capacity, a blue bubble per region sized by ``value_mw`` and an orange one sized
    by the MW sited (none where nothing is sited), each labelled in MW beside the bubble."""
    from offtake.report.geo import LABEL_AT, covers, outlines

    reg = scenario.regions
    lat = reg["lat"].astype(float)
    lon = reg["lon"].astype(float)
    fig = go.Figure()
    if covers(lon.to_numpy(), lat.to_numpy()):
        for name, rings in outlines():
            home = name == "Pakistan"
            for k, ring in enumerate(rings):
                fig.add_trace(go.Scatter(x=ring[:, 0], y=ring[:, 1], mode="lines", fill="toself",
                                         fillcolor="#f3efe6" if home else "#f7f7f7",
                                         line=dict(color="#8a8170" if home else "#c9c9c9", width=1.4 if home else 0.8),
                                         hoverinfo="skip", showlegend=False))
            if not home:
                cx, cy = LABEL_AT.get(name, (rings[0][:, 0].mean(), rings[0][:, 1].mean()))
                fig.add_annotation(x=cx, y=cy, text=name, showarrow=False, font=dict(color="#9a9a9a", size=11))
    for _, ln in scenario.lines.iterrows():
        a, b = ln["from_region"], ln["to_region"]
        cap = max(float(ln["capacity_forward_mw"]), float(ln["capacity_backward_mw"]))
        fig.add_trace(go.Scatter(x=[lon[a], lon[b]], y=[lat[a], lat[b]], mode="lines",
                                 line=dict(width=_corridor_width(cap), color="#7d8fa3"), hoverinfo="text", opacity=0.75,
                                 text=f"{ln.name}: {cap:,.0f} MW", showlegend=False))
    for cap in CORRIDOR_LEGEND_MW:  # legend entries for line widths
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(width=_corridor_width(cap), color="#7d8fa3"),
                                 name=f"corridor {cap:,} MW", legendgroup="corridors"))
    v = value_mw.reindex(reg.index).fillna(0.0)
    size = 14 + 46 * np.sqrt(np.maximum(v.to_numpy(), 0) / max(v.max(), 1.0))
    fig.add_trace(go.Scatter(x=lon, y=lat, mode="markers", marker=dict(size=size, color="#2a78b5", opacity=0.45,
                             line=dict(width=1, color="#12395b")), name=label + " [MW]",
                             hovertext=[f"{r}: {label} {v[r]:,.0f} MW" for r in reg.index], hoverinfo="text"))
    s = (sited_mw.reindex(reg.index).fillna(0.0) if sited_mw is not None else pd.Series(0.0, index=reg.index))
    on = s > 0.5
    if sited_mw is not None and on.any():
        ssize = 8 + 40 * np.sqrt(s[on].to_numpy() / max(s.max(), 1.0))
        fig.add_trace(go.Scatter(x=lon[on], y=lat[on], mode="markers", marker=dict(size=ssize, color="#e6550d", opacity=0.9),
                                 name="flexible load sited [MW]",
                                 hovertext=[f"{r}: sited {s[r]:,.0f} MW" for r in s[on].index], hoverinfo="text"))
    # labels beside the bubble, never under it: to the left where a neighbour sits close to the east
    lo_, la_ = lon.to_numpy(), lat.to_numpy()
    east = [bool(np.any((lo_ > lo_[i]) & (lo_ - lo_[i] < 2.5) & (np.abs(la_ - la_[i]) < 1.5))) for i in range(len(lo_))]
    text = [f"<b>{r}</b> {_mw10(v[r])} MW" + (f"<br>sited {_mw10(s[r])} MW" if on[r] else "") for r in reg.index]
    for left in (False, True):
        m = np.array(east) == left
        if not m.any():
            continue
        dx = (0.25 + size[m] / 110.0) * (-1 if left else 1)
        fig.add_trace(go.Scatter(x=lon[m] + dx, y=lat[m], mode="text", text=[t for t, k in zip(text, m) if k],
                                 textposition="middle left" if left else "middle right",
                                 textfont=dict(size=11, color="#1d2730"), hoverinfo="skip", showlegend=False))
    pad = 1.5
    fig.update_layout(**{**LAYOUT, "height": 660}, title=title, xaxis_title="longitude [°E]", yaxis_title="latitude [°N]",
                      legend=dict(orientation="h", y=-0.12))
    if covers(lon.to_numpy(), lat.to_numpy()):  # the whole country, whatever the regions
        xr, yr = [60.5, 79.5], [23.3, 37.5]
    else:
        xr = [float(lon.min()) - pad, float(lon.max()) + pad + 3.0]
        yr = [float(lat.min()) - pad, float(lat.max()) + pad]
    fig.update_xaxes(range=xr, showgrid=False)
    fig.update_yaxes(range=yr, scaleanchor="x", scaleratio=1, showgrid=False)
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
    fig.update_layout(**LAYOUT, title="Surplus at any cost (capacity) duration curves: new load that could be hosted (regions alone, and nationally)",
                      xaxis_title="share of hours [%]", yaxis_title="MW")
    return fig


def surplus_heatmap(res: SurplusResult) -> go.Figure:
    table = res.month_hour() / 1e3
    fig = go.Figure(go.Heatmap(z=table.to_numpy(), x=[f"{h:02d}:00" for h in table.columns],
                               y=["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
                               colorscale="Viridis", colorbar=dict(title="mean GW")))
    fig.update_layout(**LAYOUT, title="National surplus at any cost (capacity) by month and hour of day (mean GW)")
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
        fig.add_trace(go.Scatter(x=share[::step], y=y[::step], mode="lines", name=str(col).replace("_", " "),
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
    fig.add_trace(go.Scatter(x=x, y=demand_mw, name="existing demand (all consumers)", mode="lines", line=dict(color="black", width=2)))
    fig.add_trace(go.Scatter(x=x, y=demand_mw + flex_mw, name="demand + flexible load", mode="lines",
                             line=dict(color="#d62728", width=2, dash="dot")))
    fig.update_layout(**LAYOUT, title=title, yaxis_title="MW", legend_title_text="generation by fuel")
    fig.update_xaxes(type="category", nticks=8)
    return fig


def npv_histogram(npv_by_load: dict[str, np.ndarray]) -> go.Figure:
    """NPV per Monte Carlo path, one colour per load type, P10/P50/P90 marked per load."""
    from offtake.report.labels import flex_label

    fig = go.Figure()
    for i, (load, v) in enumerate(npv_by_load.items()):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Histogram(x=v / 1e6, name=flex_label(load), opacity=0.6, nbinsx=70, marker_color=color))
        for q, dash in ((10, "dot"), (50, "solid"), (90, "dot")):
            x = float(np.percentile(v, q)) / 1e6
            fig.add_vline(x=x, line=dict(color=color, width=1.5, dash=dash),
                          annotation=dict(text=f"P{q} {x:,.0f}", font=dict(size=10, color=color)),
                          annotation_position="top right" if i % 2 == 0 else "bottom right")
    fig.add_vline(x=0, line=dict(color="#d62728", width=2), annotation=dict(text="NPV = 0", font=dict(color="#d62728")),
                  annotation_position="bottom left")
    fig.update_layout(**LAYOUT, barmode="overlay", title="Investor NPV distribution (Monte Carlo paths); P10, P50, P90 marked",
                      xaxis_title="NPV [million USD]", yaxis_title="Monte Carlo paths")
    return fig


def tornado(frame: pd.DataFrame) -> go.Figure:
    """One-at-a-time sensitivities: mean NPV with each input at its low and high value;
    green where the change raises NPV, red where it lowers it, the input's value on the bar."""
    from offtake.report.labels import flex_label, parameter_label
    from offtake.report.mpl import BAD, GOOD, _value_text

    fig = go.Figure()
    frame = frame[frame["swing_usd"] > 0].copy()
    frame["label"] = [f"{flex_label(str(ld))}: {parameter_label(str(p))}" for ld, p in zip(frame["load"], frame["parameter"])]
    frame = frame.sort_values("swing_usd")
    for end, value_col, npv_col in (("low", "low_value", "npv_low_usd"), ("high", "high_value", "npv_high_usd")):
        d = (frame[npv_col] - frame["base_npv_usd"]) / 1e6
        fig.add_trace(go.Bar(y=frame["label"], x=d, orientation="h", showlegend=False,
                             marker_color=[GOOD if x > 0 else BAD for x in d],
                             text=[f"{end} {_value_text(str(p), float(v))}" for p, v in zip(frame["parameter"], frame[value_col])],
                             textposition="outside", cliponaxis=False,
                             hovertemplate="%{y}: " + end + " %{text}: %{x:,.1f} M USD<extra></extra>"))
    span = float(np.nanmax(np.abs(np.r_[frame["npv_low_usd"] - frame["base_npv_usd"],
                                        frame["npv_high_usd"] - frame["base_npv_usd"]]))) / 1e6 if len(frame) else 1.0
    fig.update_xaxes(range=[-1.6 * span, 1.6 * span])  # room for the value labels outside the bars
    for name, color in (("raises mean NPV", GOOD), ("lowers mean NPV", BAD)):
        fig.add_trace(go.Bar(x=[None], y=[None], marker_color=color, name=name, orientation="h"))
    fig.update_layout(**{**LAYOUT, "height": max(380, 28 * len(frame) + 140), "margin": dict(l=230, r=80, t=50, b=50)},
                      barmode="overlay", title="Sensitivity of mean NPV to each input at its low / high value (tornado)",
                      xaxis_title="change of mean NPV [million USD]")
    return fig


def bars(frame: pd.DataFrame, title: str, ytitle: str) -> go.Figure:
    fig = go.Figure()
    for i, col in enumerate(frame.columns):
        fig.add_trace(go.Bar(x=list(frame.index), y=frame[col], name=str(col), marker_color=PALETTE[i % len(PALETTE)]))
    fig.update_layout(**LAYOUT, barmode="stack", title=title, yaxis_title=ytitle)
    return fig
