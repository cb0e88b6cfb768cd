"""Read a PyPSA network into an Offtake scenario folder (``offtake scenario import-pypsa``).

Mapping (docs/scenario-format.md, "PyPSA import", says the same for users):

- buses with an electric carrier (``AC``, ``DC``, ``electricity``, empty ...) become regions;
  ``y``/``x`` become ``lat``/``lon`` when every bus has degrees in range and not all are 0;
  buses of other carriers (hydrogen, heat ...) are dropped with everything attached to them;
- generators keep ``p_nom``, ``marginal_cost``, ``p_max_pu`` (a profile when it varies in
  time, a ``forced_outage_rate`` of ``1 - p_max_pu`` when constant) and ``p_min_pu`` (as
  ``min_output_pu``, the must-run share of available output; a generator whose must-run
  share changes in time is split into a must-run part and a flexible part, same cost);
  ``e_sum_max`` / ``e_sum_min`` become monthly energy budgets (energy_budgets.csv ``max_mwh`` /
  ``min_mwh``); the carrier becomes ``technology`` and,
  through the carrier map, ``fuel``;
- generators whose carrier is a load-shedding carrier are not plant: their marginal cost
  becomes the scenario's value of lost load;
- loads are summed per bus into demand.csv;
- lines and transformers become transport corridors of ``s_nom x s_max_pu`` both ways,
  links corridors of ``p_nom x p_max_pu`` forward and ``p_nom x -p_min_pu`` backward with
  ``loss_pu = 1 - efficiency``: Kirchhoff's voltage law is not modelled;
- storage units with an inflow and no pumping become hydro with monthly energy budgets
  (``efficiency_dispatch x`` the month's inflow); other storage, stores, global
  constraints, multi-bus links and conversion links are dropped and listed;
- extendable capacity is fixed: at ``p_nom_opt`` when the network is solved (it has an
  ``objective``), else at ``p_nom``.

Snapshots: an Offtake scenario is hourly, so a snapshot of weighting w hours becomes w
identical hourly rows (weightings must be whole hours); objectives then agree with
PyPSA's ``n.objective`` (weighted) for the parts that are imported.

:func:`convert` is pure (network in, tables and a report out); :func:`import_network`
reads, converts, writes the folder atomically and validates it before it appears.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from offtake.errors import InputError, Problem
from offtake.scenario.schema import FUELS

#: PyPSA / PyPSA-Eur / PyPSA-Earth carrier names -> Offtake fuel.  Keys are normalised
#: (lower case, ``_`` and ``-`` as spaces, single spaces); see :func:`normalise_carrier`.
DEFAULT_CARRIER_MAP: dict[str, str] = {
    **dict.fromkeys(["hydro", "ror", "run of river", "storage hydro", "reservoir", "hydro reservoir",
                     "hydroelectric", "hydropower", "dam"], "hydro"),
    **dict.fromkeys(["nuclear", "uranium"], "nuclear"),
    **dict.fromkeys(["rlng", "lng"], "rlng"),
    **dict.fromkeys(["gas", "natural gas", "ocgt", "ccgt", "gas turbine", "gas ccgt", "gas ocgt"], "gas"),
    **dict.fromkeys(["lignite", "brown coal", "local coal", "coal local"], "coal_local"),
    **dict.fromkeys(["coal", "hard coal", "imported coal", "coal imported"], "coal_imported"),
    **dict.fromkeys(["oil", "diesel", "fuel oil", "furnace oil", "rfo", "hsd"], "oil"),
    **dict.fromkeys(["wind", "onwind", "offwind", "offwind ac", "offwind dc", "offwind float", "wind onshore",
                     "wind offshore", "onshore wind", "offshore wind"], "wind"),
    **dict.fromkeys(["solar", "solar pv", "pv", "solar rooftop", "solar hsat", "solar utility"], "solar"),
    **dict.fromkeys(["bagasse", "biomass", "solid biomass"], "bagasse"),
}

#: carriers of generators that stand for unserved demand (load shedding), not plant
SHEDDING_CARRIERS = ("load shedding", "unserved", "lost load", "voll")

#: bus carriers that are electricity (normalised); buses of any other carrier are dropped
ELECTRIC_BUS_CARRIERS = ("", "ac", "dc", "electricity", "elec", "electric", "low voltage")

_NAME_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")
_MIN_VOLL_USD_PER_MWH = 10_000.0
_EPS = 1e-9


def normalise_carrier(carrier: str) -> str:
    """'Wind_Onshore ' -> 'wind onshore' (the key of the carrier map)."""
    return " ".join(str(carrier).replace("_", " ").replace("-", " ").lower().split())


def parse_carrier_map(text: str | None) -> dict[str, str]:
    """``'Waste=oil,Other=gas'`` -> {'waste': 'oil', 'other': 'gas'}; ``'*=oil'`` sets the fallback."""
    out: dict[str, str] = {}
    if not text:
        return out
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise InputError(f"--carrier-map: {part.strip()!r} is not CARRIER=FUEL (e.g. 'Waste=oil,Other=gas')")
        carrier, fuel = (s.strip() for s in part.rsplit("=", 1))
        if fuel not in FUELS:
            raise InputError(f"--carrier-map: fuel {fuel!r} for carrier {carrier!r} is not one of {', '.join(FUELS)}")
        if not carrier:
            raise InputError(f"--carrier-map: empty carrier name in {part.strip()!r}")
        out[carrier if carrier == "*" else normalise_carrier(carrier)] = fuel
    return out


@dataclass(frozen=True)
class ImportOptions:
    """How to read a network.

    - ``carrier_map``: normalised carrier -> fuel, on top of :data:`DEFAULT_CARRIER_MAP`;
      key ``"*"`` is the fuel of every carrier neither map knows (else such carriers are an error).
    - ``timezone``: IANA zone of naive snapshots and of the scenario (default: the network's
      ``meta['timezone']`` when Offtake wrote it, else UTC).
    - ``start``: first hour when snapshots are not timestamps (default: ``meta['snapshot_start']``).
    - ``voll_usd_per_mwh``: value of lost load (default: the load-shedding generators' cost,
      else max(10,000, 2 x the highest marginal cost)).
    - ``name``: scenario name (default: from the file name).
    """

    carrier_map: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    start: str | None = None
    voll_usd_per_mwh: float | None = None
    name: str | None = None
    shedding_carriers: tuple[str, ...] = SHEDDING_CARRIERS
    electric_bus_carriers: tuple[str, ...] = ELECTRIC_BUS_CARRIERS


@dataclass(frozen=True)
class ImportReport:
    """What was imported, what was approximated, what was dropped (and why)."""

    source: str
    counts: dict[str, int]
    not_supported: tuple[str, ...]
    approximated: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """True when nothing was dropped or approximated."""
        return not self.not_supported and not self.approximated

    def text(self) -> str:
        c = self.counts
        lines = [f"PyPSA import of {self.source}",
                 (f"imported: {c['regions']} regions, {c['generators']} generators, {c['lines']} corridors, "
                 f"{c['hours']} hourly rows (from {c['snapshots']} snapshots)")]
        lines += [f"note: {s}" for s in self.notes]
        lines += [f"approximated: {s}" for s in self.approximated]
        lines += [f"not supported: {s}" for s in self.not_supported]
        if self.complete:
            lines.append("nothing dropped or approximated")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ImportedScenario:
    """The files of a scenario folder (name -> text) and the import report."""

    files: dict[str, str]
    report: ImportReport


REPORT_FILE = "pypsa_import_report.txt"
NAMES_FILE = "pypsa_names.csv"


# --------------------------------------------------------------------------- reading

def read_network(path: str | os.PathLike[str]) -> Any:
    """Open a PyPSA netCDF file or CSV folder; :class:`InputError` (exit 2) when it is not one."""
    import pypsa

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder (give a PyPSA .nc file or a folder of PyPSA CSV files)")
    if p.is_dir() and not (p / "buses.csv").is_file():
        raise InputError(f"{p}: not a PyPSA CSV folder (no buses.csv in it)")
    if p.is_file() and p.suffix not in (".nc", ".h5", ".hdf5"):
        raise InputError(f"{p}: not a PyPSA network (expected a .nc file or a CSV folder)")
    with warnings.catch_warnings(), _quiet_pypsa():
        warnings.simplefilter("ignore")
        try:
            n = pypsa.Network(str(p))
        except Exception as exc:  # netCDF/HDF5/CSV readers raise many types for a bad file
            raise InputError(f"{p}: not a readable PyPSA network: {type(exc).__name__}: {exc}") from None
    if len(n.buses) == 0:
        raise InputError(f"{p}: the network has no buses")
    if len(n.snapshots) == 0:
        raise InputError(f"{p}: the network has no snapshots")
    return n


class _quiet_pypsa:
    def __enter__(self) -> None:
        self._log = logging.getLogger("pypsa")
        self._level = self._log.level
        self._log.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self._log.setLevel(self._level)


# --------------------------------------------------------------------------- helpers

class _Names:
    """PyPSA names -> valid, unique Offtake names (letters, digits, ``_.-``, at most 64 characters)."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.rows: list[tuple[str, str, str]] = []

    def make(self, component: str, name: str, prefix: str = "") -> str:
        base = _NAME_BAD.sub("_", f"{prefix}{name}").strip("_") or "x"
        base = base[:60]
        cand, k = base, 2
        while cand in self.used:
            cand = f"{base}_{k}"
            k += 1
        self.used.add(cand)
        self.rows.append((component, str(name), cand))
        return cand


def _fixed_capacity(df: pd.DataFrame, nom: str, solved: bool) -> tuple[np.ndarray, np.ndarray]:
    """Capacity [MW] of each row of a component table and whether it is extendable.

    Extendable rows of a solved network take their optimum (``<nom>_opt``, where finite); every other row
    keeps ``<nom>`` (Offtake does not expand capacity).
    """
    cap = df[nom].to_numpy(float).copy()
    ext = df[f"{nom}_extendable"].astype(bool).to_numpy() if f"{nom}_extendable" in df else np.zeros(len(df), bool)
    if solved and f"{nom}_opt" in df:
        opt = df[f"{nom}_opt"].to_numpy(float)
        use = ext & np.isfinite(opt)
        cap[use] = opt[use]
    return cap, ext


def _dense(n: Any, component: str, attr: str, names: pd.Index) -> pd.DataFrame:
    """Snapshots x names values of a possibly time-varying attribute."""
    if len(names) == 0:
        return pd.DataFrame(index=n.snapshots)
    return n.get_switchable_as_dense(component, attr, inds=names)


def _listing(names: Iterable[Any], limit: int = 8) -> str:
    items = [str(x) for x in names]
    head = ", ".join(items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _check_nan(df: pd.DataFrame, what: str, problems: list[Problem]) -> None:
    """Every NaN/inf of a snapshots x names frame becomes a problem (first few per column)."""
    arr = df.to_numpy(float)
    bad = ~np.isfinite(arr)
    for j in np.flatnonzero(bad.any(axis=0))[:10]:
        i = int(np.flatnonzero(bad[:, j])[0])
        problems.append(Problem(what, f"value is not a finite number at snapshot {df.index[i]}", None,
                                str(df.columns[j]), str(arr[i, j])))


def _timeline(n: Any, opts: ImportOptions, approx: list[str], notes: list[str]) -> tuple[pd.DatetimeIndex, np.ndarray, str]:
    """Hourly timestamps of the expanded rows, repeats per snapshot, time zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if isinstance(n.snapshots, pd.MultiIndex):
        raise InputError("not supported: multi-period (investment period) networks; Offtake plans one period")
    meta = dict(getattr(n, "meta", {}) or {})
    tz = opts.timezone or str(meta.get("timezone") or "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {tz!r} (use an IANA name such as 'Asia/Karachi')") from None
    w = n.snapshot_weightings
    wg = w["generators"].to_numpy(float)
    wo = w["objective"].to_numpy(float)
    if not np.allclose(wg, wo):
        raise InputError("not supported: snapshot weightings of the objective and of generators differ "
                         "(Offtake weighs both by the hours a snapshot stands for)")
    reps = np.rint(wg).astype(int)
    if (~np.isfinite(wg)).any() or (np.abs(wg - reps) > 1e-9).any() or (reps < 1).any():
        bad = wg[(np.abs(wg - np.rint(wg)) > 1e-9) | (np.rint(wg) < 1)]
        raise InputError(f"not supported: snapshot weightings must be whole hours >= 1 (got {bad[:3].tolist()}); "
                         "Offtake scenarios are hourly")
    snaps = n.snapshots
    if isinstance(snaps, pd.DatetimeIndex):
        first = snaps[0]
    else:
        start = opts.start or (meta.get("snapshot_start") or [None])[0]
        if not start:
            raise InputError("the network's snapshots are not timestamps; pass --start (e.g. 2025-01-01T00:00) "
                             "to say when the first hour begins")
        try:
            first = pd.Timestamp(start)
        except (ValueError, TypeError):
            raise InputError(f"--start: {start!r} is not an ISO 8601 time") from None
        notes.append(f"snapshots are not timestamps: hourly rows start at {first}")
    if first.tzinfo is None:
        first = first.tz_localize(tz)
    else:
        first = first.tz_convert(tz)
    total = int(reps.sum())
    hours = pd.date_range(first, periods=total, freq="h")
    if isinstance(snaps, pd.DatetimeIndex) and len(snaps) > 1:
        s = snaps if snaps.tz is not None else snaps.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        step_h = np.diff(((s - s[0]) / pd.Timedelta(hours=1)).to_numpy(float))
        if not np.allclose(step_h, reps[:-1], equal_nan=False):
            approx.append("snapshots are not spaced by their weightings: each snapshot becomes as many hourly "
                          f"rows as its weighting ({_listing(sorted(set(reps.tolist())))} h), laid end to end from "
                          f"{first}; timestamps after the first are shifted")
    if (reps > 1).any():
        notes.append(f"{len(snaps)} snapshots of {_listing(sorted(set(reps.tolist())))} h became {total} hourly rows "
                     "(each snapshot repeated by its weighting)")
    return hours, reps, tz


def _fuels(carriers: pd.Series, cmap: dict[str, str], counts: pd.Series, cap: pd.Series,
           declared: pd.Series | None = None) -> pd.Series:
    """Fuel of each row: ``declared`` (Offtake's export) first, then the carrier map; unknown -> error."""
    merged = {**DEFAULT_CARRIER_MAP, **{k: v for k, v in cmap.items() if k != "*"}}
    fallback = cmap.get("*")
    norm = carriers.map(normalise_carrier)
    fuel = norm.map(merged)
    if declared is not None:
        fuel = declared.where(declared.isin(FUELS)).fillna(fuel)
    unknown = sorted(set(carriers[fuel.isna()]))
    if unknown and fallback is None:
        parts = [f"{c!r} ({int(counts.get(c, 0))} generators, {float(cap.get(c, 0.0)):,.0f} MW)" for c in unknown]
        hint = ",".join(f"{c}=FUEL" for c in unknown[:4])
        raise InputError(
            "carriers with no Offtake fuel: " + "; ".join(parts)
            + f". Map them with --carrier-map '{hint}' (fuels: {', '.join(FUELS)}), or '*=FUEL' for all unmapped")
    return fuel.fillna(fallback or "")


def _budget(max_mwh: np.ndarray, min_mwh: np.ndarray, top_mwh: np.ndarray | None = None,
            top_usd_per_mwh: np.ndarray | None = None) -> dict[str, np.ndarray]:
    return {"max_mwh": max_mwh, "min_mwh": min_mwh,
            "take_or_pay_mwh": np.zeros(12) if top_mwh is None else top_mwh,
            "take_or_pay_usd_per_mwh": np.zeros(12) if top_usd_per_mwh is None else top_usd_per_mwh}


def _meta_budgets(specs: list[Any], parts_of: dict[str, list[str]], gen_rows: list[dict[str, Any]],
                  budgets: dict[str, dict[str, np.ndarray]], month_row: np.ndarray, approx: list[str],
                  notes: list[str]) -> None:
    """Energy budgets and take-or-pay contracts that Offtake's export keeps in n.meta['offtake_budgets']."""
    row_of = {r["name"]: r for r in gen_rows}
    present = np.bincount(month_row - 1, minlength=13)[:12] > 0
    names = _Names()
    names.used |= set(budgets)
    for spec in specs:
        try:
            members = [o for g in spec["generators"] for o in parts_of.get(str(g), [])]
            cols = {}
            for key, empty in (("max_mwh", np.nan), ("min_mwh", 0.0), ("take_or_pay_mwh", 0.0),
                               ("take_or_pay_usd_per_mwh", 0.0)):
                arr = np.full(12, empty)
                for mth, v in dict(spec.get(key, {})).items():
                    arr[int(mth) - 1] = float(v)
                cols[key] = np.where(present, arr, np.nan if key == "max_mwh" else 0.0)
            name = names.make("Budget", str(spec["name"]))
        except (KeyError, TypeError, ValueError):
            raise InputError("n.meta['offtake_budgets']: each budget needs a name, generators and monthly "
                             "max_mwh/min_mwh/take_or_pay_mwh/take_or_pay_usd_per_mwh") from None
        if not members:
            approx.append(f"energy budget {spec['name']} in n.meta names no imported generator: dropped")
            continue
        clash = [m for m in members if row_of[m]["budget"]]
        if clash:
            approx.append(f"generators {_listing(clash)} have an e_sum limit and belong to budget {spec['name']} "
                          "in n.meta: only the n.meta budget is kept")
        for m in members:
            row_of[m]["budget"] = name
        budgets[name] = cols
    notes.append(f"{len(specs)} energy budgets (monthly limits, take-or-pay) read from n.meta['offtake_budgets'] "
                 "(Offtake's export)")


def _meta_json(meta: dict[str, Any], key: str, default: Any) -> Any:
    raw = meta.get(key)
    if raw is None:
        return default
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        raise InputError(f"n.meta[{key!r}] is not valid JSON") from None
    if not isinstance(value, type(default)):
        raise InputError(f"n.meta[{key!r}] has an unexpected shape (expected a JSON {type(default).__name__})")
    return value


def _monthly_budget(month_of_row: np.ndarray, energy_rows: np.ndarray, total: float) -> tuple[np.ndarray, bool]:
    """Split a horizon energy limit into months (12 values, NaN = month not in the data).

    Exact when the generator can produce in one month only; otherwise the limit is split in
    proportion to the energy it could produce in each month (an approximation).
    """
    by_month = np.bincount(month_of_row - 1, weights=energy_rows, minlength=13)[:12]
    present = np.bincount(month_of_row - 1, minlength=13)[:12] > 0
    active = by_month > 0
    out = np.where(present, 0.0, np.nan)
    if active.sum() <= 1:
        out[active if active.any() else present] = total
        return out, True
    out[active] = total * by_month[active] / by_month[active].sum()
    return out, False


# --------------------------------------------------------------------------- conversion

def convert(n: Any, opts: ImportOptions | None = None, source: str = "network") -> ImportedScenario:
    """Turn a PyPSA network into the files of an Offtake scenario (see the module docstring)."""
    from offtake.scenario.schema import GeneratorRow

    opts = opts or ImportOptions()
    if opts.name is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", opts.name):
        raise InputError(f"--name: {opts.name!r} is not a scenario name (1-64 letters, digits, '_', '.', '-')")
    dropped: list[str] = []
    approx: list[str] = []
    notes: list[str] = []
    problems: list[Problem] = []
    names = _Names()
    meta = dict(getattr(n, "meta", {}) or {})
    n = _without_inactive(n, notes)
    if "offtake_fuel" in meta:
        n = _without_offtake_flex(n, dropped)

    hours, reps, tz = _timeline(n, opts, approx, notes)
    meta_fuel = _meta_json(meta, "offtake_fuel", {})
    meta_budgets = _meta_json(meta, "offtake_budgets", [])
    H = len(hours)
    month_row = np.asarray(hours.month, dtype=int)

    def expand(df: pd.DataFrame) -> np.ndarray:
        return np.repeat(df.to_numpy(float), reps, axis=0)

    # ---- buses
    buses = n.buses
    bus_carrier = buses["carrier"].fillna("").map(normalise_carrier) if "carrier" in buses else pd.Series("", buses.index)
    electric = {normalise_carrier(c) for c in opts.electric_bus_carriers}
    keep_bus = bus_carrier.isin(electric)
    if (~keep_bus).any():
        other = buses.index[~keep_bus]
        dropped.append(f"{len(other)} buses of non-electric carriers ({_listing(sorted(set(bus_carrier[~keep_bus])))}): "
                       f"{_listing(other)}, with every component attached to them")
    if not keep_bus.any():
        raise InputError(f"{source}: no bus has an electric carrier ({', '.join(c or '(empty)' for c in opts.electric_bus_carriers)})")
    bus_known = set(buses.index)
    kept = set(buses.index[keep_bus])

    # Offtake's own export: generators sit on '<region> gen' collector buses fed through 'reserve'
    # links; fold them back (reserve margin from meta) when the structure is exactly that.
    fold: dict[str, str] = {}
    reserve_margin = 0.0
    if "reserve_margin" in meta and len(n.links):
        rl = n.links[n.links["carrier"] == "reserve"]
        other_branches = pd.concat([n.links.loc[~n.links.index.isin(rl.index), ["bus0", "bus1"]],
                                    n.lines[["bus0", "bus1"]], n.transformers[["bus0", "bus1"]]])
        touched = set(other_branches["bus0"]) | set(other_branches["bus1"]) | set(n.loads["bus"]) \
            | set(n.storage_units["bus"]) | set(n.stores["bus"])
        for _, lk in rl.iterrows():
            if lk.bus0 == f"{lk.bus1} gen" and lk.bus0 not in touched and (rl["bus0"] == lk.bus0).sum() == 1:
                fold[lk.bus0] = lk.bus1
        if fold:
            reserve_margin = float(meta["reserve_margin"])
            notes.append(f"network written by Offtake's export: {len(fold)} generator collector buses and their "
                         f"reserve links folded back into their regions (reserve margin {reserve_margin:g})")

    def bus_of(b: Any) -> Any:
        return fold.get(b, b)

    region_bus = [b for b in buses.index[keep_bus] if b not in fold]
    region_name = {b: names.make("Bus", b) for b in region_bus}
    for src, dst in fold.items():
        region_name[src] = region_name[dst]

    # reference checks: every component's bus must exist
    for comp, df, cols in (("Generator", n.generators, ["bus"]), ("Load", n.loads, ["bus"]),
                           ("StorageUnit", n.storage_units, ["bus"]), ("Store", n.stores, ["bus"]),
                           ("Line", n.lines, ["bus0", "bus1"]), ("Transformer", n.transformers, ["bus0", "bus1"]),
                           ("Link", n.links, ["bus0", "bus1"])):
        for col in cols:
            if col not in df:
                continue
            bad = df.index[~df[col].isin(bus_known)]
            for nm in bad[:10]:
                problems.append(Problem(f"{comp.lower()}s", f"unknown bus {df.at[nm, col]!r}", None, col, str(nm)))
            if len(bad) > 10:
                problems.append(Problem(f"{comp.lower()}s", f"... and {len(bad) - 10} more with an unknown bus", None, col))
    if problems:
        raise InputError(f"{source}: the network refers to buses it does not define", problems)

    # ---- generators
    g = n.generators.copy()
    on_kept = g["bus"].map(bus_of).isin(kept | set(fold.values()))
    if (~on_kept).any():
        dropped.append(f"{int((~on_kept).sum())} generators on dropped buses: {_listing(g.index[~on_kept])}")
    g = g[on_kept]
    for col in ("p_nom", "marginal_cost"):
        bad = g.index[~np.isfinite(g[col].to_numpy(float))]
        for nm in bad[:10]:
            problems.append(Problem("generators", "value is not a finite number", None, col, str(nm)))
    pmax_df = _dense(n, "Generator", "p_max_pu", g.index)
    pmin_df = _dense(n, "Generator", "p_min_pu", g.index)
    mc_df = _dense(n, "Generator", "marginal_cost", g.index)
    _check_nan(pmax_df, "generators p_max_pu", problems)
    _check_nan(pmin_df, "generators p_min_pu", problems)
    _check_nan(mc_df, "generators marginal_cost", problems)
    shed_set = {normalise_carrier(c) for c in opts.shedding_carriers}
    carrier = g["carrier"].fillna("").astype(str)
    is_shed = carrier.map(normalise_carrier).isin(shed_set)
    sign = g["sign"].to_numpy(float) if "sign" in g else np.ones(len(g))
    neg = (sign < 0) | (pmax_df.max().to_numpy(float) < -_EPS) | (pmin_df.min().to_numpy(float) < -_EPS)
    neg &= ~is_shed.to_numpy()
    if neg.any():
        dropped.append(f"{int(neg.sum())} generators that consume (negative p_min_pu/p_max_pu or sign -1; "
                       f"flexible or other loads are not read): {_listing(g.index[neg])}")
    if problems:
        raise InputError(f"{source}: the network has missing or non-finite values", problems)

    objective = getattr(n, "objective", None)
    solved = objective is not None and bool(np.isfinite(float(objective)))
    fixed_at = "fixed at p_nom_opt (the network is solved)" if solved else "fixed at p_nom (the network is not solved)"
    p_nom, ext = _fixed_capacity(g, "p_nom", solved)
    ext_keep = ext & ~neg & ~is_shed.to_numpy()
    if ext_keep.any():
        approx.append(f"capacity expansion is not modelled: {int(ext_keep.sum())} extendable generators "
                      f"{fixed_at}: {_listing(g.index[ext_keep])}")

    w_rows = np.repeat(n.snapshot_weightings["generators"].to_numpy(float), reps) / np.repeat(reps, reps)  # 1 h each
    mc_rows = expand(mc_df)
    mc_vary = np.ptp(mc_rows, axis=0) > _EPS if H else np.zeros(len(g), bool)
    mc = np.where(mc_vary, (mc_rows * w_rows[:, None]).sum(axis=0) / max(w_rows.sum(), _EPS),
                  mc_rows[0] if H else g["marginal_cost"].to_numpy(float))
    if (mc_vary & ~neg).any():
        approx.append(f"time-varying marginal costs replaced by their mean: {_listing(g.index[mc_vary & ~neg])}")

    # shedding -> value of lost load
    voll = opts.voll_usd_per_mwh
    shed_idx = np.flatnonzero(is_shed.to_numpy())
    demand_by_bus = _demand(n, reps, bus_of, kept | set(fold.values()), dropped, problems, source)
    if len(shed_idx):
        costs = sorted(set(np.round(mc[shed_idx], 6).tolist()))
        if voll is None:
            voll = float(max(costs))
            if len(costs) > 1:
                approx.append(f"load-shedding generators have different costs {costs}: the value of lost load is "
                              f"the highest, {voll:g} USD/MWh")
        shed_cap = {}
        pmax_rows = expand(pmax_df)
        for j in shed_idx:
            b = bus_of(g["bus"].iloc[j])
            shed_cap[b] = shed_cap.get(b, 0.0) + pmax_rows[:, j] * p_nom[j]
        # exact when every bus can shed exactly its demand, or more where it has no corridor to pass it on
        has_branch = set(n.lines["bus0"]) | set(n.lines["bus1"]) | set(n.links["bus0"]) | set(n.links["bus1"]) \
            | set(n.transformers["bus0"]) | set(n.transformers["bus1"])
        has_branch = {bus_of(b) for b in has_branch}
        differs = []
        for b in sorted(set(shed_cap) | set(demand_by_bus)):
            cap_b = shed_cap.get(b, np.zeros(H))
            dem_b = demand_by_bus.get(b, np.zeros(H))
            if (cap_b < dem_b - 1e-6 * np.maximum(dem_b, 1.0)).any() or ((cap_b > dem_b + 1e-6).any() and b in has_branch):
                differs.append(b)
        notes.append(f"{len(shed_idx)} load-shedding generators (carriers {_listing(sorted(set(carrier.iloc[shed_idx])))}) "
                     f"read as unserved demand at {voll:g} USD/MWh")
        if differs:
            approx.append("load shedding: Offtake lets every bus shed up to its own demand and no more; the network's "
                          "shedding capacity differs at " + _listing(differs))
    plant = ~is_shed.to_numpy() & ~neg
    if voll is None:
        top = float(mc[plant].max()) if plant.any() else 0.0
        voll = max(_MIN_VOLL_USD_PER_MWH, 2.0 * top)
        notes.append(f"no load-shedding generators: unserved demand valued at {voll:g} USD/MWh "
                     "(max of 10,000 and twice the highest marginal cost; --voll to change)")
    if not (np.isfinite(voll) and voll > 0):
        raise InputError(f"value of lost load must be a positive number of USD/MWh; got {voll}")

    gp = g[plant]
    idx = np.flatnonzero(plant)
    if len(gp):
        cnt = gp.groupby("carrier").size()
        capc = pd.Series(p_nom[idx], index=gp.index).groupby(gp["carrier"]).sum()
        declared = pd.Series([meta_fuel.get(str(nm)) for nm in gp.index], index=gp.index, dtype=object)
        fuel = _fuels(gp["carrier"].fillna("").astype(str), opts.carrier_map, cnt, capc, declared).to_numpy()
        if declared.notna().any():
            notes.append(f"fuel of {int(declared.notna().sum())} generators read from n.meta['offtake_fuel'] "
                         "(Offtake's export)")
    else:
        fuel = np.array([], dtype=object)
    bad_mc = idx[(mc[idx] < -1000) | (mc[idx] > 10000)]
    if len(bad_mc):
        raise InputError(f"{source}: marginal costs outside -1,000..10,000 USD/MWh (Offtake's range): "
                         + _listing(f"{g.index[j]} ({mc[j]:g})" for j in bad_mc))

    pmax_all = expand(pmax_df)
    pmin_all = expand(pmin_df)
    gen_rows: list[dict[str, Any]] = []
    profiles: dict[str, np.ndarray] = {}
    budgets: dict[str, dict[str, np.ndarray]] = {}  # budget -> column -> 12 monthly values
    parts_of: dict[str, list[str]] = {}  # PyPSA generator -> its Offtake generator(s)
    split: list[str] = []
    e_max = g["e_sum_max"].to_numpy(float) if "e_sum_max" in g else np.full(len(g), np.inf)
    e_min = g["e_sum_min"].to_numpy(float) if "e_sum_min" in g else np.full(len(g), -np.inf)
    budget_split: list[str] = []
    for pos, j in enumerate(idx):
        name = str(g.index[j])
        pmax = pmax_all[:, j]
        pmin = pmin_all[:, j]
        if (pmin > pmax + 1e-9).any():
            raise InputError(f"{source}: generator {name!r} has p_min_pu above p_max_pu at some snapshot (infeasible)")
        scale = max(1.0, float(pmax.max()) if H else 1.0)
        cap = float(p_nom[j]) * scale
        pmax, pmin = pmax / scale, np.minimum(pmin / scale, pmax / scale)
        tech = names_tech(str(g["carrier"].iloc[j]))
        base = {"region": region_name[bus_of(g["bus"].iloc[j])], "technology": tech, "capacity_mw": cap,
                    "marginal_cost_usd_per_mwh": float(mc[j]), "fuel": fuel[pos]}
        pos_max = pmax > _EPS
        ratio = np.where(pos_max, pmin / np.where(pos_max, pmax, 1.0), 0.0)
        const_ratio = (not pos_max.any()) or np.ptp(ratio[pos_max]) <= 1e-9
        has_max = bool(np.isfinite(e_max[j]))
        has_min = bool(np.isfinite(e_min[j]) and e_min[j] > 0)
        parts: list[tuple[str, np.ndarray, float]] = []
        if const_ratio:
            parts.append((names.make("Generator", name), pmax, float(ratio[pos_max][0]) if pos_max.any() else 0.0))
        else:
            split.append(name)
            parts.append((names.make("Generator", name), pmax - pmin, 0.0))
            parts.append((names.make("Generator", f"{name} must-run"), pmin, 1.0))
        budget = parts[0][0] if (has_max or has_min) else ""
        for oname, prof, mrun in parts:
            row = {"name": oname, **base, "min_output_pu": round(mrun, 12), "forced_outage_rate": 0.0,
                   "profile": "", "budget": budget}
            if H and np.ptp(prof) <= 1e-12:
                row["forced_outage_rate"] = round(float(1.0 - prof[0]), 12)
            else:
                row["profile"] = oname
                profiles[oname] = prof
            gen_rows.append(row)
        parts_of[name] = [o for o, _, _ in parts]
        if budget:  # both parts of a split generator share one budget: exact
            energy_rows = cap * pmax
            hi, exact_hi = _monthly_budget(month_row, energy_rows, float(e_max[j])) if has_max else (np.full(12, np.nan), True)
            lo, exact_lo = _monthly_budget(month_row, energy_rows, float(e_min[j])) if has_min else (np.zeros(12), True)
            if not (exact_hi and exact_lo):
                budget_split.append(name)
            budgets[budget] = _budget(hi, np.nan_to_num(lo, nan=0.0))
    if meta_budgets:
        _meta_budgets(meta_budgets, parts_of, gen_rows, budgets, month_row, approx, notes)
    if split:
        notes.append(f"{len(split)} generators whose must-run share varies in time split into a flexible part "
                     f"and a '... must-run' part (same cost): {_listing(split)}")
    if budget_split:
        approx.append("energy limits e_sum_max / e_sum_min over several months split into monthly budgets in proportion to "
                      f"available energy: {_listing(budget_split)}")
    for attr, what in (("committable", "unit commitment"), ):
        if attr in g and g.loc[g.index[idx], attr].astype(bool).any():
            approx.append(f"{what} is not modelled (LP dispatch, p_min_pu applied in every hour): "
                          f"{_listing(g.index[idx][g.loc[g.index[idx], attr].astype(bool).to_numpy()])}")
    for attr in ("ramp_limit_up", "ramp_limit_down"):
        if attr in g:
            r = g.loc[g.index[idx], attr].to_numpy(float)
            if (np.isfinite(r) & (r < 1)).any():
                dropped.append(f"{attr} of {int((np.isfinite(r) & (r < 1)).sum())} generators (no ramp limits in Offtake)")
    if "marginal_cost_quadratic" in g and (g.loc[g.index[idx], "marginal_cost_quadratic"].to_numpy(float) != 0).any():
        dropped.append("quadratic marginal costs (Offtake's costs are linear)")

    ctx = _Ctx(n=n, opts=opts, source=source, names=names, reps=reps, month_row=month_row, fold=fold,
               region_name=region_name, kept_all=kept | set(fold.values()), solved=solved, fixed_at=fixed_at,
               dropped=dropped, approx=approx, notes=notes, problems=problems)
    _storage_units(ctx, gen_rows, profiles, budgets)
    if len(n.stores):
        dropped.append(f"{len(n.stores)} stores (not modelled): {_listing(n.stores.index)}")
    if len(n.global_constraints):
        gc = n.global_constraints
        dropped.append(f"{len(gc)} global constraints (not modelled): "
                       + _listing(f"{i} ({t})" for i, t in zip(gc.index, gc["type"])))

    line_rows, link_rows = _corridors(ctx)
    merged_rows, pairs = _merge_one_way_pairs(link_rows, names)
    line_rows += merged_rows
    if pairs:
        notes.append(f"{pairs} pairs of one-way links between the same regions with the same efficiency merged "
                     "into two-way corridors (exact)")

    # ---- assemble files
    regions = pd.DataFrame({"name": [region_name[b] for b in region_bus],
                            "description": [f"PyPSA bus {b}" for b in region_bus]})
    xs = buses.loc[region_bus, "x"].to_numpy(float) if "x" in buses else np.zeros(len(region_bus))
    ys = buses.loc[region_bus, "y"].to_numpy(float) if "y" in buses else np.zeros(len(region_bus))
    degrees = (np.isfinite(xs).all() and np.isfinite(ys).all() and (np.abs(xs) <= 180).all()
               and (np.abs(ys) <= 90).all() and not ((xs == 0) & (ys == 0)).all())
    if degrees:
        regions["lat"], regions["lon"] = ys, xs
    else:
        regions["lat"], regions["lon"] = "", ""
        notes.append("bus coordinates are not longitude/latitude degrees (or all zero): lat/lon left empty")

    col_of = {b: k for k, b in enumerate(region_bus)}
    dem_mw = np.zeros((H, len(region_bus)))
    for b, series in demand_by_bus.items():  # one column per bus with loads (folded buses add up)
        dem_mw[:, col_of[fold.get(b, b)]] += series
    dem = pd.DataFrame(dem_mw, index=hours, columns=[region_name[b] for b in region_bus])
    ts = [t.isoformat() for t in hours]
    dem.insert(0, "timestamp", ts)

    gens = pd.DataFrame(gen_rows, columns=list(GeneratorRow.model_fields))
    if gens.empty:
        raise InputError(f"{source}: no generator Offtake can read (a scenario needs at least one); "
                         + ("dropped: " + "; ".join(dropped) if dropped else "the network has none"))
    lines = pd.DataFrame(line_rows, columns=["name", "from_region", "to_region", "capacity_forward_mw",
                                             "capacity_backward_mw", "loss_pu"])
    files: dict[str, str] = {
        "regions.csv": regions.to_csv(index=False),
        "generators.csv": gens.to_csv(index=False),
        "lines.csv": lines.to_csv(index=False),
        "demand.csv": dem.to_csv(index=False, float_format="%.10g"),
    }
    if profiles:
        prof = pd.DataFrame(profiles, index=hours).clip(0.0, 1.0)
        prof.insert(0, "timestamp", ts)
        files["profiles.csv"] = prof.to_csv(index=False, float_format="%.10g")
    if budgets:
        present = np.bincount(month_row - 1, minlength=13)[:12] > 0
        cols = ["max_mwh", "min_mwh", "take_or_pay_mwh", "take_or_pay_usd_per_mwh"]
        rows = [(b, m + 1, *["" if not np.isfinite(v[c][m]) else float(v[c][m]) for c in cols])
                for b, v in budgets.items() for m in np.flatnonzero(present)]
        files["energy_budgets.csv"] = pd.DataFrame(rows, columns=["budget", "month", *cols]).to_csv(
            index=False, float_format="%.10g")
    scen_name = opts.name or (_NAME_BAD.sub("_", Path(source).stem).strip("_")[:64] or "pypsa-import")
    cfg: dict[str, Any] = {
        "name": scen_name,
        "description": f"Imported from the PyPSA network {Path(source).name} by offtake scenario import-pypsa "
                       f"(see {REPORT_FILE} for what was dropped or approximated).",
        "timezone": tz, "currency": "USD", "usd_exchange_rate": 1.0,
        "years": sorted({int(y) for y in hours.year}), "reserve_margin": reserve_margin,
        "value_of_lost_load_usd_per_mwh": float(voll),
    }
    files["scenario.yaml"] = yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)
    files[NAMES_FILE] = pd.DataFrame(names.rows, columns=["component", "pypsa_name", "offtake_name"]).to_csv(index=False)
    report = ImportReport(source=str(source),
                          counts={"regions": len(regions), "generators": len(gens), "lines": len(lines),
                                  "hours": H, "snapshots": len(n.snapshots)},
                          not_supported=tuple(dropped), approximated=tuple(approx), notes=tuple(notes))
    files[REPORT_FILE] = report.text()
    return ImportedScenario(files=files, report=report)


@dataclass
class _Ctx:
    """What the parts of :func:`convert` share: the network, the timeline, names, and the report lists."""

    n: Any
    opts: ImportOptions
    source: str
    names: _Names
    reps: np.ndarray
    month_row: np.ndarray
    fold: dict[str, str]
    region_name: dict[str, str]
    kept_all: set[str]
    solved: bool
    fixed_at: str
    dropped: list[str]
    approx: list[str]
    notes: list[str]
    problems: list[Problem]

    def bus_of(self, b: Any) -> Any:
        return self.fold.get(b, b)

    def expand(self, df: pd.DataFrame) -> np.ndarray:
        return np.repeat(df.to_numpy(float), self.reps, axis=0)


def _storage_units(c: _Ctx, gen_rows: list[dict[str, Any]], profiles: dict[str, np.ndarray],
                   budgets: dict[str, dict[str, np.ndarray]]) -> None:
    """Storage units with inflow and no pumping -> hydro generators with monthly budgets; the rest dropped."""
    n, opts, source, names, month_row = c.n, c.opts, c.source, c.names, c.month_row
    region_name, solved, dropped, approx, problems = c.region_name, c.solved, c.dropped, c.approx, c.problems
    bus_of, expand, kept_all = c.bus_of, c.expand, c.kept_all
    su = n.storage_units
    if len(su):
        inflow = _dense(n, "StorageUnit", "inflow", su.index)
        su_pmin = _dense(n, "StorageUnit", "p_min_pu", su.index)
        su_pmax = _dense(n, "StorageUnit", "p_max_pu", su.index)
        _check_nan(inflow, "storage_units inflow", problems)
        _check_nan(su_pmax, "storage_units p_max_pu", problems)
        if problems:
            raise InputError(f"{source}: the network has missing or non-finite values", problems)
        inflow_rows = expand(inflow)
        pmax_rows = expand(su_pmax)
        fits, others = [], []
        for j, (sname, row) in enumerate(su.iterrows()):
            b = bus_of(row["bus"])
            has_inflow = inflow_rows[:, j].sum() > 0
            pumps = float(su_pmin.iloc[:, j].min()) < 0
            if b not in kept_all:
                others.append(f"{sname} (on a dropped bus)")
            elif not has_inflow:
                others.append(f"{sname} (no inflow)")
            elif pumps:
                others.append(f"{sname} (inflow but p_min_pu < 0: charges from the grid)")
            else:
                fits.append(j)
        if others:
            dropped.append(f"{len(others)} storage units (batteries and pumped storage are not modelled): "
                           f"{_listing(others)}")
        fit_names = []
        for j in fits:
            row = su.iloc[j]
            sname = str(su.index[j])
            p_nom_su = float(row["p_nom_opt"]) if solved and bool(row.get("p_nom_extendable", False)) else float(row["p_nom"])
            pmax = pmax_rows[:, j]
            scale = max(1.0, float(pmax.max()))
            cap = p_nom_su * scale
            prof = pmax / scale
            eff = float(row.get("efficiency_dispatch", 1.0))
            energy = np.bincount(month_row - 1, weights=inflow_rows[:, j] * eff, minlength=12)[:12]
            if not bool(row.get("cyclic_state_of_charge", False)):
                soc0 = float(row.get("state_of_charge_initial", 0.0))
                energy[month_row[0] - 1] += max(soc0, 0.0) * eff
            carrier_su = str(row.get("carrier", "") or "")
            fuel_su = _fuels(pd.Series([carrier_su]), opts.carrier_map, pd.Series({carrier_su: 1}),
                             pd.Series({carrier_su: cap})).iloc[0]
            oname = names.make("StorageUnit", sname)
            r = {"name": oname, "region": region_name[bus_of(row["bus"])], "technology": names_tech(carrier_su),
                 "capacity_mw": cap, "marginal_cost_usd_per_mwh": float(row.get("marginal_cost", 0.0)),
                 "fuel": fuel_su, "min_output_pu": 0.0, "forced_outage_rate": 0.0, "profile": "", "budget": oname}
            if np.ptp(prof) <= 1e-12:
                r["forced_outage_rate"] = round(float(1.0 - prof[0]), 12)
            else:
                r["profile"] = oname
                profiles[oname] = prof
            gen_rows.append(r)
            present = np.bincount(month_row - 1, minlength=13)[:12] > 0
            budgets[oname] = _budget(np.where(present, energy, np.nan), np.zeros(12))
            fit_names.append(sname)
        if fit_names:
            approx.append(f"{len(fit_names)} storage units with inflow read as hydro with monthly energy budgets "
                          "(efficiency_dispatch x the month's inflow; reservoir size, standing losses and carry-over "
                          f"between months are not modelled): {_listing(fit_names)}")



def _corridors(c: _Ctx) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Lines and transformers (both ways, no loss) and links (one or two ways, loss) as corridors."""
    n, source, names, fold = c.n, c.source, c.names, c.fold
    region_name, solved, dropped, approx, problems = c.region_name, c.solved, c.dropped, c.approx, c.problems
    bus_of, kept_all, notes, fixed_at = c.bus_of, c.kept_all, c.notes, c.fixed_at
    line_rows: list[dict[str, Any]] = []
    for comp, df in (("Line", n.lines), ("Transformer", n.transformers)):
        if not len(df):
            continue
        ok = df["bus0"].map(bus_of).isin(kept_all) & df["bus1"].map(bus_of).isin(kept_all)
        if (~ok).any():
            dropped.append(f"{int((~ok).sum())} {comp.lower()}s touching dropped buses: {_listing(df.index[~ok])}")
        df = df[ok]
        s_max = _dense(n, comp, "s_max_pu", df.index)
        _check_nan(s_max, f"{comp.lower()}s s_max_pu", problems)
        if problems:
            raise InputError(f"{source}: the network has missing or non-finite values", problems)
        s_nom, ext = _fixed_capacity(df, "s_nom", solved)
        if ext.any():
            approx.append(f"capacity expansion is not modelled: {int(ext.sum())} extendable {comp.lower()}s "
                          f"{fixed_at.replace('p_nom', 's_nom')}")
        smx = s_max.to_numpy(float)
        vary = np.ptp(smx, axis=0) > _EPS if len(smx) else np.zeros(len(df), bool)
        if vary.any():
            approx.append(f"time-varying s_max_pu of {int(vary.sum())} {comp.lower()}s replaced by its minimum")
        cap = s_nom * (smx.min(axis=0) if len(smx) else 1.0)
        for k, (lname, row) in enumerate(df.iterrows()):
            a, b = region_name[bus_of(row["bus0"])], region_name[bus_of(row["bus1"])]
            if a == b:
                continue
            line_rows.append({"name": names.make(comp, lname, prefix=f"{comp.lower()}_"), "from_region": a,
                              "to_region": b, "capacity_forward_mw": float(cap[k]),
                              "capacity_backward_mw": float(cap[k]), "loss_pu": 0.0})
        if len(df):
            notes.append(f"{len(df)} {comp.lower()}s became transport corridors of s_nom x s_max_pu in both "
                         "directions: Kirchhoff's voltage law (impedances, loop flows) is not modelled")

    lk = n.links
    link_rows: list[dict[str, Any]] = []
    if len(lk):
        lk = lk[~lk.index.isin(n.links.index[(n.links["carrier"] == "reserve") & n.links["bus0"].isin(fold)])]
        multi = [c for c in lk.columns if re.fullmatch(r"bus[2-9]\d*", c)]
        is_multi = np.zeros(len(lk), bool)
        for c in multi:
            is_multi |= lk[c].fillna("").astype(str).str.len().to_numpy() > 0
        if is_multi.any():
            dropped.append(f"{int(is_multi.sum())} links with more than two buses: {_listing(lk.index[is_multi])}")
        lk = lk[~is_multi]
        ok = lk["bus0"].map(bus_of).isin(kept_all) & lk["bus1"].map(bus_of).isin(kept_all)
        if (~ok).any():
            dropped.append(f"{int((~ok).sum())} links touching dropped buses: {_listing(lk.index[~ok])}")
        lk = lk[ok]
        pmx = _dense(n, "Link", "p_max_pu", lk.index)
        pmn = _dense(n, "Link", "p_min_pu", lk.index)
        eff_df = _dense(n, "Link", "efficiency", lk.index)
        _check_nan(pmx, "links p_max_pu", problems)
        _check_nan(pmn, "links p_min_pu", problems)
        _check_nan(eff_df, "links efficiency", problems)
        if problems:
            raise InputError(f"{source}: the network has missing or non-finite values", problems)
        p_nom_l, ext = _fixed_capacity(lk, "p_nom", solved)
        eff = eff_df.to_numpy(float)
        conv, vary_l, gain, cost_l, forced = [], [], [], [], []
        n_ext = 0
        for k, (lname, row) in enumerate(lk.iterrows()):
            e = eff[:, k]
            if np.ptp(e) > _EPS:
                vary_l.append(lname)
            e_mean = float(e.mean())
            if e_mean > 1 + _EPS or e_mean <= 0.5:
                conv.append(f"{lname} (efficiency {e_mean:g})")
                continue
            hi = pmx.iloc[:, k].to_numpy(float)
            lo = pmn.iloc[:, k].to_numpy(float)
            if np.ptp(hi) > _EPS or np.ptp(lo) > _EPS:
                vary_l.append(lname)
            fwd = float(p_nom_l[k] * max(hi.max(), 0.0))
            bwd = float(p_nom_l[k] * max(-lo.min(), 0.0))
            if lo.max() > _EPS or hi.min() < -_EPS:
                forced.append(lname)
            if bwd > 0 and e_mean < 1 - _EPS:
                gain.append(lname)
            if float(row.get("marginal_cost", 0.0)) != 0.0:
                cost_l.append(lname)
            n_ext += int(ext[k])
            a, b = region_name[bus_of(row["bus0"])], region_name[bus_of(row["bus1"])]
            if a == b:
                continue
            link_rows.append({"name": names.make("Link", lname, prefix="link_"), "from_region": a, "to_region": b,
                              "capacity_forward_mw": fwd, "capacity_backward_mw": bwd,
                              "loss_pu": round(1.0 - min(e_mean, 1.0), 12)})
        if conv:
            dropped.append(f"{len(conv)} links that convert energy (efficiency <= 0.5 or > 1): {_listing(conv)}")
        if vary_l:
            approx.append(f"time-varying limits or efficiency of {len(set(vary_l))} links replaced by their widest "
                          f"range and mean efficiency: {_listing(sorted(set(vary_l)))}")
        if gain:
            approx.append("links used backwards with efficiency < 1: Offtake applies the loss in both directions "
                          f"(PyPSA's reverse flow gains): {_listing(gain)}")
        if cost_l:
            dropped.append(f"marginal cost of {len(cost_l)} links (corridors carry no cost): {_listing(cost_l)}")
        if forced:
            dropped.append(f"minimum flows of {len(forced)} links (p_min_pu > 0 or p_max_pu < 0): {_listing(forced)}")
        if n_ext:
            approx.append(f"capacity expansion is not modelled: {n_ext} extendable links fixed at "
                          f"{fixed_at.split(' at ', 1)[-1]}")
        if len(lk) - len(conv):
            notes.append(f"{len(lk) - len(conv)} links became transport corridors (p_nom x p_max_pu forward, "
                         "p_nom x -p_min_pu backward, loss 1 - efficiency)")

    return line_rows, link_rows


def _merge_one_way_pairs(rows: list[dict[str, Any]], names: _Names) -> tuple[list[dict[str, Any]], int]:
    """Join a one-way corridor a->b with a one-way b->a of the same loss into one two-way corridor.

    The LP is the same (two non-negative flows, one per direction); the first link's name is kept
    and pypsa_names.csv points the second link at it.
    """
    one_way: dict[tuple[str, str, float], list[int]] = {}
    for i, r in enumerate(rows):
        if r["capacity_backward_mw"] == 0:
            one_way.setdefault((r["from_region"], r["to_region"], r["loss_pu"]), []).append(i)
    used: set[int] = set()
    out: list[dict[str, Any]] = []
    rename: dict[str, str] = {}
    for i, r in enumerate(rows):
        if i in used:
            continue
        used.add(i)
        if r["capacity_backward_mw"] == 0:
            partner = next((j for j in one_way.get((r["to_region"], r["from_region"], r["loss_pu"]), [])
                            if j not in used), None)
            if partner is not None:
                used.add(partner)
                rename[rows[partner]["name"]] = r["name"]
                r = {**r, "capacity_backward_mw": rows[partner]["capacity_forward_mw"]}
        out.append(r)
    if rename:
        names.rows = [(c, p, rename.get(o, o)) for c, p, o in names.rows]
    return out, len(rename)


def _without_inactive(n: Any, notes: list[str]) -> Any:
    """A copy without components whose ``active`` is False (PyPSA leaves them out of its model too)."""
    off = {c: df.index[~df["active"].astype(bool)] for c, df in
           (("Generator", n.generators), ("Load", n.loads), ("StorageUnit", n.storage_units), ("Store", n.stores),
            ("Line", n.lines), ("Transformer", n.transformers), ("Link", n.links)) if "active" in df}
    off = {c: idx for c, idx in off.items() if len(idx)}
    if not off:
        return n
    n = n.copy()
    for c, idx in off.items():
        n.remove(c, idx)
    notes.append("inactive components skipped: " + "; ".join(f"{len(i)} {c} ({_listing(i, 4)})" for c, i in off.items()))
    return n


def _without_offtake_flex(n: Any, dropped: list[str]) -> Any:
    """A copy of a network written by Offtake's export without its flexible loads (carriers flex, backup)."""
    gens = n.generators.index[n.generators["carrier"].isin(["flex", "backup"])]
    links = n.links.index[n.links["carrier"] == "flex"]
    if not len(gens) and not len(links):
        return n
    firm_buses = n.links.loc[links, "bus1"].unique()
    n = n.copy()
    n.remove("Generator", gens)
    n.remove("Link", links)
    n.remove("Bus", firm_buses)
    dropped.append(f"flexible loads of Offtake's export ({len(gens)} generators, {len(links)} links, "
                   f"{len(firm_buses)} buses of carrier flex/backup): the network does not hold flex_loads.csv; "
                   "copy it from the original scenario to plan them")
    return n


def names_tech(carrier: str) -> str:
    """A carrier as an Offtake ``technology`` name."""
    return (_NAME_BAD.sub("_", carrier).strip("_") or "unknown")[:64]


def _demand(n: Any, reps: np.ndarray, bus_of: Any, kept: set[str], dropped: list[str], problems: list[Problem],
            source: str) -> dict[str, np.ndarray]:
    loads = n.loads
    if not len(loads):
        return {}
    on = loads["bus"].map(bus_of).isin(kept)
    if (~on).any():
        dropped.append(f"{int((~on).sum())} loads on dropped buses: {_listing(loads.index[~on])}")
    loads = loads[on]
    p = _dense(n, "Load", "p_set", loads.index)
    _check_nan(p, "loads p_set", problems)
    if problems:
        raise InputError(f"{source}: the network has missing or non-finite values", problems)
    sign = loads["sign"].to_numpy(float) if "sign" in loads else -np.ones(len(loads))
    cons = np.repeat(p.to_numpy(float), reps, axis=0) * (-sign)[None, :]
    out: dict[str, np.ndarray] = {}
    for b, cols in pd.Series(range(len(loads)), index=loads["bus"].map(bus_of).to_numpy()).groupby(level=0):
        out[b] = cons[:, cols.to_numpy()].sum(axis=1)
    neg = {b: v for b, v in out.items() if v.min() < -1e-9}
    if neg:
        raise InputError(f"{source}: loads sum to negative demand at bus(es) {_listing(sorted(neg))} "
                         "(loads that inject power are not supported)")
    return {b: np.maximum(v, 0.0) for b, v in out.items()}


# --------------------------------------------------------------------------- writing

def import_network(network: str | os.PathLike[str], dest: str | os.PathLike[str], opts: ImportOptions | None = None,
                   overwrite: bool = False) -> tuple[Path, ImportReport]:
    """Read ``network``, write the scenario folder ``dest`` atomically, validate it; return (path, report).

    Nothing is left at ``dest`` when anything fails; an existing non-empty ``dest`` is an
    error unless ``overwrite``.
    """
    out = Path(dest)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise InputError(f"{out} exists and is not empty; choose a new folder or pass --force")
    n = read_network(network)
    with warnings.catch_warnings(), _quiet_pypsa():
        warnings.simplefilter("ignore")
        result = convert(n, opts, source=str(network))
    return write_imported(result, out, overwrite=overwrite), result.report


def write_imported(result: ImportedScenario, dest: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Write converted files to ``dest`` atomically (temporary sibling, validated, renamed)."""
    from offtake.scenario.io import load_scenario

    out = Path(dest)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise InputError(f"{out} exists and is not empty; choose a new folder or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for fname, text in result.files.items():
            (tmp / fname).write_text(text, encoding="utf-8")
        try:
            load_scenario(tmp)  # the folder must validate before it appears
        except InputError as exc:
            raise InputError(f"the imported scenario breaks Offtake's rules, nothing written to {out}:\n"
                             + exc.message.replace(str(tmp), str(out))) from None
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def report_json(report: ImportReport) -> str:
    return json.dumps({"source": report.source, "counts": report.counts, "not_supported": list(report.not_supported),
                       "approximated": list(report.approximated), "notes": list(report.notes)}, indent=2)


__all__ = ["DEFAULT_CARRIER_MAP", "FUELS", "ImportOptions", "ImportReport", "ImportedScenario", "convert",
           "import_network", "normalise_carrier", "parse_carrier_map", "read_network", "write_imported"]
