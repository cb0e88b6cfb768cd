"""Value a plan: the investor's view per load type and the system's view of the tariff.

:func:`value_plan` takes a scenario and what the plan decided (:class:`PlanFigures`,
or a plan result that :func:`plan_figures` can read) and returns a frozen
:class:`ValueResult`:

- **investor view**, per flexible-load type: the plan's MW, MWh/yr and curtailed
  hours become :class:`~offtake.economics.loads.LoadInputs` (``from_plan``); a
  Bitcoin type is valued as a :class:`~offtake.economics.bitcoin.MiningCase`, an AI
  type as an :class:`~offtake.economics.aidc.AidcCase` (deferrable/interruptible:
  training, pauses when curtailed; firm: inference, backup power in curtailed hours).
  Reported: NPV, IRR and payback at the offered tariff, and the break-even tariff
  (NPV = 0) in PKR/kWh and USD/MWh.  A type the plan did not site is valued as a
  reference 1 MW site at the template's uptime (``basis`` says so) so its
  break-even tariff is still shown; its NPV/IRR/payback are NaN.
- **system view**, all types together: contribution to capacity charges, change in
  other consumers' average tariff, the IMF full-cost test
  (:func:`~offtake.economics.tariff.tariff_impact`), with the energy cost caused taken
  from the plan's extra generation cost when the plan solved a baseline; and the
  viable tariff window (above the energy cost, below the lowest break-even tariff of
  the sited types).

Pure: nothing is read, printed or mutated.  Money in USD unless named ``_pkr``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from offtake.economics.aidc import AidcCase, value_aidc
from offtake.economics.bitcoin import MINERS, REFERENCE_MINER, MiningCase, value_mining
from offtake.economics.finance import HOURS_PER_YEAR, PKR_PER_USD
from offtake.economics.loads import LoadInputs, LoadKind
from offtake.economics.tariff import (
    TariffFigures,
    breakeven_tariff_pkr_per_kwh,
    energy_cost_pkr_per_kwh,
    investor_npv_at_tariff,
    tariff_impact,
)
from offtake.economics.valuation import KIND_OF, ValuationAssumptions, type_economics
from offtake.errors import InputError
from offtake.scenario.schema import FlexKind, FlexLoadType, Scenario


def load_kind_of(flex_row: pd.Series | None) -> LoadKind | None:
    """Which economics value a flexible-load type: its declared ``load_type`` (flex_loads.csv),
    never a guess from its name; None when the row declares none (it is then valued with its
    own override figures only)."""
    if flex_row is None:
        return None
    lt = flex_row.get("load_type")
    if lt is None or (isinstance(lt, float) and math.isnan(lt)) or str(lt) == "":
        return None
    return KIND_OF[FlexLoadType(str(lt))]


@dataclass(frozen=True)
class LoadFigures:
    """What the plan decided for one flexible-load type, all regions together.

    ``mw`` [MW] sited, ``mwh_per_year`` [MWh/yr] drawn from the grid (annualised),
    ``curtailment_hours_per_year`` [h/yr] below full power.
    """

    name: str
    flex_kind: FlexKind
    mw: float
    mwh_per_year: float
    curtailment_hours_per_year: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "flex_kind", FlexKind(self.flex_kind))
        for name in ("mw", "mwh_per_year", "curtailment_hours_per_year"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0.0:
                raise InputError(f"plan figure {self.name}.{name} must be a finite number >= 0 "
                                 f"(got {getattr(self, name)!r})")
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class PlanFigures:
    """The plan figures the valuation needs.  ``extra_generation_cost_usd_per_year`` is
    the generation cost with the flexible loads less without them [USD/yr], None when
    the plan solved no baseline."""

    loads: tuple[LoadFigures, ...]
    extra_generation_cost_usd_per_year: float | None = None
    objective_usd: float = float("nan")
    resolution: str = ""


def plan_figures(result: Any) -> PlanFigures:
    """Read :class:`PlanFigures` from a plan result (``offtake.plan.PlanResult``).

    Per type: ``by_type()``'s capacity, MWh/yr and capacity-weighted curtailed hours/yr;
    a type the plan did not site gets zeros.  The extra generation cost is None when
    the plan solved no baseline.
    """
    if isinstance(result, PlanFigures):
        return result
    if not (hasattr(result, "by_type") and hasattr(result, "flex_kind")):
        raise InputError(f"cannot read plan figures from a {type(result).__name__}")
    bt = result.by_type()
    loads = []
    for name, kind in result.flex_kind.items():
        if name in bt.index and float(bt.loc[name, "capacity_mw"]) > 0.0:
            row = bt.loc[name]
            mw = float(row["capacity_mw"])
            # float sums may land a hair above MW x 8760 h
            mwh = min(float(row["energy_mwh_per_year"]), mw * HOURS_PER_YEAR)
            loads.append(LoadFigures(str(name), kind, mw, mwh,
                                     min(float(row["curtailed_hours_per_year"]), HOURS_PER_YEAR)))
        else:
            loads.append(LoadFigures(str(name), kind, 0.0, 0.0, 0.0))
    extra = float(result.extra_generation_cost_usd_per_year)
    return PlanFigures(loads=tuple(loads), extra_generation_cost_usd_per_year=extra if math.isfinite(extra) else None,
                       objective_usd=float(result.objective_usd), resolution=str(result.resolution))


def figures_from_plan_dir(folder: str | Path, scenario: Scenario) -> PlanFigures:
    """Read :class:`PlanFigures` from the ``summary.json`` that ``offtake plan --out DIR`` writes.

    Types absent from its ``by_type`` (not sited) get zeros; kinds come from the scenario.
    Raises InputError when the file is missing or malformed or the plan is of another scenario.
    """
    path = Path(folder) / "summary.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path} not found: give the results folder of `offtake plan --out DIR`") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the plan summary ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("by_type"), dict):
        raise InputError(f"{path}: expected a plan summary with a 'by_type' mapping")
    if data.get("scenario") not in (None, scenario.name):
        raise InputError(f"{path} is a plan of scenario {data.get('scenario')!r}, not {scenario.name!r}; "
                         "pass the same --scenario")
    by_type = data["by_type"]
    loads = []
    try:
        for name, row in scenario.flex_loads.iterrows():
            r = by_type.get(str(name)) or {}
            mw = float(r.get("capacity_mw", 0.0) or 0.0)
            loads.append(LoadFigures(str(name), row["kind"], mw,
                                     min(float(r.get("energy_mwh_per_year", 0.0) or 0.0), mw * HOURS_PER_YEAR),
                                     min(float(r.get("curtailed_hours_per_year", 0.0) or 0.0), HOURS_PER_YEAR)))
        unknown = sorted(set(by_type) - set(map(str, scenario.flex_loads.index)))
        if unknown:
            raise InputError(f"{path}: flexible-load types {', '.join(unknown)} are not in scenario "
                             f"{scenario.name!r}")
        extra = data.get("extra_generation_cost_usd_per_year")
        extra_f = None if extra is None or not math.isfinite(float(extra)) else float(extra)
        objective = float(data.get("objective", float("nan")))
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{path}: malformed plan summary ({exc})") from None
    return PlanFigures(loads=tuple(loads), extra_generation_cost_usd_per_year=extra_f, objective_usd=objective,
                       resolution=str(data.get("resolution", "")))


@dataclass(frozen=True)
class ValueAssumptions:
    """Templates of the valuations; the plan's MW, uptime and the tariff replace theirs.

    The mining template uses the reference miner (S21), the machine the scenario's
    mining value per MWh assumes, so the plan and the valuation describe one fleet.

    ``btc_price_usd``, when set, replaces the mining template's BTC price (a sweep axis).
    """

    mining: MiningCase = field(default_factory=lambda: MiningCase(miner=MINERS[REFERENCE_MINER]))
    aidc: AidcCase = field(default_factory=AidcCase)
    btc_price_usd: float | None = None
    reference_mw: float = 1.0


def pkr_per_usd_of(s: Scenario) -> float:
    """PKR per USD: the scenario's exchange rate when its currency is PKR, else Jul 2025's."""
    return float(s.config.usd_exchange_rate) if s.config.currency == "PKR" else PKR_PER_USD


def tariff_figures(s: Scenario, pkr_per_usd: float | None = None) -> TariffFigures:
    """:class:`TariffFigures` from the scenario's ``tariffs`` block (FY25 kWh base kept)."""
    t = s.config.tariffs
    return TariffFigures(
        capacity_charges_pkr_per_year=t.capacity_charges_pkr_bn * 1e9,
        capacity_pkr_per_kwh=t.capacity_charge_pkr_per_kwh, energy_pkr_per_kwh=t.energy_charge_pkr_per_kwh,
        average_ppp_pkr_per_kwh=t.average_ppp_pkr_per_kwh, industrial_pkr_per_kwh=t.industrial_pkr_per_kwh,
        proposed_pkr_per_kwh=t.offered_pkr_per_kwh, network_pkr_per_kwh=t.network_charge_pkr_per_kwh,
        pkr_per_usd=pkr_per_usd if pkr_per_usd is not None else pkr_per_usd_of(s))


@dataclass(frozen=True)
class LoadValue:
    """Investor view of one flexible-load type at the offered tariff."""

    name: str
    load_kind: str
    flex_kind: str
    basis: str
    mw: float
    mwh_per_year: float
    curtailment_hours_per_year: float
    uptime_share: float
    capex_usd: float
    revenue_usd_per_mwh: float
    operating_breakeven_pkr_per_kwh: float
    npv_usd: float
    irr_per_year: float
    payback_years: float
    breakeven_tariff_pkr_per_kwh: float
    breakeven_tariff_usd_per_mwh: float
    pays_at_tariff: bool


@dataclass(frozen=True)
class SystemValue:
    """System view of all sited types together at the offered tariff."""

    tariff_pkr_per_kwh: float
    tariff_usd_per_mwh: float
    mw: float
    mwh_per_year: float
    extra_generation_cost_usd_per_year: float
    energy_cost_pkr_per_kwh: float
    energy_cost_source: str
    contribution_pkr_per_year: float
    contribution_usd_per_year: float
    other_consumers_change_pkr_per_kwh: float
    industrial_change_share: float
    average_ppp_change_share: float
    full_cost_pkr_per_kwh: float
    recovers_full_cost: bool
    others_tariffs_fall: bool
    window_lower_pkr_per_kwh: float
    window_upper_pkr_per_kwh: float
    window_is_empty: bool
    window_imf_compliant: bool


@dataclass(frozen=True)
class ValueResult:
    """Investor and system views of a plan; see the module docstring."""

    scenario: str
    pkr_per_usd: float
    loads: tuple[LoadValue, ...]
    system: SystemValue

    def to_frame(self) -> pd.DataFrame:
        """Investor view, one row per flexible-load type (index ``name``)."""
        return pd.DataFrame([asdict(v) for v in self.loads]).set_index("name") if self.loads else \
            pd.DataFrame(columns=[f for f in LoadValue.__dataclass_fields__ if f != "name"])

    def system_frame(self) -> pd.DataFrame:
        """System view as one (figure, value) column."""
        return pd.Series(asdict(self.system), name="value").rename_axis("figure").to_frame()

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "pkr_per_usd": self.pkr_per_usd,
                "loads": [asdict(v) for v in self.loads], "system": asdict(self.system)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=True, default=float)

    def summary(self) -> dict[str, Any]:
        """Flat figures for a table row (a sweep): per type ``<name>_<figure>`` plus the system's."""
        row: dict[str, Any] = {}
        for v in self.loads:
            for key in ("mw", "mwh_per_year", "curtailment_hours_per_year", "npv_usd",
                        "breakeven_tariff_pkr_per_kwh"):
                row[f"{v.name}_{key}"] = getattr(v, key)
        s = self.system
        for key in ("mw", "mwh_per_year", "extra_generation_cost_usd_per_year", "contribution_usd_per_year",
                    "other_consumers_change_pkr_per_kwh", "recovers_full_cost",
                    "window_lower_pkr_per_kwh", "window_upper_pkr_per_kwh"):
            row[f"total_{key}" if key in ("mw", "mwh_per_year") else key] = getattr(s, key)
        return row


def _value_one(lf: LoadFigures, flex_row: pd.Series | None, tariff_usd: float, pkr_per_usd: float,
               a: ValueAssumptions) -> tuple[LoadValue, Any]:
    kind = load_kind_of(flex_row)
    sited = lf.mw > 0.0
    nan = float("nan")
    if kind is None:
        # no declared load type: the row's own figures, valued linearly (offtake.economics.valuation)
        if flex_row is None:
            raise InputError(f"flexible-load type {lf.name!r} is not in the scenario")
        e = type_economics(lf.name, flex_row)
        up = lf.mwh_per_year / (lf.mw * HOURS_PER_YEAR) if sited else 1.0
        margin = (e.value_usd_per_mwh - tariff_usd) * HOURS_PER_YEAR * up
        npv = e.npv_usd_per_mw(margin) * lf.mw if sited else nan
        be_usd = e.value_usd_per_mwh - e.fixed_cost_usd_per_mw_year / (HOURS_PER_YEAR * max(up, 1e-9))
        be_pkr = be_usd * pkr_per_usd / 1000.0 if be_usd >= 0 else nan
        return LoadValue(
            name=lf.name, load_kind="", flex_kind=lf.flex_kind.value,
            basis="plan (scenario figures)" if sited else "not sited (scenario figures)", mw=lf.mw,
            mwh_per_year=lf.mwh_per_year, curtailment_hours_per_year=lf.curtailment_hours_per_year,
            uptime_share=up, capex_usd=nan, revenue_usd_per_mwh=e.value_usd_per_mwh,
            operating_breakeven_pkr_per_kwh=e.value_usd_per_mwh * pkr_per_usd / 1000.0, npv_usd=npv,
            irr_per_year=nan, payback_years=nan, breakeven_tariff_pkr_per_kwh=be_pkr,
            breakeven_tariff_usd_per_mwh=be_usd if be_usd >= 0 else nan,
            pays_at_tariff=bool(sited and npv >= 0.0)), None
    if sited:
        li = LoadInputs.from_plan(kind, lf.mw, mwh_per_year=lf.mwh_per_year,
                                  curtailment_hours_per_year=lf.curtailment_hours_per_year)
        basis = "plan"
    else:
        up = a.mining.uptime_share if kind is LoadKind.BITCOIN else a.aidc.uptime_share
        li = LoadInputs(kind, mw=a.reference_mw, uptime_share=up,
                        curtailment_hours_per_year=HOURS_PER_YEAR * (1.0 - up))
        basis = f"not sited: reference {a.reference_mw:g} MW at uptime {up:g}"
    case: MiningCase | AidcCase
    lt = FlexLoadType(str(flex_row["load_type"])) if flex_row is not None else None
    val = ValuationAssumptions(mining=a.mining, aidc=a.aidc)
    if kind is LoadKind.BITCOIN:
        case = replace(val.mining_case(flex_row), mw=li.mw, uptime_share=li.uptime_share,
                       electricity_usd_per_mwh=tariff_usd)
        if a.btc_price_usd is not None:
            case = replace(case, btc_price_usd=a.btc_price_usd)
        v: Any = value_mining(case, pkr_per_usd)
    else:
        assert lt is not None
        case = replace(val.aidc_case(lt, flex_row), mw=li.mw, uptime_share=li.uptime_share,
                       electricity_usd_per_mwh=tariff_usd)
        v = value_aidc(case, pkr_per_usd)
    be_pkr = breakeven_tariff_pkr_per_kwh(investor_npv_at_tariff(case, pkr_per_usd))
    return LoadValue(
        name=lf.name, load_kind=kind.value, flex_kind=lf.flex_kind.value, basis=basis, mw=lf.mw,
        mwh_per_year=lf.mwh_per_year, curtailment_hours_per_year=li.curtailment_hours_per_year,
        uptime_share=li.uptime_share, capex_usd=v.capex_usd if sited else nan,
        revenue_usd_per_mwh=v.revenue_usd_per_mwh, operating_breakeven_pkr_per_kwh=v.breakeven_pkr_per_kwh,
        npv_usd=v.npv_usd if sited else nan, irr_per_year=v.irr_per_year if sited else nan,
        payback_years=v.payback_years if sited else nan,
        breakeven_tariff_pkr_per_kwh=be_pkr, breakeven_tariff_usd_per_mwh=be_pkr * 1000.0 / pkr_per_usd,
        pays_at_tariff=bool(sited and v.npv_usd >= 0.0)), case


def value_plan(scenario: Scenario, plan: PlanFigures | Any, *, tariff_pkr_per_kwh: float | None = None,
               assumptions: ValueAssumptions = ValueAssumptions()) -> ValueResult:
    """Investor and system views of a plan at a tariff [PKR/kWh] (the scenario's offered one by default)."""
    figures = plan_figures(plan)
    pkr_per_usd = pkr_per_usd_of(scenario)
    tf = tariff_figures(scenario, pkr_per_usd)
    tariff = scenario.config.tariffs.offered_pkr_per_kwh if tariff_pkr_per_kwh is None else tariff_pkr_per_kwh
    if isinstance(tariff, bool) or not isinstance(tariff, (int, float)) or not math.isfinite(tariff) or tariff < 0:
        raise InputError(f"tariff must be a finite number >= 0 PKR/kWh (got {tariff!r})")
    tariff_usd = float(tariff) * 1000.0 / pkr_per_usd
    flex = scenario.flex_loads
    loads = tuple(_value_one(lf, flex.loc[lf.name] if lf.name in flex.index else None, tariff_usd,
                             pkr_per_usd, assumptions)[0] for lf in figures.loads)

    mw = sum(v.mw for v in loads)
    mwh = sum(v.mwh_per_year for v in loads)
    extra = figures.extra_generation_cost_usd_per_year
    extra_for_cost = None if extra is None or mwh <= 0.0 else max(float(extra), 0.0)
    imp = tariff_impact(float(tariff), mwh, tf, extra_for_cost)
    sited_be = [v.breakeven_tariff_pkr_per_kwh for v in loads if v.mw > 0.0]
    upper = min(sited_be) if sited_be else float("nan")
    lower = energy_cost_pkr_per_kwh(mwh, tf, extra_for_cost)
    empty = bool(math.isnan(upper) or upper <= lower)
    system = SystemValue(
        tariff_pkr_per_kwh=float(tariff), tariff_usd_per_mwh=tariff_usd, mw=mw, mwh_per_year=mwh,
        extra_generation_cost_usd_per_year=float("nan") if extra is None else float(extra),
        energy_cost_pkr_per_kwh=imp.energy_cost_pkr_per_kwh,
        energy_cost_source="plan (extra generation cost / MWh)" if extra_for_cost is not None
        else "reference energy charge",
        contribution_pkr_per_year=imp.contribution_pkr_per_year,
        contribution_usd_per_year=imp.contribution_usd_per_year,
        other_consumers_change_pkr_per_kwh=imp.other_consumers_change_pkr_per_kwh,
        industrial_change_share=imp.industrial_change_share,
        average_ppp_change_share=imp.average_ppp_change_share,
        full_cost_pkr_per_kwh=imp.full_cost_pkr_per_kwh, recovers_full_cost=imp.recovers_full_cost,
        others_tariffs_fall=imp.others_tariffs_fall, window_lower_pkr_per_kwh=lower,
        window_upper_pkr_per_kwh=upper, window_is_empty=empty,
        window_imf_compliant=(not empty) and upper >= imp.full_cost_pkr_per_kwh)
    return ValueResult(scenario=scenario.name, pkr_per_usd=pkr_per_usd, loads=loads, system=system)


__all__ = ["LoadFigures", "LoadValue", "PlanFigures", "SystemValue", "ValueAssumptions", "ValueResult",
           "figures_from_plan_dir", "load_kind_of", "pkr_per_usd_of", "plan_figures", "tariff_figures", "value_plan"]
