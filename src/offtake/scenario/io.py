"""Read and write scenario folders, with every problem reported at once.

``load_scenario(source)`` accepts a built-in scenario name (``"pakistan-2025"``) or a
folder path.  Problems are gathered across all files and raised together as one
:class:`~offtake.errors.ScenarioError`, each naming file, line, column and rule.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from offtake.errors import InputError, NotFoundError, ProblemCollector
from offtake.scenario.bounds import (
    check_config,
    check_demand_vs_capacity,
    check_series,
    check_table,
    parse_overrides,
)
from offtake.scenario.schema import (
    FUELS,
    AvailabilityRow,
    EnergyBudgetRow,
    FlexLoadRow,
    GeneratorRow,
    LineRow,
    RegionRow,
    Scenario,
    ScenarioConfig,
    empty_energy_budgets,
)
from offtake.scenario.yamlsafe import load_yaml

DEFAULT_SCENARIO = "pakistan-2025"
_MAX_PER_RULE = 10  # list at most this many offenders of one rule in one file


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with Offtake."""
    root = resources.files("offtake.scenario") / "builtin"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "scenario.yaml").is_file())


def builtin_path(name: str) -> Path:
    if name not in builtin_names():
        raise NotFoundError(
            f"unknown built-in scenario {name!r}; built-in scenarios: {', '.join(builtin_names())}"
        )
    return Path(str(resources.files("offtake.scenario") / "builtin" / name))


def resolve(source: str | os.PathLike[str] | None) -> Path:
    """Turn a built-in name or a folder path into a folder path."""
    if source is None:
        return builtin_path(DEFAULT_SCENARIO)
    text = str(source)
    path = Path(text)
    if path.is_dir():
        return path
    if path.is_file() and path.name.endswith((".yaml", ".yml")):
        return path.parent
    if text in builtin_names():
        return builtin_path(text)
    raise NotFoundError(
        f"scenario {text!r} is neither a folder with scenario.yaml nor a built-in scenario "
        f"({', '.join(builtin_names())})"
    )


def load_scenario(source: str | os.PathLike[str] | None = None) -> Scenario:
    """Load and validate a scenario folder or built-in scenario.

    Raises :class:`~offtake.errors.ScenarioError` listing every problem found.
    """
    folder = resolve(source)
    pc = ProblemCollector()
    cfg_file = folder / "scenario.yaml"
    if not cfg_file.is_file():
        raise InputError(f"{folder}: no scenario.yaml in this folder")
    raw = load_yaml(cfg_file, label="scenario.yaml")  # bounded: depth, aliases, duplicate keys, size
    if not isinstance(raw, dict):
        raise InputError("scenario.yaml: expected a mapping of settings at the top level")
    bounds = parse_overrides(raw.pop("bounds", None), pc)  # plausibility bounds (scenario/bounds.py)
    config = _validate_model(ScenarioConfig, raw, "scenario.yaml", None, pc)
    if config is None:
        pc.raise_if_any(f"scenario in {folder} is not valid")
        raise AssertionError("unreachable")  # pragma: no cover
    files = config.files
    tz = config.timezone

    raw: dict[str, pd.DataFrame] = {}
    regions = _read_table(folder, files.regions, RegionRow, pc, raw=raw)
    gens = _read_table(folder, files.generators, GeneratorRow, pc, raw=raw, retired=_RETIRED_GENERATOR_COLUMNS)
    lines = _read_table(folder, files.lines, LineRow, pc, raw=raw)
    if (folder / files.hydro_budgets).is_file():
        pc.add(files.hydro_budgets, f"this file is no longer read: move its rows to {files.energy_budgets} "
               f"(columns budget,month,max_mwh: budget = the generator's name, max_mwh = energy_mwh) and set that "
               f"name in the generator's 'budget' column of {files.generators} (docs/scenario-format.md)")
    budgets = _read_table(folder, files.energy_budgets, EnergyBudgetRow, pc, optional=True, raw=raw)
    avail = _read_table(folder, files.availability, AvailabilityRow, pc, optional=True, raw=raw)
    flex = _read_table(folder, files.flex_loads, FlexLoadRow, pc, optional=True)
    demand = _read_series(folder, files.demand, tz, pc, kind="demand")
    profiles = _read_series(folder, files.profiles, tz, pc, kind="profile", optional=True)
    check_config(config, bounds, pc)
    for table, table_file in ((gens, files.generators), (lines, files.lines), (budgets, files.energy_budgets),
                              (flex, files.flex_loads)):
        check_table(table, table_file, bounds, pc)
    check_series(demand, files.demand, "demand_mw", bounds, pc)
    check_demand_vs_capacity(demand, gens, files.demand, files.generators, bounds, pc)

    region_set = set(regions.index) if regions is not None else set()
    # references are checked on the raw rows, so a row with several problems reports them all
    if regions is not None and files.generators in raw:
        _check_refs(raw[files.generators], "region", region_set, files.generators, "region", pc)
    if regions is not None and files.lines in raw:
        _check_refs(raw[files.lines], "from_region", region_set, files.lines, "region", pc)
        _check_refs(raw[files.lines], "to_region", region_set, files.lines, "region", pc)
        for i, (name, row) in enumerate(lines.iterrows() if lines is not None else ()):
            if row.from_region == row.to_region:
                pc.add(files.lines, "a line must join two different regions", int(row["_line"]), "to_region", row.to_region)
    if flex is not None and regions is not None:
        for name, row in flex.iterrows():
            unknown = [r for r in str(row["regions"]).split() if r not in region_set]
            if unknown:
                pc.add(files.flex_loads, f"unknown region(s) {unknown}; known: {sorted(region_set)}", int(row["_line"]), "regions")
    if demand is not None and regions is not None:
        missing = [r for r in regions.index if r not in demand.columns]
        extra = [c for c in demand.columns if c not in region_set]
        if missing:
            pc.add(files.demand, f"no demand column for region(s) {missing}", 1)
        if extra:
            pc.add(files.demand, f"column(s) {extra} name no region in {files.regions}", 1)
    profiles_unreadable = profiles is None and (folder / files.profiles).is_file()
    if gens is not None and not profiles_unreadable:
        prof_cols = set(profiles.columns) if profiles is not None else set()
        for name, row in gens.iterrows():
            if row["profile"] and row["profile"] not in prof_cols:
                pc.add(files.generators, f"profile {row['profile']!r} is not a column of {files.profiles}", int(row["_line"]), "profile", row["profile"])
    if demand is not None and profiles is not None and not demand.index.equals(profiles.index):
        pc.add(files.profiles, f"timestamps differ from those of {files.demand} (both must cover the same hours)")
    if demand is not None:
        years = sorted(set(demand.index.year))
        if years != sorted(set(config.years)):
            pc.add("scenario.yaml", f"'years' says {sorted(config.years)} but {files.demand} covers {years}", column="years")
    if gens is not None and gens.empty and files.generators in raw:
        pc.add(files.generators, "no generators: at least one row is required", 1)
    # names as written, so a generator row with another problem still counts (no cascade of errors)
    raw_gens = raw.get(files.generators)
    gen_names = set(raw_gens["name"].astype(str).str.strip()) if raw_gens is not None else set()
    budget_names = (set(raw_gens["budget"].astype(str).str.strip()) - {""}
                    if raw_gens is not None and "budget" in raw_gens else set())
    budget_table = empty_energy_budgets()
    if budgets is not None and raw_gens is not None and len(raw_gens):  # no generators: reported once above
        budget_table = _check_budgets(budgets, gens, raw_gens, files.energy_budgets, files.generators, pc)
    elif budget_names and raw_gens is not None and not (folder / files.energy_budgets).is_file():
        for _, row in raw_gens[raw_gens["budget"].astype(str).str.strip() != ""].head(_MAX_PER_RULE).iterrows():
            pc.add(files.generators, f"budget {row['budget']!r} has no rows in {files.energy_budgets} (file not found)",
                   int(row["_line"]), "budget", row["budget"])
    avail_wide = pd.DataFrame(columns=range(1, 13), dtype=float)
    if avail is not None:
        stray = avail[~avail["generator"].isin(gen_names)] if raw_gens is not None else avail.iloc[:0]
        for gen, rows in stray.groupby("generator", sort=False):
            pc.add(files.availability, f"generator {gen!r} is not in {files.generators} (lines "
                   f"{_lines_text(rows)})", int(rows["_line"].iloc[0]), "generator", gen)
        dup = avail.duplicated(["generator", "month"], keep="first")
        for _, row in avail[dup].head(_MAX_PER_RULE).iterrows():
            pc.add(files.availability, "duplicate (generator, month)", int(row["_line"]), "month", row["month"])
        avail_wide = avail[~dup].pivot_table(index="generator", columns="month", values="available_pu", aggfunc="first")
        avail_wide = avail_wide.reindex(columns=range(1, 13))
        avail_wide.index.name = "generator"
    if not region_set and regions is not None:
        pc.add(files.regions, "at least one region is required")
    pc.raise_if_any(f"scenario '{config.name}' in {folder} is not valid")
    assert regions is not None and gens is not None and lines is not None and demand is not None

    def drop(df: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
        if df is None:
            return pd.DataFrame(columns=columns)
        return df.drop(columns=["_line"])

    flex_cols = list(FlexLoadRow.model_fields)
    flex_df = drop(flex, flex_cols)
    if flex is None:
        flex_df = flex_df.set_index("name")
    demand = demand[list(regions.index)]
    profiles = profiles if profiles is not None else pd.DataFrame(index=demand.index)
    return Scenario(
        config=config,
        regions=drop(regions, []),
        generators=drop(gens, []),
        lines=drop(lines, []),
        demand_mw=demand,
        profiles_pu=profiles,
        flex_loads=flex_df,
        source=str(folder),
        energy_budgets=budget_table,
        availability_pu=avail_wide.reindex(list(gens.index)).dropna(how="all").fillna(1.0).astype(float),
    )


_RETIRED_GENERATOR_COLUMNS = {
    "hydro_budget": "column 'hydro_budget' is no longer read: give the generator a 'budget' name and list that "
                    "budget's monthly energy (max_mwh) in energy_budgets.csv (docs/scenario-format.md)",
}


def _lines_text(rows: pd.DataFrame) -> str:
    head = ", ".join(str(v) for v in rows["_line"].head(_MAX_PER_RULE))
    return head + (" ..." if len(rows) > _MAX_PER_RULE else "")


def _check_budgets(budgets: pd.DataFrame, gens: pd.DataFrame | None, raw_gens: pd.DataFrame, file: str,
                   gen_file: str, pc: ProblemCollector) -> pd.DataFrame:
    """Cross-check energy_budgets.csv against the generators' ``budget`` column; return the (budget, month) table."""
    named = raw_gens["budget"].astype(str).str.strip() if "budget" in raw_gens else pd.Series("", index=raw_gens.index)
    budget_names = set(named) - {""}
    no_rows = raw_gens[(named != "") & ~named.isin(set(budgets["budget"]))]
    for _, row in no_rows.head(_MAX_PER_RULE).iterrows():
        pc.add(gen_file, f"budget {row['budget']!r} has no rows in {file}", int(row["_line"]), "budget", row["budget"])
    stray = budgets[~budgets["budget"].isin(budget_names)]
    for name, rows in stray.groupby("budget", sort=False):
        pc.add(file, f"budget {name!r} is named by no generator's 'budget' column in {gen_file} (lines "
               f"{_lines_text(rows)})", int(rows["_line"].iloc[0]), "budget", name)
    dup = budgets.duplicated(["budget", "month"], keep="first")
    for _, row in budgets[dup].head(_MAX_PER_RULE).iterrows():
        pc.add(file, "duplicate (budget, month)", int(row["_line"]), "month", row["month"])
    b = budgets[~dup]
    bad = b["max_mwh"].notna() & (b["min_mwh"] > b["max_mwh"])
    for _, row in b[bad].head(_MAX_PER_RULE).iterrows():
        pc.add(file, f"min_mwh {row['min_mwh']:g} is above max_mwh {row['max_mwh']:g}", int(row["_line"]), "min_mwh",
               row["min_mwh"])
    bad = b["max_mwh"].notna() & (b["take_or_pay_mwh"] > b["max_mwh"])
    for _, row in b[bad].head(_MAX_PER_RULE).iterrows():
        pc.add(file, f"take_or_pay_mwh {row['take_or_pay_mwh']:g} is above max_mwh {row['max_mwh']:g} (the contract "
               "could never be taken)", int(row["_line"]), "take_or_pay_mwh", row["take_or_pay_mwh"])
    bad = (b["take_or_pay_usd_per_mwh"] > 0) & (b["take_or_pay_mwh"] <= 0)
    for _, row in b[bad].head(_MAX_PER_RULE).iterrows():
        pc.add(file, "take_or_pay_usd_per_mwh is set but take_or_pay_mwh is 0", int(row["_line"]),
               "take_or_pay_usd_per_mwh", row["take_or_pay_usd_per_mwh"])
    if gens is not None and len(gens):
        cheapest = gens[gens["budget"] != ""].groupby("budget")["marginal_cost_usd_per_mwh"].min()
        price = b.set_index("budget")["take_or_pay_usd_per_mwh"]
        over = price[(price > 0) & (price > cheapest.reindex(price.index).fillna(np.inf) + 1e-9)]
        for name in dict.fromkeys(over.index):
            row = b[(b["budget"] == name) & (b["take_or_pay_usd_per_mwh"] > cheapest[name] + 1e-9)].iloc[0]
            pc.add(file, f"take_or_pay_usd_per_mwh {row['take_or_pay_usd_per_mwh']:g} is above the marginal cost of "
                   f"budget {name!r}'s cheapest member ({cheapest[name]:g} USD/MWh in {gen_file}); the contract "
                   "price is the part of the marginal cost paid anyway", int(row["_line"]), "take_or_pay_usd_per_mwh",
                   row["take_or_pay_usd_per_mwh"])
    out = b.drop(columns=["_line"]).set_index(["budget", "month"]).sort_index()
    return out[["max_mwh", "min_mwh", "take_or_pay_mwh", "take_or_pay_usd_per_mwh"]].astype(float)


def _validate_model(model: type[BaseModel], data: dict[str, Any], file: str, line: int | None, pc: ProblemCollector) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            rule = err["msg"]
            if err["type"] == "extra_forbidden":
                rule = "unknown column" if line is not None else "unknown setting"
            value = err.get("input")
            pc.add(file, rule, line, loc or None, None if isinstance(value, dict) else value)
        return None


def _read_csv(path: Path, file: str, pc: ProblemCollector, **kw: Any) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path, skipinitialspace=True, **kw)
    except pd.errors.EmptyDataError:
        pc.add(file, "file is empty (a header row is required)")
    except OSError as exc:  # unreadable (permissions, I/O error, a folder of that name)
        pc.add(file, f"cannot read the file: {exc.strerror or type(exc).__name__}")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        pc.add(file, f"not a readable CSV file: {str(exc).strip()}")
    return None


def _read_table(folder: Path, file: str, model: type[BaseModel], pc: ProblemCollector, optional: bool = False,
                raw: dict[str, pd.DataFrame] | None = None,
                retired: dict[str, str] | None = None) -> pd.DataFrame | None:
    path = folder / file
    if path.is_dir():
        pc.add(file, "is a folder; a CSV file is required here")
        return None
    if not path.is_file():
        if not optional:
            pc.add(file, "file not found")
        return None
    df = _read_csv(path, file, pc, dtype=str, keep_default_na=False)
    if df is None:
        return None
    df.columns = [str(c).strip() for c in df.columns]
    for col, why in (retired or {}).items():  # an old-format column: one clear problem, then read the rest
        if col in df.columns:
            pc.add(file, why, 1, col)
            df = df.drop(columns=[col])
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    missing = [c for c in required if c not in df.columns]
    if missing:
        hint = f" ('fuel' is one of: {', '.join(FUELS)})" if "fuel" in missing else ""
        pc.add(file, f"missing required column(s) {missing}{hint}", 1)
        return None
    if raw is not None:
        raw[file] = df.assign(_line=np.arange(2, len(df) + 2))
    rows = []
    bad = False
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2
        data = {k: v for k, v in rec.items() if not (isinstance(v, str) and v.strip() == "" and k in model.model_fields and not model.model_fields[k].is_required())}
        for k, v in data.items():
            if isinstance(v, str) and v.strip().lower() in {"nan", "inf", "-inf", "infinity"}:
                data[k] = v.strip().lower()  # pydantic rejects these for numbers with a clear message
        row = _validate_model(model, data, file, line, pc)
        if row is None:
            bad = True
            continue
        rows.append({**row.model_dump(), "_line": line})
    key = "name" if "name" in model.model_fields else None
    out = pd.DataFrame(rows, columns=[*model.model_fields, "_line"])
    if key:
        dup = out[key].duplicated(keep="first")
        for _, row in out[dup].iterrows():
            pc.add(file, f"duplicate name (first defined earlier in {file})", int(row["_line"]), key, row[key])
        out = out[~dup].set_index(key)
    if bad:
        return out if len(out) else None
    return out


def _check_refs(df: pd.DataFrame, column: str, known: set[str], file: str, what: str, pc: ProblemCollector) -> None:
    bad = df[~df[column].isin(known)]
    for _, row in bad.head(_MAX_PER_RULE).iterrows():
        pc.add(file, f"unknown {what}; known: {sorted(known)}", int(row["_line"]), column, row[column])
    if len(bad) > _MAX_PER_RULE:
        pc.add(file, f"... and {len(bad) - _MAX_PER_RULE} more rows with an unknown {what}", column=column)


def _read_series(folder: Path, file: str, tz: str, pc: ProblemCollector, kind: str, optional: bool = False) -> pd.DataFrame | None:
    """Read a wide hourly table: a ``timestamp`` column plus one numeric column per series."""
    path = folder / file
    if path.is_dir():
        pc.add(file, "is a folder; a CSV file is required here")
        return None
    if not path.is_file():
        if not optional:
            pc.add(file, "file not found")
        return None
    df = _read_csv(path, file, pc)
    if df is None:
        return None
    df.columns = [str(c).strip() for c in df.columns]
    if "timestamp" not in df.columns:
        pc.add(file, "missing required column 'timestamp'", 1)
        return None
    if df.columns.duplicated().any():
        pc.add(file, f"duplicate column names {sorted(set(df.columns[df.columns.duplicated()]))}", 1)
        return None
    index = parse_timestamps(df["timestamp"], tz, file, pc)
    values = df.drop(columns=["timestamp"])
    ok = True
    # fast path (wide tables: one column per generator): all numeric, finite and in range -> nothing to report
    numeric = all(pd.api.types.is_numeric_dtype(t) for t in values.dtypes)
    arr = values.to_numpy(dtype=float) if numeric else None
    clean = arr is not None and bool(np.isfinite(arr).all() and (arr >= 0).all() and (kind != "profile" or (arr <= 1).all()))
    for col in ([] if clean else values.columns):
        num = pd.to_numeric(values[col], errors="coerce")
        not_num = num.isna() & values[col].notna() & ~values[col].astype(str).str.strip().str.lower().isin(["nan", ""])
        nan = num.isna() & ~not_num
        _report_mask(not_num, file, col, "value is not a number", pc, values[col])
        _report_mask(nan, file, col, "value is missing (NaN)", pc, values[col])
        finite = num.where(np.isfinite(num))
        inf = num.notna() & finite.isna()
        _report_mask(inf, file, col, "value is infinite", pc, values[col])
        _report_mask(finite < 0, file, col, f"negative {'demand' if kind == 'demand' else 'availability'} [must be >= 0]", pc, values[col])
        if kind == "profile":
            _report_mask(finite > 1, file, col, "availability above 1 per unit [profiles are 0..1]", pc, values[col])
        ok &= not (not_num.any() or nan.any() or inf.any() or (finite < 0).any() or (kind == "profile" and (finite > 1).any()))
        values[col] = num
    if index is None or not ok:
        return None
    out = values.astype(float)
    out.index = index
    out.index.name = "snapshot"
    return out


def _report_mask(mask: pd.Series, file: str, column: str, rule: str, pc: ProblemCollector, raw: pd.Series) -> None:
    idx = np.flatnonzero(mask.to_numpy())
    for i in idx[:_MAX_PER_RULE]:
        pc.add(file, rule, int(i) + 2, column, raw.iloc[i])
    if len(idx) > _MAX_PER_RULE:
        pc.add(file, f"... and {len(idx) - _MAX_PER_RULE} more rows: {rule}", column=column)


def parse_timestamps(raw: pd.Series, tz: str, file: str, pc: ProblemCollector) -> pd.DatetimeIndex | None:
    """Parse ISO 8601 timestamps into a tz-aware hourly index; report gaps, duplicates, DST trouble.

    Timestamps with an offset are taken as given; naive ones are read in the scenario's
    time zone (ambiguous or non-existent local hours around DST changes are errors).
    """
    text = raw.astype(str).str.strip()
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    bad = parsed.isna()
    for i in np.flatnonzero(bad.to_numpy())[:_MAX_PER_RULE]:
        pc.add(file, "not an ISO 8601 timestamp", int(i) + 2, "timestamp", raw.iloc[i])
    if bad.any():
        return None
    has_offset = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
    if not has_offset.all():
        if has_offset.any():
            pc.add(file, "mixes timestamps with and without a UTC offset", column="timestamp")
            return None
        naive = pd.to_datetime(text, format="ISO8601")
        try:
            local = pd.DatetimeIndex(naive).tz_localize(tz, ambiguous="raise", nonexistent="raise")
        except Exception as exc:  # pytz/zoneinfo raise several types for DST problems
            pc.add(file, f"local time is ambiguous or does not exist in {tz} (daylight saving change): {exc}; give timestamps with a UTC offset", column="timestamp")
            return None
        utc = local.tz_convert("UTC")
    else:
        utc = pd.DatetimeIndex(parsed)
    dup = utc.duplicated()
    for i in np.flatnonzero(dup)[:_MAX_PER_RULE]:
        pc.add(file, "duplicate timestamp", int(i) + 2, "timestamp", raw.iloc[i])
    if dup.any():
        return None
    if len(utc) < 2:
        pc.add(file, "at least two hourly rows are required", column="timestamp")
        return None
    step = np.diff(((utc - utc[0]) / pd.Timedelta(hours=1)).to_numpy())  # hours between rows
    bad_steps = np.flatnonzero(step != 1.0)
    for i in bad_steps[:_MAX_PER_RULE]:
        what = "timestamps out of order" if step[i] <= 0 else f"gap of {step[i]:g} h after the previous row (hourly rows required)"
        pc.add(file, what, int(i) + 3, "timestamp", raw.iloc[i + 1])
    if len(bad_steps) > _MAX_PER_RULE:
        pc.add(file, f"... and {len(bad_steps) - _MAX_PER_RULE} more rows that are not one hour after the previous", column="timestamp")
    if len(bad_steps):
        return None
    return utc.tz_convert(tz)


def export_scenario(name: str, dest: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Copy a built-in scenario to ``dest`` so it can be edited.  Atomic: all or nothing."""
    src = builtin_path(name)
    out = Path(dest)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out} exists and is not empty; choose a new folder or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for f in src.iterdir():
            if f.is_file() and not f.name.startswith("."):
                shutil.copy2(f, tmp / f.name)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
