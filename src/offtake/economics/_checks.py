"""Input checks shared by the economics functions.

Each check converts its input to a float numpy array and raises one
:class:`~offtake.errors.InputError` that names the argument, the rule and the
offending value, so a bad number never turns into a silent NaN further down.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from offtake.errors import InputError

FloatArray = NDArray[np.float64]


def _first_bad(arr: FloatArray, bad: NDArray[np.bool_]) -> Any:
    return arr[bad].flat[0] if arr.ndim else arr.item()


def as_array(name: str, value: ArrayLike, *, min_value: float | None = None,
             strict: bool = False, max_value: float | None = None) -> FloatArray:
    """Return ``value`` as a finite float array, checked against the bounds.

    ``min_value`` is inclusive unless ``strict`` is true; ``max_value`` is inclusive.
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a number or an array of numbers (got {value!r})") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{name} must be finite (got {_first_bad(arr, bad)})")
    if min_value is not None:
        bad = arr <= min_value if strict else arr < min_value
        if bad.any():
            op = ">" if strict else ">="
            raise InputError(f"{name} must be {op} {min_value:g} (got {_first_bad(arr, bad):g})")
    if max_value is not None:
        bad = arr > max_value
        if bad.any():
            raise InputError(f"{name} must be <= {max_value:g} (got {_first_bad(arr, bad):g})")
    return arr


def out(arr: FloatArray) -> Any:
    """Return a 0-d result as a Python float, anything else unchanged."""
    return float(arr) if np.ndim(arr) == 0 else arr
