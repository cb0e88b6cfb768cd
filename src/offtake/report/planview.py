"""Read the figures the decision report needs from a :class:`offtake.plan.PlanResult`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TECH_ORDER = ["nuclear", "coal_local", "coal_imported", "coal", "hydro", "wind", "solar", "bagasse", "gas", "rlng", "oil"]


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
    value = flex_values_usd_per_mwh(scenario)
    return float(sum(per_type[k] * float(value.get(k, 0.0)) for k in per_type.index))


def flex_values_usd_per_mwh(scenario: Any) -> pd.Series:
    """Value per MWh of each flexible type [USD]: the row's override figure where it gives one,
    else the lifetime-levelised valuation the planner uses (offtake.economics.valuation)."""
    fl = scenario.flex_loads
    given = pd.to_numeric(fl["value_usd_per_mwh"], errors="coerce") if "value_usd_per_mwh" in fl else \
        pd.Series(np.nan, index=fl.index)
    if given.notna().all():
        return given
    from offtake.economics.valuation import ValuationAssumptions, scenario_economics

    econ = scenario_economics(fl, ValuationAssumptions())
    levelised = pd.Series({k: float(e.value_usd_per_mwh) for k, e in econ.items()})
    return given.fillna(levelised.reindex(given.index))


def dispatch_by_fuel(pr: Any) -> pd.DataFrame:
    """National generation by fuel (the generators' ``fuel`` when declared, else technology) [MW]."""
    gens = pr.generators
    col = "fuel" if "fuel" in gens.columns and gens["fuel"].notna().all() else "technology"
    tech = gens[col].reindex(pr.dispatch_mw.columns)
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


def siting_map_png(run: Any, path: Path) -> Path:
    """Matplotlib siting map: national outlines, corridors by capacity, MW sited per region."""
    from offtake.report.geo import LABEL_AT, covers, outlines
    from offtake.report.mpl import plt, save

    sc = run.scenario
    reg = sc.regions
    lon, lat = reg["lon"].astype(float), reg["lat"].astype(float)
    sited = capacity(run.plan).sum(axis=1).reindex(reg.index).fillna(0.0)
    hostable = run.surplus.hostable_mw.mean().reindex(reg.index).fillna(0.0)
    fig, ax = plt.subplots(figsize=(8.5, 7.5))
    if covers(lon.to_numpy(), lat.to_numpy()):
        for name, rings in outlines():
            home = name == "Pakistan"
            for ring in rings:
                ax.fill(ring[:, 0], ring[:, 1], color="#f3efe6" if home else "#f4f4f4", zorder=0)
                ax.plot(ring[:, 0], ring[:, 1], color="#8a8170" if home else "#cccccc", lw=1.2 if home else 0.6, zorder=1)
            if not home:
                x, y = LABEL_AT.get(name, (rings[0][:, 0].mean(), rings[0][:, 1].mean()))
                ax.text(x, y, name, color="#a0a0a0", fontsize=9, ha="center")
    for _, ln in sc.lines.iterrows():
        a, b = ln["from_region"], ln["to_region"]
        cap = max(float(ln["capacity_forward_mw"]), float(ln["capacity_backward_mw"]))
        ax.plot([lon[a], lon[b]], [lat[a], lat[b]], color="#7d8fa3", lw=0.6 + cap / 1500, alpha=0.8, zorder=2)
    big = max(float(hostable.max()), 1.0)
    area = 60 + 1400 * hostable / big
    ax.scatter(lon, lat, s=area, color="#2a78b5", alpha=0.35, edgecolor="#12395b", zorder=3,
               label="mean surplus a region could host")
    on = sited > 0.5
    if on.any():
        ax.scatter(lon[on], lat[on], s=30 + 900 * sited[on] / max(float(sited.max()), 1.0), color="#e6550d", alpha=0.9,
                   zorder=4, label="flexible load sited")
    from offtake.report.tables import f_mw

    lo_, la_ = lon.to_numpy(), lat.to_numpy()
    for i, r in enumerate(reg.index):
        # to the left where a neighbour sits close to the east, else to the right: labels do not overlap
        left = bool(np.any((lo_ > lo_[i]) & (lo_ - lo_[i] < 2.5) & (np.abs(la_ - la_[i]) < 1.5)))
        txt = f"{r}\nsurplus {f_mw(hostable[r])} MW" + (f"\nsited {f_mw(sited[r])} MW" if on[r] else "\nnothing sited")
        off = float(np.sqrt(area[r])) / 2 + 4
        ax.annotate(txt, (lon[r], lat[r]), xytext=(-off if left else off, 0), textcoords="offset points",
                    fontsize=9, va="center", ha="right" if left else "left", zorder=5)
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    for cap in (1000, 3000, 6000):
        handles.append(Line2D([0], [0], color="#7d8fa3", lw=0.6 + cap / 1500))
        labels.append(f"corridor {cap:,} MW")
    ax.legend(handles, labels, loc="lower right", fontsize=8, frameon=True, markerscale=0.35)
    whole = covers(lon.to_numpy(), lat.to_numpy())
    ax.set(xlabel="longitude [°E]", ylabel="latitude [°N]", aspect="equal",
           xlim=(60.5, 79.5) if whole else (lon.min() - 1.5, lon.max() + 4.0),
           ylim=(23.3, 37.5) if whole else (lat.min() - 1.5, lat.max() + 1.5))
    ax.grid(False)
    ax.set_title("Where the plan sites flexible load, and the surplus each region could host", loc="left")
    return save(fig, path)


def write_pngs(run: Any, out: Path, figs: dict[str, Any]) -> list[Path]:
    """Matplotlib PNGs of the report's figures, for slides (same file names as `offtake plan`)."""
    from offtake.report import surplus_plots
    from offtake.report.figures import FUEL_COLORS
    from offtake.report.labels import flex_label
    from offtake.report.mpl import REGION_COLORS, npv_histogram_figure, plt, save, style, tornado_figure

    style()
    written = surplus_plots.all_plots(run.surplus, out)
    written.append(siting_map_png(run, out / "plan_siting_map.png"))
    pr = run.plan
    # MW sited by region and type
    cap = capacity(pr)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    bottom = np.zeros(len(cap))
    for i, col in enumerate(cap.columns):
        ax.bar(cap.index, cap[col], bottom=bottom, label=flex_label(str(col)), color=REGION_COLORS[i % len(REGION_COLORS)])
        bottom += cap[col].to_numpy()
    for x, total in zip(cap.index, bottom):
        if total > 0.5:
            ax.text(x, total, f"{total:,.0f}", ha="center", va="bottom", fontsize=9)
    ax.set(ylabel="flexible load sited [MW]", title="Flexible load sited by the plan, by region and type")
    if bottom.sum() <= 0.5:
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "no flexible load is sited at this tariff", transform=ax.transAxes, ha="center", fontsize=11)
    ax.tick_params(axis="x", rotation=20)
    ax.legend()
    written.append(save(fig, out / "plan_mw_by_region.png"))
    # price duration curves
    p = prices(pr)
    w = pr.weight_h.to_numpy()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for i, col in enumerate(p.columns):
        order = np.argsort(-p[col].to_numpy())
        share = np.cumsum(w[order]) / w.sum() * 100
        ax.plot(share, p[col].to_numpy()[order], label=str(col).replace("_", " "), color=REGION_COLORS[i % len(REGION_COLORS)], lw=1.4)
    ax.set(xlabel="share of hours [%]", ylabel="marginal price [USD/MWh]", title="Regional marginal price duration curves")
    ax.legend(fontsize=8, ncol=2)
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
        d = disp[mask] / 1e3
        x = np.arange(len(d))  # positions: representative days are not consecutive in time
        fig, ax = plt.subplots(figsize=(10, 4.2))
        ax.stackplot(x, d.T.to_numpy(), labels=list(d.columns), alpha=0.85,
                     colors=[FUEL_COLORS.get(c, "#999999") for c in d.columns])
        ax.plot(x, dem[mask].to_numpy() / 1e3, color="black", lw=1.8, label="existing demand (all consumers)")
        ax.plot(x, (dem[mask] + fl[mask]).to_numpy() / 1e3, color="#d62728", lw=1.5, ls=":", label="existing demand + flexible load")
        ticks = x[:: max(1, len(x) // 7)]
        ax.set_xticks(ticks, [d.index[i].strftime("%b %d %H:%M") for i in ticks], fontsize=9)
        ax.set(ylabel="generation [GW]", title=f"National dispatch by fuel, a {label} week")
        ax.legend(fontsize=8, ncol=5, loc="upper left", bbox_to_anchor=(0, -0.12))
        written.append(save(fig, out / f"plan_dispatch_{label}_week.png"))
    # risk
    if run.risk is not None:
        written.append(save(npv_histogram_figure(run.risk.distributions, list(run.risk_labels)), out / "risk_npv_histogram.png"))
        tf = run.risk.tornado_frame()
        if len(tf[tf["swing_usd"] > 0]):
            labels = dict(zip([d.load for d in run.risk.distributions], run.risk_labels))
            written.append(save(tornado_figure(tf, labels), out / "risk_tornado.png"))
    return written
