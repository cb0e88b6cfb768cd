"""`offtake compare DIR1 DIR2`: what changed between two runs."""

from __future__ import annotations

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
        match: str = typer.Option("", "--match", help="Only keys containing this text (e.g. 'capacity_mw')."),
    ) -> None:
        """What changed between two runs: MW, tariffs, NPVs."""
        from rich.table import Table

        from offtake.compare import compare, read_summary

        res = compare(read_summary(before), read_summary(after))
        frame = res.changed
        if match:
            frame = frame[frame["key"].str.contains(match, regex=False)]
        if as_json:
            typer.echo(res.to_json())
            return
        tab = Table(title=f"{before} -> {after}: {len(frame)} figures changed, {res.unchanged} unchanged")
        for c in ("figure", "before", "after", "change", "%"):
            tab.add_column(c, justify="left" if c == "figure" else "right")

        def fmt(v: object) -> str:
            if v is None or (isinstance(v, float) and v != v):
                return "-"
            return f"{v:,.4g}" if isinstance(v, float) else str(v)

        for _, r in frame.iterrows():
            pct = r["change_percent"]
            style = None if pct is None or pct != pct else ("green" if pct > 0 else "red")
            tab.add_row(r["key"], fmt(r["before"]), fmt(r["after"]), fmt(r["change"]),
                        "-" if pct is None or pct != pct else f"{pct:+.1f}%", style=style)
        console.print(tab)
        if res.only_before or res.only_after:
            console.print(f"only in {before}: {len(res.only_before)} figures; only in {after}: {len(res.only_after)} figures", style="dim")
