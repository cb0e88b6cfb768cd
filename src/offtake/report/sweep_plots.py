"""PNG of a sweep: a line plot over one axis, or a heat map over the first two axes.

With more than two axes each heat-map cell is the mean over the other axes (the
title says so).  Failed variants have no figures; a cell whose variants all failed
is left blank and labelled "failed".
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

#: Figures plotted when present, in this order (at most two panels).
PREFERRED_METRICS: tuple[tuple[str, str, float], ...] = (
    ("total_mw", "flexible load planned [MW]", 1.0),
    ("contribution_usd_per_year", "contribution to capacity charges [million USD/yr]", 1e-6),
    ("other_consumers_change_pkr_per_kwh", "other consumers' tariff change [Rs/kWh]", 1.0),
)


def _metrics(frame: pd.DataFrame, axes: tuple[str, ...]) -> list[tuple[str, str, float]]:
    chosen = [m for m in PREFERRED_METRICS if m[0] in frame.columns][:2]
    if chosen:
        return chosen
    skip = {*axes, "status", "error", "wall_s"}
    numeric = [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    return [(c, c, 1.0) for c in numeric[:2]]


def _label(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def sweep_png(result: Any) -> bytes:
    """PNG bytes of a :class:`~offtake.sweep.SweepResult` (matplotlib, no display needed)."""
    from matplotlib.figure import Figure

    frame = result.to_frame()
    axes = tuple(result.axes)
    metrics = _metrics(frame, axes)
    n = max(len(metrics), 1)
    fig = Figure(figsize=(6.5 * n, 4.2))
    if not metrics:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, f"no figures to plot ({result.n_failed} of {len(frame)} variants failed)",
                ha="center", va="center")
        ax.set_axis_off()
    for i, (col, title, scale) in enumerate(metrics, start=1):
        ax = fig.add_subplot(1, n, i)
        values = pd.to_numeric(frame[col], errors="coerce") * scale
        if len(axes) == 1:
            xs = list(dict.fromkeys(frame[axes[0]]))
            ys = [values[frame[axes[0]] == x].mean() for x in xs]
            ax.plot(range(len(xs)), ys, marker="o", color="#4477aa")
            ax.set_xticks(range(len(xs)), [_label(x) for x in xs])
            ax.set_xlabel(axes[0])
            ax.set_title(title, fontsize=10)
            ax.grid(alpha=0.3)
            continue
        rows_ax, cols_ax = axes[0], axes[1]
        rv, cv = list(dict.fromkeys(frame[rows_ax])), list(dict.fromkeys(frame[cols_ax]))
        grid = np.full((len(rv), len(cv)), np.nan)
        for r, a in enumerate(rv):
            for c, b in enumerate(cv):
                sel = values[(frame[rows_ax] == a) & (frame[cols_ax] == b)]
                grid[r, c] = sel.mean() if sel.notna().any() else np.nan
        masked = np.ma.masked_invalid(grid)
        im = ax.imshow(masked, cmap="viridis", aspect="auto")
        fig.colorbar(im, ax=ax, shrink=0.85)
        for r in range(len(rv)):
            for c in range(len(cv)):
                text = "failed" if np.isnan(grid[r, c]) else f"{grid[r, c]:,.3g}"
                ax.text(c, r, text, ha="center", va="center", fontsize=8,
                        color="k" if np.isnan(grid[r, c]) else "w")
        ax.set_xticks(range(len(cv)), [_label(x) for x in cv])
        ax.set_yticks(range(len(rv)), [_label(x) for x in rv])
        ax.set_xlabel(cols_ax)
        ax.set_ylabel(rows_ax)
        rest = axes[2:]
        ax.set_title(title + (f"\n(mean over {', '.join(rest)})" if rest else ""), fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


__all__ = ["PREFERRED_METRICS", "sweep_png"]
