"""The decision in the report: the headline in a minister's words, the deal-space section, its charts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from offtake.economics.designs import Design, DesignKind, describe_irr
from offtake.report.html import Section, esc, table_html

DESIGN_LABEL = {"flat": "flat tariff", "surplus_indexed": "surplus price + adder", "revenue_share": "revenue share"}
TYPE_WORDS = {"bitcoin_mining": "Bitcoin mining", "ai_training": "AI training", "ai_inference": "AI inference"}


def _type_words(name: str, run: Any) -> str:
    fl = run.scenario.flex_loads
    lt = fl.loc[name, "load_type"] if name in fl.index and "load_type" in fl.columns else None
    return TYPE_WORDS.get(str(lt), name.replace("_", " "))


def _regions_words(p: Any) -> str:
    per = {r: sum(v.values()) for r, v in p.mw_by_region.items()}
    names = [r.replace("_", " ").title() for r, _ in sorted(per.items(), key=lambda kv: -kv[1]) if per[r] > 0.5]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


def _design_of(p: Any) -> Design:
    return Design(DesignKind(p.design), p.level, p.floor_pkr_per_kwh)


def _what_comes(p: Any, run: Any) -> str:
    parts = [f"{mw:,.0f} MW of {_type_words(n, run)}" for n, mw in p.mw_by_type.items() if mw > 0.5]
    return " and ".join(parts)


def _change_words(v: float) -> str:
    if abs(v) < 0.005:
        return "other consumers' tariffs would not change"
    return (f"other consumers would pay Rs {abs(v):.2f}/kWh less" if v < 0
            else f"other consumers would pay Rs {v:.2f}/kWh more")


def headline(run: Any) -> list[str]:
    """The executive summary's first paragraphs: the offered tariff, the best design, or plainly none."""
    out = []
    offered = run.offered
    if offered is not None:
        d = _design_of(offered)
        if offered.total_mw < 0.5:
            out.append(f"<b>At {esc(d.words())} no mining or AI site pays</b>: under the valuation below no investor "
                       "would earn their hurdle rate, so the plan sites nothing.")
        else:
            out.append(f"At {esc(d.words())} about <b>{esc(_what_comes(offered, run))}</b> would come to "
                       f"{esc(_regions_words(offered))}, and {_change_words(offered.others_change_pkr_per_kwh)}.")
    deal = run.deal
    if deal is None:
        return out
    rec = deal.recommended
    if rec is None:
        out.append("<b>No tariff design in the range studied works</b>: at every level of the flat tariff, the "
                   "surplus-indexed price and the revenue share, either no investor would earn their hurdle rate "
                   "or the sales would not lower other consumers' bills.")
    else:
        d = _design_of(rec)
        imf = ("It also passes the IMF full-cost test" if rec.imf_full_cost_met
               else f"It does not pass the IMF full-cost test (Rs {rec.full_cost_pkr_per_kwh:.2f}/kWh)")
        out.append(f"<b>With {esc(d.words())}, about {esc(_what_comes(rec, run))} would come to "
                   f"{esc(_regions_words(rec))} and {_change_words(rec.others_change_pkr_per_kwh)}</b> "
                   f"(Rs {rec.contribution_pkr_per_year / 1e9:,.1f} bn a year towards capacity charges). {imf}.")
    ai = {n: v for n, v in (offered.rental_breakeven_usd_per_gpu_hour_by_type.items() if offered else [])
          if v is not None and math.isfinite(v)}
    if ai:
        txt = "; ".join(f"{esc(_type_words(n, run))} at {v:.2f} USD/GPU-h" for n, v in ai.items())
        rentals = {n: run.deal.assumptions.get(n, {}).get("rental_usd_per_gpu_hour") for n in ai}
        now = ", ".join(f"{r:.2f}" for r in rentals.values() if r is not None)
        out.append(f"An AI site would pay at the offered tariff with a GPU rental price of about {txt} "
                   f"(assumed today: {now} USD/GPU-h, falling 10 % a year).")
    return out


def resolution_words(resolution: str, n_snapshots: int) -> str:
    """What the plan solved, in words: "hourly (8,760 snapshots)", "3-hour steps (2,920 snapshots)"."""
    if resolution == "1h":
        return f"hourly ({n_snapshots:,} snapshots)"
    if resolution.endswith("h") and resolution[:-1].isdigit():
        return f"{resolution[:-1]}-hour steps ({n_snapshots:,} snapshots)"
    return f"{resolution} ({n_snapshots:,} snapshots)"


def points_table(deal: Any) -> pd.DataFrame:
    rows = []
    for p in deal.points:
        row = {"design": DESIGN_LABEL.get(p.design, p.design), "level": p.level, "units": p.level_units,
               "MW sited": p.total_mw}
        for n, v in p.mw_by_type.items():
            row[f"{n} [MW]"] = v
        for n, v in p.npv_usd_by_type.items():
            row[f"{n} NPV [M USD]"] = v / 1e6
        for n, v in p.irr_per_year_by_type.items():
            if p.mw_by_type.get(n, 0.0) > 0.5:
                row[f"{n} IRR"] = describe_irr(v)
        row.update({
            "hours run [h/yr]": sum(p.hours_run_by_type[n] * p.mw_by_type[n] for n in p.mw_by_type) / p.total_mw
            if p.total_mw > 0 else 0.0,
            "hours curtailed [h/yr]": sum(p.hours_curtailed_by_type[n] * p.mw_by_type[n] for n in p.mw_by_type)
            / p.total_mw if p.total_mw > 0 else 0.0,
            "contribution [Rs bn/yr]": p.contribution_pkr_per_year / 1e9,
            "others' tariff [Rs/kWh]": p.others_change_pkr_per_kwh,
            "K-Electric area [Rs/kWh]": p.ke_change_pkr_per_kwh,
            "contribution, reference energy cost [Rs bn/yr]": p.contribution_reference_basis_pkr_per_year / 1e9,
            "IMF test (plan energy cost)": "met" if p.imf_full_cost_met else "not met",
            "IMF test (reference energy cost)": "met" if p.imf_full_cost_met_reference_basis else "not met",
            "imported fuel [M USD/yr]": p.imported_fuel_usd_per_year / 1e6,
        })
        rows.append(row)
    return pd.DataFrame(rows)


def plotly_figures(deal: Any) -> dict[str, Any]:
    """MW and others' tariff change against the level, one line per design (one panel per design,
    each in its level's units), the revenue-maximising level marked, IMF-test levels shaded."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    by = deal.by_design()
    best = deal.revenue_maximising()
    out = {}
    for key, attr, ytitle, scale in (("deal_mw", "total_mw", "MW sited", 1.0),
                                     ("deal_others_tariff", "others_change_pkr_per_kwh",
                                      "others' tariff change [Rs/kWh]", 1.0)):
        fig = make_subplots(rows=1, cols=len(by), subplot_titles=[DESIGN_LABEL.get(d, d) for d in by],
                            shared_yaxes=True)
        for i, (d, ps) in enumerate(by.items(), start=1):
            xs = [p.level for p in ps]
            fig.add_trace(go.Scatter(x=xs, y=[getattr(p, attr) * scale for p in ps], mode="lines+markers",
                                     name=DESIGN_LABEL.get(d, d)), row=1, col=i)
            b = best[d]
            fig.add_trace(go.Scatter(x=[b.level], y=[getattr(b, attr) * scale], mode="markers", showlegend=i == 1,
                                     marker={"symbol": "star", "size": 14, "color": "black"},
                                     name="revenue-maximising level"), row=1, col=i)
            for p, q in zip(ps, ps[1:] + [None]):
                if p.imf_full_cost_met:
                    hi = q.level if q is not None else p.level
                    fig.add_vrect(x0=p.level, x1=hi, fillcolor="green", opacity=0.12, line_width=0, row=1, col=i)
            fig.update_xaxes(title_text=ps[0].level_units, row=1, col=i)
        fig.update_yaxes(title_text=ytitle, row=1, col=1)
        fig.update_layout(title=f"{ytitle} against each design's level (shaded: IMF full-cost test met)",
                          height=380)
        out[key] = fig
    return out


def write_pngs(deal: Any, out: Path) -> list[Path]:
    """deal_mw.png and deal_others_tariff.png (matplotlib), same content as the HTML charts."""
    from offtake.report.mpl import plt, save, style

    style()
    by = deal.by_design()
    best = deal.revenue_maximising()
    written = []
    for name, attr, ytitle in (("deal_mw.png", "total_mw", "MW sited"),
                               ("deal_others_tariff.png", "others_change_pkr_per_kwh",
                                "others' tariff change [Rs/kWh]")):
        fig, axes = plt.subplots(1, len(by), figsize=(4 * len(by), 3.6), sharey=True, squeeze=False)
        for ax, (d, ps) in zip(axes[0], by.items()):
            xs = [p.level for p in ps]
            ax.plot(xs, [getattr(p, attr) for p in ps], marker="o", ms=3, label=DESIGN_LABEL.get(d, d))
            b = best[d]
            ax.plot([b.level], [getattr(b, attr)], marker="*", ms=12, color="black", ls="none",
                    label="revenue-maximising")
            step = (xs[1] - xs[0]) if len(xs) > 1 else 1.0
            for p in ps:
                if p.imf_full_cost_met:
                    ax.axvspan(p.level - step / 2, p.level + step / 2, color="green", alpha=0.12, lw=0)
            ax.set(title=DESIGN_LABEL.get(d, d), xlabel=ps[0].level_units)
            ax.legend(fontsize=7)
        axes[0][0].set_ylabel(ytitle)
        fig.suptitle(f"{ytitle} against each design's level (shaded: IMF full-cost test met)", fontsize=10)
        written.append(save(fig, out / name))
    return written


def section(run: Any) -> tuple[Section, dict[str, pd.DataFrame], dict[str, Any]]:
    """The deal-space section of the report, its CSV table and figures."""
    deal = run.deal
    tab = points_table(deal)
    figs = plotly_figures(deal)
    rec = deal.recommended
    best = deal.revenue_maximising()
    paras = [
        ("Each tariff design is swept over its level. At every level the plan sites only what investors would "
        "build: MW whose net present value at the investors' hurdle rate is zero or more, given the hours they run "
        "and are curtailed under that design (docs/economics.md, 'Tariff designs'). The contribution to capacity "
        "charges is what the new load pays less the network charge and the generation cost it causes; the change "
        "in other consumers' tariff spreads it over units sold (purchases less DISCO losses); K-Electric's area is "
        "its own pool. Both energy-cost bases are shown: the plan's (generation cost the new load causes) and the "
        "reference energy charge."),
        "Revenue-maximising level per design: " + "; ".join(
            f"{DESIGN_LABEL.get(d, d)} {p.level:g} {esc(p.level_units)} (Rs {p.sales_pkr_per_year / 1e9:,.1f} bn of "
            "sales a year)" for d, p in best.items()) + ".",
        "Recommended: " + (f"{esc(_design_of(rec).words())}." if rec is not None else "none (no design works)."),
    ]
    fmt = tab.copy()
    s = Section("The deal: tariff designs and levels", "deal", paragraphs=paras, figures=list(figs.values()),
                tables=[table_html(fmt.round(2), "{:,.2f}", index=False)])
    return s, {"deal_space.csv": tab}, figs


__all__ = ["headline", "plotly_figures", "points_table", "resolution_words", "section", "write_pngs"]
