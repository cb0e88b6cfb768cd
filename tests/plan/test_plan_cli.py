"""`offtake plan` end to end on small inputs (exit codes, files, export)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offtake.cli import app


@pytest.mark.filterwarnings("ignore")
def test_plan_cli_writes_results_and_matching_pypsa(tmp_path: Path) -> None:
    from offtake.plan.pypsa_io import optimize_network
    from offtake.scenario import export_scenario

    # the built-in scenario with mining valued by override at its first-year revenue (93.76 USD/MWh,
    # 329,200 USD/MW-yr), a value at which sites pay, so the 50 MW cap binds
    folder = export_scenario("pakistan-2025", tmp_path / "pk")
    flex = (folder / "flex_loads.csv").read_text().splitlines()
    flex[0] += ",value_usd_per_mwh,capex_usd_per_mw_year"
    flex = [flex[0]] + [line + (",93.76,329200" if line.startswith("bitcoin_mining,") else ",,")
                        for line in flex[1:]]
    (folder / "flex_loads.csv").write_text("\n".join(flex) + "\n")
    out, nc = tmp_path / "out", tmp_path / "net.nc"
    res = CliRunner().invoke(app, ["plan", "--scenario", str(folder), "--days", "12", "--resolution", "1h",
                                   "--out", str(out), "--export-pypsa", str(nc), "--cap-mw", "50"])
    assert res.exit_code == 0, res.output
    assert "Flexible MW by region and type" in res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_flex_mw"] == pytest.approx(50, rel=1e-6)  # the cap binds: ~98 MW would pay
    assert summary["unserved_mwh"] == 0.0
    for name in ("capacity_mw.csv", "sites.csv", "price_usd_per_mwh.csv", "plan_price_duration.png",
                 "plan_dispatch_summer_week.png", "plan_dispatch_winter_week.png"):
        assert (out / name).stat().st_size > 0
    import pandas as pd

    free = pd.read_csv(out / "free_energy_by_fuel.csv")
    assert list(free.columns) == ["region", "fuel", "kind", "baseline_mwh_per_year", "with_flex_mwh_per_year"]
    assert set(free["kind"]) <= {"curtailed", "spilled", "take_or_pay"}
    mix = pd.read_csv(out / "generation_by_fuel.csv")
    assert list(mix.columns) == ["fuel", "baseline_mwh_per_year", "with_flex_mwh_per_year"]
    assert list(mix["fuel"]) == ["hydro", "nuclear", "rlng", "gas", "coal_local", "coal_imported", "oil", "wind",
                                 "solar", "bagasse"]
    # annualised: about the scenario's 127 TWh a year although only 12 days were solved
    assert 120e6 < mix["baseline_mwh_per_year"].sum() < 135e6
    assert mix["with_flex_mwh_per_year"].sum() > mix["baseline_mwh_per_year"].sum()  # the 50 MW draw
    import pypsa

    n = pypsa.Network(str(nc))
    assert optimize_network(n) == pytest.approx(summary["objective"], rel=1e-6)


def test_plan_cli_bad_input_exit_2(tmp_path: Path) -> None:
    for args in (["--resolution", "5h"], ["--resolution", "abc"], ["--days", "7"], ["--cap-mw", "-5"],
                 ["--export-pypsa", str(tmp_path / "x.txt")], ["--scenario", str(tmp_path / "none")]):
        res = CliRunner().invoke(app, ["plan", "--out", str(tmp_path / "o"), *args])
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output
    assert not (tmp_path / "o").exists()
