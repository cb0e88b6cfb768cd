"""`offtake compare DIR1 DIR2`: what changed between two runs."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from offtake.commands._common import console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command("compare")
    @handle_errors
    def compare_cmd(
        before: Path = typer.Argument(..., help="Output folder of the first run (holds summary.json)."),
        after: Path = typer.Argument(..., help="Output folder of the second run."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        match: str = typer.Option("", "--match", help="Only figures whose key or label contains this text (e.g. 'npv')."),
        anyway: bool = typer.Option(False, "--anyway", help="Compare runs of different resolution, days or scenario "
                                    "(refused otherwise: their differences are not caused by an input)."),
    ) -> None:
        """What changed between two runs: MW, tariffs, NPVs (like-for-like runs only)."""
        from rich.markup import escape
        from rich.table import Table

        from offtake.compare import compare, format_change, format_value, read_summary
        from offtake.errors import InputError

        res = compare(read_summary(before), read_summary(after))
        real = [m for m in res.mismatches if "no provenance" not in m]
        if real and not anyway:
            raise InputError(f"{before} and {after} are not like-for-like runs ({'; '.join(real)}): figures would differ "
                             "for that reason alone. Rerun one with the other's options (see its run.yaml), or pass "
                             "--anyway to compare them regardless")
        frame = res.changed
        if match:
            m = match.lower()
            frame = frame[frame["key"].str.lower().str.contains(m, regex=False)
                          | frame["figure"].str.lower().str.contains(m, regex=False)]
        if as_json:
            typer.echo(res.to_json())
            return
        for m in res.mismatches:
            console.print(f"[bold yellow]not like for like:[/] {escape(m)}")
        tab = Table(title=f"{before} -> {after}: {len(frame)} figures changed, {res.unchanged} unchanged",
                    caption="%: relative change; pp: percentage points (for probabilities and shares)")
        tab.add_column("figure", overflow="fold", ratio=3)
        tab.add_column("unit", overflow="fold")
        for c in ("before", "after", "change"):
            tab.add_column(c, justify="right", no_wrap=True)
        tab.add_column("%", justify="right", no_wrap=True)
        for _, r in frame.iterrows():
            kind = r["change_kind"]
            pct = r["change_percent"]
            has_pct = pct is not None and not math.isnan(pct)
            tab.add_row(escape(str(r["figure"])), escape(str(r["unit"])), format_value(r["before"], kind),
                        format_value(r["after"], kind), format_change(r["change"], kind),
                        f"{pct:+.1f}%" if has_pct else "-")
        console.print(tab)
        if res.only_before or res.only_after:
            console.print(f"only in {before}: {len(res.only_before)} figures; only in {after}: {len(res.only_after)} figures",
                          style="dim")
