"""The CLI end to end: assess, headroom, scenario; bad input gives a message and exit 2, no traceback."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from offtake.cli import app
from offtake.scenario.tiny import GENERATORS_CSV, write_tiny_scenario

runner = CliRunner()


def test_assess_builtin_writes_results(tmp_path):
    out = tmp_path / "assess"
    res = runner.invoke(app, ["assess", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "NATIONAL" in res.output and "PUNJAB_C" in res.output
    summary = json.loads((out / "surplus_summary.json").read_text())
    assert summary["hours"] == 8760
    assert summary["national"]["p95_mw"] <= summary["national"]["p50_mw"]
    for name in ("surplus_duration_curves.png", "surplus_heatmaps.png", "surplus_by_region.png", "surplus_hourly.csv", "headroom_by_region.csv"):
        assert (out / name).stat().st_size > 1000, name
    hourly = pd.read_csv(out / "surplus_hourly.csv")
    assert len(hourly) == 8760 and "NATIONAL" in hourly.columns
    assert not list(out.glob(".*tmp*"))


def test_assess_bad_scenario_exit_2_lists_problems(tmp_path):
    folder = write_tiny_scenario(tmp_path / "bad", {"generators.csv": GENERATORS_CSV.replace(",600,", ",-600,")})
    out = tmp_path / "never"
    res = runner.invoke(app, ["assess", "--scenario", str(folder), "--out", str(out)])
    assert res.exit_code == 2
    assert "generators.csv, line 3, column 'capacity_mw'" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_scenario_validate_and_export(tmp_path):
    res = runner.invoke(app, ["scenario", "validate", "pakistan-2025"])
    assert res.exit_code == 0 and "7 regions" in res.output
    res = runner.invoke(app, ["scenario", "export", "pakistan-2025", str(tmp_path / "pk")])
    assert res.exit_code == 0
    assert runner.invoke(app, ["scenario", "validate", str(tmp_path / "pk")]).exit_code == 0
    res = runner.invoke(app, ["scenario", "validate", str(tmp_path / "nothing-here")])
    assert res.exit_code == 2 and "neither a folder" in res.output


def _csv(tmp_path, demand, start="2019-01-01T00:00:00+05:00"):
    idx = pd.date_range(start, periods=len(demand), freq="h")
    p = tmp_path / "d.csv"
    pd.DataFrame({"timestamp": idx.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d\d)(\d\d)$", r"\1:\2", regex=True), "demand_mw": demand}).to_csv(p, index=False)
    return p


def test_headroom_json(tmp_path):
    rng = np.random.default_rng(0)
    n = 24 * 365 * 3
    t = np.arange(n)
    d = 10000 + 3000 * np.sin(2 * np.pi * (t / 24 / 365.25 - 0.29)) + 800 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 150, n)
    res = runner.invoke(app, ["headroom", str(_csv(tmp_path, d)), "--rates", "0.25,0.5,1,5", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert list(data["rates"]) == ["0.25", "0.5", "1", "5"]
    assert data["years"] == [2019, 2020, 2021]
    h = [data["rates"][k]["headroom_mw"] for k in data["rates"]]
    assert h == sorted(h) and h[0] > 0
    table = runner.invoke(app, ["headroom", str(_csv(tmp_path, d))])
    assert table.exit_code == 0 and "headroom [MW]" in table.output


def test_headroom_bad_inputs(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("timestamp,load\n2020-01-01T00:00:00Z,5\n")
    res = runner.invoke(app, ["headroom", str(p)])
    assert res.exit_code == 2 and "demand_mw" in res.output
    p.write_text("timestamp,demand_mw\n2020-01-01T00:00:00Z,5\n2020-01-01T01:00:00Z,nan\n2020-01-01T03:00:00Z,-1\n")
    res = runner.invoke(app, ["headroom", str(p)])
    assert res.exit_code == 2
    assert "line 3" in res.output and "gap of 2 h" in res.output and "negative demand" in res.output
    res = runner.invoke(app, ["headroom", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "file not found" in res.output
    res = runner.invoke(app, ["headroom", str(p), "--rates", "abc"])
    assert res.exit_code == 2 and "--rates" in res.output
    assert "Traceback" not in res.output
