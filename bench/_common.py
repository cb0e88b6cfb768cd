"""Shared benchmark helpers: machine info and appending a JSON line of figures."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results.jsonl")


def machine() -> dict[str, object]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}


def record(name: str, figures: dict[str, object]) -> dict[str, object]:
    line = {"bench": name, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **machine(), **figures}
    text = json.dumps(line)
    print(text)
    with open(RESULTS, "a") as fh:
        fh.write(text + "\n")
    return line
