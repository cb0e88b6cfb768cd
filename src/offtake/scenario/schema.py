"""The scenario data model: what a power system looks like to Offtake.

A scenario is a folder holding ``scenario.yaml`` and CSV tables.  This module
declares the fields, their units and their rules (pydantic v2); ``io.py`` reads a
folder, validates every row and returns an immutable :class:`Scenario`.

Units live in field names: ``_mw`` (MW), ``_mwh`` (MWh), ``_pu`` (per unit, 0..1),
``_usd_per_mwh`` (US dollars per MWh), ``_pkr_per_kwh`` (rupees per kWh).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RegionRow(_Row):
    """One row of ``regions.csv``: a node of the transport model."""

    name: Name
    description: str = ""
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None


class Fuel(StrEnum):
    """What a generator burns or harvests (fixed vocabulary; ``technology`` stays free text)."""

    HYDRO = "hydro"
    NUCLEAR = "nuclear"
    RLNG = "rlng"  # regasified imported LNG
    GAS = "gas"  # domestic natural gas
    COAL_LOCAL = "coal_local"  # Thar lignite
    COAL_IMPORTED = "coal_imported"
    OIL = "oil"  # residual fuel oil, diesel
    WIND = "wind"
    SOLAR = "solar"
    BAGASSE = "bagasse"  # sugar-cane residue, biomass


FUELS: tuple[str, ...] = tuple(f.value for f in Fuel)
# fuels whose unused available energy is lost, not saved (spill / curtailment, free to a new load)
ZERO_FUEL_COST: frozenset[str] = frozenset({"hydro", "wind", "solar"})


class GeneratorRow(_Row):
    """One row of ``generators.csv``: an aggregated fleet of one technology in one region.

    Available power in hour t [MW] = capacity_mw * profile_t (when ``profile`` names a
    column of profiles.csv) or capacity_mw * (1 - forced_outage_rate) otherwise, times the
    month's ``available_pu`` in availability.csv (planned outages, refuelling).  A fleet
    with a ``budget`` shares that budget's monthly energy limits and take-or-pay contract
    (energy_budgets.csv) with the other members of the budget.
    """

    name: Name
    region: Name
    technology: Name
    fuel: Fuel
    capacity_mw: NonNeg
    marginal_cost_usd_per_mwh: Annotated[float, Field(ge=-1000, le=10000, allow_inf_nan=False)]
    min_output_pu: Share = 0.0
    forced_outage_rate: Share = 0.0
    profile: str = ""
    budget: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.\-]*$")] = ""


class LineRow(_Row):
    """One row of ``lines.csv``: a corridor between two regions (transport model)."""

    name: Name
    from_region: Name
    to_region: Name
    capacity_forward_mw: NonNeg
    capacity_backward_mw: NonNeg
    loss_pu: Annotated[float, Field(ge=0, lt=0.5, allow_inf_nan=False)] = 0.0


class EnergyBudgetRow(_Row):
    """One row of ``energy_budgets.csv``: a budget's energy limits in one calendar month.

    The members of budget ``budget`` are the generators naming it in their ``budget`` column.
    ``max_mwh``: most energy the members may produce in the month (empty = no limit);
    ``min_mwh``: least they must produce; ``take_or_pay_mwh``: energy of a take-or-pay
    contract, paid whether taken or not at ``take_or_pay_usd_per_mwh`` (per MWh of
    electricity), so up to that volume the members' energy costs the system only
    ``marginal_cost_usd_per_mwh - take_or_pay_usd_per_mwh``.
    """

    budget: Name
    month: Annotated[int, Field(ge=1, le=12)]
    max_mwh: NonNeg | None = None
    min_mwh: NonNeg = 0.0
    take_or_pay_mwh: NonNeg = 0.0
    take_or_pay_usd_per_mwh: NonNeg = 0.0


class AvailabilityRow(_Row):
    """One row of ``availability.csv``: share of a generator's availability left in a month."""

    generator: Name
    month: Annotated[int, Field(ge=1, le=12)]
    available_pu: Share


class FlexKind(StrEnum):
    """How a flexible load may be operated."""

    INTERRUPTIBLE = "interruptible"  # runs only when power is surplus (Bitcoin mining)
    DEFERRABLE = "deferrable"  # energy may move within a window (AI training)
    FIRM = "firm"  # served every hour, or by backup at a cost (AI inference)


class FlexLoadType(StrEnum):
    """What a flexible load is (declared in flex_loads.csv, never guessed from its name)."""

    BITCOIN_MINING = "bitcoin_mining"
    AI_TRAINING = "ai_training"
    AI_INFERENCE = "ai_inference"


class FlexLoadRow(_Row):
    """One row of ``flex_loads.csv``: a type of flexible load the planner may site.

    ``load_type`` declares what the load is (``bitcoin_mining``, ``ai_training``,
    ``ai_inference``); its value per MWh and yearly capital cost then come from
    :mod:`offtake.economics.valuation` over the asset's life (the investor's own figures).
    ``value_usd_per_mwh`` (what one MWh consumed earns, gross of electricity) and
    ``capex_usd_per_mw_year`` (equivalent yearly capital cost of one MW), when given,
    override that valuation (hand-made test scenarios); a row needs ``load_type`` or both.
    ``btc_price_usd``, ``rental_usd_per_gpu_hour``, ``utilisation`` and ``pue`` are
    valuation inputs (empty: the economics defaults, docs/economics.md).
    """

    name: Name
    kind: FlexKind
    load_type: FlexLoadType | None = None
    value_usd_per_mwh: NonNeg | None = None
    capex_usd_per_mw_year: NonNeg | None = None
    max_mw_per_region: NonNeg
    min_site_mw: NonNeg = 0.0
    window_h: Annotated[int, Field(ge=1, le=8760)] = 24
    max_off_share: Share = 1.0
    backup_cost_usd_per_mwh: NonNeg = 0.0
    regions: str = ""  # space-separated region names where it may be sited; empty = all
    btc_price_usd: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    rental_usd_per_gpu_hour: NonNeg | None = None
    utilisation: Share | None = None
    pue: Annotated[float, Field(ge=1, le=5, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _valued(self) -> "FlexLoadRow":
        if self.load_type is None and (self.value_usd_per_mwh is None or self.capex_usd_per_mw_year is None):
            raise ValueError("give load_type (bitcoin_mining, ai_training or ai_inference) or both "
                             "value_usd_per_mwh and capex_usd_per_mw_year")
        return self


class Tariffs(_Row):
    """Tariff figures [currency per kWh unless named otherwise]."""

    offered_pkr_per_kwh: NonNeg = 22.98
    capacity_charge_pkr_per_kwh: NonNeg = 16.67
    energy_charge_pkr_per_kwh: NonNeg = 9.67
    average_ppp_pkr_per_kwh: NonNeg = 25.98
    industrial_pkr_per_kwh: NonNeg = 34.0
    capacity_charges_pkr_bn: NonNeg = 1806.0
    network_charge_pkr_per_kwh: NonNeg = 1.5


class Files(_Row):
    regions: str = "regions.csv"
    generators: str = "generators.csv"
    lines: str = "lines.csv"
    demand: str = "demand.csv"
    profiles: str = "profiles.csv"
    energy_budgets: str = "energy_budgets.csv"
    availability: str = "availability.csv"
    flex_loads: str = "flex_loads.csv"
    hydro_budgets: str = "hydro_budgets.csv"  # retired format: refused with a migration hint


class ScenarioConfig(_Row):
    """The contents of ``scenario.yaml``."""

    name: Name
    description: str = ""
    timezone: str = "UTC"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    usd_exchange_rate: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    years: list[Annotated[int, Field(ge=1990, le=2100)]] = Field(min_length=1)
    reserve_margin: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    value_of_lost_load_usd_per_mwh: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 5000.0
    programme_cap_mw: NonNeg | None = None
    # observed generation shares by fuel (e.g. a fiscal year's statistics), shown beside the
    # baseline mix; fuels left out are reported together as the rest
    reference_mix: dict[Fuel, Share] | None = None
    reference_mix_source: str = ""
    tariffs: Tariffs = Tariffs()
    files: Files = Files()

    @field_validator("reference_mix")
    @classmethod
    def _mix_sums_to_at_most_one(cls, v: dict[Fuel, float] | None) -> dict[Fuel, float] | None:
        if v is not None and sum(v.values()) > 1.0 + 1e-9:
            raise ValueError(f"shares add up to {sum(v.values()):.4g}, more than 1")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as 'Asia/Karachi')") from exc
        return v


BUDGET_COLUMNS = ["max_mwh", "min_mwh", "take_or_pay_mwh", "take_or_pay_usd_per_mwh"]


def empty_energy_budgets() -> pd.DataFrame:
    """An energy-budget table with no rows (index (budget, month))."""
    idx = pd.MultiIndex.from_arrays([pd.Index([], dtype=object), pd.Index([], dtype=int)], names=["budget", "month"])
    return pd.DataFrame({c: pd.Series(dtype=float) for c in BUDGET_COLUMNS}, index=idx)


def full_availability(generators: pd.Index | list[str]) -> pd.DataFrame:
    """Availability table of 1.0 for every generator and month (no planned outages)."""
    return pd.DataFrame(1.0, index=pd.Index(list(generators), name="generator"), columns=range(1, 13))


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated, immutable scenario.

    Tables are pandas objects; treat them as read-only (stages copy before changing).

    - ``regions``: DataFrame indexed by region name.
    - ``generators``: DataFrame indexed by generator name (columns as :class:`GeneratorRow`).
    - ``lines``: DataFrame indexed by line name.
    - ``demand_mw``: DataFrame, tz-aware hourly DatetimeIndex ``snapshot``, one column per region [MW].
    - ``profiles_pu``: DataFrame, same index, one column per availability profile [per unit].
    - ``energy_budgets``: DataFrame indexed by (budget, month) with columns ``max_mwh`` (NaN = no
      limit), ``min_mwh``, ``take_or_pay_mwh``, ``take_or_pay_usd_per_mwh``; members are the
      generators whose ``budget`` column names the budget.
    - ``availability_pu``: DataFrame indexed by generator, columns months 1..12 [per unit]; a
      generator or month not in it is fully available (use :meth:`availability_table`).
    - ``flex_loads``: DataFrame indexed by flexible-load type name.
    """

    config: ScenarioConfig
    regions: pd.DataFrame
    generators: pd.DataFrame
    lines: pd.DataFrame
    demand_mw: pd.DataFrame
    profiles_pu: pd.DataFrame
    flex_loads: pd.DataFrame
    source: str = ""
    energy_budgets: pd.DataFrame = field(default_factory=empty_energy_budgets)
    availability_pu: pd.DataFrame = field(default_factory=lambda: full_availability([]))

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def snapshots(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.demand_mw.index)

    @property
    def region_names(self) -> list[str]:
        return list(self.regions.index)

    def availability_table(self) -> pd.DataFrame:
        """Monthly availability [pu] of every generator (generator x months 1..12, 1 where not given)."""
        a = self.availability_pu.reindex(index=self.generators.index, columns=range(1, 13))
        return a.fillna(1.0).astype(float)

    def budget_members(self) -> dict[str, list[str]]:
        """Budget name -> generator names drawing on it (in generators.csv order)."""
        b = self.generators["budget"].fillna("").astype(str) if "budget" in self.generators else pd.Series(dtype=str)
        return {name: list(idx) for name, idx in b[b != ""].groupby(b[b != ""], sort=False).groups.items()}

    def snapshot_weight_h(self) -> pd.Series:
        """Hours each snapshot stands for (1.0 for an hourly scenario)."""
        return pd.Series(1.0, index=self.snapshots, name="weight_h")
