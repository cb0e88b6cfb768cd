"""The report's tables as a reader wants them: words and units in the headers, rounded values.

``human(frame, columns)`` picks, renames and formats columns with the formatters below;
``csv_text(frame)`` is the CSV form of any result table (named first column, values
rounded to 6 significant figures).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from offtake.report.labels import column_label, flex_label

Fmt = Callable[[Any], str]


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, (str, bool, np.bool_)):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def sig3(x: float) -> str:
    """Three significant figures with thousands separators (money: 'claim what you can')."""
    if abs(x) < 0.005 or not math.isfinite(x):  # rounding noise is zero, never "-0" or 1.2e-13
        return "0" if math.isfinite(x) else "-"
    mag = math.floor(math.log10(abs(x)))
    return f"{round(x, 2 - mag):,.{max(0, 2 - mag)}f}"


def f_mw(v: Any) -> str:
    """MW to 10 from 100 MW up (what a regional figure can claim), else to 1."""
    x = _num(v)
    if x is None:
        return "-"
    return f"{round(x, -1):,.0f}" if abs(x) >= 100 else f"{x:,.0f}"


def f_gwh(v: Any) -> str:
    """MWh -> GWh, whole GWh from 10 GWh up."""
    x = _num(v)
    if x is None:
        return "-"
    if abs(x) < 50:  # below 0.05 GWh: zero at this precision (no "-0.0")
        return "0"
    return f"{x / 1e3:,.0f}" if abs(x) >= 1e4 else f"{x / 1e3:,.1f}"


def f_musd(v: Any) -> str:
    x = _num(v)
    return "-" if x is None else sig3(x / 1e6)


def f_pct(v: Any) -> str:
    x = _num(v)
    return "-" if x is None else f"{x:.0%}" if abs(x) >= 0.095 or x == 0 else f"{x:.1%}"


def f_prob(v: Any) -> str:
    """A probability in percent (never a bare 1 or 0.9975)."""
    x = _num(v)
    return "-" if x is None else f"{x * 100:.0f} %" if 0.005 <= x <= 0.995 or x in (0.0, 1.0) else f"{x * 100:.1f} %"


def f_irr(v: Any) -> str:
    x = _num(v)
    if x is None or x <= -0.99:
        return "no IRR (never pays back)"
    return f"{x:.1%}"


def f_years(v: Any) -> str:
    x = _num(v)
    return "never" if x is None else f"{x:,.1f}"


def f_rs(v: Any) -> str:
    x = _num(v)
    return "none" if x is None else f"{x:,.2f}"


def f_hours(v: Any) -> str:
    x = _num(v)
    return "-" if x is None else f"{x:,.0f}"


def f_yes(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    return "-" if v is None else str(v)


def f_text(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else str(v)


def f_flex(v: Any) -> str:
    return flex_label(str(v))


def f_kt(v: Any) -> str:
    x = _num(v)
    return "-" if x is None else f"{x / 1e3 + 0.0:,.0f}" if abs(x) >= 500 else ("-" if x is None else "0")


def f_t_per_mwh(v: Any) -> str:
    x = _num(v)
    return "-" if x is None else f"{x:.2f}"


def human(frame: pd.DataFrame, columns: Sequence[tuple[str, str | None, Fmt]], index: tuple[str, Fmt] | None = None) -> pd.DataFrame:
    """A display frame: (column, header or None for the default label, formatter) in order.

    ``index``: (header, formatter) to turn the index into the first column.
    """
    out = {}
    if index is not None:
        out[index[0]] = [index[1](v) for v in frame.index]
    for col, header, fmt in columns:
        if col not in frame.columns:
            continue
        out[header or column_label(col)] = [fmt(v) for v in frame[col]]
    return pd.DataFrame(out)


def round_sig(values: np.ndarray, sig: int = 6) -> np.ndarray:
    """Round each value to ``sig`` significant figures (vectorised; NaN and 0 unchanged)."""
    x = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    mag = np.where(np.isfinite(mag), mag, 0)
    scale = 10.0 ** (sig - 1 - mag)
    return np.where(np.isfinite(x) & (x != 0), np.round(x * scale) / scale, x)


def csv_text(frame: pd.DataFrame, sig: int = 6) -> str:
    """CSV with a named first column and floats to ``sig`` significant figures."""
    df = frame.copy()
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]):
            df[c] = round_sig(df[c].to_numpy(), sig)
    index_is_range = isinstance(df.index, pd.RangeIndex) and df.index.name is None
    if index_is_range:
        return df.to_csv(index=False)
    if isinstance(df.index, pd.MultiIndex):
        names = [n or f"level_{i}" for i, n in enumerate(df.index.names)]
        df.index = df.index.set_names(names)
    elif df.index.name is None:
        df.index.name = "name"
    return df.to_csv()


# --- the report's tables ------------------------------------------------------------------

def capacity_table(cap: pd.DataFrame) -> pd.DataFrame:
    """Region x flex type [MW] with a total column."""
    out = {"region": [str(r) for r in cap.index]}
    for c in cap.columns:
        out[f"{flex_label(str(c))} [MW]"] = [f_mw(v) for v in cap[c]]
    out["total [MW]"] = [f_mw(v) for v in cap.sum(axis=1)]
    return pd.DataFrame(out)


def at_least_table(at_least: pd.DataFrame) -> pd.DataFrame:
    """Columns p50_mw ... -> 'MW in 50 % of hours'."""
    out = {"region": [str(r) for r in at_least.index]}
    for c in at_least.columns:
        pct = str(c).removeprefix("p").removesuffix("_mw")
        out[f"MW available in {pct} % of hours"] = [f_mw(v) for v in at_least[c]]
    return pd.DataFrame(out)


def flex_table(flex: pd.DataFrame) -> pd.DataFrame:
    return human(flex, [("kind", "kind", f_text), ("capacity_mw", "sited [MW]", f_mw),
                        ("energy_mwh_per_year", "energy drawn [GWh/yr]", f_gwh),
                        ("curtailed_hours_per_year", "curtailed [h/yr]", f_hours),
                        ("curtailment_rate", "energy curtailed [%]", f_pct)], index=("load type", f_flex))


def generation_table(gen: pd.DataFrame) -> pd.DataFrame:
    return human(gen, [("capacity_mw", "installed [MW]", f_mw), ("before_mwh_per_year", "without flexible load [GWh/yr]", f_gwh),
                       ("after_mwh_per_year", "with flexible load [GWh/yr]", f_gwh), ("extra_mwh_per_year", "extra [GWh/yr]", f_gwh),
                       ("extra_cost_usd_per_year", "extra fuel and O&M cost [M USD/yr]", f_musd),
                       ("utilisation_before", "utilisation before [%]", f_pct),
                       ("utilisation_after", "utilisation after [%]", f_pct)], index=(gen.index.name or "technology", f_text))


def investor_table(inv: pd.DataFrame) -> pd.DataFrame:
    frame = inv.set_index("name") if "name" in inv.columns else inv
    out = _investor(frame)
    if "mw" in frame.columns:  # a type the plan did not site: its 1 MW reference figures are not a site's
        unsited = (pd.to_numeric(frame["mw"], errors="coerce").fillna(0.0) <= 0.5).to_numpy()
        for col in ("uptime [%]", "NPV [M USD]", "IRR [%/yr]", "payback [years]", "pays at this tariff"):
            if col in out.columns:
                out.loc[unsited, col] = "-"
        out.loc[unsited, "MW"] = "not sited"
    return out


def _investor(frame: pd.DataFrame) -> pd.DataFrame:
    return human(frame, [("mw", "MW", f_mw), ("uptime_share", "uptime [%]", f_pct),
                         ("revenue_usd_per_mwh", "revenue [USD/MWh]", lambda v: f_rs(v)),
                         ("npv_usd", "NPV [M USD]", f_musd), ("irr_per_year", "IRR [%/yr]", f_irr),
                         ("payback_years", "payback [years]", f_years),
                         ("breakeven_tariff_pkr_per_kwh", "break-even tariff [Rs/kWh]", f_rs),
                         ("pays_at_tariff", "pays at this tariff", f_yes)], index=("load type", f_flex))


SYSTEM_ROWS = [
    ("tariff_pkr_per_kwh", "tariff [Rs/kWh]", f_rs), ("mw", "flexible load [MW]", f_mw),
    ("mwh_per_year", "energy drawn [GWh/yr]", f_gwh),
    ("extra_generation_cost_usd_per_year", "extra generation cost [M USD/yr]", f_musd),
    ("energy_cost_pkr_per_kwh", "energy cost caused [Rs/kWh]", f_rs),
    ("contribution_usd_per_year", "contribution to capacity charges [M USD/yr]", f_musd),
    ("other_consumers_change_pkr_per_kwh", "other consumers' average tariff change [Rs/kWh]", lambda v: _signed(v, 100, ".2f")),
    ("industrial_change_share", "  as share of the industrial tariff [%]", lambda v: _signed(v, 1000, ".1%")),
    ("full_cost_pkr_per_kwh", "full cost, the IMF test [Rs/kWh]", f_rs),
    ("recovers_full_cost", "tariff recovers full cost", f_yes),
    ("window_lower_pkr_per_kwh", "viable tariff window, lower end [Rs/kWh]", f_rs),
    ("window_upper_pkr_per_kwh", "viable tariff window, upper end [Rs/kWh]", f_rs),
]


def _signed(v: Any, scale: float, spec: str) -> str:
    """A signed figure; what rounds to zero is shown as 0, never -0.00."""
    x = _num(v)
    if x is None:
        return "-"
    if round(x * scale) == 0:
        return format(0.0, spec)
    return format(x, "+" + spec)


def system_table(system_frame: pd.DataFrame) -> pd.DataFrame:
    """The system view: one row per figure, in words with units."""
    col = system_frame.columns[0]
    vals = system_frame[col]
    rows = []
    empty = bool(vals.get("window_is_empty", False))
    for key, label, fmt in SYSTEM_ROWS:
        if key not in vals.index:
            continue
        if key.startswith("window_") and empty:
            continue
        rows.append((label, fmt(vals[key])))
    if empty:
        rows.append(("viable tariff window", "empty"))
    return pd.DataFrame(rows, columns=["figure", "value"])


def risk_table(rf: pd.DataFrame) -> pd.DataFrame:
    return human(rf, [("mean_usd", "mean NPV [M USD]", f_musd), ("p10_usd", "P10 [M USD]", f_musd),
                      ("p50_usd", "P50 [M USD]", f_musd), ("p90_usd", "P90 [M USD]", f_musd),
                      ("prob_loss", "probability of loss", f_prob), ("cvar95_usd", "CVaR 95 % loss [M USD]", f_musd)],
                 index=("load type", f_flex))


def emissions_table(by_fuel: pd.DataFrame) -> pd.DataFrame:
    """Fuels whose generation changes (|extra| >= 0.05 GWh/yr); the others add nothing."""
    if "extra_mwh_per_year" in by_fuel.columns:
        by_fuel = by_fuel[by_fuel["extra_mwh_per_year"].abs() >= 50]
    return human(by_fuel, [("extra_mwh_per_year", "extra generation [GWh/yr]", f_gwh),
                           ("t_per_mwh", "emission factor [tCO2/MWh]", f_t_per_mwh),
                           ("extra_tco2_per_year", "extra CO2 [kt/yr]", f_kt), ("source", "source", f_text)],
                 index=("fuel", f_text))
