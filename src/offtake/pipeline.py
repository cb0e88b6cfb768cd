"""The only place that chains the stages: scenario -> surplus -> plan -> value -> risk.

``run(options, progress)`` returns an immutable :class:`RunResult`; writing files is the
report's job (:mod:`offtake.report.decision`), printing is the CLI's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from offtake.defaults import DEFAULT_RESOLUTION, DEFAULT_SEED  # noqa: F401  (one default for every command)
from offtake.scenario import Scenario, load_scenario
from offtake.surplus import SurplusResult, assess

STAGES = ("scenario", "surplus", "plan", "value", "deal", "risk")
Progress = Callable[[str, int, int], None]  # (stage, index, total)


@dataclass(frozen=True)
class RunOptions:
    scenario: str | None = None
    resolution_h: int = 1
    days: int | None = None
    programme_cap_mw: float | None = None
    tariff_pkr_per_kwh: float | None = None  # default: the scenario's offered tariff
    risk_paths: int = 10_000
    risk_months: int = 120
    seed: int = DEFAULT_SEED
    tornado: bool = True
    allow_unserved: bool = False  # plan anyway when households cannot be served (else UnservedError, exit 2)
    deal: bool = True  # sweep the tariff designs (offtake.deal) for the decision
    deal_levels: int = 20


@dataclass(frozen=True, eq=False)
class RunResult:
    options: RunOptions
    scenario: Scenario
    surplus: SurplusResult
    plan: Any  # offtake.plan.PlanResult
    value: Any  # offtake.economics.value.ValueResult
    risk: Any  # offtake.risk.RiskResult | None (None when no load is sited)
    risk_labels: tuple[str, ...]
    timings_s: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)  # offtake.provenance.stamp(): versions, seed, checksum
    deal: Any = None  # offtake.deal.DealResult | None
    offered: Any = None  # offtake.deal.DealPoint of the plan: the offered flat tariff

    @property
    def tariff_pkr_per_kwh(self) -> float:
        t = self.options.tariff_pkr_per_kwh
        return float(self.scenario.config.tariffs.offered_pkr_per_kwh if t is None else t)

    @property
    def emissions(self) -> Any:
        """CO2 of the plan's extra generation (:func:`offtake.emissions.plan_emissions`)."""
        from offtake.emissions import plan_emissions

        gens = self.scenario.generators
        return plan_emissions(self.plan, gens if "fuel" in gens.columns else None)


def _risk_loads(plan_result: Any, scenario: Scenario) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """Every flexible type with a declared load_type, as the economics' load kinds: sited types with
    the plan's MW and hours, the others as a reference 1 MW at 90 % uptime (so the tornado shows
    them too).  Types without a load_type (override figures only) have no risk model."""
    from offtake.economics.loads import LoadInputs
    from offtake.economics.value import load_kind_of
    from offtake.report.planview import flex_summary

    per_type = flex_summary(plan_result)
    loads, labels = [], []
    for name, row in per_type.iterrows():
        kind = load_kind_of(scenario.flex_loads.loc[name]) if name in scenario.flex_loads.index else None
        if kind is None:
            continue
        mw = float(row["capacity_mw"])
        if mw <= 1e-6:
            loads.append(LoadInputs(kind, mw=1.0, uptime_share=0.9, curtailment_hours_per_year=876.0))
            labels.append(f"{name} (not sited: 1 MW reference)")
            continue
        mwh = min(float(row["mwh_per_year"]), mw * 8760.0)
        loads.append(LoadInputs.from_plan(kind, mw, mwh_per_year=mwh,
                                          curtailment_hours_per_year=min(float(row["curtailed_hours_per_year"]), 8760.0)))
        labels.append(str(name))
    return tuple(loads), tuple(labels)


def run(options: RunOptions = RunOptions(), progress: Progress | None = None) -> RunResult:
    """Run the whole analysis; ``progress(stage, i, n)`` is called as each stage starts."""
    from offtake.economics.bitcoin import MINERS, REFERENCE_MINER, MiningCase
    from offtake.economics.value import ValueAssumptions, value_plan

    # the plan comes from offtake.deal.plan_under_design (the offered design)
    from offtake.risk import RiskAssumptions, run_risk

    def step(name: str) -> None:
        if progress:
            progress(name, STAGES.index(name), len(STAGES))

    timings: dict[str, float] = {}
    t = time.perf_counter()
    step("scenario")
    sc = load_scenario(options.scenario)
    timings["scenario"] = time.perf_counter() - t

    t = time.perf_counter()
    step("surplus")
    sur = assess(sc)
    timings["surplus"] = time.perf_counter() - t

    t = time.perf_counter()
    step("plan")
    # the plan under the offered design (a flat tariff): only MW whose investors' NPV >= 0 are sited
    from offtake.deal import DealOptions, plan_under_design
    from offtake.economics.designs import Design, DesignKind

    tariff0 = float(sc.config.tariffs.offered_pkr_per_kwh if options.tariff_pkr_per_kwh is None
                    else options.tariff_pkr_per_kwh)
    dopts = DealOptions(resolution_h=options.resolution_h, days=options.days,
                        programme_cap_mw=options.programme_cap_mw, n_levels=options.deal_levels,
                        allow_unserved=options.allow_unserved)
    pr, offered = plan_under_design(sc, Design(DesignKind.FLAT, tariff0), dopts)
    timings["plan"] = time.perf_counter() - t

    t = time.perf_counter()
    step("value")
    tariff = options.tariff_pkr_per_kwh
    mining = MiningCase(miner=MINERS[REFERENCE_MINER])  # the machine the scenario's mining figures assume
    val = value_plan(sc, pr, tariff_pkr_per_kwh=tariff, assumptions=ValueAssumptions(mining=mining))
    timings["value"] = time.perf_counter() - t

    t = time.perf_counter()
    step("deal")
    deal = None
    if options.deal:
        from offtake.deal import run_deal

        deal = run_deal(sc, dopts)
    timings["deal"] = time.perf_counter() - t

    t = time.perf_counter()
    step("risk")
    loads, labels = _risk_loads(pr, sc)
    risk = None
    if loads:
        a = RiskAssumptions(n_paths=options.risk_paths, n_months=options.risk_months,
                            tariff_pkr_per_kwh=float(sc.config.tariffs.offered_pkr_per_kwh if tariff is None else tariff),
                            pkr_per_usd=float(sc.config.usd_exchange_rate))
        risk = run_risk(a, np.random.default_rng(options.seed), loads=loads, mining=mining,
                        with_tornado=options.tornado, seed=options.seed)
    timings["risk"] = time.perf_counter() - t
    from dataclasses import asdict

    from offtake.provenance import stamp

    return RunResult(options, sc, sur, pr, val, risk, labels, timings, stamp(asdict(options), options.scenario),
                     deal, offered)
