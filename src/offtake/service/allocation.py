"""Allocation of each region's surplus to its sites: a pure, vectorised numpy function.

Rule (per region, for available power ``A`` [MW]):

1. Every site's contracted MW splits into a *firm* block ``contracted * (1 - s)`` and an
   *interruptible* block ``contracted * s`` (``s`` = interruptible share).
2. Blocks are served in merit order of the key ``(tier, priority)``: all firm blocks
   before any interruptible block; within a tier, lower ``priority`` numbers first.
3. Blocks with the same key share what is left pro rata to their size.
4. The sum of a region's setpoints never exceeds ``A`` (negative ``A`` counts as 0).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from offtake.errors import InputError


def allocate(available_mw_by_region: ArrayLike, region_index: ArrayLike,
             contracted_mw: ArrayLike, interruptible_share: ArrayLike,
             priority: ArrayLike) -> NDArray[np.float64]:
    """Setpoint per site [MW].

    Parameters
    ----------
    available_mw_by_region : (R,) float [MW] surplus each region may hand out.
    region_index : (N,) int in ``0..R-1``, the region of each site.
    contracted_mw : (N,) float >= 0 [MW].
    interruptible_share : (N,) float in [0, 1] [unitless].
    priority : (N,) int; 1 is served before 2.

    Returns
    -------
    (N,) float [MW], each in ``[0, contracted_mw]``.
    """
    avail = np.clip(np.nan_to_num(np.asarray(available_mw_by_region, dtype=np.float64),
                                  nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)
    region = np.asarray(region_index, dtype=np.int64)
    cap = np.asarray(contracted_mw, dtype=np.float64)
    share = np.asarray(interruptible_share, dtype=np.float64)
    prio = np.asarray(priority, dtype=np.int64)
    _check(avail, region, cap, share, prio)
    n = cap.size
    if n == 0:
        return np.zeros(0)

    # 2N blocks: firm (tier 0) then interruptible (tier 1)
    block_mw = np.concatenate([cap * (1.0 - share), cap * share])
    block_region = np.concatenate([region, region])
    block_tier = np.repeat([0, 1], n)
    block_prio = np.concatenate([prio, prio])
    order = np.lexsort((block_prio, block_tier, block_region))
    r, t, p, mw = block_region[order], block_tier[order], block_prio[order], block_mw[order]

    # groups of equal (region, tier, priority), in merit order inside each region
    new_group = np.ones(mw.size, dtype=bool)
    new_group[1:] = (r[1:] != r[:-1]) | (t[1:] != t[:-1]) | (p[1:] != p[:-1])
    starts = np.flatnonzero(new_group)
    group_mw = np.add.reduceat(mw, starts)
    group_region = r[starts]
    # demand of the groups served before each group, within its own region
    cum = np.cumsum(group_mw)
    region_first = np.ones(starts.size, dtype=bool)
    region_first[1:] = group_region[1:] != group_region[:-1]
    region_offset = np.maximum.accumulate(np.where(region_first, cum - group_mw, 0.0))
    before = cum - group_mw - region_offset
    left = np.clip(avail[group_region] - before, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fraction = np.where(group_mw > 0, np.minimum(left / group_mw, 1.0), 0.0)

    group_of_block = np.cumsum(new_group) - 1
    served = np.empty_like(mw)
    served[order] = mw * fraction[group_of_block]
    setpoint = served[:n] + served[n:]
    return _trim(setpoint, region, avail, cap)


def _trim(setpoint: NDArray[np.float64], region: NDArray[np.int64],
          avail: NDArray[np.float64], cap: NDArray[np.float64]) -> NDArray[np.float64]:
    """Remove floating-point overshoot so no region exceeds its signal, no site its contract."""
    setpoint = np.minimum(np.clip(setpoint, 0.0, None), cap)
    for _ in range(8):  # rounding can leave a sum a few ulps above the signal
        total = np.bincount(region, weights=setpoint, minlength=avail.size)
        over = total > avail
        if not over.any():
            break
        scale = np.ones_like(avail)
        scale[over] = avail[over] / total[over] * (1.0 - 1e-12)
        setpoint = setpoint * scale[region]
    return setpoint


def _check(avail: NDArray[np.float64], region: NDArray[np.int64], cap: NDArray[np.float64],
           share: NDArray[np.float64], prio: NDArray[np.int64]) -> None:
    n = cap.size
    problems: list[str] = []
    if avail.ndim != 1:
        problems.append("available_mw_by_region must be one-dimensional")
    for name, arr in (("region_index", region), ("interruptible_share", share),
                      ("priority", prio)):
        if arr.shape != (n,):
            problems.append(f"{name} has shape {arr.shape}, expected ({n},) like contracted_mw")
    if problems:
        raise InputError("allocation inputs do not line up: " + "; ".join(problems))
    if n and (region.min() < 0 or region.max() >= avail.size):
        problems.append(f"region_index must lie in 0..{avail.size - 1}")
    if not np.all(np.isfinite(cap)) or np.any(cap < 0):
        problems.append("contracted_mw must be finite and >= 0")
    if not np.all(np.isfinite(share)) or np.any((share < 0) | (share > 1)):
        problems.append("interruptible_share must lie in [0, 1]")
    if problems:
        raise InputError("bad allocation inputs: " + "; ".join(problems))
