"""Helpers shared by CLI commands: one console, one error handler."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from offtake.errors import OfftakeError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn an :class:`OfftakeError` into a clear message and its exit code (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OfftakeError as exc:
            err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug, not bad input: say so briefly; the traceback on request
            import os
            import traceback

            if os.environ.get("OFFTAKE_DEBUG"):
                traceback.print_exc()
            err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                              "This is a bug in Offtake; set OFFTAKE_DEBUG=1 to see the traceback and please report it.",
                              highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def write_atomic(path: "str | Any", data: bytes | str) -> None:
    """Write a file through a temporary sibling and rename, so no half-written file is left."""
    import os
    from pathlib import Path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode) as fh:
        fh.write(data)
    os.replace(tmp, p)


def is_tty() -> bool:
    return sys.stdout.isatty()
