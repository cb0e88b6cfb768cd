"""Tiny hand-solved scenarios for tests and docs (built in code, no files).

``two_region_mining()``: regions A and B, 3 hours, one lossless corridor A->B of 50 MW,
a cheap generator in A (100 MW at 10 USD/MWh), a dear one in B (100 MW at 50 USD/MWh),
demand A = 20 MW every hour, B = 40, 45, 60 MW, and one Bitcoin-mining type (sited in B only) worth
30 USD/MWh with capex 30 USD per MW over the 3-hour horizon (87,600 USD/MW-year x 3/8760).

Hand solution: a mining MW runs in hours where power at B costs less than 30 USD/MWh.
Imports are cheap (10) up to 50 MW, so hour 1 has 10 MW spare, hour 2 has 5 MW,
hour 3 none (B's own generator at 50 is marginal).  A MW up to 5 MW runs 2 hours and
earns 2 x (30 - 10) = 40 > 30 capex; the next 5 MW run only 1 hour (20 < 30).  So:

- capacity 5 MW in B; draw 5, 5, 0 MW;
- dispatch A = 65, 70, 70 MW; B = 0, 0, 10 MW; flow A->B = 45, 50, 50 MW;
- prices A = 10, 10, 10; B = 10, 20, 50 USD/MWh (hour 2: the capex, 30, is covered by
  the two running hours' rents, (30 - 10) + (30 - p2) = 30, so p2 = 20);
- objective = generation 2,550 - mining value 300 + capex 150 = 2,400 USD.
"""

from __future__ import annotations

import pandas as pd

from offtake.scenario.schema import (
    BUDGET_COLUMNS,
    Scenario,
    ScenarioConfig,
    empty_energy_budgets,
    full_availability,
)

TWO_REGION_OBJECTIVE_USD = 2400.0


_FUEL_OF = {"gas": "gas", "nuclear": "nuclear", "hydro": "hydro", "coal": "coal_imported", "wind": "wind",
            "solar": "solar", "rlng": "rlng"}


def _scenario(name: str, regions: list[str], gens: list[dict[str, object]], lines: list[dict[str, object]],
              demand: dict[str, list[float]], flex: list[dict[str, object]],
              profiles: dict[str, list[float]] | None = None, budgets: list[dict[str, object]] | None = None,
              availability: dict[str, dict[int, float]] | None = None, **config: object) -> Scenario:
    hours = len(next(iter(demand.values())))
    idx = pd.date_range("2025-07-14 19:00", periods=hours, freq="h", tz="Asia/Karachi", name="snapshot")
    rows = [{"min_output_pu": 0.0, "forced_outage_rate": 0.0, "profile": "", "budget": "", "technology": "gas", **row}
            for row in gens]
    g = pd.DataFrame([{"fuel": _FUEL_OF[str(r["technology"])], **r} for r in rows]).set_index("name")
    ln = pd.DataFrame([{"loss_pu": 0.0, **row} for row in lines],
                      columns=["name", "from_region", "to_region", "capacity_forward_mw", "capacity_backward_mw",
                               "loss_pu"]).set_index("name")
    fl = pd.DataFrame([{"min_site_mw": 0.0, "window_h": 24, "max_off_share": 1.0, "backup_cost_usd_per_mwh": 0.0,
                        "regions": "", **row} for row in flex],
                      columns=["name", "kind", "value_usd_per_mwh", "capex_usd_per_mw_year", "max_mw_per_region",
                               "min_site_mw", "window_h", "max_off_share", "backup_cost_usd_per_mwh",
                               "regions"]).set_index("name")
    cfg = ScenarioConfig(name=name, timezone="Asia/Karachi", years=[2025], **config)  # type: ignore[arg-type]
    return Scenario(
        config=cfg, regions=pd.DataFrame(index=pd.Index(regions, name="name")), generators=g, lines=ln,
        demand_mw=pd.DataFrame(demand, index=idx)[regions], profiles_pu=pd.DataFrame(profiles or {}, index=idx),
        flex_loads=fl, source="examples", energy_budgets=_budgets(budgets or []),
        availability_pu=full_availability(list(g.index)).pipe(_set_availability, availability or {}),
    )


def _budgets(rows: list[dict[str, object]]) -> pd.DataFrame:
    if not rows:
        return empty_energy_budgets()
    df = pd.DataFrame([{"max_mwh": float("nan"), "min_mwh": 0.0, "take_or_pay_mwh": 0.0, "take_or_pay_usd_per_mwh": 0.0,
                        **r} for r in rows])
    return df.set_index(["budget", "month"])[BUDGET_COLUMNS].astype(float)


def _set_availability(table: pd.DataFrame, values: dict[str, dict[int, float]]) -> pd.DataFrame:
    for gen, months in values.items():
        for month, pu in months.items():
            table.loc[gen, month] = pu
    return table


def two_region_mining() -> Scenario:
    """The hand-solved 2-region, 3-hour example of the module docstring."""
    return _scenario(
        "two-region-mining", ["A", "B"],
        gens=[{"name": "A_cheap", "region": "A", "capacity_mw": 100.0, "marginal_cost_usd_per_mwh": 10.0},
              {"name": "B_dear", "region": "B", "capacity_mw": 100.0, "marginal_cost_usd_per_mwh": 50.0}],
        lines=[{"name": "A-B", "from_region": "A", "to_region": "B", "capacity_forward_mw": 50.0,
                "capacity_backward_mw": 50.0}],
        demand={"A": [20.0, 20.0, 20.0], "B": [40.0, 45.0, 60.0]},
        flex=[{"name": "bitcoin_mining", "kind": "interruptible", "value_usd_per_mwh": 30.0,
               "capex_usd_per_mw_year": 87600.0, "max_mw_per_region": 100.0, "regions": "B"}],
        value_of_lost_load_usd_per_mwh=1000.0,
    )


def must_run_glut() -> Scenario:
    """Infeasible on purpose: B's must-run nuclear (80 MW) exceeds B's demand (30 MW) plus
    its 20 MW export limit in hours 2-3 (glut 30 MW in each)."""
    return _scenario(
        "must-run-glut", ["A", "B"],
        gens=[{"name": "A_gas", "region": "A", "capacity_mw": 100.0, "marginal_cost_usd_per_mwh": 40.0},
              {"name": "B_nuclear", "region": "B", "technology": "nuclear", "capacity_mw": 100.0,
               "marginal_cost_usd_per_mwh": 5.0, "min_output_pu": 0.8}],
        lines=[{"name": "A-B", "from_region": "A", "to_region": "B", "capacity_forward_mw": 20.0,
                "capacity_backward_mw": 20.0}],
        demand={"A": [50.0, 50.0, 50.0], "B": [90.0, 30.0, 30.0]},
        flex=[],
    )


def mixed_loads() -> Scenario:
    """Three regions, 48 hours, losses, a must-run unit, all three flexible kinds and a
    programme cap: for cross-checking against PyPSA (no hand solution)."""
    import numpy as np

    t = np.arange(48)
    day = np.sin(2 * np.pi * (t % 24 - 8) / 24)
    return _scenario(
        "mixed-loads", ["N", "C", "S"],
        gens=[{"name": "N_hydro", "region": "N", "technology": "hydro", "capacity_mw": 300.0,
               "marginal_cost_usd_per_mwh": 2.0},
              {"name": "C_coal", "region": "C", "technology": "coal", "capacity_mw": 250.0,
               "marginal_cost_usd_per_mwh": 35.0, "min_output_pu": 0.3, "forced_outage_rate": 0.1},
              {"name": "C_gas", "region": "C", "capacity_mw": 200.0, "marginal_cost_usd_per_mwh": 80.0},
              {"name": "S_gas", "region": "S", "capacity_mw": 150.0, "marginal_cost_usd_per_mwh": 60.0}],
        lines=[{"name": "N-C", "from_region": "N", "to_region": "C", "capacity_forward_mw": 150.0,
                "capacity_backward_mw": 100.0, "loss_pu": 0.02},
               {"name": "C-S", "from_region": "C", "to_region": "S", "capacity_forward_mw": 80.0,
                "capacity_backward_mw": 80.0, "loss_pu": 0.03}],
        demand={"N": list(100 + 30 * day), "C": list(280 + 90 * day), "S": list(120 + 40 * day)},
        flex=[{"name": "mining", "kind": "interruptible", "value_usd_per_mwh": 55.0, "capex_usd_per_mw_year": 60000.0,
               "max_mw_per_region": 120.0},
              {"name": "training", "kind": "deferrable", "value_usd_per_mwh": 90.0, "capex_usd_per_mw_year": 250000.0,
               "max_mw_per_region": 40.0, "window_h": 12, "max_off_share": 0.4, "regions": "N C"},
              {"name": "inference", "kind": "firm", "value_usd_per_mwh": 120.0, "capex_usd_per_mw_year": 300000.0,
               "max_mw_per_region": 30.0, "backup_cost_usd_per_mwh": 70.0, "regions": "C S"}],
        reserve_margin=0.05, programme_cap_mw=150.0, value_of_lost_load_usd_per_mwh=3000.0,
    )


def take_or_pay(top_mwh: float = 100.0, coal_max_mwh: float | None = None) -> Scenario:
    """One region, 4 hours of July, no flexible loads: monthly availability, must-run,
    wind curtailment, a take-or-pay LNG contract and an energy budget, solved by hand.

    Demand 80, 100, 100, 120 MW (400 MWh). Generators:

    - ``A_nuclear`` 100 MW at 5 USD/MWh, must-run 100 % of what is available; availability.csv
      leaves 50 % in July (refuelling of one of two units), so it runs 50 MW every hour;
    - ``A_wind`` 60 MW, profile 1, 0.5, 0, 0 -> 60, 30, 0, 0 MW available at 0 USD/MWh;
    - ``A_rlng`` 100 MW at 80 USD/MWh in budget ``lng``: a take-or-pay contract of ``top_mwh``
      MWh in July at 70 USD/MWh (paid anyway), so up to that volume it costs 80 - 70 = 10;
    - ``A_coal`` 100 MW at 40 USD/MWh in budget ``coal`` (``coal_max_mwh`` in July, if given).

    Hour 1: nuclear 50 + wind 60 = 110 > 80, so 30 MW of wind is curtailed (price 0).
    Residual after nuclear and wind: 0, 20, 50, 70 MW = 140 MWh.

    - ``top_mwh=100``: LNG takes 100 MWh at 10, coal the other 40 at 40. Objective =
      nuclear 5 x 200 + LNG 80 x 100 - 70 x 100 + coal 40 x 40 = 1,000 + 1,000 + 1,600 = 3,600 USD;
      no take-or-pay volume unused.
    - ``top_mwh=150``: LNG takes all 140 MWh at 10, coal 0: objective 1,000 + 1,400 = 2,400 USD;
      10 MWh of take-or-pay volume unused.
    - ``top_mwh=100, coal_max_mwh=30``: coal may give only 30 MWh, so 10 MWh of LNG beyond the
      contract at 80: objective 1,000 + 1,000 + 1,200 + 800 = 4,000 USD.

    The objective leaves out the contract payment itself (70 x ``top_mwh``, paid whatever the
    dispatch): it is a constant, the same in every plan.
    """
    budgets: list[dict[str, object]] = [{"budget": "lng", "month": 7, "take_or_pay_mwh": top_mwh,
                                         "take_or_pay_usd_per_mwh": 70.0}]
    if coal_max_mwh is not None:
        budgets.append({"budget": "coal", "month": 7, "max_mwh": coal_max_mwh})
    return _scenario(
        "take-or-pay", ["A"],
        gens=[{"name": "A_nuclear", "region": "A", "technology": "nuclear", "capacity_mw": 100.0,
               "marginal_cost_usd_per_mwh": 5.0, "min_output_pu": 1.0},
              {"name": "A_wind", "region": "A", "technology": "wind", "capacity_mw": 60.0,
               "marginal_cost_usd_per_mwh": 0.0, "profile": "wind"},
              {"name": "A_rlng", "region": "A", "technology": "rlng", "capacity_mw": 100.0,
               "marginal_cost_usd_per_mwh": 80.0, "budget": "lng"},
              {"name": "A_coal", "region": "A", "technology": "coal", "capacity_mw": 100.0,
               "marginal_cost_usd_per_mwh": 40.0, "budget": "coal" if coal_max_mwh is not None else ""}],
        lines=[], demand={"A": [80.0, 100.0, 100.0, 120.0]}, flex=[],
        profiles={"wind": [1.0, 0.5, 0.0, 0.0]}, budgets=budgets, availability={"A_nuclear": {7: 0.5}},
    )


__all__ = ["TWO_REGION_OBJECTIVE_USD", "mixed_loads", "must_run_glut", "take_or_pay", "two_region_mining"]
