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

    out, nc = tmp_path / "out", tmp_path / "net.nc"
    res = CliRunner().invoke(app, ["plan", "--days", "12", "--resolution", "1h", "--out", str(out),
                                   "--export-pypsa", str(nc), "--cap-mw", "300"])
    assert res.exit_code == 0, res.output
    assert "Flexible MW by region and type" in res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_flex_mw"] == pytest.approx(300, rel=1e-6)  # the cap binds: more would pay
    assert summary["unserved_mwh"] == 0.0
    for name in ("capacity_mw.csv", "sites.csv", "price_usd_per_mwh.csv", "plan_price_duration.png",
                 "plan_dispatch_summer_week.png", "plan_dispatch_winter_week.png"):
        assert (out / name).stat().st_size > 0
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
