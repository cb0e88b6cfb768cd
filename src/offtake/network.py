"""Small helpers for the region/corridor graph shared by surplus and planning."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from offtake.scenario.schema import Scenario

if TYPE_CHECKING:
    import xarray as xr


def incidence(scenario: Scenario) -> tuple[xr.DataArray, xr.DataArray]:
    """(from, to) incidence matrices over (line, region): 1 where a line leaves/enters a region."""
    import xarray as xr  # here, not at import: `offtake assess` never needs xarray

    regions = np.array(scenario.region_names, dtype=object)
    lines = scenario.lines
    frm = lines["from_region"].to_numpy(dtype=object)[:, None] == regions[None, :]
    to = lines["to_region"].to_numpy(dtype=object)[:, None] == regions[None, :]
    coords = {"line": list(lines.index), "region": list(regions)}
    return (xr.DataArray(frm.astype(float), coords=coords, dims=("line", "region")),
            xr.DataArray(to.astype(float), coords=coords, dims=("line", "region")))


def cut_capacities(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Every non-empty subset S of regions and the loss-adjusted capacity into S [MW].

    Returns ``(members, cap_in)`` with ``members`` a boolean (n_subsets, n_regions) array
    and ``cap_in`` the MW that can be delivered into S across its boundary (each line's
    capacity towards S times ``1 - loss_pu``).  Used for max-flow/min-cut bounds; the
    number of subsets is 2**n - 1, so this is for small region graphs (n <= 14).
    """
    names = scenario.region_names
    n = len(names)
    pos = {r: i for i, r in enumerate(names)}
    members = ((np.arange(1, 2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
    cap_in = np.zeros(len(members))
    for _, ln in scenario.lines.iterrows():
        a, b = pos[ln["from_region"]], pos[ln["to_region"]]
        keep = 1.0 - float(ln["loss_pu"])
        into_b = members[:, b] & ~members[:, a]  # forward flow a->b enters S
        into_a = members[:, a] & ~members[:, b]
        cap_in += into_b * float(ln["capacity_forward_mw"]) * keep + into_a * float(ln["capacity_backward_mw"]) * keep
    return members, cap_in


def max_hostable_mw(local_surplus_mw: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Largest new load each region could take on its own, hour by hour [MW].

    By the max-flow/min-cut theorem (Gale's supply-demand form), a load ``x`` at region r
    is deliverable iff for every set S of regions containing r,
    ``x <= cap_in(S) + sum_{i in S} surplus_i``.  So the answer is the minimum of that
    bound over all S containing r (floored at zero).  Exact for lossless corridors; with
    losses, capacities are counted as delivered MW, which is exact for a single hop.
    """
    names = scenario.region_names
    if len(names) > 14:
        raise ValueError("cut enumeration is limited to 14 regions")
    members, cap_in = cut_capacities(scenario)
    s = local_surplus_mw[names].to_numpy().T  # (region, time)
    bound = members.astype(float) @ s + cap_in[:, None]  # (subset, time)
    out = np.empty_like(s)
    for i in range(len(names)):  # loop over regions (<=14), vectorised over subsets and hours
        out[i] = bound[members[:, i]].min(axis=0)
    return pd.DataFrame(np.maximum(out.T, 0.0), index=local_surplus_mw.index, columns=names)


__all__ = ["cut_capacities", "incidence", "max_hostable_mw"]
