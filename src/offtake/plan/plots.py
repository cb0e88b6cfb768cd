"""PNG plots of a plan (matplotlib, Agg backend): returned as bytes so callers write atomically."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from offtake.plan.result import PlanResult


def _png(fig: object) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return buf.getvalue()


def mw_by_region(r: PlanResult) -> bytes:
    """Stacked bars: MW of each flexible type per region."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    r.capacity_mw.plot.bar(stacked=True, ax=ax)
    ax.set_ylabel("MW sited")
    ax.set_title(f"{r.scenario_name}: flexible MW by region ({r.capacity_mw.to_numpy().sum():,.0f} MW)")
    return _png(fig)


def price_duration(r: PlanResult) -> bytes:
    """Regional price duration curves [USD/MWh], weighted by hours per snapshot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    w = r.weight_h.to_numpy()
    for reg in r.price_usd_per_mwh.columns:
        p = r.price_usd_per_mwh[reg].to_numpy()
        order = np.argsort(-p)
        ax.plot(np.cumsum(w[order]), p[order], label=reg)
    ax.set_xlabel("hours of the horizon")
    ax.set_ylabel("price USD/MWh")
    ax.set_yscale("symlog", linthresh=200)
    ax.legend(fontsize=7)
    ax.set_title("price duration curves")
    return _png(fig)


def week_dispatch(r: PlanResult, month: int) -> bytes:
    """National dispatch by technology and flexible draw for the first week of ``month``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = r.dispatch_mw.index
    sel = np.flatnonzero(np.asarray(idx.month) == month)[: max(1, int(168 / max(r.weight_h.min(), 1.0)))]
    fig, ax = plt.subplots(figsize=(10, 4))
    if sel.size:
        d = r.dispatch_mw.iloc[sel].T.groupby(r.generators["technology"]).sum().T
        ax.stackplot(d.index, d.T.to_numpy(), labels=list(d.columns))
        flex = r.consumption_mw.iloc[sel].sum(axis=1)
        demand_line = d.sum(axis=1) - flex
        ax.plot(d.index, demand_line, color="k", lw=1, label="generation minus flexible draw")
        ax.legend(fontsize=7, ncol=4)
    ax.set_ylabel("MW")
    ax.set_title(f"dispatch, first week of month {month}")
    return _png(fig)


def all_pngs(r: PlanResult) -> dict[str, bytes]:
    """File name -> PNG bytes: MW by region, price duration, a summer (Jul) and a winter (Jan) week."""
    out = {"plan_mw_by_region.png": mw_by_region(r), "plan_price_duration.png": price_duration(r)}
    months = set(pd.DatetimeIndex(r.dispatch_mw.index).month)
    for name, mth in (("summer", 7), ("winter", 1)):
        if mth in months:
            out[f"plan_dispatch_{name}_week.png"] = week_dispatch(r, mth)
    return out


__all__ = ["all_pngs", "mw_by_region", "price_duration", "week_dispatch"]
