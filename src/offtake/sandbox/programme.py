"""What the sandbox operates: sites sized from the plan (or, when the plan sites nothing, from the
programme's offer, as a labelled what-if), the hourly surplus signal per region, the design's
hourly prices, and the plan's own figures for the same sites and hours (to compare against).

One model: the sites, prices and the plan's prediction all come from ``offtake.deal`` /
``offtake.plan`` on the same scenario, valuation and design as ``offtake run`` uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from offtake.errors import InputError

#: per simulated LuxOS miner: an S21-class machine draws about 3.4 kW at full preset (the fleet
#: cycles S19 XP / S21 / S21 Pro / S21 XP: 3,010-3,645 W, shared/facts/markets.md)
MINER_W = (3010.0 + 3500.0 + 3531.0 + 3645.0) / 4
GPU_W = 700.0                 # one H100-class GPU at full power cap [W]
SIMULATED_TYPES = ("bitcoin_mining", "ai_training")


@dataclass(frozen=True)
class SitePlan:
    site_id: str
    region: str
    load_type: str           # bitcoin_mining | ai_training
    mw: float                # contracted MW (as in the plan / offer)
    units: int               # simulated devices (miners or GPU pods)
    unit_multiplier: int     # real machines per simulated miner (mining); GPUs per pod (AI)
    flex: str = ""           # the scenario's flexible-load name (flex_loads.csv); "" = load_type

    @property
    def kind(self) -> str:
        return "mining" if self.load_type == "bitcoin_mining" else "ai"


@dataclass
class Programme:
    source: str                          # "plan" or "offer"
    design: Any                          # offtake.economics.designs.Design
    note: str
    sites: list[SitePlan]
    regions: list[str]
    hours: pd.DatetimeIndex              # replayed hours (tz-aware)
    hostable_mw: pd.DataFrame            # hours x regions: the scenario's hostable MW
    signal_mw: pd.DataFrame              # hours x regions: the sandbox's surplus signal
    price_pkr_per_kwh: pd.DataFrame      # hours x regions: what the design charges
    marginal_pkr_per_kwh: pd.DataFrame   # hours x regions: the plan's marginal cost (energy cost caused)
    plan_mw: pd.DataFrame                # hours x regions: the plan's flexible draw of these sites
    network_pkr_per_kwh: float
    pkr_per_usd: float
    figures: dict = field(default_factory=dict)

    def region_mw(self, region: str) -> float:
        return sum(s.mw for s in self.sites if s.region == region)


def _load_type(flex: pd.DataFrame, name: str) -> str:
    lt = flex.loc[name].get("load_type")
    return str(lt) if isinstance(lt, str) and lt else str(name)


def _type_split(flex: pd.DataFrame, region: str) -> dict[str, float]:
    """Share of each simulated flexible load in a region: its max_mw_per_region among those allowed there."""
    caps = {}
    for name, row in flex.iterrows():
        lt = _load_type(flex, str(name))
        regs = row.get("regions")
        allowed = regs.split() if isinstance(regs, str) else []
        if lt in SIMULATED_TYPES and (not allowed or region in allowed):
            caps[str(name)] = float(row["max_mw_per_region"])
    total = sum(caps.values())
    return {k: v / total for k, v in caps.items()} if total > 0 else {}


def build_programme(scenario: Any, design: Any, *, start: str | None, hours: int, regions: int,
                    sites_per_region: int, miners_per_site: int, pods_per_site: int,
                    resolution_h: int = 3) -> Programme:
    """Sites, signals, prices and the plan's prediction for ``hours`` from ``start``."""
    from offtake.deal import DealOptions, plan_under_design
    from offtake.plan import PlanOptions
    from offtake.plan.run import plan
    from offtake.surplus import assess

    if design.kind.value == "revenue_share":
        raise InputError("--design revenue_share: the service bills metered energy at a price per kWh; "
                         "a share of the load's revenue is not metered by it (use flat or surplus_indexed)")
    host_all = assess(scenario).hostable_mw
    idx = pd.DatetimeIndex(host_all.index)
    if start is not None:
        try:
            day = pd.Timestamp(start).date()
        except ValueError:
            raise InputError(f"--from: not a date (YYYY-MM-DD): {start!r}") from None
        keep = idx.date >= day
        if not keep.any():
            raise InputError(f"--from {start}: after the scenario's last day ({idx[-1].date()})")
        first = idx[keep][0]
    else:
        first = idx[0]
    host = host_all[idx >= first].iloc[:hours]
    if len(host) < hours:
        raise InputError(f"--days/--hours: the scenario has only {len(host)} hours from {first.date()}")

    opts = DealOptions(resolution_h=resolution_h)
    _, point = plan_under_design(scenario, design, opts)
    flex = scenario.flex_loads
    planned = {(r, t): mw for r, by in point.mw_by_region.items() for t, mw in by.items()
               if mw > 0.5 and _load_type(flex, t) in SIMULATED_TYPES}
    cap = float(scenario.config.programme_cap_mw or 2000.0)
    if sum(planned.values()) >= 0.5:
        source = "plan"
        mw = planned
        note = (f"sites sized from the plan under {design.words()}: {sum(mw.values()):,.0f} MW of "
                f"{point.total_mw:,.0f} MW sited (firm AI inference is not simulated)")
    else:
        source = "offer"
        mean = host_all.mean()
        mw = {}
        for r in host_all.columns:
            for t, share in _type_split(flex, r).items():
                mw[(r, t)] = cap * float(mean[r] / mean.sum()) * share
        note = (f"WHAT-IF: the plan sites 0 MW under {design.words()} (no investor would build at it); "
                f"the sandbox runs the programme's offered {cap:,.0f} MW split by the regions' mean hostable "
                "MW and the flexible types' per-region limits (firm AI inference not simulated). "
                "Operations are tested, the investment case is not.")
    by_region: dict[str, float] = {}
    for (r, _t), v in mw.items():
        by_region[r] = by_region.get(r, 0.0) + v
    chosen = sorted(by_region, key=lambda r: -by_region[r])[:regions]
    chosen = [r for r in host.columns if r in chosen]          # scenario order
    sites: list[SitePlan] = []
    for r in chosen:
        n_mine = n_ai = 0
        for f in sorted(str(x) for x in flex.index if _load_type(flex, str(x)) in SIMULATED_TYPES):
            t = _load_type(flex, f)
            total = mw.get((r, f), 0.0)
            if total < 0.5:
                continue
            n = sites_per_region if t == "bitcoin_mining" else 1
            for _ in range(n):
                site_mw = total / n
                if t == "bitcoin_mining":
                    n_mine += 1
                    mult = max(1, round(site_mw * 1e6 / (miners_per_site * MINER_W)))
                    sites.append(SitePlan(f"{r.lower()}-mine-{n_mine:02d}", r, t, site_mw, miners_per_site, mult, f))
                else:
                    n_ai += 1
                    per_pod = max(1, round(site_mw * 1e6 / (pods_per_site * GPU_W)))
                    sites.append(SitePlan(f"{r.lower()}-ai-{n_ai:02d}", r, t, site_mw, pods_per_site, per_pod, f))
    if not sites:
        raise InputError("no flexible MW to simulate in the chosen regions")

    # signal: the scenario's hostable MW per region are not additive (each assumes all flexible
    # load sits in that region), so each simulated region gets its share of it by fleet MW
    fleet = pd.Series({r: sum(s.mw for s in sites if s.region == r) for r in chosen})
    hostable = host[chosen]
    signal = hostable.mul(fleet / fleet.sum(), axis=1)

    # the plan's view of the same sites: capacity fixed at the sandbox's MW, dispatch by value
    bounds = {(r, str(t)): (0.0, 0.0) for r in host_all.columns for t in flex.index}
    for s in sites:
        lo = bounds[(s.region, s.flex)][0] + s.mw
        bounds[(s.region, s.flex)] = (lo, lo)
    popt = PlanOptions(resolution_h=resolution_h, min_site=False, baseline=False, check=False,
                       capacity_bounds_mw=bounds, valuation=opts.valuation, allow_unserved=True)
    res = plan(scenario, popt)
    hrs = pd.DatetimeIndex(hostable.index)
    lam = res.price_usd_per_mwh[chosen].reindex(hrs, method="ffill")
    cons = res.consumption_mw.reindex(hrs, method="ffill")
    simulated = {s.flex for s in sites}
    plan_mw = pd.DataFrame({r: sum(cons[(r, f)] for f in simulated if (r, f) in cons.columns)
                            for r in chosen}, index=hrs)
    fx = float(scenario.config.usd_exchange_rate)
    marginal = lam * fx / 1000.0
    if design.kind.value == "flat":
        price = pd.DataFrame(design.level, index=hrs, columns=chosen)
    else:
        price = (marginal.clip(lower=0) + design.level)
        if design.floor_pkr_per_kwh:
            price = price.clip(lower=design.floor_pkr_per_kwh)
    figures = {"deal_point": {"design": point.design, "level": point.level, "total_mw": point.total_mw,
                              "contribution_pkr_per_year": point.contribution_pkr_per_year,
                              "npv_usd_by_type": point.npv_usd_by_type},
               "plan_capacity_fixed_mw": {f"{r}/{t}": lo for (r, t), (lo, _) in bounds.items() if lo > 0}}
    return Programme(source, design, note, sites, chosen, hrs, hostable, signal, price.round(4),
                     marginal, plan_mw, float(scenario.config.tariffs.network_charge_pkr_per_kwh), fx, figures)


def value_model(prog: Programme, metered_mwh: pd.DataFrame) -> dict[str, Any]:
    """The value model's revenue and contribution at given hourly energy (hours x regions, MWh):
    revenue = sum E x price; contribution = sum E x (price - network charge - marginal cost)."""
    e = metered_mwh.reindex(columns=prog.regions).fillna(0.0)
    rev = (e * prog.price_pkr_per_kwh.to_numpy() * 1000.0).sum()
    contrib = (e * (prog.price_pkr_per_kwh.to_numpy() - prog.network_pkr_per_kwh
                    - prog.marginal_pkr_per_kwh.to_numpy()) * 1000.0).sum()
    return {r: {"energy_mwh": float(e[r].sum()), "revenue_pkr": float(rev[r]),
                "contribution_pkr": float(contrib[r])} for r in prog.regions}


def check_counts(sites_per_region: int, miners_per_site: int, pods_per_site: int) -> None:
    for name, v, hi in (("--sites-per-region", sites_per_region, 20), ("--miners-per-site", miners_per_site, 1000),
                        ("--pods-per-site", pods_per_site, 256)):
        if not 1 <= v <= hi or (isinstance(v, float) and not math.isfinite(v)):
            raise InputError(f"{name}: must be between 1 and {hi} (got {v})")


__all__ = ["GPU_W", "MINER_W", "Programme", "SitePlan", "build_programme", "check_counts", "value_model"]
