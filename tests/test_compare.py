"""offtake compare: changed figures between two run folders; bad folders are clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from offtake.cli import app
from offtake.compare import compare, flatten

runner = CliRunner()


def test_flatten_and_compare():
    a = {"plan": {"capacity_mw": {"SINDH": {"bitcoin_mining": 500.0}}, "total_mw": 500.0}, "name": "x", "years": [2025]}
    b = {"plan": {"capacity_mw": {"SINDH": {"bitcoin_mining": 800.0}}, "total_mw": 500.0}, "name": "y", "new": 1}
    assert flatten(a)["plan.capacity_mw.SINDH.bitcoin_mining"] == 500.0
    res = compare(a, b)
    row = res.changed.set_index("key").loc["plan.capacity_mw.SINDH.bitcoin_mining"]
    assert row["change"] == 300.0 and row["change_percent"] == 60.0
    assert "name" in set(res.changed["key"])
    assert res.only_before == ("years[0]",) and res.only_after == ("new",)
    assert res.unchanged == 1


def test_cli(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "summary.json").write_text(json.dumps({"value": {"npv_usd": 100.0}}))
    (tmp_path / "b" / "summary.json").write_text(json.dumps({"value": {"npv_usd": 80.0}}))
    res = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert "value.npv_usd" in res.output and "-20.0%" in res.output
    res = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"])
    assert json.loads(res.output)["changed"][0]["change"] == -20.0
    res = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "missing")])
    assert res.exit_code == 2 and "no summary.json" in res.output
    (tmp_path / "b" / "summary.json").write_text("{not json")
    res = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert res.exit_code == 2 and "not valid JSON" in res.output and "Traceback" not in res.output
