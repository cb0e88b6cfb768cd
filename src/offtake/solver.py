"""Run HiGHS through linopy quietly and return typed status."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def silence_stdout() -> Iterator[None]:
    """Silence C-level writes to stdout (HiGHS prints a banner when it starts)."""
    fd = 1  # the process's real stdout, even when rich or pytest has replaced sys.stdout
    try:
        sys.stdout.flush()
        os.fstat(fd)
    except (AttributeError, ValueError, OSError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def solve_quietly(model: Any, **options: Any) -> tuple[str, str]:
    """``model.solve('highs', io_api='direct')`` without console noise; returns (status, condition)."""
    opts = {"output_flag": False, "log_to_console": False, **options}
    with silence_stdout():
        status, cond = model.solve("highs", io_api="direct", **opts)
    return str(status), str(cond)
