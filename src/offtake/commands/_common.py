"""Helpers shared by CLI commands: one console, one error handler."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from offtake.errors import OfftakeError, OutputError, describe_os_error

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
        except OSError as exc:  # the file system said no: a path to fix, not a bug (exit 2)
            err_console.print(f"[bold red]error:[/] {escape(describe_os_error(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except Exception as exc:  # noqa: BLE001  (a bug, not bad input: say so briefly; the traceback on request)
            import os
            import traceback

            if os.environ.get("OFFTAKE_DEBUG"):
                traceback.print_exc()
            err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                              "This is a bug in Offtake; set OFFTAKE_DEBUG=1 to see the traceback and please report it.",
                              highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write a file through a temporary sibling and rename, so no half-written file is left.

    The temporary file is removed when writing fails; an OSError becomes an
    :class:`~offtake.errors.OutputError` (exit 2) naming the path.
    """
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"cannot write {p}: a folder of that name is in the way")
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    mode = "wb" if isinstance(data, bytes) else "w"
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, mode) as fh:
            fh.write(data)
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(describe_os_error(exc, "write")) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def output_dir(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Stage a command's whole output in a temporary folder beside ``out``; all or nothing.

    Yields the staging folder; write every output file into it.  When the block ends
    without an exception the staged files move into ``out`` (a rename of the whole
    folder when ``out`` does not exist yet, else one rename per file after checking that
    nothing is in the way).  On any exception the staging folder is removed and ``out``
    is left exactly as it was.  File-system failures raise :class:`OutputError` (exit 2).
    """
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise OutputError(f"--out {target}: exists and is not a folder")
    parent = target.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        staged.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the result gets the usual mode
    except OSError as exc:
        raise OutputError(f"--out {target}: {describe_os_error(exc, 'create')}") from None
    try:
        yield staged
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    try:
        _move_into_place(staged, target)
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise OutputError(f"--out {target}: {describe_os_error(exc, 'write')}") from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def _move_into_place(staged: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staged, target)
        return
    files = sorted(p for p in staged.rglob("*") if not p.is_dir())
    blocked = [target / f.relative_to(staged) for f in files if (target / f.relative_to(staged)).is_dir()]
    blocked += [target / d.relative_to(staged) for d in staged.rglob("*")
                if d.is_dir() and (target / d.relative_to(staged)).exists() and not (target / d.relative_to(staged)).is_dir()]
    if blocked:
        shown = ", ".join(str(b) for b in blocked[:5]) + (f" and {len(blocked) - 5} more" if len(blocked) > 5 else "")
        raise OutputError(f"--out {target}: cannot write {shown}: something of that name is in the way "
                          "(a folder where a file goes, or a file where a folder goes); nothing was written")
    for f in files:
        dest = target / f.relative_to(staged)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, dest)
    shutil.rmtree(staged, ignore_errors=True)


def write_files(out: str | os.PathLike[str], files: dict[str, bytes | str]) -> list[Path]:
    """Write ``{name: data}`` into folder ``out`` all or nothing (see :func:`output_dir`)."""
    with output_dir(out) as staged:
        for name, data in files.items():
            write_atomic(staged / name, data)
    return [Path(out) / name for name in files]


def is_tty() -> bool:
    return sys.stdout.isatty()
