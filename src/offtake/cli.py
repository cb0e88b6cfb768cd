"""The `offtake` command line: a thin shell over the stage functions.

Each command lives in ``offtake.commands.<name>`` and registers itself on the typer
app; heavy imports happen inside command bodies so `offtake --help` stays fast.
"""

from __future__ import annotations

import typer

from offtake.commands import register_all

app = typer.Typer(
    name="offtake",
    help="Plan, price and operate flexible loads on a power system's surplus electricity.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

register_all(app)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
