"""Read the figures the decision report needs from a :class:`offtake.plan.PlanResult`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TECH_ORDER = ["nuclear", "coal", "hydro", "wind", "solar", "bagasse", "gas"]


def capacity(pr: Any) -> pd.DataFrame:
    """MW sited, region x flex type."""
    return pr.capacity_mw.astype(float)


def flex_summary(pr: Any) -> pd.DataFrame:
    """Per flex type: MW, MWh/yr, curtailed hours/yr, curtailment rate (all types, zeros included)."""
    bt = pr.by_type()
    types = list(pr.capacity_mw.columns)
    out = bt.reindex(types)
    out["capacity_mw"] = out["capacity_mw"].fillna(0.0)
    out["energy_mwh_per_year"] = out["energy_mwh_per_year"].fillna(0.0)
    out["curtailed_hours_per_year"] = out["curtailed_hours_per_year"].fillna(0.0)
    out["curtailment_rate"] = out["curtailment_rate"].fillna(0.0).clip(lower=0.0)
    out["mwh_per_year"] = out["energy_mwh_per_year"]
    out["kind"] = [pr.flex_kind.get(t, "") for t in types]
    out.index.name = "flex"
    return out


def objective(pr: Any) -> float:
    return float(pr.objective_usd)


def unserved_mwh(pr: Any) -> float:
    return float(pr.unserved_mwh)


def extra_generation_cost(pr: Any) -> float:
    return float(pr.extra_generation_cost_usd_per_year)


def generation_by_fuel_change(pr: Any) -> pd.DataFrame:
    return pr.generation_by_fuel()


def prices(pr: Any) -> pd.DataFrame:
    return pr.price_usd_per_mwh


def revenue_usd_per_year(pr: Any, scenario: Any) -> float:
    """Value of flexible consumption per year [USD]: MWh drawn x the type's value per MWh (scenario)."""
    w = pr.weight_h.to_numpy()[:, None]
    energy = pd.Series((pr.consumption_mw.to_numpy() * w).sum(axis=0), index=pr.consumption_mw.columns) / pr.horizon_years
    per_type = energy.groupby(level="flex").sum()
    value = scenario.flex_loads["value_usd_per_mwh"]
    return float(sum(per_type[k] * float(value.get(k, 0.0)) for k in per_type.index))


def dispatch_by_fuel(pr: Any) -> pd.DataFrame:
    """National generation by technology, snapshot x technology [MW]."""
    tech = pr.generators["technology"].reindex(pr.dispatch_mw.columns)
    d = pr.dispatch_mw.T.groupby(tech).sum().T
    cols = [t for t in TECH_ORDER if t in d.columns] + [t for t in d.columns if t not in TECH_ORDER]
    return d[cols]


def household_demand(pr: Any, scenario: Any) -> pd.Series:
    """National household demand [MW] at the plan's snapshots, from the energy balance:
    generation + unserved - flexible draw - corridor losses (|flow| x loss_pu)."""
    loss_pu = scenario.lines["loss_pu"].reindex(pr.flow_mw.columns).fillna(0.0).to_numpy()
    losses = (pr.flow_mw.abs().to_numpy() * loss_pu).sum(axis=1)
    gen = pr.dispatch_mw.to_numpy().sum(axis=1)
    return pd.Series(gen + pr.unserved_mw.to_numpy().sum(axis=1) - flex_consumption(pr).to_numpy() - losses,
                     index=pr.dispatch_mw.index)


def flex_consumption(pr: Any) -> pd.Series:
    return pr.consumption_mw.sum(axis=1)


def write_pngs(run: Any, out: Path, figs: dict[str, Any]) -> list[Path]:
    """Matplotlib PNGs of the report's figures, for slides."""
    from offtake.report import surplus_plots
    from offtake.report.mpl import REGION_COLORS, plt, save, style

    style()
    written = surplus_plots.all_plots(run.surplus, out)
    pr = run.plan
    # MW sited by region and type
    cap = capacity(pr)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    bottom = np.zeros(len(cap))
    for i, col in enumerate(cap.columns):
        ax.bar(cap.index, cap[col], bottom=bottom, label=col, color=REGION_COLORS[i % len(REGION_COLORS)])
        bottom += cap[col].to_numpy()
    ax.set(ylabel="MW", title="Flexible load sited by the plan")
    ax.tick_params(axis="x", rotation=20)
    ax.legend()
    written.append(save(fig, out / "plan_capacity_by_region.png"))
    # price duration curves
    p = prices(pr)
    w = pr.weight_h.to_numpy()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for i, col in enumerate(p.columns):
        order = np.argsort(-p[col].to_numpy())
        share = np.cumsum(w[order]) / w.sum() * 100
        ax.plot(share, p[col].to_numpy()[order], label=col, color=REGION_COLORS[i % len(REGION_COLORS)], lw=1.4)
    ax.set(xlabel="share of hours [%]", ylabel="USD/MWh", title="Regional marginal price duration curves")
    ax.legend(fontsize=7)
    written.append(save(fig, out / "plan_price_duration.png"))
    # dispatch weeks
    from offtake.report.decision import MONTH_SUMMER_WEEK, MONTH_WINTER_WEEK, _week

    disp = dispatch_by_fuel(pr)
    dem = household_demand(pr, run.scenario)
    fl = flex_consumption(pr)
    for label, month in (("summer", MONTH_SUMMER_WEEK), ("winter", MONTH_WINTER_WEEK)):
        mask = _week(disp.index, month)
        if not mask.any():
            continue
        from offtake.report.figures import FUEL_COLORS

        d = disp[mask] / 1e3
        x = np.arange(len(d))  # positions: representative days are not consecutive in time
        fig, ax = plt.subplots(figsize=(10, 3.8))
        ax.stackplot(x, d.T.to_numpy(), labels=list(d.columns), alpha=0.85,
                     colors=[FUEL_COLORS.get(c, "#999999") for c in d.columns])
        ax.plot(x, dem[mask].to_numpy() / 1e3, color="black", lw=1.8, label="household demand")
        ax.plot(x, (dem[mask] + fl[mask]).to_numpy() / 1e3, color="#d62728", lw=1.5, ls=":", label="demand + flexible load")
        ticks = x[:: max(1, len(x) // 7)]
        ax.set_xticks(ticks, [d.index[i].strftime("%b %d %H:%M") for i in ticks], fontsize=7)
        ax.set(ylabel="GW", title=f"National dispatch, a {label} week")
        ax.legend(fontsize=7, ncol=5, loc="upper left")
        written.append(save(fig, out / f"plan_dispatch_{label}_week.png"))
    # risk
    if run.risk is not None:
        fig, ax = plt.subplots(figsize=(8, 3.8))
        for label, d in zip(run.risk_labels, run.risk.distributions):
            ax.hist(d.npv_usd / 1e6, bins=60, alpha=0.55, label=f"{label} (P(loss) {d.prob_loss:.0%})")
        ax.axvline(0, color="#d62728")
        ax.set(xlabel="NPV [million USD]", ylabel="paths", title="Investor NPV distribution")
        ax.legend(fontsize=7)
        written.append(save(fig, out / "risk_npv_histogram.png"))
        tf = run.risk.tornado_frame()
        tf = tf[tf["swing_usd"] > 0].sort_values("swing_usd").tail(14)
        if len(tf):
            labels = dict(zip([d.load for d in run.risk.distributions], run.risk_labels))
            names = tf["load"].map(labels).fillna(tf["load"]) + ": " + tf["parameter"]
            fig, ax = plt.subplots(figsize=(8, 0.35 * len(tf) + 1.5))
            ax.barh(names, (tf["npv_low_usd"] - tf["base_npv_usd"]) / 1e6, color="#cc6677", label="low")
            ax.barh(names, (tf["npv_high_usd"] - tf["base_npv_usd"]) / 1e6, color="#117733", label="high")
            ax.set(xlabel="change of mean NPV [million USD]", title="Sensitivity (tornado)")
            ax.legend(fontsize=7)
            written.append(save(fig, out / "risk_tornado.png"))
    return written
