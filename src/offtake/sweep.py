"""Sweeps: a grid of scenario variants, each planned and valued, run on Dask distributed.

A grid (YAML, :func:`load_grid`) names axes and their values; the Cartesian product
of the axes is the list of variants (:mod:`offtake.variants` applies one to the base
scenario).  Each variant runs :func:`run_variant` on a Dask worker: derive the
variant, call ``evaluate`` (by default :func:`plan_and_value`: the planning engine,
then :func:`offtake.economics.value.value_plan` at the variant's tariff and BTC
price), and return one table row.  A variant that raises is a row with
``status = failed`` and its error message, never dropped.  Variants that differ only
in axes the engine does not read (:data:`PLAN_NEUTRAL_AXES`: the tariff) form one
task (:func:`run_group`) and share one plan, valued at each tariff.

Grid file::

    axes:                        # each a list; a scalar is a one-value axis
      tariff_pkr_per_kwh: [20, 23, 26]
      btc_price_usd: [80000, 120000]
      hydrology: [dry, normal, wet]
      rooftop_solar_growth_mw: [0, 5000]
      programme_cap_mw: [1000, 2000]
      demand_growth_share: [0.0, 0.05]
    plan:                        # optional PlanOptions
      resolution: 3h             # or: days: 24 (representative days); not both
      min_site: true
      baseline: true
      check: true
    bitcoin:                     # optional: what turns a BTC price into value per MWh
      efficiency_j_per_th: 17.5
      difficulty: 155.0e12
      pool_fee_share: 0.0
"""

from __future__ import annotations

import contextvars
import itertools
import json
import math
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from offtake.errors import InputError, OfftakeError
from offtake.scenario.schema import Scenario
from offtake.variants import AXES, BitcoinFleet, apply_variant, check_variant

#: Largest grid run at once (a guard against a typo multiplying axes).
MAX_VARIANTS = 10_000
_RESOLUTIONS_H = (1, 2, 3, 4, 6, 8, 12, 24)
_PLAN_KEYS = ("resolution", "days", "min_site", "baseline", "check")
_BITCOIN_KEYS = ("efficiency_j_per_th", "difficulty", "pool_fee_share", "fees_btc_per_block")

Row = dict[str, Any]

#: Axes the planning engine does not read: variants that differ only in these share
#: one plan (solved once per group, then valued at each value).
PLAN_NEUTRAL_AXES: tuple[str, ...] = ("tariff_pkr_per_kwh",)
#: Plan figures solved earlier in the current group (set by :func:`run_group`).
_GROUP_PLAN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "offtake_sweep_group_plan", default=None)


@dataclass(frozen=True)
class SweepGrid:
    """Validated grid: ``axes`` in file order, plan options, the BTC fleet."""

    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    plan: Mapping[str, Any] = field(default_factory=dict)
    fleet: BitcoinFleet = field(default_factory=BitcoinFleet)
    source: str = "grid"

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.axes)

    @property
    def n_variants(self) -> int:
        return math.prod(len(values) for _, values in self.axes)

    def variants(self) -> list[dict[str, Any]]:
        """Every combination, the last axis varying fastest."""
        names = self.axis_names
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(values for _, values in self.axes))]

    def plan_options(self) -> Any:
        """The grid's plan options as ``offtake.plan.inputs.PlanOptions``."""
        from offtake.plan.inputs import PlanOptions

        return PlanOptions(**self.plan)


def _parse_resolution(value: Any, source: str) -> int:
    text = str(value).strip().lower()
    text = text.removesuffix("h")
    try:
        hours = int(text)
    except ValueError:
        hours = -1
    if isinstance(value, bool) or hours not in _RESOLUTIONS_H:
        raise InputError(f"{source}: plan.resolution must be one of "
                         f"{', '.join(f'{h}h' for h in _RESOLUTIONS_H)} (got {value!r})")
    return hours


def parse_plan_options(raw: Any, source: str) -> dict[str, Any]:
    """Plan options of a grid (resolution/days/min_site/baseline/check) as PlanOptions keywords."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InputError(f"{source}: 'plan' must be a mapping of options (got {type(raw).__name__})")
    unknown = sorted(set(map(str, raw)) - set(_PLAN_KEYS))
    if unknown:
        raise InputError(f"{source}: unknown plan option(s) {', '.join(unknown)} "
                         f"(known: {', '.join(_PLAN_KEYS)})")
    out: dict[str, Any] = {}
    if "resolution" in raw and "days" in raw and raw["days"] is not None:
        raise InputError(f"{source}: give plan.resolution or plan.days, not both")
    if "resolution" in raw:
        out["resolution_h"] = _parse_resolution(raw["resolution"], source)
    if raw.get("days") is not None:
        days = raw["days"]
        if isinstance(days, bool) or not isinstance(days, int) or days < 12 or days % 12:
            raise InputError(f"{source}: plan.days must be a whole multiple of 12 (got {days!r})")
        out["days"] = days
    for key in ("min_site", "baseline", "check"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise InputError(f"{source}: plan.{key} must be true or false (got {raw[key]!r})")
            out[key] = raw[key]
    return out


def _parse_fleet(raw: Any, source: str) -> BitcoinFleet:
    if raw is None:
        return BitcoinFleet()
    if not isinstance(raw, Mapping):
        raise InputError(f"{source}: 'bitcoin' must be a mapping (got {type(raw).__name__})")
    unknown = sorted(set(map(str, raw)) - set(_BITCOIN_KEYS))
    if unknown:
        raise InputError(f"{source}: unknown bitcoin option(s) {', '.join(unknown)} "
                         f"(known: {', '.join(_BITCOIN_KEYS)})")
    try:
        return BitcoinFleet(**{str(k): v for k, v in raw.items()})
    except InputError as exc:
        raise InputError(f"{source}: bitcoin: {exc.message}") from None


def parse_grid(data: Any, source: str = "grid") -> SweepGrid:
    """Validate a parsed grid mapping; one InputError names every problem it finds."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: a grid must be a mapping with an 'axes' key "
                         f"(got {type(data).__name__})")
    unknown = sorted(set(map(str, data)) - {"axes", "plan", "bitcoin"})
    if unknown:
        raise InputError(f"{source}: unknown key(s) {', '.join(unknown)} (known: axes, plan, bitcoin)")
    raw_axes = data.get("axes")
    if not isinstance(raw_axes, Mapping) or not raw_axes:
        raise InputError(f"{source}: empty grid: 'axes' must map at least one axis "
                         f"({', '.join(AXES)}) to a list of values")
    problems: list[str] = []
    axes: list[tuple[str, tuple[Any, ...]]] = []
    for name, values in raw_axes.items():
        vals = tuple(values) if isinstance(values, (list, tuple)) else (values,)
        if name not in AXES:
            problems.append(f"unknown axis {name!r} (known: {', '.join(AXES)})")
            continue
        if not vals:
            problems.append(f"axis {name!r} has no values (empty grid)")
            continue
        if len(set(map(repr, vals))) != len(vals):
            problems.append(f"axis {name!r} repeats a value: {list(vals)}")
        for v in vals:
            try:
                check_variant({name: v})
            except InputError as exc:
                problems.extend(line.strip(" -") for line in exc.message.splitlines()[1:])
        axes.append((str(name), vals))
    if problems:
        raise InputError(f"{source}: bad grid:\n" + "\n".join(f"  - {p}" for p in problems))
    grid = SweepGrid(axes=tuple(axes), plan=parse_plan_options(data.get("plan"), source),
                     fleet=_parse_fleet(data.get("bitcoin"), source), source=source)
    if grid.n_variants > MAX_VARIANTS:
        raise InputError(f"{source}: the grid has {grid.n_variants:,} variants, more than "
                         f"{MAX_VARIANTS:,}; use fewer values per axis")
    return grid


def load_grid(path: str | Path) -> SweepGrid:
    """Read and validate a grid YAML file (InputError for a missing or malformed file)."""
    from offtake.scenario.yamlsafe import load_yaml

    p = Path(path)
    if not p.is_file():
        raise InputError(f"cannot read grid file {p}: {'a folder, not a file' if p.is_dir() else 'no such file'}")
    data = load_yaml(p, label=str(p))  # bounded: size, depth, no aliases, duplicate keys refused
    return parse_grid(data, str(p))


def check_grid_on(base: Scenario, grid: SweepGrid) -> None:
    """Apply each axis value alone to the base scenario, so a value the scenario cannot
    take (a BTC price without a mining type) fails before anything runs."""
    for name, values in grid.axes:
        for v in values:
            try:
                apply_variant(base, {name: v}, grid.fleet)
            except InputError as exc:
                raise InputError(f"{grid.source}: axis {name!r} value {v!r}: {exc.message}") from None


Evaluate = Callable[[Scenario, Mapping[str, Any], SweepGrid], Row]


def plan_and_value(s: Scenario, variant: Mapping[str, Any], grid: SweepGrid) -> Row:
    """Plan a variant with the engine and value it: the default ``evaluate`` of a sweep."""
    from offtake.economics.value import ValueAssumptions, plan_figures, value_plan
    from offtake.plan import plan

    shared = _GROUP_PLAN.get()
    if shared is not None and "figures" in shared:
        figures = shared["figures"]
    else:
        figures = plan_figures(plan(s, grid.plan_options()))
        if shared is not None:
            shared["figures"] = figures
    val = value_plan(s, figures, assumptions=ValueAssumptions(btc_price_usd=variant.get("btc_price_usd")))
    return {"objective_usd": figures.objective_usd, **val.summary()}


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, OfftakeError):
        return f"{type(exc).__name__}: {exc.message}"
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_variant(base: Scenario, index: int, variant: Mapping[str, Any], grid: SweepGrid,
                evaluate: Evaluate = plan_and_value) -> Row:
    """One row: the variant's values, ``status`` ok/failed, ``error``, ``wall_s``, ``cpu_s`` and its figures.

    ``cpu_s`` is the CPU time of the process running the variant (all its threads), so
    ``cpu_s / wall_s`` below 1 means the variant waited for a CPU.
    """
    t0 = time.perf_counter()
    c0 = time.process_time()
    row: Row = {"variant": index, **variant}
    try:
        figures = evaluate(apply_variant(base, variant, grid.fleet), variant, grid)
        row.update(status="ok", error="")
        row.update(figures)
    except Exception as exc:  # noqa: BLE001 - a failed variant is a row, not a crash
        row.update(status="failed", error=_error_text(exc))
    row["wall_s"] = time.perf_counter() - t0
    row["cpu_s"] = time.process_time() - c0
    return row


def run_group(base: Scenario, items: list[tuple[int, dict[str, Any]]], grid: SweepGrid,
              evaluate: Evaluate = plan_and_value) -> list[Row]:
    """Rows of variants that differ only in :data:`PLAN_NEUTRAL_AXES`: the plan is solved
    once (by the first variant that succeeds in planning) and reused for the others."""
    token = _GROUP_PLAN.set({})
    try:
        return [run_variant(base, i, v, grid, evaluate) for i, v in items]
    finally:
        _GROUP_PLAN.reset(token)


def plan_groups(grid: SweepGrid) -> list[list[tuple[int, dict[str, Any]]]]:
    """Variants grouped by their plan-relevant values, in variant order."""
    groups: dict[tuple[tuple[str, str], ...], list[tuple[int, dict[str, Any]]]] = {}
    for i, v in enumerate(grid.variants()):
        key = tuple((k, repr(x)) for k, x in v.items() if k not in PLAN_NEUTRAL_AXES)
        groups.setdefault(key, []).append((i, v))
    return list(groups.values())


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _clean(value.item())
    return value


@dataclass(frozen=True)
class SweepResult:
    """Every variant's row (ordered by variant number) and how the sweep ran."""

    axes: tuple[str, ...]
    rows: tuple[Row, ...]
    wall_s: float
    workers: int
    scheduler: str = "serial"

    @property
    def n_failed(self) -> int:
        return sum(r["status"] == "failed" for r in self.rows)

    @property
    def n_ok(self) -> int:
        return len(self.rows) - self.n_failed

    @property
    def all_failed(self) -> bool:
        return bool(self.rows) and self.n_ok == 0

    def to_frame(self) -> pd.DataFrame:
        front = ["variant", *self.axes, "status", "error", "wall_s", "cpu_s"]
        frame = pd.DataFrame(list(self.rows))
        rest = [c for c in frame.columns if c not in front]
        return frame[front + rest].set_index("variant")

    def to_json(self) -> str:
        """Every row with every column (a figure a failed variant lacks is null)."""
        columns = ["variant", *self.to_frame().columns]
        return json.dumps({"axes": list(self.axes), "n_variants": len(self.rows), "n_ok": self.n_ok,
                           "n_failed": self.n_failed, "wall_s": self.wall_s, "workers": self.workers,
                           "scheduler": self.scheduler,
                           "rows": [{c: _clean(r.get(c)) for c in columns} for r in self.rows]},
                          indent=1)


def _serial(base: Scenario, grid: SweepGrid, evaluate: Evaluate,
            on_row: Callable[[Row], None] | None) -> list[Row]:
    rows = []
    for items in plan_groups(grid):
        for row in run_group(base, items, grid, evaluate):
            rows.append(row)
            if on_row:
                on_row(row)
    return rows


def _distributed(client: Any, base: Scenario, grid: SweepGrid, evaluate: Evaluate,
                 on_row: Callable[[Row], None] | None) -> list[Row]:
    from distributed import as_completed

    groups = plan_groups(grid)
    token = uuid.uuid4().hex[:8]
    [base_f] = client.scatter([base], broadcast=True, hash=False)
    futures = [client.submit(run_group, base_f, items, grid, evaluate, pure=False,
                             key=f"offtake-variants-{token}-{g}") for g, items in enumerate(groups)]
    index = {f.key: g for g, f in enumerate(futures)}
    rows = []
    try:
        for fut in as_completed(futures):
            items = groups[index[fut.key]]
            try:
                got = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its variants, not the sweep
                got = [{"variant": i, **v, "status": "failed", "error": _error_text(exc),
                        "wall_s": float("nan"), "cpu_s": float("nan")} for i, v in items]
            for row in got:
                rows.append(row)
                if on_row:
                    on_row(row)
    finally:
        client.cancel(futures)
        client.cancel([base_f])
    return rows


def run_sweep(base: Scenario, grid: SweepGrid, *, client: Any | None = None,
              evaluate: Evaluate = plan_and_value,
              on_row: Callable[[Row], None] | None = None) -> SweepResult:
    """Run every variant: in this process when ``client`` is None, else on the Dask client's
    cluster (the base scenario is sent to each worker once).  ``on_row`` is called as each
    row arrives (completion order); the result's rows are in variant order."""
    check_grid_on(base, grid)
    t0 = time.perf_counter()
    if client is None:
        rows, workers, scheduler = _serial(base, grid, evaluate, on_row), 1, "serial"
    else:
        rows = _distributed(client, base, grid, evaluate, on_row)
        info = client.scheduler_info()
        workers, scheduler = len(info.get("workers", {})), str(info.get("address", "?"))
    rows.sort(key=lambda r: r["variant"])
    return SweepResult(axes=grid.axis_names, rows=tuple(rows), wall_s=time.perf_counter() - t0,
                       workers=workers, scheduler=scheduler)


__all__ = ["MAX_VARIANTS", "PLAN_NEUTRAL_AXES", "Evaluate", "SweepGrid", "SweepResult", "check_grid_on",
           "load_grid", "parse_grid", "parse_plan_options", "plan_and_value", "plan_groups", "run_group",
           "run_sweep", "run_variant"]
