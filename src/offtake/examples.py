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

from offtake.scenario.schema import Scenario, ScenarioConfig

TWO_REGION_OBJECTIVE_USD = 2400.0


def _scenario(name: str, regions: list[str], gens: list[dict[str, object]], lines: list[dict[str, object]],
              demand: dict[str, list[float]], flex: list[dict[str, object]], **config: object) -> Scenario:
    hours = len(next(iter(demand.values())))
    idx = pd.date_range("2025-07-14 19:00", periods=hours, freq="h", tz="Asia/Karachi", name="snapshot")
    g = pd.DataFrame([{"min_output_pu": 0.0, "forced_outage_rate": 0.0, "profile": "", "hydro_budget": False,
                       "technology": "gas", **row} for row in gens]).set_index("name")
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
        demand_mw=pd.DataFrame(demand, index=idx)[regions], profiles_pu=pd.DataFrame(index=idx),
        hydro_budgets_mwh=pd.DataFrame(columns=range(1, 13), dtype=float), flex_loads=fl, source="examples",
    )


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


__all__ = ["TWO_REGION_OBJECTIVE_USD", "mixed_loads", "must_run_glut", "two_region_mining"]
