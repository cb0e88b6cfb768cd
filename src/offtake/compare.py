"""Compare two runs: what changed between DIR1/summary.json and DIR2/summary.json.

Only figures are compared: the provenance stamp decides whether the two runs are like for
like (same resolution, representative days and scenario checksum); solver and stage
timings are left out. Each figure gets a label in words with its unit; a probability's
change is in percentage points, money in million USD.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from offtake.errors import InputError
from offtake.report.labels import flex_label, key_label

# keys that are not results: never listed as "figures changed"
SKIP_PREFIXES = ("timings_s", "provenance", "plan.timings_s", "emissions.by_fuel",
                 # the same figure again, in another place or currency
                 "value.system.tariff_pkr_per_kwh", "value.system.tariff_usd_per_mwh", "value.system.mw",
                 "value.system.mwh_per_year", "value.system.contribution_pkr_per_year",
                 "value.system.extra_generation_cost_usd_per_year")
# the same figure stored twice in summary.json: compare it once
DUPLICATE_KEYS = ("mwh_per_year",)  # plan.by_type.*.mwh_per_year repeats energy_mwh_per_year

COMPARABLE = (("resolution_h", "resolution [h per snapshot]"), ("days", "representative days"),
              ("scenario_sha256", "scenario checksum"))


@dataclass(frozen=True)
class Comparison:
    changed: pd.DataFrame  # key, figure, unit, before, after, change, change_percent, change_kind
    only_before: tuple[str, ...]
    only_after: tuple[str, ...]
    unchanged: int
    mismatches: tuple[str, ...] = ()  # what makes the runs not like for like (empty = comparable)

    def to_frame(self) -> pd.DataFrame:
        return self.changed

    def to_json(self) -> str:
        records = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                   for r in self.changed.to_dict(orient="records")]  # valid JSON: no NaN
        return json.dumps({"comparable": not self.mismatches, "mismatches": list(self.mismatches),
                           "changed": records, "only_before": list(self.only_before),
                           "only_after": list(self.only_after), "unchanged": self.unchanged}, indent=2)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys; lists are skipped unless short lists of numbers."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, list):
        if len(data) <= 12 and all(isinstance(v, (int, float)) for v in data):
            for i, v in enumerate(data):
                out[f"{prefix}[{i}]"] = v
    else:
        out[prefix] = data
    return out


def read_summary(folder: str | Path) -> dict[str, Any]:
    path = Path(folder)
    f = path / "summary.json" if path.is_dir() else path
    if not f.is_file():
        raise InputError(f"{path}: no summary.json here; give the --out folder of an `offtake run`")
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{f}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{f}: expected a JSON object at the top level")
    return data


def mismatches(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    """What differs in how the two runs were made (resolution, days, scenario); empty if like for like."""
    pa, pb = before.get("provenance"), after.get("provenance")
    if not isinstance(pa, dict) or not isinstance(pb, dict):
        return ("a run has no provenance stamp (made by an older Offtake): resolution and scenario unknown",)
    out = []
    for key, label in COMPARABLE:
        if pa.get(key) != pb.get(key):
            x, y = pa.get(key), pb.get(key)
            if key == "scenario_sha256":
                x, y = (str(x)[:12] if x else x), (str(y)[:12] if y else y)
            out.append(f"{label}: {x} vs {y}")
    return tuple(out)


def _skip(key: str) -> bool:
    if any(key == p or key.startswith(p + ".") for p in SKIP_PREFIXES):
        return True
    return key.startswith("plan.by_type.") and key.rsplit(".", 1)[-1] in DUPLICATE_KEYS


def _kind(key: str) -> str:
    """How to show a change: 'pp' for probabilities and shares, 'musd' for money, 'plain'."""
    leaf = key.rsplit(".", 1)[-1]
    if leaf.startswith("prob_") or leaf.endswith("_share") or leaf in ("curtailment_rate", "utilisation_before",
                                                                         "utilisation_after", "irr_per_year"):
        return "pp"
    if leaf.endswith(("_usd", "_usd_per_year", "_pkr_per_year")) or leaf == "objective":
        return "musd"
    if leaf.endswith("_pkr_per_kwh"):
        return "rs"
    if leaf.endswith(("_mwh", "_mwh_per_year")) and not leaf.endswith("_per_mwh"):
        return "gwh"
    if leaf.endswith("tco2_per_year"):
        return "kt"
    return "plain"


# words for the leaf keys a summary holds (the unit comes from _kind or the key's suffix)
LEAF_WORDS = {
    "npv_usd": "NPV", "mean_usd": "mean NPV", "p10_usd": "P10 NPV", "p50_usd": "P50 NPV", "p90_usd": "P90 NPV",
    "prob_loss": "probability of loss", "irr_per_year": "IRR", "mw": "MW", "total_mw": "flexible load sited",
    "energy_mwh_per_year": "energy drawn", "curtailed_hours_per_year": "hours curtailed per year",
    "curtailment_rate": "share of energy curtailed", "breakeven_tariff_pkr_per_kwh": "break-even tariff",
    "pays_at_tariff": "pays at the tariff", "objective": "plan objective (system cost minus flexible value)",
    "extra_generation_cost_usd_per_year": "extra generation cost per year", "unserved_mwh": "unserved household energy",
    "tariff_pkr_per_kwh": "tariff", "extra_tco2_per_year": "extra CO2 per year",
    "tco2_per_mwh_drawn": "CO2 per MWh drawn", "tco2_per_mwh_generated": "CO2 per MWh of extra generation",
    "other_consumers_change_pkr_per_kwh": "other consumers' average tariff change",
    "contribution_usd_per_year": "contribution to capacity charges per year",
    "contribution_pkr_per_year": "contribution to capacity charges per year",
    "full_cost_pkr_per_kwh": "full cost (IMF test)", "recovers_full_cost": "tariff recovers full cost",
    "uptime_share": "uptime",
    "average_ppp_change_share": "change of the average power purchase price",
    "industrial_change_share": "change of the industrial tariff",
    "window_upper_pkr_per_kwh": "viable tariff window, upper end",
    "window_lower_pkr_per_kwh": "viable tariff window, lower end",
    "energy_cost_pkr_per_kwh": "energy cost caused",
}
_UNIT_OF = {"_pkr_per_kwh": "Rs/kWh", "_usd_per_mwh": "USD/MWh", "_mw": "MW", "tco2_per_mwh_drawn": "t/MWh",
            "tco2_per_mwh_generated": "t/MWh", "_hours_per_year": "h/yr", "_pkr_per_year": "Rs/yr"}
_CONTAINERS = ("plan", "value", "loads", "system", "regions", "by_type", "capacity_mw", "surplus", "risk", "emissions")


def label(key: str) -> tuple[str, str]:
    """(figure in words, unit) for a dotted summary key."""
    parts = key.split(".")
    leaf = parts[-1]
    kind = _kind(key)
    if parts[:2] == ["plan", "capacity_mw"] and len(parts) == 4:
        return f"{flex_label(leaf)} sited in {parts[2]}", "MW"
    context = [flex_label(p) for p in parts[:-1] if p not in _CONTAINERS]
    unit = {"pp": "%", "musd": "M USD", "gwh": "GWh", "kt": "kt CO2"}.get(kind, "")
    if not unit:
        unit = next((u for suf, u in _UNIT_OF.items() if leaf.endswith(suf)), "")
    words = LEAF_WORDS.get(leaf)
    if words is None:
        words = key_label(leaf)
        words = words.partition(" [")[0]
    if kind == "musd" and leaf.endswith("_pkr_per_year"):
        unit = "M Rs"
    m = re.fullmatch(r"p(\d+)_mw", leaf)
    if m and parts[0] == "surplus":
        words = f"surplus available in {m.group(1)} % of hours"
    elif leaf == "mean_mw" and parts[0] == "surplus":
        words = "mean surplus"
    return " ".join([*context, words]).strip(), unit


def compare(before: dict[str, Any], after: dict[str, Any], rel_tol: float = 1e-9) -> Comparison:
    a = {k: v for k, v in flatten(before).items() if not _skip(k)}
    b = {k: v for k, v in flatten(after).items() if not _skip(k)}
    rows = []
    same = 0
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        fig, unit = label(key)
        if isinstance(x, bool) or isinstance(y, bool) or not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
            if x != y:
                rows.append({"key": key, "figure": fig, "unit": unit, "before": x, "after": y, "change": None,
                             "change_percent": None, "change_kind": _kind(key)})
            else:
                same += 1
            continue
        if math.isclose(x, y, rel_tol=rel_tol, abs_tol=1e-12):
            same += 1
            continue
        kind = _kind(key)
        pct = (y - x) / abs(x) * 100 if x and kind != "pp" else None
        rows.append({"key": key, "figure": fig, "unit": unit, "before": x, "after": y, "change": y - x,
                     "change_percent": pct, "change_kind": kind})
    frame = pd.DataFrame(rows, columns=["key", "figure", "unit", "before", "after", "change", "change_percent",
                                        "change_kind"])
    return Comparison(frame, tuple(sorted(set(a) - set(b))), tuple(sorted(set(b) - set(a))), same,
                      mismatches(before, after))


def format_value(v: Any, kind: str) -> str:
    """A figure as a reader reads it: no scientific notation, units already in the header."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if not isinstance(v, (int, float)):
        return str(v)
    x = float(v)
    if kind == "pp":
        return "none" if x <= -0.99 else f"{x * 100:,.1f}"  # IRR -100 %: never pays back
    if kind == "rs":
        return f"{x:,.2f}"
    if kind == "musd":
        x /= 1e6
    elif kind in ("gwh", "kt"):
        x /= 1e3
    if x == 0:
        return "0"
    digits = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2 if abs(x) >= 0.1 else 4
    return f"{x:,.{digits}f}"


def format_change(v: Any, kind: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    text = format_value(v, kind)
    text = text if text.startswith("-") or text == "0" else "+" + text
    return text + (" pp" if kind == "pp" else "")
