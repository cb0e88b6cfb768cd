"""Map outlines shipped with the package (see README.md here for source and licence)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np


@lru_cache(maxsize=1)
def outlines() -> tuple[tuple[str, tuple[np.ndarray, ...]], ...]:
    """(country name, exterior rings as (n, 2) lon/lat arrays) for Pakistan and its neighbours."""
    data = json.loads((resources.files("offtake.report.geo") / "pakistan_outline.geojson").read_text())
    out = []
    for f in data["features"]:
        g = f["geometry"]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        out.append((f["properties"]["name"], tuple(np.asarray(p[0], dtype=float) for p in polys)))
    return tuple(out)


def covers(lon: np.ndarray, lat: np.ndarray) -> bool:
    """True when every point lies inside the outlines' box (the map is of Pakistan)."""
    return bool(np.all((lon >= 59) & (lon <= 80) & (lat >= 22.5) & (lat <= 38.5)))


#: where a neighbour's name is written (lon, lat): inside that country and inside the map box
LABEL_AT = {"Afghanistan": (65.5, 34.6), "Iran": (61.0, 31.8), "India": (76.5, 28.0), "China": (77.8, 36.9)}
