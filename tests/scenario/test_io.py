"""Scenario loading: a valid folder loads; every kind of bad input is reported, all at once."""

from __future__ import annotations

import numpy as np
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


GEN_HEADER = "name,region,technology,fuel,capacity_mw,marginal_cost_usd_per_mwh,min_output_pu,forced_outage_rate,profile,budget\n"


def test_bad_generator_columns_each_listed(tmp_path):
    gens = (GEN_HEADER + "north_hydro,north,hydro,water,1000,1,0,0,,north_hydro\n"  # unknown fuel
            "south_gas,south,gas,gas,600,80,0,0.1,,nobudget\n"  # budget with no rows
            "south_solar,south,solar,solar,200,0,0,0,solar,\n")
    budgets = ("budget,month,max_mwh,min_mwh,take_or_pay_mwh,take_or_pay_usd_per_mwh\n"
               "north_hydro,1,100,200,,\n"  # min above max
               "north_hydro,13,100,,,\n"  # month out of range
               "ghost,1,100,,,\n")  # budget named by no generator
    avail = "generator,month,available_pu\nsouth_gas,7,1.5\nnobody,7,0.5\n"
    problems, text = _problems(tmp_path, {"generators.csv": gens, "energy_budgets.csv": budgets,
                                          "availability.csv": avail})
    where = {(p.file, p.row, p.column) for p in problems}
    assert ("generators.csv", 2, "fuel") in where, text
    assert ("generators.csv", 3, "budget") in where, text
    assert ("energy_budgets.csv", 2, "min_mwh") in where, text
    assert ("energy_budgets.csv", 3, "month") in where, text
    assert ("energy_budgets.csv", 4, "budget") in where, text
    assert ("availability.csv", 2, "available_pu") in where, text
    assert ("availability.csv", 3, "generator") in where, text
    assert "'hydro', 'nuclear'" in text or "hydro" in text


def test_take_or_pay_price_above_marginal_cost_is_refused(tmp_path):
    gens = GENERATORS_CSV.replace("south_gas,south,gas,gas,600,80,0,0.1,,", "south_gas,south,gas,rlng,600,80,0,0.1,,lng")
    budgets = "budget,month,max_mwh,take_or_pay_mwh,take_or_pay_usd_per_mwh\nnorth_hydro,1,372000,,\nlng,1,,5000,95\n"
    problems, text = _problems(tmp_path, {"generators.csv": gens, "energy_budgets.csv": budgets})
    assert any(p.file == "energy_budgets.csv" and p.row == 3 and p.column == "take_or_pay_usd_per_mwh"
               for p in problems), text
    assert "above the marginal cost" in text


def test_old_format_gets_a_migration_hint(tmp_path):
    old = ("name,region,technology,capacity_mw,marginal_cost_usd_per_mwh,min_output_pu,forced_outage_rate,profile,"
           "hydro_budget\nnorth_hydro,north,hydro,1000,1,0,0,,true\n")
    problems, text = _problems(tmp_path, {"generators.csv": old,
                                          "hydro_budgets.csv": "generator,month,energy_mwh\nnorth_hydro,1,5\n"})
    assert "missing required column(s) ['fuel']" in text and "coal_local" in text
    assert any(p.file == "hydro_budgets.csv" and "energy_budgets.csv" in p.rule for p in problems), text


def test_retired_hydro_budget_column_named_with_the_new_way(tmp_path):
    gens = GENERATORS_CSV.replace(",budget\n", ",budget,hydro_budget\n", 1).replace(",north_hydro\n", ",north_hydro,true\n")
    problems, text = _problems(tmp_path, {"generators.csv": gens})
    assert [(p.file, p.row, p.column) for p in problems] == [("generators.csv", 1, "hydro_budget")], text
    assert "energy_budgets.csv" in text


def test_budgets_availability_and_take_or_pay_load(tmp_path):
    gens = GENERATORS_CSV.replace("south_gas,south,gas,gas,600,80,0,0.1,,", "south_gas,south,gas,rlng,600,80,0,0.1,,lng")
    budgets = ("budget,month,max_mwh,min_mwh,take_or_pay_mwh,take_or_pay_usd_per_mwh\n"
               + "".join(f"north_hydro,{m},372000,,,\n" for m in range(1, 13)) + "lng,1,,100,5000,70\n")
    s = load_scenario(write_tiny_scenario(tmp_path / "ok", {"generators.csv": gens, "energy_budgets.csv": budgets,
                                                            "availability.csv": "generator,month,available_pu\nsouth_gas,1,0.5\n"}))
    assert s.budget_members() == {"north_hydro": ["north_hydro"], "lng": ["south_gas"]}
    row = s.energy_budgets.loc[("lng", 1)]
    assert (row["min_mwh"], row["take_or_pay_mwh"], row["take_or_pay_usd_per_mwh"]) == (100, 5000, 70)
    assert np.isnan(row["max_mwh"])
    assert s.availability_table().loc["south_gas", 1] == 0.5 and s.availability_table().loc["south_gas", 2] == 1.0
    from offtake.plan.inputs import available_mw

    a = available_mw(s)
    assert a[0, 1] == pytest.approx(600 * 0.9 * 0.5)  # capacity x (1 - outage rate) x January availability


def test_cli_validate_exits_2_on_bad_fuel(tmp_path):
    from typer.testing import CliRunner

    from offtake.cli import app

    folder = write_tiny_scenario(tmp_path / "bad", {"generators.csv": GENERATORS_CSV.replace(",gas,gas,", ",gas,lng,")})
    res = CliRunner().invoke(app, ["scenario", "validate", str(folder)])
    assert res.exit_code == 2, res.output
    assert "generators.csv" in res.output and "fuel" in res.output and "Traceback" not in res.output
