"""PNG plots of a surplus assessment."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from offtake.report.mpl import REGION_COLORS, plt, save, style
from offtake.surplus import SurplusResult

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def duration_curves(res: SurplusResult, path: Path) -> Path:
    style()
    dc = res.duration_curves()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    share = dc.index.to_numpy() / len(dc) * 100
    for i, col in enumerate(c for c in dc.columns if c != "NATIONAL"):
        ax1.plot(share, dc[col] / 1e3, color=REGION_COLORS[i % len(REGION_COLORS)], label=col, lw=1.4)
    ax1.set(xlabel="share of hours [%]", ylabel="new load a region could host alone [GW]",
            title="Regional surplus duration curves")
    ax1.legend(fontsize=7)
    ax2.plot(share, dc["NATIONAL"] / 1e3, color="black", lw=1.8)
    for q in (50, 80, 90, 95):
        v = np.quantile(res.national_mw, 1 - q / 100) / 1e3
        ax2.axvline(q, color="grey", ls=":", lw=0.8)
        ax2.annotate(f"{v:.1f} GW in {q}% of hours", (q, v), fontsize=7, xytext=(-110, 8), textcoords="offset points")
    ax2.set(xlabel="share of hours [%]", ylabel="national surplus [GW]", title="National surplus duration curve")
    return save(fig, path)


def heatmaps(res: SurplusResult, path: Path) -> Path:
    style()
    cols = ["NATIONAL", *res.hostable_mw.columns]
    n = len(cols)
    ncol = 4
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False)
    for ax, col in zip(axes.flat, cols):
        table = res.month_hour(col) / 1e3
        im = ax.imshow(table.to_numpy(), aspect="auto", cmap="viridis", origin="upper")
        ax.set_title(f"{col} [GW]", fontsize=8)
        ax.set_yticks(range(12), MONTHS, fontsize=6)
        ax.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)], fontsize=6)
        ax.grid(False)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Mean surplus by month and hour of day (local time)", fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def regional_bars(res: SurplusResult, path: Path) -> Path:
    style()
    table = res.available_at_least().drop(index="NATIONAL") / 1e3
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.2
    x = np.arange(len(table))
    for i, col in enumerate(table.columns):
        ax.bar(x + (i - 1.5) * width, table[col], width, label=f"in {col[1:3]}% of hours")
    ax.set_xticks(x, table.index, rotation=20)
    ax.set(ylabel="GW", title="New load each region could host on its own")
    ax.legend()
    return save(fig, path)


def all_plots(res: SurplusResult, out: Path) -> list[Path]:
    return [duration_curves(res, out / "surplus_duration_curves.png"), heatmaps(res, out / "surplus_heatmaps.png"),
            regional_bars(res, out / "surplus_by_region.png")]
