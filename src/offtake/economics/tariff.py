"""Tariff impact: what a tariff for the new loads does to every other consumer.

Capacity charges are fixed: they are paid whether or not a plant runs.  A new kWh
sold at tariff ``T`` pays the energy cost it causes ``c_e`` and contributes the rest
to the fixed costs:

    contribution [PKR/yr]          = (T - network - c_e) x kWh_new
    other consumers' change [Rs/kWh] = - contribution / kWh_sold
    full cost (the IMF test)       = c_e + network + capacity share per kWh

``kWh_sold`` is units sold to consumers: units purchased from generators (FY25 capacity
charges / FY25 charge per kWh = 126.3 TWh) less DISCO losses (16 % [est], see
:class:`TariffFigures`).  The contribution and the full-cost test use the same ``c_e``.

``c_e`` is the reference energy charge, or, when the plan gives it, the system's
extra generation cost divided by the new load's energy.  Capacity charges are taken
as spread per kWh over every category, so households and industry see the same
change in Rs/kWh (and different changes in percent).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from offtake.economics._checks import as_array, out
from offtake.economics.finance import PKR_PER_USD
from offtake.errors import InputError


@dataclass(frozen=True)
class TariffFigures:
    """Pakistan's tariff figures (shared/facts/pakistan.md), every one overridable.

    The kWh base for spreading capacity charges is FY25's: Rs 1,806 bn of capacity
    charges at Rs 14.3/kWh, i.e. ~126.3 TWh.  ``network_pkr_per_kwh`` is an
    [assumption] (transmission use-of-system and market fees for a load at 132 kV
    or above); it is not in the facts file.
    """

    capacity_charges_pkr_per_year: float = 1806e9  # FY25
    capacity_charge_fy25_pkr_per_kwh: float = 14.3  # FY25 realised
    power_purchase_price_pkr_per_year: float = 2943e9  # FY25 PPP
    capacity_pkr_per_kwh: float = 16.67  # FY26 reference
    energy_pkr_per_kwh: float = 9.67  # FY26 reference
    average_ppp_pkr_per_kwh: float = 25.98  # FY26 reference
    industrial_pkr_per_kwh: float = 34.0
    proposed_pkr_per_kwh: float = 22.98  # "Roshan Maeeshat" incremental package
    network_pkr_per_kwh: float = 1.0  # [assumption]
    pkr_per_usd: float = PKR_PER_USD
    #: [est] aggregate DISCO losses FY25: the nine DISCOs' losses (pakistan.md: 5.2-35.1 %)
    #: weighted by rough shares of units purchased (LESCO, MEPCO, FESCO, IESCO, GEPCO ~65 %
    #: at 5-12 %, mean ~8 %; PESCO, HESCO, SEPCO, QESCO ~35 % at 24-35 %, mean ~30 %):
    #: 0.65 x 8 + 0.35 x 30 = 15.7 %, taken as 16 %.
    disco_loss_share: float = 0.16

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            as_array(name, value, min_value=0.0, strict=name != "network_pkr_per_kwh")

    @property
    def units_purchased_kwh_per_year(self) -> float:
        """kWh bought from generators = FY25 capacity charges / FY25 charge per kWh (126.3 TWh)."""
        return self.capacity_charges_pkr_per_year / self.capacity_charge_fy25_pkr_per_kwh

    @property
    def units_sold_kwh_per_year(self) -> float:
        """kWh sold to consumers, over which capacity charges are spread: purchased less DISCO losses."""
        return self.units_purchased_kwh_per_year * (1.0 - self.disco_loss_share)

    @property
    def full_cost_pkr_per_kwh(self) -> float:
        """Energy + network + capacity share per kWh (the IMF's full-cost test)."""
        return self.energy_pkr_per_kwh + self.network_pkr_per_kwh + self.capacity_pkr_per_kwh


def energy_cost_pkr_per_kwh(mwh_per_year: float, figures: TariffFigures,
                            extra_generation_cost_usd_per_year: float | None = None) -> float:
    """Energy cost caused per new kWh [PKR/kWh]: plan's extra cost / kWh, else the reference."""
    if extra_generation_cost_usd_per_year is None:
        return figures.energy_pkr_per_kwh
    cost = float(as_array("extra_generation_cost_usd_per_year",
                          extra_generation_cost_usd_per_year, min_value=0.0))
    mwh = float(as_array("mwh_per_year", mwh_per_year, min_value=0.0))
    if mwh == 0.0:
        raise InputError("extra_generation_cost_usd_per_year needs mwh_per_year > 0")
    return cost * figures.pkr_per_usd / (mwh * 1000.0)


def contribution_pkr_per_year(tariff_pkr_per_kwh: ArrayLike, mwh_per_year: ArrayLike,
                              energy_cost_pkr_per_kwh: ArrayLike, network_pkr_per_kwh: ArrayLike = 0.0) -> Any:
    """Contribution to fixed (capacity) costs [PKR/yr] = ``(T - network - c_e) x MWh x 1000``.

    >>> round(contribution_pkr_per_year(22.98, 1000.0, 9.67, 1.5))
    11810000
    """
    t = as_array("tariff_pkr_per_kwh", tariff_pkr_per_kwh, min_value=0.0)
    mwh = as_array("mwh_per_year", mwh_per_year, min_value=0.0)
    ce = as_array("energy_cost_pkr_per_kwh", energy_cost_pkr_per_kwh, min_value=0.0)
    net = as_array("network_pkr_per_kwh", network_pkr_per_kwh, min_value=0.0)
    return out((t - net - ce) * mwh * 1000.0)


def other_consumers_change_pkr_per_kwh(contribution_pkr: ArrayLike,
                                       figures: TariffFigures = TariffFigures()) -> Any:
    """Change in every other consumer's average tariff [Rs/kWh] (negative = falls).

    >>> round(other_consumers_change_pkr_per_kwh(106.09e9), 3)
    -1.0
    """
    c = as_array("contribution_pkr", contribution_pkr)
    return out(-c / figures.units_sold_kwh_per_year)


@dataclass(frozen=True)
class TariffImpact:
    """What tariff ``T`` for ``mwh_per_year`` of new load does to the system."""

    tariff_pkr_per_kwh: float
    mwh_per_year: float
    energy_cost_pkr_per_kwh: float
    contribution_pkr_per_year: float
    contribution_usd_per_year: float
    other_consumers_change_pkr_per_kwh: float
    industrial_change_share: float
    average_ppp_change_share: float
    full_cost_pkr_per_kwh: float
    recovers_full_cost: bool
    others_tariffs_fall: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def tariff_impact(tariff_pkr_per_kwh: float, mwh_per_year: float,
                  figures: TariffFigures = TariffFigures(),
                  extra_generation_cost_usd_per_year: float | None = None) -> TariffImpact:
    """Contribution, other consumers' tariff change and the full-cost test for tariff T."""
    t = float(as_array("tariff_pkr_per_kwh", tariff_pkr_per_kwh, min_value=0.0))
    mwh = float(as_array("mwh_per_year", mwh_per_year, min_value=0.0))
    ce = energy_cost_pkr_per_kwh(mwh, figures, extra_generation_cost_usd_per_year)
    contrib = float(contribution_pkr_per_year(t, mwh, ce, figures.network_pkr_per_kwh))
    change = float(other_consumers_change_pkr_per_kwh(contrib, figures))
    return TariffImpact(
        tariff_pkr_per_kwh=t, mwh_per_year=mwh, energy_cost_pkr_per_kwh=ce,
        contribution_pkr_per_year=contrib, contribution_usd_per_year=contrib / figures.pkr_per_usd,
        other_consumers_change_pkr_per_kwh=change,
        industrial_change_share=change / figures.industrial_pkr_per_kwh,
        average_ppp_change_share=change / figures.average_ppp_pkr_per_kwh,
        full_cost_pkr_per_kwh=ce + figures.network_pkr_per_kwh + figures.capacity_pkr_per_kwh,
        recovers_full_cost=t >= ce + figures.network_pkr_per_kwh + figures.capacity_pkr_per_kwh - 1e-12,
        others_tariffs_fall=contrib > 0.0)


def breakeven_tariff_pkr_per_kwh(npv_at_tariff: Callable[[float], float], *,
                                 low_pkr_per_kwh: float = 0.0,
                                 high_pkr_per_kwh: float = 500.0) -> float:
    """Tariff [PKR/kWh] at which the investor's NPV is zero (scipy brentq).

    ``npv_at_tariff`` must fall as the tariff rises.  Returns NaN when NPV is
    negative even at ``low_pkr_per_kwh`` (no tariff pays), and ``high_pkr_per_kwh``
    when NPV is still >= 0 there.
    """
    if not 0.0 <= low_pkr_per_kwh < high_pkr_per_kwh:
        raise InputError(f"need 0 <= low < high (got {low_pkr_per_kwh}, {high_pkr_per_kwh})")
    f_lo = float(npv_at_tariff(low_pkr_per_kwh))
    if f_lo < 0.0:
        return float("nan")
    f_hi = float(npv_at_tariff(high_pkr_per_kwh))
    if f_hi >= 0.0:
        return high_pkr_per_kwh
    if f_lo == 0.0:
        return low_pkr_per_kwh
    return float(brentq(npv_at_tariff, low_pkr_per_kwh, high_pkr_per_kwh, xtol=1e-6))


@dataclass(frozen=True)
class TariffWindow:
    """Tariffs at which both the investor's NPV >= 0 and other consumers' tariffs fall.

    ``lower`` is the energy cost caused (above it the contribution is positive);
    ``upper`` the investor's break-even tariff.  Empty when ``upper <= lower`` or no
    tariff gives NPV >= 0 (``upper`` NaN).  ``imf_compliant`` says whether the
    full-cost tariff lies inside the window.
    """

    lower_pkr_per_kwh: float
    upper_pkr_per_kwh: float
    full_cost_pkr_per_kwh: float

    @property
    def is_empty(self) -> bool:
        return bool(np.isnan(self.upper_pkr_per_kwh) or self.upper_pkr_per_kwh <= self.lower_pkr_per_kwh)

    @property
    def imf_compliant(self) -> bool:
        return (not self.is_empty) and self.upper_pkr_per_kwh >= self.full_cost_pkr_per_kwh

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "is_empty": self.is_empty, "imf_compliant": self.imf_compliant}


def viable_tariff_window(npv_at_tariff: Callable[[float], float], mwh_per_year: float,
                         figures: TariffFigures = TariffFigures(),
                         extra_generation_cost_usd_per_year: float | None = None,
                         high_pkr_per_kwh: float = 500.0) -> TariffWindow:
    """The tariff range where the investor's NPV >= 0 and other consumers' tariffs fall."""
    ce = energy_cost_pkr_per_kwh(mwh_per_year, figures, extra_generation_cost_usd_per_year)
    upper = breakeven_tariff_pkr_per_kwh(npv_at_tariff, high_pkr_per_kwh=high_pkr_per_kwh)
    return TariffWindow(lower_pkr_per_kwh=ce, upper_pkr_per_kwh=upper,
                        full_cost_pkr_per_kwh=figures.full_cost_pkr_per_kwh)


def investor_npv_at_tariff(case: Any, pkr_per_usd: float = PKR_PER_USD) -> Callable[[float], float]:
    """``T -> NPV [USD]`` for a :class:`MiningCase` or :class:`AidcCase`, tariff in PKR/kWh."""
    from dataclasses import replace

    from offtake.economics.aidc import AidcCase, value_aidc
    from offtake.economics.bitcoin import MiningCase, value_mining

    if isinstance(case, MiningCase):
        return lambda t: value_mining(replace(case, electricity_usd_per_mwh=t * 1000.0 / pkr_per_usd)).npv_usd
    if isinstance(case, AidcCase):
        return lambda t: value_aidc(replace(case, electricity_usd_per_mwh=t * 1000.0 / pkr_per_usd)).npv_usd
    raise InputError(f"expected a MiningCase or AidcCase (got {type(case).__name__})")


@dataclass(frozen=True)
class ImpactFigures:
    """The tariff arithmetic of the deal space (docs/economics.md, "Tariff impact").

    National pool: ``units_sold_kwh`` = units purchased (126.3 TWh FY25) less DISCO losses
    (:class:`TariffFigures`).  K-Electric's area (``ke_regions``) is its own pool:
    ``ke_units_sold_kwh`` = the scenario's demand in those regions less K-Electric's losses
    (15 % [est]: its reported transmission and distribution losses are in the mid teens;
    not in the facts file).
    """

    pkr_per_usd: float
    units_purchased_kwh: float
    disco_loss_share: float
    units_sold_kwh: float
    ke_regions: tuple[str, ...]
    ke_units_sold_kwh: float
    ke_loss_share: float
    network_pkr_per_kwh: float
    capacity_share_pkr_per_kwh: float
    energy_reference_pkr_per_kwh: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ke_regions"] = list(self.ke_regions)
        return d


KE_LOSS_SHARE = 0.15  # [est], see ImpactFigures


def impact_figures(scenario: Any, ke_regions: tuple[str, ...] = ("KARACHI",),
                   figures: TariffFigures | None = None) -> ImpactFigures:
    """:class:`ImpactFigures` of a scenario (its tariffs block and demand)."""
    t = scenario.config.tariffs
    fx = float(scenario.config.usd_exchange_rate) if scenario.config.currency == "PKR" else PKR_PER_USD
    base = figures or TariffFigures(capacity_charges_pkr_per_year=t.capacity_charges_pkr_bn * 1e9)
    ke = tuple(r for r in ke_regions if r in scenario.demand_mw.columns)
    w = scenario.snapshot_weight_h() if hasattr(scenario, "snapshot_weight_h") else None
    d = scenario.demand_mw[list(ke)] if ke else None
    if d is not None and len(d):
        weights = np.asarray(w, dtype=float) if w is not None else np.ones(len(d))
        years = float(weights.sum()) / 8760.0
        ke_mwh = float((d.to_numpy() * weights[:, None]).sum()) / years
    else:
        ke_mwh = 0.0
    return ImpactFigures(
        pkr_per_usd=fx, units_purchased_kwh=base.units_purchased_kwh_per_year, disco_loss_share=base.disco_loss_share,
        units_sold_kwh=base.units_sold_kwh_per_year, ke_regions=ke,
        ke_units_sold_kwh=ke_mwh * 1000.0 * (1.0 - KE_LOSS_SHARE), ke_loss_share=KE_LOSS_SHARE,
        network_pkr_per_kwh=float(t.network_charge_pkr_per_kwh), capacity_share_pkr_per_kwh=float(t.capacity_charge_pkr_per_kwh),
        energy_reference_pkr_per_kwh=float(t.energy_charge_pkr_per_kwh))


def pool_impact(sales_pkr_per_year: float, energy_kwh_per_year: float, energy_cost_pkr_per_kwh: float,
                figures: ImpactFigures, units_sold_kwh: float) -> dict[str, float]:
    """One pool's contribution ``sales - (network + c_e) x kWh`` [PKR/yr] and the change of its
    other consumers' average tariff ``-contribution / units sold`` [Rs/kWh].

    >>> f = ImpactFigures(280.0, 1e9, 0.2, 8e8, (), 0.0, 0.15, 1.5, 16.67, 9.67)
    >>> r = pool_impact(20e6, 1e6, 5.6, f, 8e8)
    >>> round(r["contribution_pkr"]), round(r["others_change_pkr_per_kwh"], 6)
    (12900000, -0.016125)
    """
    e = float(energy_kwh_per_year)
    if e <= 0.0:
        return {"contribution_pkr": 0.0, "others_change_pkr_per_kwh": 0.0}
    c = float(sales_pkr_per_year) - (figures.network_pkr_per_kwh + float(energy_cost_pkr_per_kwh)) * e
    return {"contribution_pkr": c, "others_change_pkr_per_kwh": -c / units_sold_kwh if units_sold_kwh > 0 else float("nan")}
