"""Rebuild pakistan_outline.geojson from Natural Earth 1:50m admin-0 countries (by hand, once).

Source: the npm package ``world-atlas`` 2.0.2 (``countries-50m.json``, a TopoJSON of Natural
Earth 4.1.0 admin-0 boundaries; Natural Earth is public domain, the package ISC). Get it with
``npm pack world-atlas@2.0.2`` and run::

    python -m offtake.report.geo.build_outline path/to/countries-50m.json

It keeps Pakistan and its neighbours clipped to the map's box, simplifies to 0.02 degrees
(about 2 km) and rounds coordinates to 0.001 degrees. Not run at report time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shapely.geometry import box, mapping, shape

KEEP = {"586": "Pakistan", "004": "Afghanistan", "364": "Iran", "356": "India", "156": "China"}
BOX = (59.0, 22.5, 80.0, 38.5)  # lon_min, lat_min, lon_max, lat_max
OUT = Path(__file__).with_name("pakistan_outline.geojson")


def _arcs(topo: dict) -> list[list[tuple[float, float]]]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:  # delta-encoded, quantised
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        out.append(pts)
    return out


def _ring(arcs: list[list[tuple[float, float]]], idx: list[int]) -> list[tuple[float, float]]:
    pts: list[tuple[float, float]] = []
    for i in idx:
        seg = arcs[i] if i >= 0 else arcs[~i][::-1]
        pts.extend(seg if not pts else seg[1:])
    return pts


def build(topo_path: Path) -> dict:
    topo = json.loads(topo_path.read_text())
    arcs = _arcs(topo)
    clip = box(*BOX)
    features = []
    for g in topo["objects"]["countries"]["geometries"]:
        if g.get("id") not in KEEP:
            continue
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        geom = shape({"type": "MultiPolygon", "coordinates": [[_ring(arcs, r) for r in p] for p in polys]})
        geom = geom.buffer(0).intersection(clip).simplify(0.02, preserve_topology=True)
        if geom.is_empty:
            continue
        gj = json.loads(json.dumps(mapping(geom)), parse_float=lambda s: round(float(s), 3))
        features.append({"type": "Feature", "properties": {"name": KEEP[g["id"]], "iso_n3": g["id"]}, "geometry": gj})
    return {"type": "FeatureCollection", "features": features,
            "properties": {"source": "Natural Earth 1:50m admin-0 countries v4.1.0 via world-atlas 2.0.2",
                           "licence": "public domain (Natural Earth)"}}


if __name__ == "__main__":  # pragma: no cover - a build step, run by hand
    OUT.write_text(json.dumps(build(Path(sys.argv[1])), separators=(",", ":")))
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")
