"""CO2 of the generation a plan adds for its flexible loads.

Each generator's extra energy (plan minus the baseline without flexible loads, MWh/yr) is
multiplied by its fuel's emission factor [tCO2/MWh electric] = heat rate [GJ/MWh] x the
fuel's CO2 factor [tCO2/GJ]:

* CO2 factors: IPCC 2006 Guidelines for National Greenhouse Gas Inventories, Vol. 2
  (Energy), Ch. 2, Table 2.2, default factors for stationary combustion: natural gas
  56.1, other bituminous coal 94.6, lignite 101.0, residual fuel oil 77.4,
  gas/diesel oil 74.1 tCO2/TJ.
* Heat rates (net, typical of the fleet type, not of a named plant; project estimates):
  imported coal, supercritical steam 9.0 GJ/MWh (40 %); local coal (Thar lignite),
  subcritical 10.3 GJ/MWh (35 %); RLNG combined cycle 6.5 GJ/MWh (55 %); domestic gas, a
  mix of combined cycle and older steam units 8.5 GJ/MWh (42 %); furnace oil, steam
  10.3 GJ/MWh (35 %).
* Bagasse is biogenic (IPCC reports its CO2 as a memo item, not in the energy total),
  nuclear, hydro, wind and solar emit no CO2 at the stack: 0.

The fuel is read from the generators' ``fuel`` column when the scenario has one, else the
generator's declared ``technology`` (``coal`` and ``gas`` then take the generic factors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from offtake.errors import InputError

# fuel -> (heat rate GJ/MWh, CO2 factor tCO2/GJ, source)
_IPCC = "IPCC 2006 GL Vol.2 Ch.2 Table 2.2"
FUELS: dict[str, tuple[float, float, str]] = {
    # the `fuel` vocabulary of generators.csv
    "coal_imported": (9.0, 0.0946, f"{_IPCC} (other bituminous coal); 40 % supercritical steam"),
    "coal_local": (10.3, 0.1010, f"{_IPCC} (lignite, Thar); 35 % subcritical steam"),
    "rlng": (6.5, 0.0561, f"{_IPCC} (natural gas); 55 % combined cycle"),
    "gas": (8.5, 0.0561, f"{_IPCC} (natural gas); 42 % mix of combined cycle and older steam units"),
    "oil": (10.3, 0.0774, f"{_IPCC} (residual fuel oil); 35 % steam"),
    "bagasse": (0.0, 0.0, "biogenic CO2, an IPCC memo item: 0"),
    "nuclear": (0.0, 0.0, "no combustion: 0"),
    "hydro": (0.0, 0.0, "no combustion: 0"),
    "wind": (0.0, 0.0, "no combustion: 0"),
    "solar": (0.0, 0.0, "no combustion: 0"),
    # generic fallbacks when a scenario has no `fuel` column (its `technology` is used)
    "coal": (9.5, 0.0946, f"{_IPCC} (other bituminous coal); 38 % steam"),
    "import": (0.0, 0.0, "emitted abroad: not counted"),
}


def factor_t_per_mwh(fuel: str) -> float:
    """Emission factor of electricity from ``fuel`` [tCO2/MWh] (heat rate x CO2 per GJ)."""
    hr, ef, _ = FUELS[fuel]
    return hr * ef


@dataclass(frozen=True)
class Emissions:
    """CO2 of the generation added for the flexible loads (all per year)."""

    extra_tco2_per_year: float
    extra_generation_mwh_per_year: float  # net extra generation (plan minus baseline)
    flex_mwh_per_year: float  # energy the flexible loads drew
    by_fuel: pd.DataFrame  # fuel x (extra_mwh_per_year, t_per_mwh, extra_tco2_per_year, source)

    @property
    def tco2_per_mwh_generated(self) -> float:
        """tCO2 per MWh of the extra generation."""
        g = self.extra_generation_mwh_per_year
        return self.extra_tco2_per_year / g if g > 1e-9 else float("nan")

    @property
    def tco2_per_mwh_drawn(self) -> float:
        """tCO2 per MWh the flexible loads drew (extra generation also covers extra losses)."""
        f = self.flex_mwh_per_year
        return self.extra_tco2_per_year / f if f > 1e-9 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"extra_tco2_per_year": self.extra_tco2_per_year,
                "extra_generation_mwh_per_year": self.extra_generation_mwh_per_year,
                "flex_mwh_per_year": self.flex_mwh_per_year,
                "tco2_per_mwh_generated": self.tco2_per_mwh_generated,
                "tco2_per_mwh_drawn": self.tco2_per_mwh_drawn,
                "by_fuel": {f: {"extra_mwh_per_year": float(r["extra_mwh_per_year"]), "t_per_mwh": float(r["t_per_mwh"]),
                                "extra_tco2_per_year": float(r["extra_tco2_per_year"])}
                            for f, r in self.by_fuel.iterrows()}}

    def to_frame(self) -> pd.DataFrame:
        return self.by_fuel


def generator_fuels(generators: pd.DataFrame) -> pd.Series:
    """Fuel per generator: the ``fuel`` column if present and filled, else ``technology``."""
    tech = generators["technology"].astype(str)
    if "fuel" in generators.columns:
        fuel = generators["fuel"]
        fuel = fuel.where(fuel.notna() & (fuel.astype(str).str.strip() != ""), tech).astype(str)
    else:
        fuel = tech
    unknown = sorted(set(fuel) - set(FUELS))
    if unknown:
        raise InputError(f"generators.csv: no emission factor for fuel {', '.join(map(repr, unknown))}; "
                         f"known fuels: {', '.join(sorted(FUELS))}")
    return fuel


def plan_emissions(plan_result: Any, generators: pd.DataFrame | None = None) -> Emissions:
    """CO2 of a plan's extra generation; needs the baseline (``PlanOptions(baseline=True)``).

    ``generators`` defaults to the plan's own table (it carries ``fuel`` when the scenario does).
    """
    pr = plan_result
    gens = pr.generators if generators is None else generators
    if pr.baseline_dispatch_mw is None:
        nan = float("nan")
        return Emissions(nan, nan, nan, pd.DataFrame(columns=["extra_mwh_per_year", "t_per_mwh", "extra_tco2_per_year",
                                                              "source"]))
    w = pr.weight_h.to_numpy()[:, None]
    years = pr.horizon_years
    cols = pr.dispatch_mw.columns
    extra = ((pr.dispatch_mw.to_numpy() - pr.baseline_dispatch_mw[cols].to_numpy()) * w).sum(axis=0) / years
    fuel = generator_fuels(gens.reindex(cols))
    per_fuel = pd.Series(extra, index=cols).groupby(fuel.to_numpy()).sum()
    t_per_mwh = pd.Series({f: factor_t_per_mwh(f) for f in per_fuel.index})
    frame = pd.DataFrame({"extra_mwh_per_year": per_fuel, "t_per_mwh": t_per_mwh,
                          "extra_tco2_per_year": per_fuel * t_per_mwh,
                          "source": [FUELS[f][2] for f in per_fuel.index]})
    frame.index.name = "fuel"
    flex = float((pr.consumption_mw.to_numpy() * w).sum() / years)
    return Emissions(float(frame["extra_tco2_per_year"].sum()), float(np.sum(extra)), flex,
                     frame.sort_values("extra_tco2_per_year", ascending=False))
