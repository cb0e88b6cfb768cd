"""Scenario loading: a valid folder loads; every kind of bad input is reported, all at once."""

from __future__ import annotations

import pandas as pd
import pytest

from offtake.errors import InputError, NotFoundError, ScenarioError
from offtake.scenario import export_scenario, load_scenario
from offtake.scenario.tiny import GENERATORS_CSV, LINES_CSV, demand_frame, write_tiny_scenario


def test_tiny_loads(tmp_path):
    s = load_scenario(write_tiny_scenario(tmp_path / "t"))
    assert s.region_names == ["north", "south"]
    assert len(s.snapshots) == 48
    assert str(s.snapshots.tz) == "Asia/Karachi"
    assert s.energy_budgets.loc[("north_hydro", 1), "max_mwh"] == 372000.0
    assert s.budget_members() == {"north_hydro": ["north_hydro"]}
    assert list(s.generators["fuel"]) == ["hydro", "gas", "solar"]
    assert s.flex_loads.loc["mining", "kind"] == "interruptible"


def _problems(tmp_path, edits):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(write_tiny_scenario(tmp_path / "bad", edits))
    return exc.value.problems, str(exc.value)


def test_every_problem_listed_at_once(tmp_path):
    gens = GENERATORS_CSV.replace("south_gas,south,gas,gas,600", "south_gas,west,gas,gas,-600")
    lines = LINES_CSV + "n-s,north,south,100,100,0\n"
    problems, text = _problems(tmp_path, {"generators.csv": gens, "lines.csv": lines})
    rules = [(p.file, p.row, p.column) for p in problems]
    assert ("generators.csv", 3, "capacity_mw") in rules  # negative capacity
    assert ("generators.csv", 3, "region") in rules  # unknown region
    assert ("lines.csv", 3, "name") in rules  # duplicate name
    assert "greater than or equal to 0" in text and "unknown region" in text and "duplicate name" in text


@pytest.mark.parametrize(
    ("mutate", "file", "column", "fragment"),
    [
        (lambda d: d.assign(south=d["south"].astype(object).where(d.index != 5, "NaN")), "demand.csv", "south", "NaN"),
        (lambda d: d.assign(south=d["south"].astype(object).where(d.index != 7, "abc")), "demand.csv", "south", "not a number"),
        (lambda d: d.assign(north=d["north"].where(d.index != 3, -5.0)), "demand.csv", "north", "negative demand"),
        (lambda d: d.drop(index=10).reset_index(drop=True), "demand.csv", "timestamp", "gap of 2 h"),
        (lambda d: pd.concat([d.iloc[:5], d.iloc[4:]]).reset_index(drop=True), "demand.csv", "timestamp", "duplicate timestamp"),
        (lambda d: d.assign(timestamp=d["timestamp"].where(d.index != 2, "yesterday")), "demand.csv", "timestamp", "ISO 8601"),
    ],
)
def test_bad_demand_series(tmp_path, mutate, file, column, fragment):
    d = mutate(demand_frame())
    problems, text = _problems(tmp_path, {"demand.csv": d.to_csv(index=False)})
    assert any(p.file == file and p.column == column for p in problems), text
    assert fragment in text


def test_dst_ambiguous_local_time(tmp_path):
    yaml = open(write_tiny_scenario(tmp_path / "x") / "scenario.yaml").read().replace("Asia/Karachi", "Europe/Berlin")
    idx = pd.date_range("2025-10-25 12:00", periods=30, freq="h", tz="Europe/Berlin")
    naive = idx.tz_localize(None).strftime("%Y-%m-%dT%H:%M:%S")  # local wall time repeats 02:00
    d = pd.DataFrame({"timestamp": naive, "north": 1.0, "south": 1.0})
    p = pd.DataFrame({"timestamp": naive, "solar": 0.0})
    problems, text = _problems(tmp_path, {"scenario.yaml": yaml, "demand.csv": d.to_csv(index=False), "profiles.csv": p.to_csv(index=False)})
    assert "daylight saving" in text or "duplicate timestamp" in text


def test_malformed_yaml_and_unknown_setting(tmp_path):
    with pytest.raises(InputError, match="not valid YAML"):
        load_scenario(write_tiny_scenario(tmp_path / "a", {"scenario.yaml": "name: [unclosed"}))
    problems, text = _problems(tmp_path, {"scenario.yaml": "name: tiny\nyears: [2025]\nreserve_margin: 2\nfoo: 1\ntimezone: Mars/Base\n"})
    cols = {p.column for p in problems}
    assert {"reserve_margin", "foo", "timezone"} <= cols, text


def test_missing_file_and_column(tmp_path):
    folder = write_tiny_scenario(tmp_path / "m", {"lines.csv": "name,from_region\nx,north\n"})
    (folder / "regions.csv").unlink()
    with pytest.raises(ScenarioError) as exc:
        load_scenario(folder)
    text = str(exc.value)
    assert "regions.csv: file not found" in text
    assert "lines.csv, line 1: missing required column(s)" in text


def test_unknown_scenario_name():
    with pytest.raises(NotFoundError, match="pakistan-2025"):
        load_scenario("atlantis-2030")


def test_export_roundtrip_and_refuses_nonempty(tmp_path):
    out = export_scenario("pakistan-2025", tmp_path / "pk")
    s = load_scenario(out)
    assert s.name == "pakistan-2025" and len(s.snapshots) == 8760
    with pytest.raises(InputError, match="not empty"):
        export_scenario("pakistan-2025", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pk"]  # no temporary leftovers
