"""Scenario variants: pure functions that derive a changed copy of a scenario.

Each function takes a :class:`~offtake.scenario.schema.Scenario` and one value and
returns a new scenario; the input is never mutated (tables are copied, the config is
rebuilt with ``model_copy``).  :func:`apply_variant` applies a mapping of axis name
to value, which is what one cell of a sweep grid is.

Axes (unit in the name):

- ``tariff_pkr_per_kwh``: the tariff offered to the new loads
  (``config.tariffs.offered_pkr_per_kwh``).  The plan does not use it; the valuation does.
- ``btc_price_usd``: the BTC price.  Every row of ``flex_loads`` whose ``load_type`` is
  ``bitcoin_mining`` (declared, never guessed from the name) gets ``btc_price_usd = P``,
  and its value per MWh is the lifetime-levelised one of
  :mod:`offtake.economics.valuation` at that price (hashprice path over the machine life:
  difficulty growing 25 %/yr, the 2028 halving, pool fee, discounting), the same figure the
  investor's valuation uses.  A :class:`BitcoinFleet` other than the default (efficiency,
  difficulty, pool fee, fees) sets the row's value per MWh to that lifetime value with its
  figures.
- ``hydrology``: ``dry``, ``normal``, ``wet`` or a positive factor.  Monthly hydro
  budgets are multiplied by the factor, and so is every availability profile that a
  hydro generator uses (run-of-river), clipped to [0, 1] per unit.
- ``rooftop_solar_growth_mw``: extra MW of behind-the-meter rooftop PV.  It deepens
  the midday trough: ``demand_rt -= extra_mw x solar_t x share_r``, floored at 0,
  with ``solar_t`` the scenario's ``solar`` profile [per unit] and ``share_r`` each
  region's share of the year's demand energy.
- ``programme_cap_mw``: the national cap on flexible MW (``config.programme_cap_mw``).
- ``demand_growth_share``: every region's hourly demand times ``1 + g`` (0.05 = +5 %).

:func:`apply_variant` applies them in a fixed order (demand growth before rooftop
solar, so the new rooftop PV subtracts from the grown demand), whatever the order
of the mapping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from offtake.economics.bitcoin import MINERS, REFERENCE_MINER, MiningCase
from offtake.errors import InputError
from offtake.scenario.schema import Scenario

#: Hydrology year -> factor on hydro energy [assumption]: Pakistan's hydro output swings
#: by roughly a fifth between dry and wet years (facts: hydro 1,164 MW Jan vs 8,700 MW
#: Aug average shows the seasonal swing; the year-to-year factors are ours).
HYDROLOGY_FACTORS: dict[str, float] = {"dry": 0.8, "normal": 1.0, "wet": 1.15}

#: Order in which :func:`apply_variant` applies the axes.
AXES: tuple[str, ...] = (
    "demand_growth_share",
    "rooftop_solar_growth_mw",
    "hydrology",
    "programme_cap_mw",
    "tariff_pkr_per_kwh",
    "btc_price_usd",
)


_REFERENCE_CASE = MiningCase(miner=MINERS[REFERENCE_MINER])


@dataclass(frozen=True)
class BitcoinFleet:
    """What turns a BTC price into value per MWh: efficiency [J/TH], difficulty, pool fee [0-1],
    fees [BTC/block].  Defaults: the reference miner (``REFERENCE_MINER``, Antminer S21,
    17.5 J/TH) and :class:`~offtake.economics.bitcoin.MiningCase`'s difficulty (155e12),
    pool fee (2 %) and fees (0), which is how the built-in scenario's mining value was derived.
    """

    efficiency_j_per_th: float = MINERS[REFERENCE_MINER].efficiency_j_per_th
    difficulty: float = _REFERENCE_CASE.difficulty
    pool_fee_share: float = _REFERENCE_CASE.pool_fee_share
    fees_btc_per_block: float = _REFERENCE_CASE.fees_btc_per_block

    def __post_init__(self) -> None:
        _number("efficiency_j_per_th", self.efficiency_j_per_th, low=0.0, strict=True)
        _number("difficulty", self.difficulty, low=0.0, strict=True)
        _number("pool_fee_share", self.pool_fee_share, low=0.0, high=1.0)
        _number("fees_btc_per_block", self.fees_btc_per_block, low=0.0)

    def value_usd_per_mwh(self, btc_price_usd: float) -> float:
        """Lifetime-levelised mining revenue per MWh drawn [USD/MWh] at a BTC price [USD]:
        :func:`offtake.economics.valuation.mining_economics` of the reference case with this
        fleet's figures (the planner's and the investor's figure; 56.13 at 100,000 USD)."""
        from offtake.economics.valuation import mining_economics

        miner = replace(MINERS[REFERENCE_MINER], efficiency_j_per_th=self.efficiency_j_per_th, power_w=0.0)
        case = replace(_REFERENCE_CASE, miner=miner, btc_price_usd=btc_price_usd, difficulty=self.difficulty,
                       pool_fee_share=self.pool_fee_share, fees_btc_per_block=self.fees_btc_per_block)
        return float(mining_economics("mining", case).value_usd_per_mwh)


def _number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
            strict: bool = False) -> float:
    """``value`` as a finite float within bounds, else an InputError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number (got {value!r})")
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{name} must be finite (got {value!r})")
    if low is not None and (v <= low if strict else v < low):
        raise InputError(f"{name} must be {'>' if strict else '>='} {low:g} (got {value!r})")
    if high is not None and v > high:
        raise InputError(f"{name} must be <= {high:g} (got {value!r})")
    return v


def _with_config(s: Scenario, **update: Any) -> Scenario:
    return replace(s, config=s.config.model_copy(update=update))


def with_tariff(s: Scenario, tariff_pkr_per_kwh: float) -> Scenario:
    """The scenario with the tariff offered to flexible loads set [PKR/kWh, >= 0]."""
    t = _number("tariff_pkr_per_kwh", tariff_pkr_per_kwh, low=0.0)
    tariffs = s.config.tariffs.model_copy(update={"offered_pkr_per_kwh": t})
    return _with_config(s, tariffs=tariffs)


def with_programme_cap(s: Scenario, programme_cap_mw: float) -> Scenario:
    """The scenario with the national programme cap set [MW, >= 0]."""
    return _with_config(s, programme_cap_mw=_number("programme_cap_mw", programme_cap_mw, low=0.0))


def bitcoin_flex_names(s: Scenario) -> list[str]:
    """Flexible-load types declared ``load_type: bitcoin_mining`` in flex_loads.csv."""
    fl = s.flex_loads
    if "load_type" not in fl.columns:
        return []
    return [str(n) for n, lt in fl["load_type"].items() if str(lt) == "bitcoin_mining"]


def with_btc_price(s: Scenario, btc_price_usd: float, fleet: BitcoinFleet = BitcoinFleet()) -> Scenario:
    """The scenario with every mining type valued at a BTC price [USD] (its ``btc_price_usd``
    input set; with a non-default fleet, its value per MWh set to that fleet's lifetime value).

    Raises InputError when the scenario has no type declared ``bitcoin_mining``.
    """
    price = _number("btc_price_usd", btc_price_usd, low=0.0, strict=True)
    names = bitcoin_flex_names(s)
    if not names:
        raise InputError(f"btc_price_usd: scenario {s.name!r} has no flexible-load type with load_type "
                         f"bitcoin_mining (flex_loads: {', '.join(map(str, s.flex_loads.index)) or 'none'})")
    flex = s.flex_loads.copy().astype({"btc_price_usd": object, "value_usd_per_mwh": object})
    flex.loc[names, "btc_price_usd"] = price
    flex.loc[names, "value_usd_per_mwh"] = None if fleet == BitcoinFleet() else fleet.value_usd_per_mwh(price)
    return replace(s, flex_loads=flex)


def hydrology_factor(hydrology: str | float) -> float:
    """``dry``/``normal``/``wet`` (:data:`HYDROLOGY_FACTORS`) or a positive factor."""
    if isinstance(hydrology, str):
        key = hydrology.strip().lower()
        if key not in HYDROLOGY_FACTORS:
            raise InputError(f"hydrology must be one of {', '.join(HYDROLOGY_FACTORS)} or a positive "
                             f"factor (got {hydrology!r})")
        return HYDROLOGY_FACTORS[key]
    return _number("hydrology", hydrology, low=0.0, strict=True)


def with_hydrology(s: Scenario, hydrology: str | float) -> Scenario:
    """Hydro budgets [MWh] and hydro availability profiles [pu] scaled by the year's factor.

    Profiles are clipped to [0, 1]; a wet year cannot push run-of-river output above
    installed capacity.
    """
    f = hydrology_factor(hydrology)
    gens = s.generators
    hydro = gens["technology"].astype(str).str.lower().str.contains("hydro")
    profiles = sorted(set(gens.loc[hydro, "profile"].fillna("").astype(str)) - {""})
    profiles = [p for p in profiles if p in s.profiles_pu.columns]
    prof = s.profiles_pu.copy()
    if profiles:
        prof[profiles] = (prof[profiles] * f).clip(lower=0.0, upper=1.0)
    hydro_budgets = set(gens.loc[hydro, "budget"].fillna("").astype(str)) - {""}
    eb = s.energy_budgets.copy()
    if len(eb):
        rows = eb.index.get_level_values("budget").isin(sorted(hydro_budgets))
        eb.loc[rows, "max_mwh"] = eb.loc[rows, "max_mwh"] * f
        eb.loc[rows, "min_mwh"] = eb.loc[rows, "min_mwh"] * f
    return replace(s, energy_budgets=eb, profiles_pu=prof)


def with_rooftop_solar(s: Scenario, rooftop_solar_growth_mw: float,
                       profile: str = "solar") -> Scenario:
    """Demand [MW] less the output of extra rooftop PV, spread by regional demand energy.

    ``demand_rt - extra_mw x solar_t x E_r / sum(E)``, floored at 0 MW.
    """
    extra = _number("rooftop_solar_growth_mw", rooftop_solar_growth_mw, low=0.0)
    if profile not in s.profiles_pu.columns:
        raise InputError(f"rooftop_solar_growth_mw needs a {profile!r} profile in profiles.csv "
                         f"(scenario {s.name!r} has: {', '.join(s.profiles_pu.columns) or 'none'})")
    d = s.demand_mw
    energy = d.sum(axis=0)
    total = float(energy.sum())
    share = energy / total if total > 0 else pd.Series(1.0 / d.shape[1], index=d.columns)
    solar = s.profiles_pu[profile].reindex(d.index).fillna(0.0).to_numpy(float)
    cut = np.outer(solar, share.to_numpy(float)) * extra
    demand = pd.DataFrame(np.maximum(d.to_numpy(float) - cut, 0.0), index=d.index, columns=d.columns)
    return replace(s, demand_mw=demand)


def with_demand_growth(s: Scenario, demand_growth_share: float) -> Scenario:
    """Every hourly demand [MW] times ``1 + g`` (g > -1; 0.05 = +5 %)."""
    g = _number("demand_growth_share", demand_growth_share, low=-1.0, strict=True)
    return replace(s, demand_mw=s.demand_mw * (1.0 + g))


def check_variant(variant: Mapping[str, Any]) -> None:
    """Raise one InputError listing every unknown axis and bad value (no scenario needed)."""
    problems: list[str] = []
    for key, value in variant.items():
        if key not in AXES:
            problems.append(f"unknown axis {key!r} (known: {', '.join(AXES)})")
            continue
        try:
            if key == "hydrology":
                hydrology_factor(value)
            elif key == "btc_price_usd":
                _number(key, value, low=0.0, strict=True)
            elif key == "demand_growth_share":
                _number(key, value, low=-1.0, strict=True)
            else:
                _number(key, value, low=0.0)
        except InputError as exc:
            problems.append(exc.message)
    if problems:
        raise InputError("bad variant:\n" + "\n".join(f"  - {p}" for p in problems))


def apply_variant(s: Scenario, variant: Mapping[str, Any],
                  fleet: BitcoinFleet = BitcoinFleet()) -> Scenario:
    """The scenario with every axis of ``variant`` applied, in :data:`AXES` order."""
    check_variant(variant)
    out = s
    for key in AXES:
        if key not in variant:
            continue
        value = variant[key]
        if key == "demand_growth_share":
            out = with_demand_growth(out, value)
        elif key == "rooftop_solar_growth_mw":
            out = with_rooftop_solar(out, value)
        elif key == "hydrology":
            out = with_hydrology(out, value)
        elif key == "programme_cap_mw":
            out = with_programme_cap(out, value)
        elif key == "tariff_pkr_per_kwh":
            out = with_tariff(out, value)
        else:
            out = with_btc_price(out, value, fleet)
    return out


__all__ = ["AXES", "HYDROLOGY_FACTORS", "BitcoinFleet", "apply_variant", "bitcoin_flex_names",
           "check_variant", "hydrology_factor", "with_btc_price", "with_demand_growth",
           "with_hydrology", "with_programme_cap", "with_rooftop_solar", "with_tariff"]
