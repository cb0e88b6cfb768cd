"""`offtake scenario import-pypsa`: PyPSA networks in, Offtake scenarios out.

The four example networks of ../shared/data/pypsa-networks are imported and planned;
each plan's objective is compared with PyPSA's own optimisation of the same network,
reduced independently here (lines as links, the parts the import reports as dropped
removed, extendable capacity fixed, load shedding at the value of lost load).
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pypsa
import pytest
from typer.testing import CliRunner

from offtake.cli import app
from offtake.plan import PlanOptions, plan
from offtake.scenario import load_scenario
from offtake.scenario.pypsa_import import (
    REPORT_FILE,
    ImportOptions,
    convert,
    import_network,
    normalise_carrier,
    parse_carrier_map,
    write_imported,
)

NETWORKS = Path(os.environ.get("OFFTAKE_PYPSA_NETWORKS", Path(__file__).resolve().parents[3] / "shared" / "data" / "pypsa-networks"))
if not NETWORKS.is_dir():
    NETWORKS = Path("/work/shared/data/pypsa-networks")
runner = CliRunner()
NO_FLEX = PlanOptions(no_flex=True, baseline=False, allow_unserved=True)


@pytest.fixture(autouse=True)
def _quiet():
    logging.getLogger("pypsa").setLevel(logging.ERROR)
    logging.getLogger("linopy").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


_READ: dict[str, object] = {}


def _network(name: str, snapshots: int | None = None):
    """A copy of an example network (read once per test session), optionally its first snapshots only."""
    path = NETWORKS / f"{name}.nc"
    if not path.is_file():
        pytest.fail(f"example network {path} is missing (../shared/data/pypsa-networks)")
    if name not in _READ:
        _READ[name] = pypsa.Network(str(path))
    n = _READ[name].copy()
    if snapshots is not None:
        n.set_snapshots(n.snapshots[:snapshots])
    return n


def _pypsa_peer(n, voll: float, electric=("", "ac", "dc", "electricity")) -> float:
    """PyPSA's objective for the network as Offtake reads it, reduced with PyPSA's own API."""
    n = n.copy()
    for comp in ("StorageUnit", "Store", "GlobalConstraint"):
        n.remove(comp, n.c[comp].static.index)
    other = n.buses.index[~n.buses["carrier"].str.lower().isin(electric)]
    n.remove("Link", n.links.index[n.links.bus0.isin(other) | n.links.bus1.isin(other)])
    n.remove("Bus", other)
    for comp, attr in (("Generator", "p_nom"), ("Link", "p_nom"), ("Line", "s_nom")):
        df = n.c[comp].static
        if n.objective is not None:  # a solved network: the capacities it built, else p_nom
            ext = df[f"{attr}_extendable"]
            df.loc[ext, attr] = df.loc[ext, f"{attr}_opt"]
        df[f"{attr}_extendable"] = False
    for comp in ("Line", "Transformer"):
        df = n.c[comp].static.copy()
        if len(df):  # a line as a lossless link both ways, limit s_nom x s_max_pu
            n.add("Link", f"{comp} " + df.index.to_series(), bus0=df.bus0.to_numpy(), bus1=df.bus1.to_numpy(),
                  p_nom=(df.s_nom * df.s_max_pu).to_numpy(), p_min_pu=-1.0, efficiency=1.0)
            n.remove(comp, df.index)
    if not (n.generators.carrier.str.lower() == "load shedding").any():
        load = n.get_switchable_as_dense("Load", "p_set").T.groupby(n.loads.bus).sum().T
        peak = load.max().clip(lower=1.0)
        names = "shed " + load.columns.to_series()
        n.add("Generator", names, bus=load.columns.to_numpy(), p_nom=peak.to_numpy(), marginal_cost=voll,
              p_max_pu=(load / peak).set_axis(names, axis=1))
    # PyPSA's own LP, solved; n.optimize() would add a post-processing step that, with every line a
    # link, builds one sub-network per bus (40 s for SciGRID) and does not change the objective
    m = n.optimize.create_model(include_objective_constant=False)
    status, condition = m.solve(solver_name="highs")
    assert status == "ok", condition
    return float(m.objective.value)


def _import(n, tmp_path: Path, opts: ImportOptions | None = None, name: str = "net"):
    """convert + write_imported (what import_network does after reading the file)."""
    result = convert(n, opts, source=f"{name}.nc")
    return load_scenario(write_imported(result, tmp_path / name)), result.report


# ---------------------------------------------------------------- the four example networks

@pytest.mark.parametrize("name, snapshots, carrier_map, dropped", [
    ("ac-dc-meshed", None, {}, ["co2_limit"]),
    ("storage-hvdc", None, {}, ["6 storage units", "co2_limit"]),
    ("model-energy", 16, {}, ["hydrogen", "battery storage", "hydrogen storage", "electrolysis"]),
    ("scigrid-de", 2, parse_carrier_map("Waste=oil,Other=oil,Multiple=oil,Geothermal=oil"), ["38 storage units"]),
])
def test_example_network_plans_like_pypsa(tmp_path, name, snapshots, carrier_map, dropped):
    n = _network(name, snapshots)
    s, report = _import(n, tmp_path, ImportOptions(carrier_map=carrier_map), name)
    text = report.text()
    for part in dropped:
        assert part in text
    assert (tmp_path / name / REPORT_FILE).read_text() == text
    w = n.snapshot_weightings.generators.to_numpy()
    assert len(s.snapshots) == int(w.sum())  # each snapshot repeated by its weighting
    plant = ~n.generators.carrier.str.lower().eq("load shedding")
    assert len(s.generators) == int(plant.sum())
    # demand: every load's energy arrives, summed per bus
    pypsa_mwh = float((n.get_switchable_as_dense("Load", "p_set").sum(axis=1) * w).sum())
    assert s.demand_mw.to_numpy().sum() == pytest.approx(pypsa_mwh, rel=1e-9)

    ours = plan(s, NO_FLEX).objective_usd
    theirs = _pypsa_peer(n, s.config.value_of_lost_load_usd_per_mwh)
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_solved_network_keeps_optimised_capacities(tmp_path):
    # PyPSA's own capacity expansion of ac-dc-meshed (KVL, CO2 limit), then the dispatch of the built
    # capacities: Offtake's plan of the import equals PyPSA's LP of the same fixed capacities
    n = _network("ac-dc-meshed")
    status, _ = n.optimize.create_model().solve(solver_name="highs")
    assert status == "ok"
    n.optimize.assign_solution()  # p_nom_opt and n.objective (n.optimize() minus its slow post-processing)
    n.model.solver_model = None  # so that the network can be copied
    built = n.generators.p_nom_opt
    s, report = _import(n, tmp_path, name="solved")
    assert s.generators.loc[[g.replace(" ", "_") for g in built.index], "capacity_mw"].to_numpy() == pytest.approx(built.to_numpy())
    assert "p_nom_opt" in " ".join(report.approximated)
    res = plan(s, NO_FLEX)
    assert res.objective_usd == pytest.approx(_pypsa_peer(n, s.config.value_of_lost_load_usd_per_mwh), rel=1e-6)
    assert float(res.unserved_mw.to_numpy().sum()) < 1e-6  # the built capacities serve every load


def test_scigrid_regions_keep_coordinates_and_fuels(tmp_path):
    n = _network("scigrid-de", 2)
    s, report = _import(n, tmp_path, ImportOptions(carrier_map=parse_carrier_map("*=oil")), "sg")
    assert len(s.regions) == 585
    assert s.regions["lat"].between(47, 56).all() and s.regions["lon"].between(5, 16).all()
    by_fuel = s.generators.groupby("fuel")["capacity_mw"].sum()
    carriers = n.generators.groupby("carrier")["p_nom"].sum()
    assert by_fuel["coal_local"] == pytest.approx(carriers["Brown Coal"])
    assert by_fuel["coal_imported"] == pytest.approx(carriers["Hard Coal"])
    assert by_fuel["wind"] == pytest.approx(carriers["Wind Onshore"] + carriers["Wind Offshore"])
    assert by_fuel["hydro"] == pytest.approx(carriers["Run of River"] + carriers["Storage Hydro"])
    assert len(s.lines) == len(n.lines) + len(n.transformers)
    assert "Kirchhoff" in report.text()


def test_csv_folder_reads_like_netcdf(tmp_path):
    n = _network("ac-dc-meshed")
    n.export_to_csv_folder(str(tmp_path / "csv"))
    out, _ = import_network(tmp_path / "csv", tmp_path / "from_csv")
    s_csv = load_scenario(out)
    s_nc, _ = _import(n, tmp_path, name="from_nc")
    pd.testing.assert_frame_equal(s_csv.generators, s_nc.generators)
    pd.testing.assert_frame_equal(s_csv.demand_mw, s_nc.demand_mw)
    assert plan(s_csv, NO_FLEX).objective_usd == pytest.approx(plan(s_nc, NO_FLEX).objective_usd, rel=1e-9)


# ---------------------------------------------------------------- round trip of the built-in scenario

def test_builtin_scenario_round_trip(tmp_path):
    """`offtake plan --export-pypsa` at 24 h, import, plan: the objective of the original no-flex plan.

    The export holds the flexible loads too; the import drops and lists them, so the imported
    scenario is the original without flexible loads, at the same daily resolution.
    """
    original = load_scenario("pakistan-2025")
    opts = PlanOptions(resolution_h=24, no_flex=True, baseline=False, allow_unserved=True)
    expected = plan(original, opts).objective_usd
    nc = tmp_path / "pk.nc"
    r = runner.invoke(app, ["plan", "--resolution", "24h", "--export-pypsa", str(nc), "--no-plots", "--no-baseline",
                            "--out", str(tmp_path / "plan")])
    assert r.exit_code == 0, r.output
    out, report = import_network(nc, tmp_path / "back")
    assert len(report.not_supported) == 2 and "flexible loads" in report.not_supported[0]
    assert "programme_cap" in report.not_supported[1] and not report.approximated
    back = load_scenario(out)
    assert back.config.timezone == original.config.timezone and back.config.reserve_margin == original.config.reserve_margin
    assert len(back.snapshots) == 8760 and back.snapshots[0] == original.snapshots[0]
    assert len(back.lines) == len(original.lines)  # the export's forward/backward link pairs joined again
    pd.testing.assert_series_equal(back.generators["fuel"].sort_index(), original.generators["fuel"].sort_index())
    assert set(back.energy_budgets.index.get_level_values(0)) == set(original.energy_budgets.index.get_level_values(0))
    got = plan(back, opts).objective_usd
    assert got == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------- hand-checked small networks

def _two_bus(weight: float = 1.0):
    """Bus a: 100 MW at 10 USD/MWh; bus b: 200 MW at 30 USD/MWh and 80 MW of load; a 50 MW line a-b."""
    n = pypsa.Network()
    n.set_snapshots(pd.date_range("2025-03-01", periods=3, freq=f"{int(weight)}h"))
    n.snapshot_weightings.loc[:, :] = weight
    n.add("Bus", ["a", "b"], x=[67.0, 68.0], y=[25.0, 30.0])
    n.add("Generator", "cheap", bus="a", p_nom=100, marginal_cost=10, carrier="coal")
    n.add("Generator", "dear", bus="b", p_nom=200, marginal_cost=30, carrier="OCGT")
    n.add("Load", "city", bus="b", p_set=80.0)
    n.add("Line", "ab", bus0="a", bus1="b", s_nom=50, x=0.1)
    return n


def test_two_bus_objective_by_hand(tmp_path):
    # 50 MW over the line at 10 USD/MWh + 30 MW at 30 USD/MWh, for 3 hours: 3 x (500 + 900) = 4,200 USD
    s, report = _import(_two_bus(), tmp_path)
    assert plan(s, NO_FLEX).objective_usd == pytest.approx(4200.0, rel=1e-9)
    assert s.generators.loc["cheap", "fuel"] == "coal_imported" and s.generators.loc["dear", "fuel"] == "gas"
    assert s.lines.iloc[0][["capacity_forward_mw", "capacity_backward_mw"]].tolist() == [50.0, 50.0]
    assert s.regions.loc["b", ["lat", "lon"]].tolist() == [30.0, 68.0]
    assert not report.not_supported


def test_weighted_snapshots_become_hourly_rows(tmp_path):
    # three 2-hour snapshots -> six hourly rows, timestamps unchanged, objective doubles (8,400 USD)
    s, report = _import(_two_bus(weight=2.0), tmp_path)
    assert len(s.snapshots) == 6 and s.snapshots[1] - s.snapshots[0] == pd.Timedelta(hours=1)
    assert str(s.snapshots[0]) == "2025-03-01 00:00:00+00:00"
    assert plan(s, NO_FLEX).objective_usd == pytest.approx(8400.0, rel=1e-9)
    assert not report.approximated  # spaced by their weightings: exact


def test_must_run_share_varying_in_time_is_split(tmp_path):
    # p_min_pu 0.25, 0, 0.25 of 200 MW: must-run 50 MW in hours 1 and 3 although the line brings
    # 50 MW at 10 USD: hours 1, 3 = 50 x 30 + 30 x 10 (line carries the rest), hour 2 = 50 x 10 + 30 x 30
    n = _two_bus()
    n.generators_t.p_min_pu["dear"] = pd.Series([0.25, 0.0, 0.25], index=n.snapshots)
    s, report = _import(n, tmp_path)
    assert {"dear", "dear_must-run"} <= set(s.generators.index)
    assert "split" in report.text()
    expected = 2 * (50 * 30 + 30 * 10) + (50 * 10 + 30 * 30)
    assert plan(s, NO_FLEX).objective_usd == pytest.approx(expected, rel=1e-9)
    assert _pypsa_peer(n, s.config.value_of_lost_load_usd_per_mwh) == pytest.approx(expected, rel=1e-9)


def test_inflow_storage_becomes_budgeted_hydro(tmp_path):
    # a reservoir with 20 MW inflow for 3 hours (60 MWh, dispatch efficiency 0.9 -> 54 MWh) at 1 USD/MWh
    n = _two_bus()
    n.add("StorageUnit", "dam", bus="b", p_nom=40, max_hours=10, p_min_pu=0.0, efficiency_dispatch=0.9,
          cyclic_state_of_charge=True, inflow=20.0, marginal_cost=1.0, carrier="hydro")
    n.add("StorageUnit", "battery", bus="b", p_nom=10, max_hours=2, carrier="battery")
    s, report = _import(n, tmp_path)
    assert s.generators.loc["dam", "fuel"] == "hydro" and s.generators.loc["dam", "budget"] == "dam"
    assert s.energy_budgets.loc[("dam", 3), "max_mwh"] == pytest.approx(54.0)
    assert "battery (no inflow)" in report.text() and "dam" in " ".join(report.approximated)
    # 54 MWh of hydro displace gas: 4,200 - 54 x (30 - 1) = 2,634 USD
    assert plan(s, NO_FLEX).objective_usd == pytest.approx(4200 - 54 * 29, rel=1e-9)


def test_energy_limit_in_one_month_is_exact(tmp_path):
    n = _two_bus()
    n.generators.loc["cheap", "e_sum_max"] = 120.0  # MWh over the three March hours
    s, _ = _import(n, tmp_path)
    assert s.generators.loc["cheap", "budget"] == "cheap"
    assert s.energy_budgets.loc[("cheap", 3), "max_mwh"] == pytest.approx(120.0)
    # 120 MWh at 10 instead of 150: 30 MWh more at 30 USD -> 4,200 + 30 x 20 = 4,800
    assert plan(s, NO_FLEX).objective_usd == pytest.approx(4800.0, rel=1e-9)


def test_load_shedding_generator_sets_voll(tmp_path):
    n = _two_bus()
    n.generators.loc["dear", "p_nom"] = 0.0
    n.add("Generator", "shed", bus="b", p_nom=80, marginal_cost=900, carrier="load shedding")
    s, report = _import(n, tmp_path)
    assert s.config.value_of_lost_load_usd_per_mwh == 900.0 and "shed" not in s.generators.index
    assert plan(s, NO_FLEX).objective_usd == pytest.approx(3 * (50 * 10 + 30 * 900), rel=1e-9)
    assert not report.approximated


# ---------------------------------------------------------------- carrier map

def test_carrier_map_parsing():
    assert normalise_carrier(" Wind_Onshore ") == "wind onshore"
    assert parse_carrier_map("Waste=oil, Other = gas,*=hydro") == {"waste": "oil", "other": "gas", "*": "hydro"}
    from offtake.errors import InputError

    with pytest.raises(InputError, match="not one of"):
        parse_carrier_map("Waste=garbage")
    with pytest.raises(InputError, match="CARRIER=FUEL"):
        parse_carrier_map("Waste")


def test_unknown_carrier_is_an_error_naming_it(tmp_path):
    n = _two_bus()
    n.generators.loc["dear", "carrier"] = "Geothermal"
    from offtake.errors import InputError

    with pytest.raises(InputError, match=r"'Geothermal' \(1 generators, 200 MW\).*--carrier-map"):
        convert(n)
    s, _ = _import(n, tmp_path, ImportOptions(carrier_map=parse_carrier_map("geothermal=oil")))
    assert s.generators.loc["dear", "fuel"] == "oil" and s.generators.loc["dear", "technology"] == "Geothermal"


# ---------------------------------------------------------------- CLI and bad input

def _cli(*args: str):
    return runner.invoke(app, ["scenario", "import-pypsa", *args])


def test_cli_imports_and_validates(tmp_path):
    r = _cli(str(NETWORKS / "storage-hvdc.nc"), str(tmp_path / "sh"))
    assert r.exit_code == 0, r.output
    assert "not supported:" in r.output and "Kirchhoff" in r.output.replace("\n", " ")
    assert (tmp_path / "sh" / REPORT_FILE).is_file()
    v = runner.invoke(app, ["scenario", "validate", str(tmp_path / "sh")])
    assert v.exit_code == 0 and "6 regions" in v.output


def _assert_refused(r, dest: Path, *words: str):
    assert r.exit_code == 2, r.output
    flat = " ".join(r.output.split())
    for w in words:
        assert w in flat, flat
    assert "Traceback" not in r.output
    assert not dest.exists()
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}.")]


def test_missing_network(tmp_path):
    _assert_refused(_cli(str(tmp_path / "nope.nc"), str(tmp_path / "out")), tmp_path / "out", "no such file")


def test_not_a_network(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("this is not netCDF")
    _assert_refused(_cli(str(bad), str(tmp_path / "out")), tmp_path / "out", "not a readable PyPSA network")
    folder = tmp_path / "folder"
    folder.mkdir()
    _assert_refused(_cli(str(folder), str(tmp_path / "out")), tmp_path / "out", "no buses.csv")


def test_unknown_bus_reference(tmp_path):
    n = _two_bus()
    n.export_to_csv_folder(str(tmp_path / "csv"))
    gens = tmp_path / "csv" / "generators.csv"
    gens.write_text(gens.read_text().replace("dear,b,", "dear,nowhere,"))
    _assert_refused(_cli(str(tmp_path / "csv"), str(tmp_path / "out")), tmp_path / "out",
                    "unknown bus 'nowhere'", "column 'bus'")


def test_nan_in_profile(tmp_path):
    n = _two_bus()
    n.generators_t.p_max_pu["cheap"] = pd.Series([1.0, np.nan, 1.0], index=n.snapshots)
    n.export_to_netcdf(str(tmp_path / "nan.nc"))
    _assert_refused(_cli(str(tmp_path / "nan.nc"), str(tmp_path / "out")), tmp_path / "out",
                    "generators p_max_pu", "cheap", "not a finite number")


def test_unknown_carrier_and_bad_map_on_cli(tmp_path):
    n = _two_bus()
    n.generators.loc["dear", "carrier"] = "Waste"
    src = tmp_path / "waste.nc"
    n.export_to_netcdf(str(src))
    _assert_refused(_cli(str(src), str(tmp_path / "out")), tmp_path / "out", "'Waste' (1 generators, 200 MW)",
                    "--carrier-map")
    _assert_refused(_cli(str(src), str(tmp_path / "out"), "--carrier-map", "Waste=trash"), tmp_path / "out",
                    "not one of")
    r = _cli(str(src), str(tmp_path / "out"), "--carrier-map", "Waste=oil", "--voll", "3000")
    assert r.exit_code == 0, r.output
    s = load_scenario(tmp_path / "out")
    assert s.generators.loc["dear", "fuel"] == "oil" and s.config.value_of_lost_load_usd_per_mwh == 3000.0


def test_snapshots_without_timestamps_need_a_start(tmp_path):
    from offtake.errors import InputError

    n = _two_bus()
    n.set_snapshots(pd.RangeIndex(3, name="snapshot"))
    n.loads_t.p_set = pd.DataFrame({"city": [80.0, 80.0, 80.0]}, index=n.snapshots)
    with pytest.raises(InputError, match="--start"):
        convert(n)
    s, report = _import(n, tmp_path, ImportOptions(start="2025-06-01T00:00", timezone="Asia/Karachi"))
    assert str(s.snapshots[0]) == "2025-06-01 00:00:00+05:00" and s.config.timezone == "Asia/Karachi"
    assert s.config.years == [2025] and "not timestamps" in report.text()


@pytest.mark.parametrize("change, message", [
    (lambda n: setattr(n, "snapshot_weightings", n.snapshot_weightings.astype(float) * 1.5), "whole hours"),
    (lambda n: n.loads.__setitem__("p_set", -10.0), "negative demand"),
    (lambda n: n.generators.__setitem__("marginal_cost", 20000.0), "outside -1,000..10,000"),
    (lambda n: n.generators_t.p_min_pu.__setitem__("cheap", pd.Series([0.5, 1.0, 0.5], index=n.snapshots))
     or n.generators_t.p_max_pu.__setitem__("cheap", pd.Series([1.0, 0.5, 1.0], index=n.snapshots)),
     "p_min_pu above p_max_pu"),
])
def test_network_rules(change, message):
    from offtake.errors import InputError

    n = _two_bus()
    change(n)
    with pytest.raises(InputError, match=message):
        convert(n)


def test_inactive_parts_skipped_and_an_empty_fleet_refused(tmp_path):
    from offtake.errors import InputError

    n = _two_bus()
    n.generators.loc["cheap", "active"] = False
    s, report = _import(n, tmp_path)
    assert list(s.generators.index) == ["dear"] and "inactive components skipped: 1 Generator (cheap)" in report.text()
    assert plan(s, NO_FLEX).objective_usd == pytest.approx(3 * 80 * 30, rel=1e-9)
    n.generators.loc["dear", "active"] = False
    with pytest.raises(InputError, match="no generator Offtake can read"):
        convert(n)


def test_multi_period_network_refused():
    from offtake.errors import InputError

    n = _two_bus()
    n.set_investment_periods([2030, 2040])
    with pytest.raises(InputError, match="multi-period"):
        convert(n)


def test_links_and_what_they_cannot_say(tmp_path):
    n = _two_bus()
    n.remove("Line", "ab")
    n.add("Bus", "h2", carrier="AC")
    n.add("Link", "hvdc", bus0="a", bus1="b", p_nom=50, p_min_pu=-0.5, efficiency=0.95)
    n.add("Link", "fuel cell", bus0="h2", bus1="b", p_nom=10, efficiency=0.4)
    n.add("Link", "dlr", bus0="b", bus1="a", p_nom=10, p_max_pu=pd.Series([1.0, 0.5, 1.0], index=n.snapshots),
          marginal_cost=1.0)
    s, report = _import(n, tmp_path)
    lines = s.lines
    assert lines.loc["link_hvdc", ["capacity_forward_mw", "capacity_backward_mw", "loss_pu"]].tolist() == \
        pytest.approx([50.0, 25.0, 0.05])
    assert "link_fuel_cell" not in lines.index and lines.loc["link_dlr", "capacity_forward_mw"] == 10.0
    text = report.text()
    assert "fuel cell (efficiency 0.4)" in text and "marginal cost of 1 links" in text
    assert "time-varying limits or efficiency of 1 links" in text and "loss in both directions" in text
    # the hvdc link sends 50 MW of the 10 USD/MWh plant, 47.5 MW arrive (5 % loss); the other 32.5 MW of
    # the 80 MW load come from the 30 USD/MWh plant: 3 h x (500 + 975) = 4,425 USD
    res = plan(s, NO_FLEX)
    assert res.objective_usd == pytest.approx(3 * (50 * 10 + (80 - 47.5) * 30), rel=1e-9)


def test_existing_folder_is_kept(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    r = _cli(str(NETWORKS / "ac-dc-meshed.nc"), str(dest))
    assert r.exit_code == 2 and "--force" in r.output
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]


def test_force_replaces_and_bad_options_refused(tmp_path):
    n = _two_bus()
    src = tmp_path / "two.nc"
    n.export_to_netcdf(str(src))
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    r = _cli(str(src), str(dest), "--force", "--name", "two-bus")
    assert r.exit_code == 0, r.output
    assert not (dest / "old.txt").exists() and load_scenario(dest).name == "two-bus"
    _assert_refused(_cli(str(src), str(tmp_path / "o2"), "--timezone", "Mars/Olympus"), tmp_path / "o2",
                    "unknown time zone 'Mars/Olympus'")
    _assert_refused(_cli(str(src), str(tmp_path / "o3"), "--voll", "-5"), tmp_path / "o3", "--voll must be")
    _assert_refused(_cli(str(src), str(tmp_path / "o4"), "--name", "bad name!"), tmp_path / "o4",
                    "--name: 'bad name!' is not a scenario name")

