"""Plausibility bounds: values that parse as numbers but cannot describe a real power system.

The schema (``schema.py``) checks types and signs; these bounds catch values that are
valid numbers yet physically implausible, such as a 1e15 MW fleet, 1e300 MW of demand or a
demand table typed in kW instead of MW.  Such values used to pass validation and then
fail inside the solver (exit 3) or vanish in averaging (``--days``).  Each offender is
reported with file, line, column and the rule, like every other scenario problem.

Bounds are per column name (the same name in any table gets the same bound) plus one
relational rule, ``peak_demand_to_capacity``.  ``scenario.yaml`` may override any of them::

    bounds:
      capacity_mw: {max: 5000000}       # one fleet of 5 TW
      peak_demand_to_capacity: {max: 10}

The defaults, their units and reasons are in :data:`DEFAULT_BOUNDS` and documented in
``docs/scenario-format.md`` ("Plausibility bounds").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from offtake.errors import ProblemCollector

_MAX_PER_RULE = 10


@dataclass(frozen=True)
class Bound:
    """An inclusive range for one column [in the column's unit]; ``None`` = open."""

    min: float | None
    max: float | None
    unit: str
    why: str

    def describe(self) -> str:
        lo = "" if self.min is None else f">= {_num(self.min)} "
        hi = "" if self.max is None else f"<= {_num(self.max)} "
        return f"{lo}{'and ' if lo and hi else ''}{hi}{self.unit}".strip()


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


TW = 2_000_000.0  # MW; above the largest national fleet of any one technology and any country's peak demand

DEFAULT_BOUNDS: dict[str, Bound] = {
    # generators.csv, lines.csv
    "capacity_mw": Bound(0, TW, "MW", "one aggregated fleet above 2 TW is not a real fleet (MW typed as kW or W?)"),
    "capacity_forward_mw": Bound(0, TW, "MW", "a corridor above 2 TW is not a real corridor"),
    "capacity_backward_mw": Bound(0, TW, "MW", "a corridor above 2 TW is not a real corridor"),
    # demand.csv: every region column
    "demand_mw": Bound(0, TW, "MW", "hourly demand of one region above 2 TW exceeds any country's peak"),
    # energy_budgets.csv (monthly energy of a budget's members)
    "max_mwh": Bound(0, TW * 744, "MWh", "more than 2 TW for a whole 31-day month"),
    "min_mwh": Bound(0, TW * 744, "MWh", "more than 2 TW for a whole 31-day month"),
    "take_or_pay_mwh": Bound(0, TW * 744, "MWh", "more than 2 TW for a whole 31-day month"),
    "take_or_pay_usd_per_mwh": Bound(0, 100_000, "USD/MWh", "a contract price above 100,000 USD/MWh"),
    # flex_loads.csv
    "max_mw_per_region": Bound(0, TW, "MW", "more flexible load in one region than 2 TW"),
    "min_site_mw": Bound(0, TW, "MW", "a site above 2 TW"),
    "value_usd_per_mwh": Bound(0, 100_000, "USD/MWh", "a MWh consumed earning over 100,000 USD"),
    "capex_usd_per_mw_year": Bound(0, 100_000_000, "USD/MW/yr", "annualised capital cost above 100 M USD per MW"),
    "backup_cost_usd_per_mwh": Bound(0, 100_000, "USD/MWh", "backup power above 100,000 USD/MWh"),
    # relational: a region's peak hour against the scenario's whole generating fleet
    "peak_demand_to_capacity": Bound(None, 3.0, "x total generating capacity",
                                     "a region needing more than 3 times every generator of the scenario "
                                     "together is almost always demand entered in kW instead of MW"),
}

CONFIG_BOUNDS: dict[str, Bound] = {
    "value_of_lost_load_usd_per_mwh": Bound(0, 1_000_000, "USD/MWh", "a value of lost load above 1 M USD/MWh "
                                            "swamps every other cost in the solver"),
    "programme_cap_mw": Bound(0, TW, "MW", "a programme above 2 TW"),
}


def parse_overrides(raw: object, pc: ProblemCollector, file: str = "scenario.yaml") -> dict[str, Bound]:
    """The effective bounds: defaults updated by the ``bounds:`` mapping of scenario.yaml."""
    bounds = {**DEFAULT_BOUNDS, **CONFIG_BOUNDS}
    if raw is None:
        return bounds
    if not isinstance(raw, dict):
        pc.add(file, "'bounds' must map column names to {min: ..., max: ...}", column="bounds")
        return bounds
    for key, spec in raw.items():
        where = f"bounds.{key}"
        if key not in bounds:
            pc.add(file, f"unknown bound; known: {sorted(bounds)}", column=where)
            continue
        if not isinstance(spec, dict) or not spec or set(spec) - {"min", "max"}:
            pc.add(file, "a bound is a mapping with 'min' and/or 'max'", column=where, value=spec)
            continue
        new = bounds[key]
        for side in ("min", "max"):
            if side not in spec:
                continue
            v = spec[side]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                pc.add(file, f"'{side}' must be a finite number", column=f"{where}.{side}", value=v)
                break
            new = replace(new, **{side: float(v)})
        else:
            if new.min is not None and new.max is not None and new.min > new.max:
                pc.add(file, "min is above max", column=where, value=spec)
                continue
            bounds[key] = new
    return bounds


def _report(pc: ProblemCollector, file: str, column: str, bound: Bound, lines: np.ndarray,
            values: np.ndarray, key: str, overridable: bool = True) -> None:
    hint = f"; override with bounds.{key} in scenario.yaml" if overridable else ""
    rule = f"implausible value: must be {bound.describe()} ({bound.why}{hint})"
    for line, v in zip(lines[:_MAX_PER_RULE], values[:_MAX_PER_RULE]):
        pc.add(file, rule, int(line), column, f"{v:g}")
    if len(lines) > _MAX_PER_RULE:
        pc.add(file, f"... and {len(lines) - _MAX_PER_RULE} more rows outside the bound {bound.describe()}", column=column)


def _outside(values: np.ndarray, bound: Bound) -> np.ndarray:
    bad = np.zeros(values.shape, dtype=bool)
    if bound.min is not None:
        bad |= values < bound.min
    if bound.max is not None:
        bad |= values > bound.max
    return bad


def check_table(df: pd.DataFrame | None, file: str, bounds: dict[str, Bound], pc: ProblemCollector) -> None:
    """Check every bounded column of a validated table (rows carry their CSV line in ``_line``)."""
    if df is None or df.empty or "_line" not in df.columns:
        return
    for column in df.columns:
        bound = bounds.get(str(column))
        if bound is None or column in CONFIG_BOUNDS:
            continue
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
        bad = _outside(values, bound) & np.isfinite(values)
        if bad.any():
            _report(pc, file, str(column), bound, df["_line"].to_numpy()[bad], values[bad], str(column))


def check_series(values: pd.DataFrame | None, file: str, key: str, bounds: dict[str, Bound],
                 pc: ProblemCollector, overridable: bool = True) -> None:
    """Check a wide hourly table (row i of the frame is CSV line i + 2) against bound ``key``."""
    bound = bounds.get(key)
    if values is None or bound is None:
        return
    lines = np.arange(2, len(values) + 2)
    for column in values.columns:
        v = values[column].to_numpy(dtype=float)
        bad = _outside(v, bound) & np.isfinite(v)
        if bad.any():
            _report(pc, file, str(column), bound, lines[bad], v[bad], key, overridable)


def check_config(config: object, bounds: dict[str, Bound], pc: ProblemCollector, file: str = "scenario.yaml") -> None:
    for key in CONFIG_BOUNDS:
        v = getattr(config, key, None)
        if v is None:
            continue
        if _outside(np.asarray([float(v)]), bounds[key])[0]:
            b = bounds[key]
            pc.add(file, f"implausible value: must be {b.describe()} ({b.why}; override with bounds.{key})",
                   column=key, value=f"{float(v):g}")


def check_demand_vs_capacity(demand: pd.DataFrame | None, generators: pd.DataFrame | None, demand_file: str,
                             generators_file: str, bounds: dict[str, Bound], pc: ProblemCollector) -> None:
    """A region whose peak hour exceeds ``peak_demand_to_capacity`` x all generating capacity."""
    bound = bounds["peak_demand_to_capacity"]
    if demand is None or generators is None or generators.empty or bound.max is None or demand.empty:
        return
    total_mw = float(pd.to_numeric(generators["capacity_mw"], errors="coerce").sum())
    if not math.isfinite(total_mw) or total_mw <= 0:
        return
    for column in demand.columns:
        v = demand[column].to_numpy(dtype=float)
        if not np.isfinite(v).all():
            continue
        i = int(np.argmax(v))
        ratio = v[i] / total_mw
        if ratio > bound.max:
            pc.add(demand_file, f"peak demand {v[i]:,.0f} MW is {ratio:,.0f} times the {total_mw:,.0f} MW of all "
                   f"generators in {generators_file} (rule: at most {bound.max:g} times); is this column in kW "
                   f"instead of MW? (override with bounds.peak_demand_to_capacity in scenario.yaml)",
                   i + 2, str(column), f"{v[i]:g}")


__all__ = [
    "CONFIG_BOUNDS",
    "DEFAULT_BOUNDS",
    "Bound",
    "check_config",
    "check_demand_vs_capacity",
    "check_series",
    "check_table",
    "parse_overrides",
]
