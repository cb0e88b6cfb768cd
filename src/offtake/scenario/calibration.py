"""Figures of a scenario's baseline dispatch to hold against published statistics.

The built-in ``pakistan-2025`` is calibrated on FY25 (``tests/scenario/test_calibration.py``
fails when these figures drift from the fact sheet); any scenario can be measured the same
way (``python -m offtake.scenario.calibration [SCENARIO] [--resolution 3]`` prints them).

The baseline dispatch is the plan without flexible loads (``PlanOptions(no_flex=True)``).

**Southern generation curtailed by the corridor** (:func:`corridor_curtailment_mw`): in a
snapshot where at least one line of the south-to-north interface is congested (at its limit
in the northward direction, with a congestion rent of at least ``min_rent`` = 1 USD/MWh:
price at the receiving end x line efficiency minus price at the sending end), the unused
available power of southern generators whose marginal cost is below the delivered value in
the north (receiving-end price x efficiency, the lowest over the congested lines) by at
least ``min_rent``, i.e. plant that would run if the corridor were larger. (The rent
threshold keeps out lines that sit at their limit only because of a loss-driven price tie.)
Members of a budget with a monthly ``max_mwh`` are left out: their unused power is energy
kept for other hours, not curtailment.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from offtake.plan import PlanOptions, PlanResult, plan
from offtake.scenario.schema import FUELS, Scenario

PK_SOUTH = ("SINDH", "KARACHI", "BALOCHISTAN")
PK_KE = "KARACHI"


def baseline_dispatch(scenario: Scenario, resolution_h: int = 3) -> PlanResult:
    """The plan without flexible loads at ``resolution_h`` (hours per snapshot)."""
    opts = PlanOptions(resolution_h=resolution_h, no_flex=True, baseline=False, min_site=False)
    return plan(scenario, opts)


def _interface(scenario: Scenario, south: tuple[str, ...]) -> list[tuple[str, int]]:
    """(line, +1 forward / -1 backward is northward) for lines joining the south to the rest."""
    out = []
    for name, row in scenario.lines.iterrows():
        a, b = row["from_region"] in south, row["to_region"] in south
        if a and not b:
            out.append((str(name), 1))
        elif b and not a:
            out.append((str(name), -1))
    return out


def corridor_curtailment_mw(scenario: Scenario, r: PlanResult, south: tuple[str, ...] = PK_SOUTH,
                            tol: float = 1e-3, min_rent: float = 1.0) -> pd.Series:
    """Southern generation curtailed for lack of transfer capacity, per snapshot [MW] (module docstring)."""
    lines = scenario.lines
    iface = _interface(scenario, south)
    idx = r.dispatch_mw.index
    if not iface:
        return pd.Series(0.0, index=idx, name="curtailed_mw")
    delivered = np.full(len(idx), np.inf)
    for name, sign in iface:
        row = lines.loc[name]
        cap = float(row["capacity_forward_mw"] if sign > 0 else row["capacity_backward_mw"])
        flow = sign * r.flow_mw[name].to_numpy()
        to = row["to_region"] if sign > 0 else row["from_region"]
        frm = row["from_region"] if sign > 0 else row["to_region"]
        value = r.price_usd_per_mwh[to].to_numpy() * (1.0 - float(row["loss_pu"]))
        rent = value - r.price_usd_per_mwh[frm].to_numpy()
        full = (flow >= cap - tol * max(cap, 1.0)) & (rent >= min_rent)
        delivered = np.where(full, np.minimum(delivered, value), delivered)
    gens = r.generators
    capped = set()
    if r.budgets is not None and len(r.budgets):
        capped = set(r.budgets.index[r.budgets["max_mwh"].notna()].get_level_values("budget"))
    cand = gens.index[gens["region"].isin(south) & ~gens["budget"].isin(capped)]
    assert r.available_mw is not None
    head = (r.available_mw[cand] - r.dispatch_mw[cand]).clip(lower=0.0).to_numpy()
    cost = gens.loc[cand, "marginal_cost_usd_per_mwh"].to_numpy(float)
    cheap = cost[None, :] <= delivered[:, None] - min_rent  # inf where no congested line: never
    cheap &= np.isfinite(delivered)[:, None]
    return pd.Series((head * cheap).sum(axis=1), index=idx, name="curtailed_mw")


def calibration_figures(scenario: Scenario, r: PlanResult | None = None, resolution_h: int = 3,
                        south: tuple[str, ...] = PK_SOUTH, ke_region: str | None = PK_KE) -> dict[str, object]:
    """Baseline mix, totals, peaks, monthly means, corridor curtailment and capacity by fuel."""
    r = r if r is not None else baseline_dispatch(scenario, resolution_h)
    mix = r.fuel_mix()["baseline_mwh_per_year"] if r.baseline_dispatch_mw is not None else \
        r.fuel_mix()["with_flex_mwh_per_year"]
    total = float(mix.sum())
    d = scenario.demand_mw
    national = d.drop(columns=[ke_region]) if ke_region in d.columns else d
    nat = national.sum(axis=1)
    alld = d.sum(axis=1)
    local = alld.index.tz_convert(scenario.config.timezone)
    monthly = alld.groupby(local.month).mean()
    cap = scenario.generators.groupby("fuel")["capacity_mw"].sum().reindex(list(FUELS), fill_value=0.0)
    curtailed = corridor_curtailment_mw(scenario, r, south)
    return {
        "resolution": r.resolution,
        "generation_mwh_per_year": total,
        "share_by_fuel": {f: float(mix[f]) / total for f in FUELS},
        "national_peak_mw": float(nat.max()),
        "ke_peak_mw": float(d[ke_region].max()) if ke_region in d.columns else float("nan"),
        "monthly_mean_mw": {int(m): float(v) for m, v in monthly.items()},
        "corridor_curtailed_max_mw": float(curtailed.max()),
        "corridor_curtailed_hours_per_year": float(r.weight_h[curtailed > 1.0].sum() / r.horizon_years),
        "capacity_by_fuel_mw": {f: float(cap[f]) for f in FUELS},
        "unserved_mwh": r.unserved_mwh,
        "free_mwh_per_year": {"/".join(k): float(v) / r.horizon_years
                              for k, v in r.free_mw(baseline=False).mul(r.weight_h, axis=0).sum().items() if v > 1},
        "take_or_pay_unused_mwh": float(r.take_or_pay(baseline=False)["unused_mwh"].sum()),
    }


def mix_beside_reference(scenario: Scenario, r: PlanResult) -> pd.DataFrame:
    """Baseline generation share per fuel next to the scenario's ``reference_mix`` (for reports).

    Index fuel (the ten fuels, then ``rest`` when the reference leaves fuels out); columns
    ``baseline_mwh_per_year``, ``baseline_share``, ``reference_share`` (NaN without a reference),
    ``difference_pp`` (percentage points). The reference's source is ``scenario.config.reference_mix_source``.
    Uses the baseline dispatch (no flexible loads), or the plan's own dispatch when no baseline was solved.
    """
    mix = r.fuel_mix()
    col = "baseline_mwh_per_year" if mix["baseline_mwh_per_year"].notna().all() else "with_flex_mwh_per_year"
    e = mix[col].rename("baseline_mwh_per_year")
    out = pd.DataFrame({"baseline_mwh_per_year": e, "baseline_share": e / e.sum()})
    ref = {str(k): float(v) for k, v in (scenario.config.reference_mix or {}).items()}
    out["reference_share"] = [ref.get(f, np.nan) for f in out.index]
    if ref and len(ref) < len(FUELS):
        rest = [f for f in FUELS if f not in ref]
        out.loc["rest"] = [float(e[rest].sum()), float(out.loc[rest, "baseline_share"].sum()), 1.0 - sum(ref.values())]
    out["difference_pp"] = 100.0 * (out["baseline_share"] - out["reference_share"])
    out.index.name = "fuel"
    return out


def _main(argv: list[str]) -> None:
    from offtake.scenario import load_scenario

    src = argv[0] if argv else "pakistan-2025"
    res = int(argv[argv.index("--resolution") + 1]) if "--resolution" in argv else 3
    s = load_scenario(src)
    fig = calibration_figures(s, resolution_h=res)
    for k, v in fig.items():
        if isinstance(v, dict):
            print(f"{k}:")
            for kk, vv in v.items():
                print(f"    {kk:>28}: {vv:,.4g}")
        else:
            print(f"{k}: {v:,.6g}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    _main(sys.argv[1:])

__all__ = ["baseline_dispatch", "calibration_figures", "corridor_curtailment_mw", "mix_beside_reference"]
