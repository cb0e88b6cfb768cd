"""Solve a built model with HiGHS through linopy and report a typed status."""

from __future__ import annotations

import contextlib
import io
import logging
import time
from dataclasses import dataclass
from enum import StrEnum

import linopy

from offtake.solver import silence_stdout

from offtake.errors import SolverError


class SolveStatus(StrEnum):
    """Outcome of one solve."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    OTHER = "other"


@dataclass(frozen=True)
class SolveResult:
    """What a solve returned.  ``objective_usd`` is NaN unless ``is_ok``."""

    status: SolveStatus
    termination: str
    objective_usd: float
    solve_s: float

    @property
    def is_ok(self) -> bool:
        return self.status is SolveStatus.OPTIMAL


_MAP = {
    "optimal": SolveStatus.OPTIMAL,
    "infeasible": SolveStatus.INFEASIBLE,
    "unbounded": SolveStatus.UNBOUNDED,
    "infeasible_or_unbounded": SolveStatus.INFEASIBLE_OR_UNBOUNDED,
}


def solve(model: linopy.Model, *, io_api: str = "direct", quiet: bool = True,
          **solver_options: object) -> SolveResult:
    """Solve ``model`` in place with HiGHS; fills ``model.solution`` and ``model.dual``.

    Raises :class:`SolverError` only when HiGHS itself fails (not for infeasibility;
    callers inspect ``status``).
    """
    opts = {"output_flag": not quiet, "log_to_console": not quiet}
    opts.update(solver_options)
    t0 = time.perf_counter()
    sink = io.StringIO()
    logger = logging.getLogger("linopy")
    level = logger.level
    try:
        if quiet:
            logger.setLevel(logging.ERROR)
        with (contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext()), \
                (silence_stdout() if quiet else contextlib.nullcontext()):  # HiGHS's banner is C-level output
            _status, condition = model.solve(solver_name="highs", io_api=io_api, **opts)
    except Exception as exc:
        raise SolverError(f"HiGHS failed: {exc}") from exc
    finally:
        logger.setLevel(level)
    elapsed = time.perf_counter() - t0
    status = _MAP.get(str(condition), SolveStatus.OTHER)
    objective = float(model.objective.value) if status is SolveStatus.OPTIMAL else float("nan")
    return SolveResult(status=status, termination=str(condition), objective_usd=objective, solve_s=elapsed)


__all__ = ["SolveResult", "SolveStatus", "solve"]
