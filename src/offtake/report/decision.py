"""The decision report: one folder with report.html, PNG figures, CSV tables and summary.json.

Reads a :class:`offtake.pipeline.RunResult`; everything it shows is computed by the stages.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from offtake.report import deal_section, planview, surplus_section
from offtake.report import tables as T
from offtake.report.html import Section, esc, render, table_html

MONTH_SUMMER_WEEK = 7  # a week in July: peak load, strong hydro
MONTH_WINTER_WEEK = 1  # a week in January: low load, dry hydro


def _fmt_mw(v: float) -> str:
    return f"{v:,.0f} MW"


def summary_dict(run: Any) -> dict[str, Any]:
    """The figures a decision maker reads first (also what `offtake compare` diffs)."""
    sc = run.scenario
    sur = run.surplus.summary()
    cap = planview.capacity(run.plan)
    flex = planview.flex_summary(run.plan)
    val = run.value
    sysv = val.system
    out: dict[str, Any] = {
        "scenario": sc.name,
        "tariff_pkr_per_kwh": run.tariff_pkr_per_kwh,
        "surplus": {"band": sur.get("band"), "national": sur["national"], "regions": {r: {k: v for k, v in d.items()} for r, d in sur["regions"].items()}},
        "plan": {
            "objective": planview.objective(run.plan),
            "total_mw": float(cap.to_numpy().sum()),
            "capacity_mw": {r: {k: float(v) for k, v in row.items()} for r, row in cap.iterrows()},
            "by_type": {name: {k: (v if isinstance(v, str) else float(v)) for k, v in row.items()} for name, row in flex.iterrows()},
            "extra_generation_cost_usd_per_year": planview.extra_generation_cost(run.plan),
            "unserved_mwh": planview.unserved_mwh(run.plan),
        },
        "value": {
            "loads": {v.name: {"mw": v.mw, "npv_usd": v.npv_usd, "irr_per_year": v.irr_per_year,
                               "breakeven_tariff_pkr_per_kwh": v.breakeven_tariff_pkr_per_kwh,
                               "pays_at_tariff": bool(v.pays_at_tariff)} for v in val.loads},
            "system": {k: (bool(v) if isinstance(v, (bool, np.bool_)) else v) for k, v in sysv.__dict__.items()},
        },
        "timings_s": {k: round(v, 3) for k, v in run.timings_s.items()},
        "provenance": run.provenance,
        "emissions": run.emissions.to_dict(),
    }
    # DECISION (#12): the deal space, the recommendation and every input of the valuation
    if getattr(run, "deal", None) is not None:
        out["decision"] = run.deal.decision()
    if getattr(run, "offered", None) is not None:
        out["offered"] = run.offered.summary()
        out["resolution"] = {"solved": run.plan.resolution, "snapshots": int(len(run.plan.weight_h)),
                             "words": deal_section.resolution_words(run.plan.resolution, len(run.plan.weight_h))}
    out["surplus_by_cost"] = surplus_section.summary_block(run.surplus)  # SURPLUS: cumulative cost bands, units in keys
    if run.risk is not None:
        out["risk"] = {label: {k: d.to_dict()[k] for k in ("mean_usd", "p10_usd", "p50_usd", "p90_usd", "prob_loss")}
                       for label, d in zip(run.risk_labels, run.risk.distributions)}
    return _clean(out)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _week(index: pd.DatetimeIndex, month: int) -> np.ndarray:
    """Boolean mask of the first full week (Mon-Sun) starting in ``month``."""
    idx = pd.DatetimeIndex(index)
    in_month = np.flatnonzero((idx.month == month) & (idx.dayofweek == 0) & (idx.hour == 0))
    if len(in_month) == 0:
        in_month = np.flatnonzero(idx.month == month)
    if len(in_month) == 0:
        return np.zeros(len(idx), bool)
    start = idx[in_month[0]]
    return np.asarray((idx >= start) & (idx < start + pd.Timedelta(days=7)))


def build_sections(run: Any) -> tuple[list[Section], dict[str, pd.DataFrame], dict[str, Any]]:
    """Sections of the HTML report, the CSV tables, and the plotly figures by PNG name."""
    from offtake.report import figures as F

    sc = run.scenario
    sur = run.surplus
    cap = planview.capacity(run.plan)
    flex = planview.flex_summary(run.plan)
    val = run.value
    sysv = val.system
    tables: dict[str, pd.DataFrame] = {}
    figs: dict[str, Any] = {}

    # --- executive summary -------------------------------------------------------------
    total_mw = float(cap.to_numpy().sum())
    per_region = cap.sum(axis=1)
    revenue = planview.revenue_usd_per_year(run.plan, sc)
    hours = flex["curtailed_hours_per_year"] if "curtailed_hours_per_year" in flex else pd.Series(dtype=float)
    kpis = [
        (_fmt_mw(total_mw), f"flexible load to offer (programme cap {sc.config.programme_cap_mw or 0:,.0f} MW)"),
        (f"{sur.national_mw.quantile(0.05):,.0f} MW", "national surplus at any cost (capacity) in 95% of hours"),
        (f"${revenue / 1e6:,.0f} M / yr", "investors' gross revenue from flexible consumption (not a national benefit)"),
        (f"{sysv.other_consumers_change_pkr_per_kwh:+.2f} Rs/kWh", "change of other consumers' average tariff"),
        (f"{sysv.contribution_usd_per_year / 1e6:,.0f} M USD / yr", "contribution to fixed capacity charges"),
    ]
    if run.risk is not None:
        for label, d in zip(run.risk_labels, run.risk.distributions):
            kpis.append((f"{d.prob_loss:.0%}", f"probability of loss, {label}"))
    for name, h in hours.items():
        if float(flex.loc[name, "capacity_mw"]) > 0:
            kpis.append((f"{h:,.0f} h", f"hours curtailed per year, {name}"))
    offer = cap.loc[per_region > 0.5] if len(cap) else cap
    tables["capacity_mw.csv"] = cap
    exec_par = deal_section.headline(run) + [
        f"At the offered tariff of <b>Rs {run.tariff_pkr_per_kwh:.2f}/kWh</b>, the plan sites "
        f"<b>{total_mw:,.0f} MW</b> of flexible load where surplus power is cheapest to deliver: "
        + ", ".join(f"{esc(r)} {v:,.0f} MW" for r, v in per_region[per_region > 0.5].sort_values(ascending=False).items())
        + ". Households are served first in every hour (unserved energy "
        f"{planview.unserved_mwh(run.plan):,.0f} MWh).",
        f"The new load pays Rs {sysv.contribution_pkr_per_year / 1e9:,.1f} bn a year towards capacity charges that are "
        f"fixed anyway, which moves every other consumer's average tariff by {sysv.other_consumers_change_pkr_per_kwh:+.2f} Rs/kWh. "
        + ("The tariff recovers full cost (energy, network and a capacity share: the IMF test)." if sysv.recovers_full_cost
           else f"The tariff does <b>not</b> recover full cost (Rs {sysv.full_cost_pkr_per_kwh:.2f}/kWh: the IMF test)."),
    ]
    if not sysv.window_is_empty:
        exec_par.append(f"Tariffs between Rs {sysv.window_lower_pkr_per_kwh:.2f} and Rs {sysv.window_upper_pkr_per_kwh:.2f}/kWh "
                        "both let investors earn a non-negative NPV and lower other consumers' tariffs.")
    else:
        exec_par.append("No tariff both gives investors a non-negative NPV and lowers other consumers' tariffs under "
                        "these assumptions (see the risk and sensitivity sections).")
    exec_tab = offer.copy()
    exec_tab["total"] = exec_tab.sum(axis=1)
    s_exec = Section("Executive summary", "summary", kpis=kpis, paragraphs=exec_par,
                     tables=[table_html(T.capacity_table(offer), index=False)])

    # --- surplus and siting --------------------------------------------------------------
    mean_surplus = sur.hostable_mw.mean()
    figs["region_diagram"] = F.region_diagram(sc, mean_surplus, "Mean surplus at any cost (capacity) each region could host, and MW sited by the plan",
                                              "mean hostable surplus (any cost)", per_region)
    figs["surplus_duration"] = F.surplus_duration(sur)
    figs["surplus_heatmap"] = F.surplus_heatmap(sur)
    at_least = sur.available_at_least()
    tables["surplus_available_at_least.csv"] = at_least
    s_sur = Section("Surplus at any cost (capacity): where and when", "surplus",
                    paragraphs=["Surplus at any cost is available generation minus household demand and the reserve, limited "
                                "by the corridors, whatever the plant costs to run (the next section splits it by cost). Regional curves show what a region could host on its own; they do not add "
                                "up to the national curve. The heat map shows the rooftop-solar midday surplus and the "
                                "evening squeeze."],
                    figures=[figs["region_diagram"], figs["surplus_duration"], figs["surplus_heatmap"]],
                    tables=[table_html(T.at_least_table(at_least), index=False)])

    # --- prices and dispatch -------------------------------------------------------------
    prices = planview.prices(run.plan)
    tables["price_usd_per_mwh.csv"] = prices
    figs["price_duration"] = F.duration_lines(prices, "Regional marginal price duration curves (duals of the energy balance)", "USD/MWh")
    disp = planview.dispatch_by_fuel(run.plan)
    dem = planview.household_demand(run.plan, sc)
    fl = planview.flex_consumption(run.plan)
    week_figs = []
    for label, month, key in (("summer", MONTH_SUMMER_WEEK, "dispatch_summer_week"), ("winter", MONTH_WINTER_WEEK, "dispatch_winter_week")):
        mask = _week(disp.index, month)
        if mask.any():
            figs[key] = F.stacked_dispatch(disp[mask], dem[mask], fl[mask], f"National dispatch, a {label} week")
            week_figs.append(figs[key])
    gen_extra = planview.generation_by_fuel_change(run.plan)
    tables["by_type.csv"] = flex
    s_ops = Section("Prices and hourly operation", "operation",
                    paragraphs=["Prices are the marginal cost of serving one more MWh in a region and hour (the duals "
                                "of each region's energy balance). The dispatch charts stack generation by fuel under "
                                "existing demand of all consumers (black) and that demand plus the new flexible load (red dotted).", _curtailment_text(flex)],
                    figures=[figs["price_duration"], *week_figs],
                    tables=[table_html(T.flex_table(flex), index=False), table_html(T.generation_table(gen_extra), index=False)])

    # --- emissions ---------------------------------------------------------------------------
    em = run.emissions
    tables["emissions_by_fuel.csv"] = em.to_frame()
    sited_any = math.isfinite(em.flex_mwh_per_year) and em.flex_mwh_per_year > 1e-6
    em_kpis = ([(f"{em.extra_tco2_per_year / 1e6 + 0.0:,.2f} Mt CO2 / yr", "added by the generation that serves the new load"),
                (f"{em.tco2_per_mwh_drawn:,.2f} t / MWh", "per MWh the flexible loads draw"),
                (f"{em.tco2_per_mwh_generated:,.2f} t / MWh", "per MWh of extra generation")] if sited_any else
               [("none", "no flexible load is sited, so no generation is added")])
    s_em = Section("CO2 of the extra generation", "emissions", kpis=em_kpis,
                   paragraphs=["The generation added for the flexible loads (the plan minus the same year without them) "
                               "times each fuel's emission factor: IPCC 2006 default CO2 factors per GJ of fuel and "
                               "typical heat rates of each fleet type (docs/report.md, Emissions). Bagasse is "
                               "biogenic and counted as zero, as IPCC inventories do."],
                   tables=[table_html(T.emissions_table(em.to_frame()), index=False)])

    # --- value -------------------------------------------------------------------------------
    inv = val.to_frame()
    tables["value_investor.csv"] = inv
    tables["value_system.csv"] = val.system_frame()
    s_val = Section("Does it pay? Investor and system views", "value",
                    paragraphs=[f"Investor view per load type at Rs {run.tariff_pkr_per_kwh:.2f}/kWh, using the plan's MW "
                                "and hours of curtailment. Break-even tariff: the tariff at which NPV is zero."],
                    tables=[table_html(T.investor_table(inv), index=False), table_html(T.system_table(val.system_frame()), index=False)])

    # --- risk ----------------------------------------------------------------------------------
    # SURPLUS: the cost-band section (report/surplus_section.py), tariff in USD/MWh
    s_cost, cost_tables, cost_figs = surplus_section.cost_band_section(
        sur, run.tariff_pkr_per_kwh * 1000.0 / float(sc.config.usd_exchange_rate))
    tables.update(cost_tables)
    figs.update(cost_figs)
    s_mix = _mix_section(sc, run.plan, tables)
    sections = [s_exec, s_sur, *([s_cost] if s_cost is not None else []), s_mix, s_ops, s_em, s_val]
    if getattr(run, "deal", None) is not None:  # DECISION: the deal space
        s_deal, deal_tables, deal_figs = deal_section.section(run)
        tables.update(deal_tables)
        figs.update(deal_figs)
        sections.append(s_deal)
    if run.risk is not None:
        npvs = {label: d.npv_usd for label, d in zip(run.risk_labels, run.risk.distributions)}
        figs["npv_histogram"] = F.npv_histogram(npvs)
        rf = run.risk.to_frame()
        rf.index = list(run.risk_labels)
        tables["risk_npv.csv"] = rf
        risk_figs = [figs["npv_histogram"]]
        tf = run.risk.tornado_frame()
        if len(tf):
            labels = dict(zip([d.load for d in run.risk.distributions], run.risk_labels))
            tf = tf.assign(load=tf["load"].map(labels).fillna(tf["load"]))
            tables["risk_tornado.csv"] = tf
            figs["tornado"] = F.tornado(tf)
            risk_figs.append(figs["tornado"])
        a = run.risk.assumptions
        s_risk = Section("Risk and sensitivity", "risk",
                         paragraphs=[f"{a.n_paths:,} Monte Carlo paths over {a.n_months} months (seed {run.risk.seed}): "
                                     "BTC price and GPU rental price correlated, network hashrate following price with a "
                                     "lag, the 2028 halving, wet and dry hydrology years, demand growth."],
                         figures=risk_figs, tables=[table_html(T.risk_table(rf), index=False)])
        sections.append(s_risk)

    # --- assumptions and limits -----------------------------------------------------------------
    assumptions = assumptions_table(run)
    tables["assumptions.csv"] = assumptions
    sections.append(Section("Assumptions and sources", "assumptions", tables=[table_html(assumptions, "{:,.4g}", index=False)]))
    sections.append(Section("Limits of this analysis", "limits", bullets=LIMITS))
    return sections, tables, figs


def _curtailment_text(flex: pd.DataFrame) -> str:
    """What the plan's curtailment figures say, in words (data-driven, not a fixed claim)."""
    sited = flex[flex["capacity_mw"] > 0.5]
    if sited.empty:
        return "No flexible load is sited, so nothing is curtailed."
    parts = []
    for name, row in sited.iterrows():
        h = float(row["curtailed_hours_per_year"])
        if h < 0.5:
            parts.append(f"{esc(name)} runs in every hour: at its sites surplus never runs out and power never costs "
                         "more than it earns")
        else:
            parts.append(f"{esc(name)} is curtailed {h:,.0f} hours a year ({float(row['curtailment_rate']):.1%} of its "
                         "energy), in the hours when power at its sites costs more than it earns or households need it")
    return "; ".join(parts) + "."


def assumptions_table(run: Any) -> pd.DataFrame:
    sc = run.scenario
    t = sc.config.tariffs
    g = sc.generators
    d = sc.demand_mw.sum(axis=1)
    rows = [
        ("Grid-connected capacity", f"{g['capacity_mw'].sum():,.0f} MW", "Ember 2025; NEPRA State of Industry 2025"),
        ("Annual demand (busbar)", f"{d.sum() / 1e3 / sc.snapshot_weight_h().sum() * 8760:,.0f} GWh/yr", "FY25 generation 127,159 GWh (NEPRA)"),
        ("Peak demand", f"{d.max():,.0f} MW", "NTDC peak 27-29 GW + K-Electric 3.5-4 GW [est]"),
        ("Reserve margin", f"{sc.config.reserve_margin:.0%}", "project estimate"),
        ("Offered tariff", f"Rs {run.tariff_pkr_per_kwh:.2f}/kWh", "Roshan Maeeshat package Rs 22.98/kWh"),
        ("Capacity charge", f"Rs {t.capacity_charge_pkr_per_kwh:.2f}/kWh", "NEPRA FY26 reference"),
        ("Energy charge", f"Rs {t.energy_charge_pkr_per_kwh:.2f}/kWh", "NEPRA FY26 reference"),
        ("Capacity charges FY25", f"Rs {t.capacity_charges_pkr_bn:,.0f} bn", "NEPRA"),
        ("Exchange rate", f"PKR {sc.config.usd_exchange_rate:.2f}/USD", "Jul 2025"),
        ("Programme cap", f"{sc.config.programme_cap_mw or 0:,.0f} MW", "Government announcement, May 2025"),
    ]
    from offtake.economics.valuation import scenario_economics

    for name, e in scenario_economics(sc.flex_loads).items():
        src = ("offtake.economics over the asset's life (docs/economics.md)" if e.source == "economics"
               else "flex_loads.csv override")
        rows.append((f"{name}: value per MWh over its life", f"{e.value_usd_per_mwh:,.1f} USD/MWh "
                     f"(first month {e.first_year_value_usd_per_mwh:,.1f})", src))
        rows.append((f"{name}: yearly capital and fixed cost", f"{e.fixed_cost_usd_per_mw_year:,.0f} USD/MW-yr", src))
    if run.risk is not None:
        a = run.risk.assumptions
        rows += [("BTC price (start)", f"{a.btc_price_usd:,.0f} USD", "assumption; see docs/economics.md"),
                 ("BTC volatility", f"{a.btc_vol_per_year:.0%} / yr", "assumption"),
                 ("Network hashrate growth", f"{a.hashrate_growth_per_year:.0%} / yr", "assumption; ~1 ZH/s (2025)"),
                 ("GPU rental", f"{a.rental_usd_per_gpu_hour:.2f} USD/GPU-h", "H100 1.70-2.99 (2025)"),
                 ("Discount rate", f"{a.discount_rate_per_year:.0%}", "assumption")]
    return pd.DataFrame(rows, columns=["assumption", "value", "source"])


DISCLAIMER = ("Synthetic data: hourly demand, wind and solar are synthesised from published monthly, seasonal and "
              "daily figures (hourly load is not public). Totals match the published figures; no hour is a "
              "historical record. Read the results as a planning estimate, not a measurement.")

LIMITS = [
    "Hourly demand, wind and solar are synthesised from published monthly, seasonal and daily figures (NTDC hourly "
    "load is not public); they match the published totals but not any particular historical hour.",
    "Regions are joined by a transport model (corridor limits and losses), not AC power flow; voltage, stability and "
    "N-1 security are not modelled.",
    "Generator availability uses average forced-outage rates; gas and RLNG supply shortfalls are folded into those "
    "rates rather than modelled as fuel contracts.",
    "Capacity charges are treated as fixed over the horizon; new capacity additions and retirements (IGCEP) are not "
    "modelled.",
    "Market figures (BTC price, network hashrate, GPU rental) are highly uncertain; the risk section shows how much "
    "the answer moves with them.",
    "Results at reduced time resolution (3-hourly or representative days) differ from the full year; docs/plan.md "
    "reports by how much.",
]


def write_run(run: Any, out: Path, html: bool = True, png: bool = True) -> list[Path]:
    """Write report.html, PNGs, CSVs and summary.json into ``out`` (each file atomically)."""
    from offtake.commands._common import write_atomic

    sections, tables, figs = build_sections(run)
    written: list[Path] = []
    for name, frame in tables.items():
        write_atomic(out / name, T.csv_text(frame))
        written.append(out / name)
    write_atomic(out / "summary.json", json.dumps(summary_dict(run), indent=2))
    written.append(out / "summary.json")
    if png:
        written += planview.write_pngs(run, out, figs)
        if getattr(run, "deal", None) is not None:
            written += deal_section.write_pngs(run.deal, out)
    if html:
        title = f"Offtake: surplus electricity for flexible loads - {run.scenario.name}"
        subtitle = (f"{run.scenario.config.description.strip()} Tariff Rs {run.tariff_pkr_per_kwh:.2f}/kWh. "
                    f"Plan solved at {deal_section.resolution_words(run.plan.resolution, len(run.plan.weight_h))}.")
        from offtake.provenance import footer_text

        footer = footer_text(run.provenance) if run.provenance else ""
        write_atomic(out / "report.html", render(title, subtitle, sections, footer=footer, disclaimer=DISCLAIMER))
        written.append(out / "report.html")
    return written


def _mix_section(sc: Any, plan: Any, tables: dict[str, pd.DataFrame]) -> Section:
    """The baseline generation mix (no flexible load) beside the scenario's reference mix (FY25 for Pakistan)."""
    from offtake.scenario.calibration import mix_beside_reference

    mix = mix_beside_reference(sc, plan)
    tables["generation_mix_vs_reference.csv"] = mix
    source = getattr(sc.config, "reference_mix_source", None) or "the scenario's reference_mix"
    shown = pd.DataFrame({
        "fuel": [str(f).replace("_", " ") for f in mix.index],
        "baseline generation [TWh/yr]": (mix["baseline_mwh_per_year"] / 1e6).round(2),
        "baseline share [%]": (100 * mix["baseline_share"]).round(1),
        "reference share [%]": (100 * mix["reference_share"]).round(1),
        "difference [pp]": mix["difference_pp"].round(1),
    })
    total_twh = float(mix["baseline_mwh_per_year"].sum()) / 1e6
    return Section("Generation mix: the model's baseline beside the reference year", "mix",
                   paragraphs=[f"Generation by fuel of the baseline dispatch (the same year without any flexible load), "
                               f"{total_twh:,.1f} TWh/yr in all, beside the reference mix ({esc(str(source))}). "
                               "The calibration tests hold every fuel within 3 percentage points."],
                   tables=[table_html(shown, index=False)])
