"""CLI command modules.  Each module defines ``register(app: typer.Typer) -> None``.

To add a command: create ``offtake/commands/<name>.py`` with a ``register`` function
and add its module name to ``MODULES`` (one line).
"""

from __future__ import annotations

import importlib

import typer

MODULES: list[str] = [
    "run",
    "assess",
    "headroom",
    "plan",
    "value",
    "risk",
    "sweep",
    "deal",
    "compare",
    "serve",
    "agent",
    "scenario",
    "signals",
    "sandbox",
]


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(f"offtake.commands.{name}").register(app)
