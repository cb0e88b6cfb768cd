"""Hostile input to the CLI: every bad input gets exit 2, a message naming the file, and nothing half-written.

Each test below reproduces one finding of issue 13 ("CLI: every bad input gets exit 2 ...")
that failed before the fix: "internal error ... this is a bug" (exit 1) with partial
files, RecursionError on deep YAML, an alias bomb eating memory, duplicate keys winning
silently, absurd magnitudes reaching the solver, a cascade of problems in the wrong file,
unserved demand exiting 0, and headroom's exit 1 on a garbage timestamp.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from offtake.cli import app
from offtake.scenario.tiny import write_tiny_scenario

runner = CliRunner()


def _invoke(*args: str):
    res = runner.invoke(app, list(args))
    assert "Traceback" not in res.output
    assert "internal error" not in res.output, res.output
    return res


def _tiny(tmp_path: Path, name: str = "sc") -> Path:
    return write_tiny_scenario(tmp_path / name)


def _set_cell(folder: Path, file: str, row: int, column: str, value: object) -> None:
    """Change one cell of a scenario CSV (row 0 = first data row = line 2)."""
    df = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
    df.loc[row, column] = str(value)
    df.to_csv(folder / file, index=False)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if "tmp" in p.name)


# ---------------------------------------------------------------- unreadable input, unwritable output

def _make_unreadable(path: Path) -> None:
    """A file that exists but cannot be read, also as root (root ignores mode 000)."""
    path.unlink()
    if os.geteuid() == 0:
        path.symlink_to("/proc/self/mem")  # open() succeeds, read() fails with EIO
    else:
        path.write_text("x")
        path.chmod(0)


def test_unreadable_scenario_file_exit_2_names_file(tmp_path):
    folder = _tiny(tmp_path)
    _make_unreadable(folder / "lines.csv")
    with pytest.raises(OSError):  # the fault is real
        (folder / "lines.csv").read_bytes()
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2, res.output
    assert "lines.csv: cannot read the file" in res.output


def test_unwritable_out_exit_2_nothing_written(tmp_path):
    folder = _tiny(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    res = _invoke("assess", "--scenario", str(folder), "--out", str(blocker / "sub"), "--no-plots")
    assert res.exit_code == 2, res.output
    assert "--out" in res.output and "cannot create" in res.output and "a-file" in res.output
    assert blocker.read_text() == "not a folder"
    assert _leftovers(tmp_path) == []


def test_folder_in_the_way_of_an_output_file_exit_2_nothing_written(tmp_path):
    folder = _tiny(tmp_path)
    out = tmp_path / "out"
    (out / "surplus_summary.json").mkdir(parents=True)
    (out / "keep.txt").write_text("mine")
    res = _invoke("assess", "--scenario", str(folder), "--out", str(out), "--no-plots")
    assert res.exit_code == 2, res.output
    assert "surplus_summary.json" in res.output and "in the way" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt", "surplus_summary.json"]  # no partial results
    assert _leftovers(tmp_path) == []


def test_failure_while_writing_leaves_no_partial_output(tmp_path, monkeypatch):
    """A writer that fails after some files are written: the whole output is discarded."""
    import offtake.commands.assess as assess_cmd

    folder = _tiny(tmp_path)
    out = tmp_path / "out"
    real = assess_cmd.write_atomic
    calls = []

    def flaky(path, data):
        calls.append(Path(path).name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(assess_cmd, "write_atomic", flaky)
    res = _invoke("assess", "--scenario", str(folder), "--out", str(out), "--no-plots")
    assert len(calls) == 3  # two files were written before the fault
    assert res.exit_code == 2, res.output
    assert "No space left on device" in res.output
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_successful_output_is_complete_and_clean(tmp_path):
    folder = _tiny(tmp_path)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "old.txt").write_text("kept")
    res = _invoke("assess", "--scenario", str(folder), "--out", str(out), "--no-plots")
    assert res.exit_code == 0, res.output
    names = {p.name for p in out.iterdir()}
    assert {"surplus_summary.json", "surplus_hourly.csv", "old.txt"} <= names
    assert _leftovers(tmp_path) == []


def test_output_dir_unit(tmp_path):
    from offtake.commands._common import output_dir
    from offtake.errors import OutputError

    target = tmp_path / "new"
    with pytest.raises(RuntimeError), output_dir(target) as staged:
        (staged / "a.csv").write_text("1")
        raise RuntimeError("boom")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with output_dir(target) as staged:
        (staged / "a.csv").write_text("1")
    assert (target / "a.csv").read_text() == "1"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="not a folder"), output_dir(tmp_path / "f"):
        pass


def test_scenario_file_that_is_a_folder(tmp_path):
    folder = _tiny(tmp_path)
    (folder / "demand.csv").unlink()
    (folder / "demand.csv").mkdir()
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2
    assert "demand.csv: is a folder" in res.output


# ---------------------------------------------------------------- YAML

def _yaml(tmp_path: Path, text: str) -> Path:
    folder = _tiny(tmp_path)
    (folder / "scenario.yaml").write_text(text)
    return folder


def test_deeply_nested_yaml_exit_2(tmp_path):
    folder = _yaml(tmp_path, "name: tiny\nyears: [2025]\ndescription: " + "[" * 50_000 + "]" * 50_000 + "\n")
    import yaml

    with pytest.raises(RecursionError):  # what the old loader did with this file
        yaml.safe_load((folder / "scenario.yaml").read_text())
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2
    assert "scenario.yaml, line 3: nested more than 32 levels deep" in res.output


def test_yaml_alias_bomb_refused_fast(tmp_path):
    lines = ["name: tiny", "years: [2025]", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10^9 leaves
    lines.append("description: *a8")
    folder = _yaml(tmp_path, "\n".join(lines) + "\n")
    t0 = time.perf_counter()
    res = _invoke("scenario", "validate", str(folder))
    assert time.perf_counter() - t0 < 10
    assert res.exit_code == 2
    assert "scenario.yaml, line 4: YAML alias '*a0' is not allowed" in res.output


def test_duplicate_yaml_key_names_line(tmp_path):
    folder = _tiny(tmp_path)
    text = (folder / "scenario.yaml").read_text()
    (folder / "scenario.yaml").write_text(text + "programme_cap_mw: 100\n")
    n = len(text.splitlines()) + 1
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("programme_cap_mw"))
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2
    assert f"scenario.yaml, line {n}: duplicate key 'programme_cap_mw' (first given on line {first})" in res.output


def test_huge_yaml_refused_before_reading(tmp_path):
    folder = _yaml(tmp_path, "name: tiny\nyears: [2025]\ndescription: '" + "x" * 2_000_000 + "'\n")
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2
    assert "YAML files above 1,000,000 bytes are refused" in res.output


def test_sweep_grid_and_agent_config_use_the_bounded_loader(tmp_path):
    from offtake.agent.config import load_config
    from offtake.errors import InputError
    from offtake.sweep import load_grid

    grid = tmp_path / "grid.yaml"
    grid.write_text("axes:\n  cap_mw: [1, 2]\naxes:\n  cap_mw: [3]\n")
    with pytest.raises(InputError, match="line 3: duplicate key 'axes'"):
        load_grid(grid)
    site = tmp_path / "site.yaml"
    site.write_text("a: &x 1\nb: *x\n")
    with pytest.raises(InputError, match="alias"):
        load_config(site)


# ---------------------------------------------------------------- plausibility bounds

@pytest.mark.parametrize("value", ["1e15", "1e308"])
def test_absurd_capacity_exit_2_names_row_and_rule(tmp_path, value):
    folder = _tiny(tmp_path)
    _set_cell(folder, "generators.csv", 1, "capacity_mw", value)
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2, res.output
    assert "generators.csv, line 3, column 'capacity_mw': implausible value: must be >= 0 and <= 2,000,000 MW" in res.output


def test_absurd_demand_exit_2(tmp_path):
    folder = _tiny(tmp_path)
    _set_cell(folder, "demand.csv", 5, "south", "1e300")
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2
    assert "demand.csv, line 7, column 'south': implausible value" in res.output


def test_demand_in_kw_detected(tmp_path):
    folder = _tiny(tmp_path)
    d = pd.read_csv(folder / "demand.csv")
    d["south"] = d["south"] * 1000  # 700,000 "MW": below the absolute bound, 389x all generators
    d.to_csv(folder / "demand.csv", index=False)
    for args in (["scenario", "validate", str(folder)], ["plan", "-s", str(folder), "--days", "12", "--out", str(tmp_path / "p")]):
        res = _invoke(*args)
        assert res.exit_code == 2, res.output
        assert "column 'south'" in res.output and "kW instead of MW" in res.output
    assert not (tmp_path / "p").exists()


def test_bounds_override_in_scenario_yaml(tmp_path):
    folder = _tiny(tmp_path)
    _set_cell(folder, "generators.csv", 1, "capacity_mw", "3000000")
    assert _invoke("scenario", "validate", str(folder)).exit_code == 2
    with open(folder / "scenario.yaml", "a") as fh:
        fh.write("bounds:\n  capacity_mw: {max: 5000000}\n")
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 0, res.output
    with open(folder / "scenario.yaml", "a") as fh:
        fh.write("  capacity_kw: {max: 1}\n")
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2 and "column 'bounds.capacity_kw': unknown bound" in res.output


def test_builtin_scenario_within_bounds():
    assert _invoke("scenario", "validate", "pakistan-2025").exit_code == 0


# ---------------------------------------------------------------- the right problem first

def test_header_only_generators_reports_one_problem_in_generators(tmp_path):
    folder = _tiny(tmp_path)
    header = (folder / "generators.csv").read_text().splitlines()[0]
    (folder / "generators.csv").write_text(header + "\n")
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2
    problems = [line for line in res.output.splitlines() if line.strip().startswith("- ")]
    assert problems == ["  - generators.csv, line 1: no generators: at least one row is required"], res.output


def test_bad_hydro_row_does_not_cascade_into_budget_file(tmp_path):
    folder = _tiny(tmp_path)
    _set_cell(folder, "generators.csv", 0, "capacity_mw", "-5")  # the budgeted hydro row
    res = _invoke("scenario", "validate", str(folder))
    assert res.exit_code == 2
    problems = [line for line in res.output.splitlines() if line.strip().startswith("- ")]
    assert len(problems) == 1 and "generators.csv, line 2, column 'capacity_mw'" in problems[0], res.output


# ---------------------------------------------------------------- unserved demand

def test_demand_above_capacity_names_regions_and_hours(tmp_path):
    folder = _tiny(tmp_path)
    d = pd.read_csv(folder / "demand.csv")
    d["south"] = d["south"] * 2.5  # 1,750 MW evenings against 800 MW local + 300 MW import
    d.to_csv(folder / "demand.csv", index=False)
    out = tmp_path / "plan"
    res = _invoke("plan", "-s", str(folder), "--out", str(out), "--no-plots", "--no-baseline")
    assert res.exit_code == 2, res.output
    assert "households cannot be served" in res.output
    assert "south:" in res.output and "h short" in res.output and "2025-01-01" in res.output
    assert "north:" not in res.output
    assert not out.exists()
    # allowed: the plan is written, with the shortfall in unserved_mw.csv (no flexible loads, so the
    # households-first check has nothing to compare against while the corridor is full)
    header = (folder / "flex_loads.csv").read_text().splitlines()[0]
    (folder / "flex_loads.csv").write_text(header + "\n")
    res = _invoke("plan", "-s", str(folder), "--out", str(out), "--no-plots", "--no-baseline", "--allow-unserved")
    assert res.exit_code == 0, res.output
    unserved = pd.read_csv(out / "unserved_mw.csv", index_col=0)
    assert unserved["south"].max() > 100 and unserved["north"].max() < 1e-3


# ---------------------------------------------------------------- headroom

def _headroom_csv(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    p = tmp_path / "load.csv"
    p.write_text("timestamp,demand_mw\n" + "".join(f"{t},{v}\n" for t, v in rows))
    return p


def _year(n: int = 8760, first: str | None = None) -> list[tuple[str, str]]:
    idx = pd.date_range("2019-01-01", periods=n, freq="h", tz="Asia/Karachi")
    rows = [(t.isoformat(), "1000") for t in idx]
    if first is not None:
        rows[0] = (first, "1000")
    return rows


def test_headroom_garbage_first_timestamp_exit_2(tmp_path):
    p = _headroom_csv(tmp_path, _year(first="2019-99-01T00:00:00+05:00"))
    res = _invoke("headroom", str(p))
    assert res.exit_code == 2, res.output
    assert "load.csv, line 2, column 'timestamp': not an ISO 8601 timestamp" in res.output


def test_headroom_absurd_demand_exit_2(tmp_path):
    rows = _year()
    rows[100] = (rows[100][0], "1e308")
    res = _invoke("headroom", str(_headroom_csv(tmp_path, rows)))
    assert res.exit_code == 2
    assert "load.csv, line 102, column 'demand_mw': implausible value" in res.output


def test_headroom_too_few_hours_names_file(tmp_path):
    res = _invoke("headroom", str(_headroom_csv(tmp_path, _year(48))))
    assert res.exit_code == 2
    assert "load.csv: its 48 hours" in res.output and "summer (May-Sep)" in res.output


# ---------------------------------------------------------------- mutation sweep (as the hostile test did)

_NUMERIC_CELLS = [("generators.csv", 0, "capacity_mw"), ("generators.csv", 1, "marginal_cost_usd_per_mwh"),
                  ("generators.csv", 2, "forced_outage_rate"), ("lines.csv", 0, "capacity_forward_mw"),
                  ("lines.csv", 0, "loss_pu"), ("demand.csv", 3, "north"), ("profiles.csv", 9, "solar"),
                  ("regions.csv", 0, "lat")]
_BAD_VALUES = ["-1", "1e308", "1e15", "nan", "inf", "abc", "", "0x10", "1,5"]


@pytest.mark.parametrize("file,row,column", _NUMERIC_CELLS)
def test_mutations_never_crash(tmp_path, file, row, column):
    """Every mutation is either valid (exit 0) or refused with exit 2 naming the file; never a crash."""
    for i, value in enumerate(_BAD_VALUES):
        folder = write_tiny_scenario(tmp_path / f"m{i}")
        _set_cell(folder, file, row, column, value)
        res = _invoke("scenario", "validate", str(folder))
        assert res.exit_code in (0, 2), (value, res.output)
        if res.exit_code == 2:
            assert file in res.output, (value, res.output)
        if value in ("1e308", "1e15", "nan", "inf", "abc"):  # refused in every one of these cells
            assert res.exit_code == 2, (file, column, value, res.output)
