"""Defaults every command shares (a light module: the CLI imports it before any heavy stage).

- ``DEFAULT_RESOLUTION``: hours per plan snapshot for `run`, `plan`, `value` and `risk`.
- ``DEFAULT_SEED``: the Monte Carlo seed of `run` and `risk` (same seed, same numbers).
"""

DEFAULT_RESOLUTION = "3h"
DEFAULT_SEED = 20251125
