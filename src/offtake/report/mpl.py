"""Shared matplotlib setup: headless backend, one house style, atomic PNG writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

REGION_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]


def style() -> None:
    plt.rcParams.update({
        "figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
        "axes.spines.right": False, "font.size": 10, "legend.frameon": False,
        "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.titlesize": 11,
    })


def save(fig: Any, path: Path) -> Path:
    """Save a figure through a temporary file and rename (no half-written PNG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.png")
    fig.savefig(tmp, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    return path


GOOD = "#1a7f37"  # raises the investor's NPV
BAD = "#cf222e"  # lowers it (red = bad for the reader, whichever input moved)


def _value_text(parameter: str, v: float) -> str:
    """An input's value as the tornado labels it (share-like inputs in %, money with separators)."""
    if parameter.endswith("_per_year") or parameter.endswith("_factor") or parameter.endswith("_share") \
            or parameter.endswith("_probability") or parameter.endswith("_rate"):
        return f"{v:.0%}" if abs(v) < 5 else f"{v:,.3g}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:,.1f}"  # 3.00 USD/GPU-h, 27.6 Rs/kWh


def tornado_axes(ax: Any, frame: Any, title: str) -> None:
    """One load's tornado: a bar from the base mean NPV to each input's low and high value,
    green where the change raises NPV, red where it lowers it; the input's low/high values
    are written at the bar ends."""
    from offtake.report.labels import parameter_label

    bars = frame.sort_values("swing_usd")
    base = float(bars["base_npv_usd"].iloc[0]) / 1e6
    y = np.arange(len(bars))
    lo = bars["npv_low_usd"].to_numpy() / 1e6 - base
    hi = bars["npv_high_usd"].to_numpy() / 1e6 - base
    ax.barh(y, lo, left=base, color=[GOOD if d > 0 else BAD for d in lo], height=0.6)
    ax.barh(y, hi, left=base, color=[GOOD if d > 0 else BAD for d in hi], height=0.6)
    span = max(float(np.abs(np.r_[lo, hi]).max()), 1e-9)
    for i, (p, a, b, dl, dh) in enumerate(zip(bars["parameter"], bars["low_value"], bars["high_value"], lo, hi)):
        for d, v, tag in ((dl, a, "low"), (dh, b, "high")):
            ax.text(base + d + (0.02 * span if d >= 0 else -0.02 * span), i, f"{tag} {_value_text(str(p), float(v))}",
                    va="center", ha="left" if d >= 0 else "right", fontsize=8, color="#333333")
    ax.set_yticks(y, [parameter_label(str(p)) for p in bars["parameter"]], fontsize=9)
    ax.axvline(base, color="black", lw=1)
    ax.set_xlim(base - 1.45 * span, base + 1.45 * span)
    ax.set_xlabel("mean NPV [million USD]")
    ax.set_title(title, loc="left", fontsize=10)


def tornado_figure(tf: Any, load_labels: dict[str, str] | None = None) -> Any:
    """Tornado per load (one panel each) with a legend for the two colours."""
    from matplotlib.patches import Patch

    from offtake.report.labels import flex_label

    tf = tf[tf["swing_usd"] > 0]
    loads = list(dict.fromkeys(tf["load"]))
    rows = sum(int((tf["load"] == ld).sum()) for ld in loads)
    fig, axes = plt.subplots(len(loads), 1, figsize=(9, 0.42 * rows + 1.3 * len(loads) + 0.6), squeeze=False)
    for ax, load in zip(axes[:, 0], loads):
        name = (load_labels or {}).get(load, load)
        tornado_axes(ax, tf[tf["load"] == load], f"{flex_label(name)}: mean NPV with one input at its low or high value")
    fig.legend(handles=[Patch(color=GOOD, label="raises NPV"), Patch(color=BAD, label="lowers NPV")],
               loc="lower center", ncol=2, fontsize=9, bbox_to_anchor=(0.5, -0.01))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def npv_histogram_figure(dists: Any, labels: list[str] | None = None) -> Any:
    """NPV histogram per load, P10/P50/P90 marked and labelled, zero in red."""
    from offtake.report.labels import flex_label

    dists = list(dists)
    fig, axes = plt.subplots(len(dists), 1, figsize=(9, 2.9 * len(dists) + 0.4), squeeze=False)
    for i, (ax, d) in enumerate(zip(axes[:, 0], dists)):
        v = d.npv_usd / 1e6
        lo, hi = np.percentile(v, [0.5, 99.5])
        ax.hist(np.clip(v, lo, hi), bins=60, color="#4477aa", alpha=0.85)
        top = ax.get_ylim()[1]
        for q, name, ls in ((d.p10_usd, "P10", ":"), (d.p50_usd, "P50", "-"), (d.p90_usd, "P90", ":")):
            ax.axvline(q / 1e6, color="black", ls=ls, lw=1.2)
            ax.text(q / 1e6, top * 0.97, f" {name} {q / 1e6:,.0f}", fontsize=8, va="top", ha="left")
        if lo <= 0 <= hi:
            ax.axvline(0.0, color=BAD, lw=1.6)
            ax.text(0.0, top * 0.6, " NPV = 0", color=BAD, fontsize=8)
        name = (labels[i] if labels else d.load)
        ax.set_title(f"{flex_label(name)} ({d.mw:,.0f} MW): probability of a loss {d.prob_loss:.0%}", loc="left", fontsize=10)
        ax.set_xlabel("NPV [million USD]")
        ax.set_ylabel("Monte Carlo paths")
    fig.tight_layout()
    return fig
