"""Compare two runs: what changed between DIR1/summary.json and DIR2/summary.json."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from offtake.errors import InputError


@dataclass(frozen=True)
class Comparison:
    changed: pd.DataFrame  # key, before, after, change, change_percent
    only_before: tuple[str, ...]
    only_after: tuple[str, ...]
    unchanged: int

    def to_frame(self) -> pd.DataFrame:
        return self.changed

    def to_json(self) -> str:
        return json.dumps({"changed": self.changed.to_dict(orient="records"), "only_before": list(self.only_before),
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


def compare(before: dict[str, Any], after: dict[str, Any], rel_tol: float = 1e-9) -> Comparison:
    a, b = flatten(before), flatten(after)
    rows = []
    same = 0
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        if isinstance(x, bool) or isinstance(y, bool) or not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
            if x != y:
                rows.append({"key": key, "before": x, "after": y, "change": None, "change_percent": None})
            else:
                same += 1
            continue
        if math.isclose(x, y, rel_tol=rel_tol, abs_tol=1e-12):
            same += 1
            continue
        pct = (y - x) / abs(x) * 100 if x else None
        rows.append({"key": key, "before": x, "after": y, "change": y - x, "change_percent": pct})
    frame = pd.DataFrame(rows, columns=["key", "before", "after", "change", "change_percent"])
    return Comparison(frame, tuple(sorted(set(a) - set(b))), tuple(sorted(set(b) - set(a))), same)
