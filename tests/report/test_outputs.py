"""What users read and reuse (issue 16): provenance stamp, run.yaml round trip, compare of
unlike runs, the same tables from run as from plan, a workbook, rounded CSVs, one default per
option, help texts that render whole, and tables that never cut a number at 80 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from offtake.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def run1(tiny_run) -> Path:
    """The session's run at Rs 10/kWh (tests/report/conftest.py); it also exported the plan to
    PyPSA (``../net.nc``, read by test_run_exports_pypsa) instead of a second identical run."""
    return tiny_run.out


def _figures(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("timings_s", "provenance")}


def test_summary_and_footer_carry_the_provenance_stamp(run1, tiny) -> None:
    from offtake.provenance import scenario_checksum

    p = json.loads((run1 / "summary.json").read_text())["provenance"]
    for key in ("offtake_version", "git_commit", "python", "linopy", "highspy", "pandas", "seed", "resolution_h",
                "days", "scenario_path", "scenario_sha256", "command_line"):
        assert key in p, key
    assert p["resolution_h"] == 1 and p["days"] is None and p["seed"] == 20251125
    assert p["scenario_sha256"] == scenario_checksum(Path(tiny)) and len(p["scenario_sha256"]) == 64
    assert p["linopy"] and p["highspy"] and p["pandas"]
    html = (run1 / "report.html").read_text()
    footer = html[html.index("<footer"):]
    assert p["scenario_sha256"][:12] in footer and "linopy" in footer and "1-hour steps" in footer
    # the disclaimer is on the first screen: before the first section
    assert html.index("Synthetic data") < html.index('<section id="summary"')


def test_run_yaml_reruns_the_same_job(run1, tmp_path) -> None:
    cfg = yaml.safe_load((run1 / "run.yaml").read_text())
    assert cfg["resolution"] == "1h" and cfg["paths"] == 300 and cfg["seed"] == 20251125 and cfg["tariff"] == 10
    out2 = tmp_path / "two"
    res = runner.invoke(app, ["run", "--config", str(run1 / "run.yaml"), "--out", str(out2)])
    assert res.exit_code == 0, res.output
    a, b = (json.loads((d / "summary.json").read_text()) for d in (run1, out2))
    assert _figures(a) == _figures(b)  # same numbers, bit for bit
    assert a["provenance"]["scenario_sha256"] == b["provenance"]["scenario_sha256"]
    cfg2 = yaml.safe_load((out2 / "run.yaml").read_text())
    assert {k: v for k, v in cfg2.items() if k != "out"} == {k: v for k, v in cfg.items() if k != "out"}
    assert cfg2["out"] == str(out2)  # the command line wins over the file
    cmp = runner.invoke(app, ["compare", str(run1), str(out2)])
    # the line wraps at the console width, where depends on the paths' length: compare words
    assert cmp.exit_code == 0 and "0 figures changed" in " ".join(cmp.output.split()), cmp.output


def test_bad_config_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "run.yaml"
    bad.write_text("resolution: 1h\nbogus: 3\n")
    res = runner.invoke(app, ["run", "--config", str(bad), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "unknown key bogus" in res.output and not (tmp_path / "x").exists()
    bad.write_text("resolution: [1h\n")
    res = runner.invoke(app, ["run", "--config", str(bad), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "not valid YAML" in res.output and "line" in res.output


def test_compare_refuses_runs_of_different_resolution(run1, tiny, tmp_path) -> None:
    out2 = tmp_path / "coarse"
    res = runner.invoke(app, ["run", "--scenario", str(tiny), "--out", str(out2), "--resolution", "2h", "--paths", "300",
                              "--tariff", "10"])
    assert res.exit_code == 0, res.output
    cmp = runner.invoke(app, ["compare", str(run1), str(out2)])
    assert cmp.exit_code == 2 and "not like-for-like" in cmp.output and "resolution" in cmp.output
    cmp = runner.invoke(app, ["compare", str(run1), str(out2), "--anyway"])
    assert cmp.exit_code == 0 and "not like for like: resolution [h per snapshot]: 1 vs 2" in cmp.output
    data = json.loads(runner.invoke(app, ["compare", str(run1), str(out2), "--json", "--anyway"]).output)
    assert data["comparable"] is False


def test_compare_tariff_change_reads_like_a_report(run1, tiny_run_tariff_8) -> None:
    out2 = tiny_run_tariff_8.out  # the same job at Rs 8/kWh, its scenario in another folder
    from offtake.commands import _common

    old = _common.console.width
    _common.console.width = 200
    try:
        cmp = runner.invoke(app, ["compare", str(run1), str(out2)])
    finally:
        _common.console.width = old
    assert cmp.exit_code == 0, cmp.output
    text = cmp.output
    assert "tariff" in text and "Rs/kWh" in text and "10.00" in text and "8.00" in text
    assert "timings" not in text and "provenance" not in text  # not figures of the result
    assert not re.search(r"\d\.\d+e[+-]\d", text)  # no scientific notation
    assert "value.loads" not in text  # labels, not dotted keys
    data = json.loads(runner.invoke(app, ["compare", str(run1), str(out2), "--json"]).output)
    keys = [r["key"] for r in data["changed"]]
    assert len(keys) == len(set(keys))
    assert not any(k.endswith(".mwh_per_year") and k.startswith("plan.by_type") for k in keys)  # energy once
    probs = [r for r in data["changed"] if r["key"].endswith("prob_loss")]
    for r in probs:  # a probability changes in percentage points, never in relative %
        assert r["change_kind"] == "pp" and r["change_percent"] is None


def test_run_writes_plans_tables_workbook_and_rounded_csvs(run1) -> None:
    import pandas as pd

    names = {p.name for p in run1.iterdir()}
    plan_tables = {"capacity_mw.csv", "sites.csv", "by_type.csv", "generation_by_fuel.csv", "consumption_mw.csv",
                   "dispatch_mw.csv", "flow_mw.csv", "price_usd_per_mwh.csv", "unserved_mw.csv", "weight_h.csv"}
    assert plan_tables <= names
    assert {"plan_mw_by_region.png", "plan_price_duration.png", "plan_siting_map.png"} <= names
    assert {"run.yaml", "tables.xlsx", "emissions_by_fuel.csv"} <= names
    csvs = sorted(p for p in run1.glob("*.csv"))
    sheets = pd.ExcelFile(run1 / "tables.xlsx").sheet_names
    assert sorted(sheets) == sorted(p.stem[:31] for p in csvs)
    for f in csvs:
        header = f.read_text().splitlines()[0].split(",")
        assert header[0] != "", f"{f.name}: empty first header"
    for name in ("value_investor.csv", "risk_npv.csv", "surplus_available_at_least.csv", "emissions_by_fuel.csv"):
        if not (run1 / name).exists():  # risk_npv.csv only when the plan sites a load
            continue
        for cell in re.findall(r"-?\d+\.\d+", (run1 / name).read_text()):
            digits = cell.lstrip("-").replace(".", "").strip("0")
            assert len(digits) <= 6, f"{name}: {cell} has more than 6 significant figures"


def test_run_exports_pypsa(run1, tiny, tmp_path) -> None:
    nc = run1.parent / "net.nc"  # written by the run1 fixture's --export-pypsa
    assert yaml.safe_load((run1 / "run.yaml").read_text())["export_pypsa"] == str(nc)
    import pypsa

    n = pypsa.Network(str(nc))
    assert len(n.buses) >= 2 and len(n.generators) >= 3
    res = runner.invoke(app, ["run", "--scenario", str(tiny), "--out", str(tmp_path / "p"), "--export-pypsa", "x.txt"])
    assert res.exit_code == 2 and ".nc" in res.output and not (tmp_path / "p").exists()


def test_one_default_per_option() -> None:
    import typer.main

    from offtake.defaults import DEFAULT_RESOLUTION, DEFAULT_SEED

    cli = typer.main.get_command(app)
    for name in ("run", "plan", "value", "risk"):
        params = {p.name: p for p in cli.commands[name].params}  # type: ignore[attr-defined]
        assert params["resolution"].default == DEFAULT_RESOLUTION, name
    for name in ("run", "risk"):
        params = {p.name: p for p in cli.commands[name].params}  # type: ignore[attr-defined]
        assert params["seed"].default == DEFAULT_SEED, name
    risk = {p.name: p for p in cli.commands["risk"].params}  # type: ignore[attr-defined]
    assert {"scenario", "plan_dir", "out"} <= set(risk) and "-o" in risk["out"].opts
    assert risk["tariff"].default is None  # the scenario's tariff


def test_help_texts_render_whole() -> None:
    """Every option's help text appears in --help as written (no '[default: ...]' or '[h]' eaten as markup)."""
    import typer.main

    cli = typer.main.get_command(app)
    for name, cmd in cli.commands.items():  # type: ignore[attr-defined]
        if getattr(cmd, "commands", None):
            continue  # groups (scenario): their subcommands are checked by their owners
        out = runner.invoke(app, [name, "--help"], env={"COLUMNS": "400"}).output
        flat = " ".join(out.replace("│", " ").split())
        for p in cmd.params:
            if getattr(p, "help", None):
                assert " ".join(p.help.split()) in flat, f"offtake {name} {p.opts}: help text mangled"


def _at_80(args: list[str]) -> str:
    from offtake.commands import _common

    old = _common.console.width
    _common.console.width = 80
    try:
        res = runner.invoke(app, args)
    finally:
        _common.console.width = old
    assert res.exit_code == 0, res.output
    for line in res.output.splitlines():
        assert "…" not in line, f"{args[0]}: a cell was cut: {line!r}"
        assert len(line) <= 80, f"{args[0]}: line wider than 80 columns: {line!r}"
    return res.output


def test_tables_never_cut_numbers_at_80_columns(run1, tiny, tmp_path) -> None:
    plan_out = tmp_path / "plan"
    text = _at_80(["plan", "--scenario", str(tiny), "--out", str(plan_out), "--no-plots", "-r", "1h"])
    summary = json.loads((plan_out / "summary.json").read_text())
    for reg, row in summary["capacity_mw"].items():
        for mw in row.values():
            assert f"{mw:,.1f}" in text, (reg, mw)
    text = _at_80(["risk", "--scenario", str(tiny), "--plan-dir", str(plan_out), "--paths", "200", "--months", "12",
                   "--no-tornado"])
    assert "Bitcoin mining" in text or "mining" in text
    _at_80(["risk", "--bitcoin-mw", "1234.5", "--aidc-mw", "150", "--paths", "200", "--months", "12", "--no-tornado"])
    _at_80(["value", "--scenario", str(tiny), "--plan-dir", str(plan_out), "-o", str(tmp_path / "v")])
    _at_80(["assess", "--scenario", str(tiny), "--out", str(tmp_path / "a"), "--no-plots"])
    _at_80(["compare", str(run1), str(run1)])
    demand = tmp_path / "demand.csv"
    import numpy as np
    import pandas as pd

    t = pd.date_range("2025-01-01", periods=8760, freq="h", tz="UTC")
    pd.DataFrame({"timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "demand_mw": 1000 + 300 * np.sin(np.arange(8760) / 24 * 2 * np.pi)}).to_csv(demand, index=False)
    text = _at_80(["headroom", str(demand)])
    assert "[h/yr]" in text and "h per start/stop" in text  # units kept, terms defined in the caption


def test_risk_table_keeps_big_numbers_whole_at_80_columns() -> None:
    text = _at_80(["risk", "--bitcoin-mw", "1234.5", "--aidc-mw", "150", "--paths", "200", "--months", "12",
                   "--no-tornado"])
    assert "1,234" in text or "1,235" in text  # the MW figure, not '1…'


def test_readme_quick_start_is_two_commands_and_the_command_table_is_one_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert [ln.split("#")[0].strip() for ln in quick.strip().splitlines()] == ["bash scripts/run.sh", "bash scripts/test.sh"]
    table = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in table.strip().splitlines()]
    start = rows.index("| command | what it does |")
    body = rows[start:]
    end = next((i for i, ln in enumerate(body) if not ln.startswith("|")), len(body))
    assert all(ln.startswith("|") for ln in body[:end]) and end >= 10  # no blank line splits the table
    assert not any(ln.startswith("| `offtake") for ln in body[end:])
    assert (Path(__file__).resolve().parents[2] / "docs" / "quickstart-users.md").is_file()


def test_sweep_docs_and_help_agree_on_workers() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "sweep.md").read_text()
    out = runner.invoke(app, ["sweep", "--help"], env={"COLUMNS": "400"}).output
    assert "default: the number of CPUs" in docs and "default: the number of CPUs" in out
