"""Curtailment-enabled headroom (Norris et al., Duke University, "Rethinking Load Growth", 2025).

How large a new *flat* load ``L`` [MW] can a system host if the load accepts being
curtailed in the hours when it would push demand above the system's historical peak?

Method (Appendix C of the study, as summarised in ``shared/facts/markets.md``):

* One summer threshold = the highest hourly demand in the summer peak window (default
  May-Sep) over all years together, and one winter threshold = the highest in the winter
  window (default Nov-Mar).  The summer threshold applies Apr-Oct, the winter one Nov-Mar.
* In hour t the load is curtailed by ``max(0, D_t + L - threshold_t)``.
* The curtailment rate of a year = curtailed MWh / (L * hours of that year); the rate of
  the series is the mean over years.  Headroom at rate r = the largest L whose rate <= r.

Exact solution.  Let ``g_t = threshold_t - D_t`` (the gap).  Then a year's curtailed
energy is ``C_y(L) = sum_{g_t < L} (L - g_t)``, piecewise linear in L with breakpoints at
the gaps.  Between consecutive breakpoints the mean rate is ``R(L) = A - B / L`` with
``A = sum w_t`` and ``B = sum w_t g_t`` over hours with ``g_t < L`` and
``w_t = 1 / (hours_y * n_years)``.  Sorting the gaps once and taking cumulative sums
gives A and B on every segment, and ``R(L) = r`` is solved in closed form,
``L = B / (A - r)``, on each segment at once (no iteration, no grid).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from offtake.errors import InputError

DEFAULT_RATES = (0.0025, 0.005, 0.01, 0.05)
SUMMER_PEAK_MONTHS = (5, 6, 7, 8, 9)
WINTER_PEAK_MONTHS = (11, 12, 1, 2, 3)
SUMMER_APPLIES = (4, 5, 6, 7, 8, 9, 10)


@dataclass(frozen=True)
class HeadroomPoint:
    rate: float  # curtailment rate as a fraction (0.005 = 0.5 %)
    headroom_mw: float
    curtailed_hours_per_year: float
    mean_event_hours: float  # curtailed hours / number of start and stop transitions (the study's measure)
    mean_run_hours: float  # curtailed hours / number of runs of consecutive curtailed hours
    curtailed_mwh_per_year: float


@dataclass(frozen=True)
class HeadroomResult:
    points: tuple[HeadroomPoint, ...]
    years: tuple[int, ...]
    summer_threshold_mw: float
    winter_threshold_mw: float
    hours: int
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "rates": {
                _rate_key(p.rate): {
                    "headroom_mw": p.headroom_mw,
                    "curtailed_hours_per_year": p.curtailed_hours_per_year,
                    "mean_event_hours": p.mean_event_hours,
                    "mean_run_hours": p.mean_run_hours,
                    "curtailed_mwh_per_year": p.curtailed_mwh_per_year,
                }
                for p in self.points
            },
            "years": list(self.years),
            "summer_threshold_mw": self.summer_threshold_mw,
            "winter_threshold_mw": self.winter_threshold_mw,
            "hours": self.hours,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([p.__dict__ for p in self.points]).assign(rate_percent=lambda d: d["rate"] * 100)


def _rate_key(rate: float) -> str:
    """0.005 -> "0.5" (the rate in percent, as the user typed it)."""
    return f"{rate * 100:g}"


def thresholds_mw(demand_mw: np.ndarray, month: np.ndarray) -> tuple[float, float]:
    """(summer, winter) thresholds: the highest demand in each peak window, all years together."""
    summer = demand_mw[np.isin(month, SUMMER_PEAK_MONTHS)]
    winter = demand_mw[np.isin(month, WINTER_PEAK_MONTHS)]
    if summer.size == 0 or winter.size == 0:
        raise InputError("headroom needs hours in both the summer (May-Sep) and winter (Nov-Mar) peak windows")
    return float(summer.max()), float(winter.max())


def headroom_exact(gap_mw: np.ndarray, weight: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Largest L with mean curtailment rate <= r, for each r (closed form per segment).

    ``gap_mw``: threshold minus demand per hour; ``weight``: 1 / (hours of its year * years).
    """
    order = np.argsort(gap_mw, kind="stable")
    g = gap_mw[order]
    w = weight[order]
    a = np.concatenate([[0.0], np.cumsum(w)])  # A on segment j: hours with gap < L, L in (g[j-1], g[j]]
    b = np.concatenate([[0.0], np.cumsum(w * g)])
    lo = np.concatenate([[0.0], np.maximum(g, 0.0)])
    hi = np.concatenate([np.maximum(g, 0.0), [np.inf]])
    out = np.empty(len(rates))
    for k, r in enumerate(rates):  # a handful of rates; segments are vectorised
        denom = a - r
        with np.errstate(divide="ignore", invalid="ignore"):
            root = np.where(denom > 0, b / denom, np.inf)
        # A - B/L <= r  <=>  L*(A - r) <= B  (L > 0)
        best = np.where(denom > 0, np.minimum(hi, root), np.where(b >= 0, hi, np.where(hi >= root, hi, -np.inf)))
        ok = (best > lo) | ((best >= lo) & (lo > 0))
        cand = np.where(ok, best, -np.inf)
        out[k] = max(float(cand.max()), 0.0)
    return out


def _events(curtailed: np.ndarray, year_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(transitions, runs) per year for a boolean curtailment mask in time order."""
    n_years = int(year_id.max()) + 1
    trans = np.zeros(n_years)
    runs = np.zeros(n_years)
    c = curtailed.astype(np.int8)
    same_year = year_id[1:] == year_id[:-1]
    change = (np.diff(c) != 0) & same_year
    np.add.at(trans, year_id[1:][change], 1)
    starts = np.concatenate([[c[0] == 1], (c[1:] == 1) & ((c[:-1] == 0) | ~same_year)])
    np.add.at(runs, year_id[starts], 1)
    return trans, runs


def curtailment_headroom(demand_mw: pd.Series, rates: tuple[float, ...] | list[float] = DEFAULT_RATES) -> HeadroomResult:
    """Curtailment-enabled headroom of an hourly demand series (tz-aware or naive index).

    Months and years are read from the index's own (local) time.  Rates are fractions
    (0.005 = 0.5 %).
    """
    rates_arr = np.asarray(rates, dtype=float)
    if rates_arr.size == 0 or np.any(~np.isfinite(rates_arr)) or np.any(rates_arr <= 0) or np.any(rates_arr >= 1):
        raise InputError(f"curtailment rates must be fractions between 0 and 1 (exclusive); got {list(rates)}")
    d = demand_mw.to_numpy(dtype=float)
    if d.size == 0 or not np.all(np.isfinite(d)):
        raise InputError("demand series is empty or holds NaN/infinite values")
    idx = pd.DatetimeIndex(demand_mw.index)
    month = idx.month.to_numpy()
    year = idx.year.to_numpy()
    years, year_id = np.unique(year, return_inverse=True)
    hours_per_year = np.bincount(year_id).astype(float)
    summer_t, winter_t = thresholds_mw(d, month)
    thr = np.where(np.isin(month, SUMMER_APPLIES), summer_t, winter_t)
    gap = thr - d
    weight = 1.0 / (hours_per_year[year_id] * len(years))
    l_mw = headroom_exact(gap, weight, rates_arr)
    points = []
    for r, L in zip(rates_arr, l_mw):
        cur = gap < L
        excess = np.where(cur, L - gap, 0.0)
        hours_y = np.bincount(year_id, weights=cur.astype(float), minlength=len(years))
        mwh_y = np.bincount(year_id, weights=excess, minlength=len(years))
        trans, runs = _events(cur, year_id)
        ch = float(hours_y.mean())
        points.append(HeadroomPoint(
            rate=float(r), headroom_mw=float(L), curtailed_hours_per_year=ch,
            mean_event_hours=float(hours_y.sum() / trans.sum()) if trans.sum() else 0.0,
            mean_run_hours=float(hours_y.sum() / runs.sum()) if runs.sum() else 0.0,
            curtailed_mwh_per_year=float(mwh_y.mean()),
        ))
    return HeadroomResult(tuple(points), tuple(int(y) for y in years), summer_t, winter_t, int(d.size))


def curtailment_rate(demand_mw: pd.Series, load_mw: float) -> float:
    """Mean-over-years curtailment rate of a flat load (the forward function; used to check)."""
    d = demand_mw.to_numpy(dtype=float)
    idx = pd.DatetimeIndex(demand_mw.index)
    month = idx.month.to_numpy()
    summer_t, winter_t = thresholds_mw(d, month)
    thr = np.where(np.isin(month, SUMMER_APPLIES), summer_t, winter_t)
    excess = np.maximum(0.0, d + load_mw - thr)
    per_year = pd.Series(excess).groupby(idx.year.to_numpy()).agg(["sum", "size"])
    return float((per_year["sum"] / (load_mw * per_year["size"])).mean())


def read_demand_csv(path: str) -> pd.Series:
    """Read ``timestamp,demand_mw`` (ISO 8601, hourly) into a Series; every problem listed."""
    from pathlib import Path

    from offtake.errors import ProblemCollector
    from offtake.scenario.bounds import DEFAULT_BOUNDS, check_series
    from offtake.scenario.io import _read_csv, parse_timestamps

    p = Path(path)
    name = p.name
    if not p.is_file():
        raise InputError(f"{path}: file not found")
    pc = ProblemCollector()
    df = _read_csv(p, name, pc)
    pc.raise_if_any(f"{path} cannot be read")
    assert df is not None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("timestamp", "demand_mw") if c not in df.columns]
    if missing:
        raise InputError(f"{name}, line 1: missing column(s) {missing}; expected header 'timestamp,demand_mw' (demand in MW)")
    index = parse_timestamps(df["timestamp"], "UTC", name, pc)
    tz: object = "UTC"
    if index is not None:  # every timestamp parsed: show results in the first row's own offset
        first = str(df["timestamp"].iloc[0]).strip()
        if _has_offset(first):
            tz = pd.Timestamp(first).tz or "UTC"
    num = pd.to_numeric(df["demand_mw"], errors="coerce")
    for i in np.flatnonzero(num.isna().to_numpy())[:10]:
        pc.add(name, "demand is missing or not a number", int(i) + 2, "demand_mw", df["demand_mw"].iloc[i])
    for i in np.flatnonzero((num < 0).to_numpy())[:10]:
        pc.add(name, "negative demand [MW must be >= 0]", int(i) + 2, "demand_mw", df["demand_mw"].iloc[i])
    for i in np.flatnonzero(~np.isfinite(num.fillna(0).to_numpy()))[:10]:
        pc.add(name, "infinite demand", int(i) + 2, "demand_mw", df["demand_mw"].iloc[i])
    bounds = {"demand_mw": DEFAULT_BOUNDS["demand_mw"]}
    check_series(pd.DataFrame({"demand_mw": num.where(num >= 0)}), name, "demand_mw", bounds, pc, overridable=False)
    pc.raise_if_any(f"{path} is not a valid hourly demand series")
    assert index is not None
    series = pd.Series(num.to_numpy(float), index=index.tz_convert(tz), name="demand_mw")  # type: ignore[arg-type]
    month = pd.DatetimeIndex(series.index).month
    missing = [w for w, months in (("summer (May-Sep)", SUMMER_PEAK_MONTHS), ("winter (Nov-Mar)", WINTER_PEAK_MONTHS))
               if not np.isin(month, months).any()]
    if missing:
        raise InputError(f"{name}: its {len(series):,} hours ({series.index[0]:%Y-%m-%d} to {series.index[-1]:%Y-%m-%d}) "
                         f"have none in the {' or the '.join(missing)} peak window; headroom needs hours in both "
                         "(a full year is best)")
    return series


def _has_offset(text: str) -> bool:
    import re

    return re.search(r"(?:Z|[+-]\d{2}:?\d{2})$", text) is not None
