"""Shared benchmark helpers: machine info and appending a JSON line of figures."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).with_name("results.jsonl")


def machine() -> dict[str, object]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "loadavg_1m": round(os.getloadavg()[0], 2)}


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time [s] of ``fn()`` over ``repeat`` runs after ``warmup`` untimed runs, and all runs.

    Every side of a comparison is timed with this one function, so both are warm and repeated alike.
    """
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs


def record(name: str, figures: dict[str, object]) -> dict[str, object]:
    line = {"bench": name, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **machine(), **figures}
    text = json.dumps(line)
    print(text)
    with open(RESULTS, "a") as fh:
        fh.write(text + "\n")
    return line


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, timeout_s: float) -> None:
    """Wait until the service on 127.0.0.1:port answers /healthz with 200 (RuntimeError after timeout_s)."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")
