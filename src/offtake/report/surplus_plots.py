"""PNG plots of a surplus assessment (matplotlib, headless).

Three figures, each saying which cost band it shows:

- ``surplus_duration_curves.png``: national surplus duration curves by cost band (and at
  any cost), next to each region's any-cost curve;
- ``surplus_heatmaps.png``: free energy by month and hour of day, one panel per region and
  the national total, one shared colour scale;
- ``surplus_by_region.png``: energy a new load could take per region and cost band [TWh/yr].
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from offtake.report.mpl import REGION_COLORS, plt, style
from offtake.surplus import SurplusResult

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
BAND_COLORS = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#7f0000", "#4d004b"]
ANY_COST_COLOR = "#555555"


def save(fig: object, path: Path) -> Path:
    """Write a PNG through a temporary name and rename.  The layout is set when the figure is
    built (no ``bbox_inches='tight'``, which draws every figure twice)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.png")
    fig.savefig(tmp)  # type: ignore[attr-defined]
    plt.close(fig)
    os.replace(tmp, path)
    return path


def band_label(b: float) -> str:
    return "free" if b <= 0 else f"<= {b:g} USD/MWh"


def _source(res: SurplusResult) -> str:
    return f"Offtake assess, scenario {res.scenario_name}, hourly; households and {res.reserve_margin:.0%} reserve served first"


def duration_curves(res: SurplusResult, path: Path) -> Path:
    style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.3))
    fig.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.2, wspace=0.22)
    n = len(res.national_mw)
    pick = np.unique(np.linspace(0, n - 1, min(n, 1500)).astype(int))  # sorted curves: 1,500 points draw the same line
    share = (pick + 1) / n * 100
    if res.by_cost is not None:
        for i, b in enumerate(res.by_cost.bands_usd_per_mwh):
            curve = -np.sort(-res.by_cost.national_mw[i])[pick]
            ax1.plot(share, curve / 1e3, color=BAND_COLORS[i % len(BAND_COLORS)], lw=1.6, label=band_label(b))
    ax1.plot(share, -np.sort(-res.national_mw.to_numpy())[pick] / 1e3, color=ANY_COST_COLOR, lw=1.2, ls="--", label="any cost (capacity)")
    ax1.set(xlabel="share of hours [%]", ylabel="new load the whole system could take [GW]",
            title="National surplus by cost band (cumulative)")
    ax1.legend(fontsize=7)
    dc = res.duration_curves()
    for i, col in enumerate(c for c in dc.columns if c != "NATIONAL"):
        ax2.plot(share, dc[col].to_numpy()[pick] / 1e3, color=REGION_COLORS[i % len(REGION_COLORS)], label=col, lw=1.3)
    ax2.set(xlabel="share of hours [%]", ylabel="new load a region could host alone [GW]",
            title="Regional surplus at any cost (capacity)")
    ax2.legend(fontsize=7)
    fig.text(0.01, 0.02, _source(res), fontsize=7, color="#666666")
    return save(fig, path)


def heatmaps(res: SurplusResult, path: Path) -> Path:
    """Free energy by month and hour of day per region, one colour scale for every panel."""
    style()
    if res.by_cost is not None:
        tables = res.by_cost.month_hour(0.0)
        what, unit, scale = "Free energy a new load could take (spill, curtailment, unused take-or-pay)", "MW", 1.0
    else:  # no cost bands: the capacity surplus
        tables = {c: res.month_hour(c) for c in ["NATIONAL", *res.hostable_mw.columns]}
        what, unit, scale = "Surplus at any cost (capacity)", "GW", 1e3
    cols = ["NATIONAL", *[c for c in tables if c != "NATIONAL"]]
    ncol = 4
    nrow = int(np.ceil(len(cols) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.1 * ncol, 2.5 * nrow + 0.6), squeeze=False, sharex=True, sharey=True)
    data = [tables[c].to_numpy(float) / scale for c in cols]
    vmax = max(float(np.nanmax(d)) if np.isfinite(d).any() else 0.0 for d in data) or 1.0
    im = None
    for ax, col, d in zip(axes.flat, cols, data):
        im = ax.imshow(d, aspect="auto", cmap="viridis", origin="upper", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(col if col != "NATIONAL" else "NATIONAL (whole system)", fontsize=9)
        ax.set_yticks(range(12), MONTHS, fontsize=7)
        ax.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)], fontsize=7)
        ax.grid(False)
    for ax in axes[-1]:
        ax.set_xlabel("hour of day (local)", fontsize=8)
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    fig.suptitle(f"{what}: mean {unit} by month and hour; regions alone, not additive", fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.91, top=0.9, bottom=0.12, wspace=0.08, hspace=0.28)
    cax = fig.add_axes((0.93, 0.12, 0.013, 0.78))
    fig.colorbar(im, cax=cax, label=f"mean {unit}")
    fig.text(0.01, 0.015, _source(res), fontsize=7, color="#666666")
    return save(fig, path)


def regional_bars(res: SurplusResult, path: Path) -> Path:
    """Energy a new load could take in each region (alone) and nationally, by cumulative cost band."""
    style()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.22)
    if res.by_cost is not None:
        t = res.by_cost.table()
        regions = list(dict.fromkeys(t["region"]))
        bands = res.by_cost.bands_usd_per_mwh
        width = 0.8 / len(bands)
        x = np.arange(len(regions))
        for i, b in enumerate(bands):
            v = t[t["band_max_usd_per_mwh"] == b].set_index("region").loc[regions, "mwh_per_year"] / 1e6
            ax.bar(x + (i - (len(bands) - 1) / 2) * width, v, width, color=BAND_COLORS[i % len(BAND_COLORS)], label=band_label(b))
        ax.set_xticks(x, regions, rotation=20)
        ax.set(ylabel="TWh per year", title="Energy a new load could take, by cost band (cumulative; regions alone)")
    else:
        table = res.available_at_least().drop(index="NATIONAL") / 1e3
        x = np.arange(len(table))
        for i, col in enumerate(table.columns):
            ax.bar(x + (i - 1.5) * 0.2, table[col], 0.2, label=f"in {col[1:3]}% of hours")
        ax.set_xticks(x, table.index, rotation=20)
        ax.set(ylabel="GW", title="New load each region could host on its own, at any cost (capacity)")
    ax.legend(fontsize=7, ncol=2)
    fig.text(0.01, 0.02, _source(res), fontsize=7, color="#666666")
    return save(fig, path)


def all_plots(res: SurplusResult, out: Path) -> list[Path]:
    return [duration_curves(res, out / "surplus_duration_curves.png"), heatmaps(res, out / "surplus_heatmaps.png"),
            regional_bars(res, out / "surplus_by_region.png")]
