"""`offtake deal`: sweep the tariff designs' levels; only investors who would come are sited."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from offtake.commands._common import console, handle_errors, write_files


def _print(result: Any) -> None:
    from rich.table import Table

    from offtake.report.deal_section import DESIGN_LABEL

    table = Table(title=f"Deal space of {result.scenario} at {result.resolution} ({len(result.points)} points, "
                        f"{result.wall_s:.1f} s)")
    for col in ("design", "level", "MW", "contribution Rs bn/yr", "others Rs/kWh", "IMF test", "min NPV M USD"):
        table.add_column(col, justify="left" if col == "design" else "right")
    for p in result.points:
        table.add_row(DESIGN_LABEL.get(p.design, p.design), f"{p.level:g}", f"{p.total_mw:,.0f}",
                      f"{p.contribution_pkr_per_year / 1e9:,.2f}", f"{p.others_change_pkr_per_kwh:+.3f}",
                      "met" if p.imf_full_cost_met else "not met",
                      "" if p.total_mw < 0.5 else f"{p.min_npv_usd / 1e6:,.2f}")
    console.print(table)
    rec = result.recommended
    if rec is None:
        console.print("[bold]No design works[/]: no level brings investors who earn their hurdle rate and lowers "
                      "other consumers' tariffs.")
    else:
        console.print(f"[bold]Recommended[/]: {DESIGN_LABEL.get(rec.design, rec.design)} at {rec.level:g} "
                      f"{rec.level_units}: {rec.total_mw:,.0f} MW, others' tariff {rec.others_change_pkr_per_kwh:+.3f} Rs/kWh")


def register(app: typer.Typer) -> None:
    @app.command("deal")
    @handle_errors
    def deal(
        scenario: Annotated[str | None, typer.Option("--scenario", "-s", help="scenario folder or built-in name (default: pakistan-2025).")] = None,
        resolution: Annotated[str, typer.Option("--resolution", "-r", help="hours per plan snapshot (1h, 3h, ...)")] = "3h",
        days: Annotated[int | None, typer.Option("--days", help="representative days instead (a multiple of 12)")] = None,
        levels: Annotated[int, typer.Option("--levels", "-n", min=1, max=200, help="levels per design")] = 20,
        designs: Annotated[str, typer.Option("--designs", help="comma-separated: flat,surplus_indexed,revenue_share")] = "flat,surplus_indexed,revenue_share",
        floor: Annotated[float | None, typer.Option("--floor", help="surplus_indexed floor [Rs/kWh]")] = None,
        cap_mw: Annotated[float | None, typer.Option("--cap-mw", help="national programme cap [MW]")] = None,
        ke_regions: Annotated[str, typer.Option("--ke-regions", help="regions in K-Electric's own pool (space- or comma-separated; '' = none)")] = "KARACHI",
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="address of a running Dask scheduler; default: a LocalCluster")] = None,
        workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="LocalCluster worker processes (one design each)")] = min(3, os.cpu_count() or 1),
        serial: Annotated[bool, typer.Option("--serial", help="run in this process, without Dask")] = False,
        out: Annotated[Path, typer.Option("--out", "-o", help="folder for deal_space.csv, deal.json and the PNGs")] = Path("offtake-out/deal"),
    ) -> None:
        """Sweep each tariff design's level; per level the MW investors would build and what others pay."""
        from offtake.commands.plan import parse_resolution
        from offtake.commands.sweep import _connect
        from offtake.deal import DealOptions, run_deal
        from offtake.economics.designs import design_kind
        from offtake.errors import InputError
        from offtake.report import deal_section
        from offtake.scenario import load_scenario

        kinds = tuple(design_kind(d.strip()).value for d in designs.split(",") if d.strip())
        if not kinds:
            raise InputError("--designs: give at least one of flat, surplus_indexed, revenue_share")
        if floor is not None and floor < 0:
            raise InputError(f"--floor must be >= 0 Rs/kWh (got {floor})")
        if cap_mw is not None and cap_mw < 0:
            raise InputError(f"--cap-mw must be >= 0 (got {cap_mw})")
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out} exists and is not a folder")
        hours = parse_resolution(resolution) if days is None else 1
        sc = load_scenario(scenario)
        ke = tuple(r for r in ke_regions.replace(",", " ").split() if r)
        unknown = [r for r in ke if r not in sc.region_names]
        if unknown:
            raise InputError(f"--ke-regions: unknown region(s) {', '.join(unknown)}; regions: {', '.join(sc.region_names)}")
        opts = DealOptions(resolution_h=hours, days=days, programme_cap_mw=cap_mw, designs=kinds, n_levels=levels,
                           floor_pkr_per_kwh=floor, ke_regions=ke)
        if serial:
            result = run_deal(sc, opts)
        else:
            cluster, client = _connect(scheduler, workers, len(kinds), 10.0)
            try:
                result = run_deal(sc, opts, client=client)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
        _print(result)
        from offtake.report.decision import _clean

        with tempfile.TemporaryDirectory() as tmp:
            pngs = deal_section.write_pngs(result, Path(tmp))
            files: dict[str, bytes | str] = {p.name: p.read_bytes() for p in pngs}
        files["deal_space.csv"] = deal_section.points_table(result).to_csv(index=False)
        files["deal.json"] = json.dumps(_clean(result.decision()), indent=1)
        write_files(out, files)
        console.print(f"wrote {len(files)} files to [bold]{out}[/]")
