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
    assert "NPV" in res.output and "M USD" in res.output and "-20.0%" in res.output
    assert "value.npv_usd" not in res.output  # a label, not the dotted key
    assert "no provenance stamp" in res.output  # old summaries are flagged, not refused
    res = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"])
    assert json.loads(res.output)["changed"][0]["change"] == -20.0
    res = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "missing")])
    assert res.exit_code == 2 and "no summary.json" in res.output
    (tmp_path / "b" / "summary.json").write_text("{not json")
    res = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert res.exit_code == 2 and "not valid JSON" in res.output and "Traceback" not in res.output


def test_labels_units_and_percentage_points():
    from offtake.compare import format_change, format_value, label

    assert label("plan.capacity_mw.SINDH.bitcoin_mining") == ("Bitcoin mining sited in SINDH", "MW")
    assert label("risk.bitcoin_mining.prob_loss") == ("Bitcoin mining probability of loss", "%")
    assert label("value.loads.ai_training.npv_usd") == ("AI training NPV", "M USD")
    assert label("surplus.national.p95_mw") == ("national surplus available in 95 % of hours", "MW")
    a = {"risk": {"x": {"prob_loss": 0.40, "mean_usd": -5.0e8}}, "timings_s": {"plan": 1.0},
         "plan": {"by_type": {"x": {"energy_mwh_per_year": 1e6, "mwh_per_year": 1e6}}}}
    b = {"risk": {"x": {"prob_loss": 0.55, "mean_usd": -4.0e8}}, "timings_s": {"plan": 9.0},
         "plan": {"by_type": {"x": {"energy_mwh_per_year": 2e6, "mwh_per_year": 2e6}}}}
    res = compare(a, b).changed.set_index("key")
    assert "timings_s.plan" not in res.index  # solver timings are not figures
    assert "plan.by_type.x.mwh_per_year" not in res.index  # energy once
    p = res.loc["risk.x.prob_loss"]
    assert p["change_kind"] == "pp" and (p["change_percent"] is None or p["change_percent"] != p["change_percent"])
    assert format_change(p["change"], "pp") == "+15.0 pp"
    assert format_value(-5.0e8, "musd") == "-500" and "e" not in format_value(1.23e12, "musd")
    assert format_value(-0.9999, "pp") == "none"  # IRR of -100 %: never pays back


def test_mismatch_detects_resolution_days_and_scenario():
    from offtake.compare import mismatches

    p = {"resolution_h": 3, "days": None, "scenario_sha256": "a" * 64}
    assert mismatches({"provenance": p}, {"provenance": dict(p)}) == ()
    got = mismatches({"provenance": p}, {"provenance": {**p, "days": 12, "scenario_sha256": "b" * 64}})
    assert any("representative days: None vs 12" in m for m in got) and any("checksum" in m for m in got)
