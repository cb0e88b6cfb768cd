"""Surplus assessment: how much power a new interruptible load could take, where and when.

For every region r and hour t:

* ``available_mw``  = sum over the region's generators of what they could produce:
  ``capacity * profile`` (solar, wind, run-of-river, bagasse) or
  ``capacity * (1 - forced_outage_rate)``; hydro with a monthly energy budget is
  capped at ``budget / hours in the calendar month`` (the budget spread evenly).
* ``local_surplus_mw`` = available - demand * (1 + reserve_margin): what is left in the
  region once households and the reserve are served (negative = the region must import).
* ``hostable_mw`` = the largest new load region r could take on its own, every other
  region's households still served, limited by the corridors (max-flow / min-cut over the
  region graph, :mod:`offtake.surplus_cost`).
* ``national_mw`` = the largest total new load the whole system could take in that hour
  with loads placed anywhere, households and reserves everywhere served: the sum of the
  regions' surplus once the least-cost baseline dispatch has covered every deficit.

Corridors count in delivered MW (``capacity x (1 - loss_pu)``); energy lost on a transfer
is not charged.  :func:`national_with_losses` charges it (one LP): on the built-in
scenario the difference is small (docs/surplus.md).

These are the *any cost* (capacity) figures: every plant counts at full availability,
whatever it costs to run.  ``by_cost`` (:mod:`offtake.surplus_cost`) splits what a new
load could take into cumulative cost bands: free (spill, curtailment, unused take-or-pay
volume, unneeded must-run output), then <= 40, 60, 80, 120 USD/MWh by default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from offtake.headroom import (
    DEFAULT_RATES,
    SUMMER_PEAK_MONTHS,
    WINTER_PEAK_MONTHS,
    HeadroomResult,
    curtailment_headroom,
)
from offtake.scenario.schema import Scenario
from offtake.surplus_cost import (
    DEFAULT_BANDS_USD_PER_MWH,
    CostBands,
    cost_bands,
    flow_columns,
    line_arrays,
    solve_hourly_blocks,
)

SHARES_OF_HOURS = (0.5, 0.8, 0.9, 0.95)
ANY_COST_BAND = "any cost: every plant at full availability, whatever it costs to run (capacity surplus)"


@dataclass(frozen=True, eq=False)
class SurplusResult:
    """Hourly surplus by region.  All frames: tz-aware hourly index x region [MW]."""

    scenario_name: str
    available_mw: pd.DataFrame
    demand_mw: pd.DataFrame
    local_surplus_mw: pd.DataFrame
    hostable_mw: pd.DataFrame
    national_mw: pd.Series
    national_split_mw: pd.DataFrame
    household_shortfall_mw: pd.Series
    headroom: dict[str, HeadroomResult]
    reserve_margin: float
    by_cost: CostBands | None = None  # surplus by cost band (None when not computed)

    def available_at_least(self, shares: tuple[float, ...] = SHARES_OF_HOURS) -> pd.DataFrame:
        """MW of new load that could be hosted in at least each share of hours (rows: region + NATIONAL)."""
        frame = self.hostable_mw.assign(NATIONAL=self.national_mw)
        rows = {f"p{int(round(s * 100))}_mw": frame.quantile(1 - s) for s in shares}
        return pd.DataFrame(rows)

    def duration_curves(self) -> pd.DataFrame:
        """Each region's hostable MW (and the national total) sorted high to low, by hour rank."""
        frame = self.hostable_mw.assign(NATIONAL=self.national_mw)
        data = -np.sort(-frame.to_numpy(), axis=0)
        out = pd.DataFrame(data, columns=frame.columns)
        out.index = pd.Index(np.arange(1, len(out) + 1), name="hour_rank")
        return out

    def month_hour(self, column: str = "NATIONAL") -> pd.DataFrame:
        """Mean surplus [MW] by month (rows 1..12) and hour of day (columns 0..23)."""
        series = self.national_mw if column == "NATIONAL" else self.hostable_mw[column]
        idx = pd.DatetimeIndex(series.index)
        table = series.groupby([idx.month, idx.hour]).mean().unstack()
        table.index.name, table.columns.name = "month", "hour"
        return table

    def headroom_frame(self) -> pd.DataFrame:
        rows = []
        for region, res in self.headroom.items():
            for p in res.points:
                rows.append({"region": region, "rate_percent": p.rate * 100, "headroom_mw": p.headroom_mw,
                             "curtailed_hours_per_year": p.curtailed_hours_per_year,
                             "mean_event_hours": p.mean_event_hours, "mean_run_hours": p.mean_run_hours})
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, object]:
        hours = len(self.national_mw)
        at_least = self.available_at_least()
        out: dict[str, object] = {
            "scenario": self.scenario_name,
            "hours": hours,
            "reserve_margin": self.reserve_margin,
            "band": ANY_COST_BAND,
            "national": {
                "mean_mw": float(self.national_mw.mean()),
                "min_mw": float(self.national_mw.min()),
                "max_mw": float(self.national_mw.max()),
                **{k: float(v) for k, v in at_least.loc["NATIONAL"].items()},
                "surplus_energy_gwh": float(self.national_mw.sum() / 1e3),
            },
            "regions": {
                r: {"mean_mw": float(self.hostable_mw[r].mean()),
                    "local_mean_mw": float(self.local_surplus_mw[r].mean()),
                    **{k: float(v) for k, v in at_least.loc[r].items()}}
                for r in self.hostable_mw.columns
            },
            "household_shortfall": {
                "hours": int((self.household_shortfall_mw > 1e-6).sum()),
                "energy_mwh": float(self.household_shortfall_mw.sum()),
            },
            "headroom": {r: h.to_dict() for r, h in self.headroom.items()},
        }
        if self.by_cost is not None:
            out["surplus_by_cost"] = self.by_cost.summary()
        return out

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2)

    def to_frame(self) -> pd.DataFrame:
        """Long table: snapshot, region, available, demand, local surplus, hostable."""
        parts = {
            "available_mw": self.available_mw, "demand_mw": self.demand_mw,
            "local_surplus_mw": self.local_surplus_mw, "hostable_mw": self.hostable_mw,
            "national_split_mw": self.national_split_mw,
        }
        long = pd.concat({k: v.stack() for k, v in parts.items()}, axis=1)
        long.index.names = ["snapshot", "region"]
        return long.reset_index()


def available_by_generator_mw(scenario: Scenario) -> pd.DataFrame:
    """Power each generator could produce in each hour [MW] (snapshot x generator).

    Capacity x profile (or x (1 - forced_outage_rate)) x the month's ``available_pu``; the
    members of a budget with a monthly ``max_mwh`` share ``max_mwh / hours in the calendar
    month`` pro rata to their power (the budget spread evenly over the month).
    """
    from offtake.surplus_cost import dispatch_units

    u = dispatch_units(scenario)
    G = len(scenario.generators)
    out = np.zeros((len(scenario.snapshots), G))
    np.add.at(out.T, u.generator, u.avail_mw.T)  # take-or-pay parts back onto their generator
    return pd.DataFrame(out, index=scenario.snapshots, columns=scenario.generators.index)


def national_with_losses(local: pd.DataFrame, scenario: Scenario) -> tuple[pd.DataFrame, pd.Series]:
    """Largest total new load per hour, placed anywhere, corridor losses charged (one LP over the
    hours that need imports): a cross-check of the lossless national figure (docs/surplus.md).

    Returns (new load by region, household shortfall) [MW].
    """
    split = local.clip(lower=0.0)
    shortfall = pd.Series(0.0, index=local.index)
    needs = (local < 0).any(axis=1).to_numpy()
    if not needs.any() or len(scenario.lines) == 0:
        shortfall[:] = (-local.clip(upper=0.0)).sum(axis=1)
        return split, shortfall
    sub = local[needs].to_numpy(float)
    R = len(scenario.region_names)
    frm, to, cap_f, cap_b, keep = line_arrays(scenario)
    L = len(frm)
    H = len(sub)
    # one hour: columns L forward, L backward flows, R new load, R household shortfall;
    # rows: inflow x (1 - loss) - outflow + shortfall - new load >= -local surplus
    block = np.hstack([flow_columns(R, frm, to, keep), -np.eye(R), np.eye(R)])
    # households first: a shortfall costs far more than any new load earns
    cost = np.concatenate([np.zeros(2 * L), np.full(R, -1.0), np.full(R, 1e3)])
    lo = np.zeros((H, 2 * L + 2 * R))
    hi = np.hstack([np.broadcast_to(np.r_[cap_f, cap_b], (H, 2 * L)), np.full((H, 2 * R), np.inf)])
    x = solve_hourly_blocks(block, cost, lo, hi, -sub, "surplus transport")
    xs, sh = x[:, 2 * L:2 * L + R], x[:, 2 * L + R:]
    split.loc[needs, :] = np.maximum(xs, 0.0)
    shortfall[needs] = sh.sum(axis=1)
    return split, shortfall


def assess(scenario: Scenario, rates: tuple[float, ...] = DEFAULT_RATES,
           bands_usd_per_mwh: tuple[float, ...] | None = DEFAULT_BANDS_USD_PER_MWH) -> SurplusResult:
    """Hourly surplus and hostable load by region, national total, headroom by region,
    and surplus by cost band (``bands_usd_per_mwh=None`` skips the bands)."""
    gen_avail = available_by_generator_mw(scenario)
    avail = gen_avail.T.groupby(scenario.generators["region"]).sum().T.reindex(columns=scenario.region_names, fill_value=0.0)
    demand = scenario.demand_mw[scenario.region_names]
    reserve = scenario.config.reserve_margin
    local = avail - demand * (1.0 + reserve)
    cb = cost_bands(scenario, bands_usd_per_mwh or DEFAULT_BANDS_USD_PER_MWH)
    idx = scenario.snapshots
    names = scenario.region_names
    hostable = pd.DataFrame(cb.any_cost_hostable_mw, index=idx, columns=names)
    split = pd.DataFrame(cb.any_cost_split_mw, index=idx, columns=names)
    national = pd.Series(cb.any_cost_national_mw, index=idx)
    shortfall = pd.Series(np.asarray(cb.shortfall_mw).sum(axis=1), index=idx)
    headroom: dict[str, HeadroomResult] = {}
    months = set(demand.index.month)
    if months & set(SUMMER_PEAK_MONTHS) and months & set(WINTER_PEAK_MONTHS):  # both peak windows present
        headroom = {r: curtailment_headroom(demand[r], rates) for r in scenario.region_names}
        headroom["NATIONAL"] = curtailment_headroom(demand.sum(axis=1), rates)
    return SurplusResult(
        scenario_name=scenario.name, available_mw=avail, demand_mw=demand, local_surplus_mw=local,
        hostable_mw=hostable, national_mw=national.rename("national_mw"), national_split_mw=split,
        household_shortfall_mw=shortfall.rename("household_shortfall_mw"), headroom=headroom,
        reserve_margin=reserve, by_cost=None if bands_usd_per_mwh is None else cb,
    )
