"""Sweeps: grid parsing and errors, serial and Dask runs (LocalCluster, 2 workers), failed rows."""

from __future__ import annotations

import json
import sys

import cloudpickle
import pandas as pd
import pytest
from typer.testing import CliRunner

from offtake.cli import app
from offtake.errors import InputError, SolverError
from offtake.scenario import load_scenario
from offtake.scenario.tiny import write_tiny_scenario
from offtake.sweep import check_grid_on, load_grid, parse_grid, run_sweep

# worker processes cannot import this test module: send its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def stand_in(s, variant, grid):
    """A quick 'plan': figures that depend on the derived scenario, so variants are checked."""
    if variant.get("tariff_pkr_per_kwh") == 99:
        raise SolverError("HiGHS gave up on purpose")
    return {"total_mw": float(s.config.programme_cap_mw),
            "demand_mwh": float(s.demand_mw.to_numpy().sum()),
            "hydro_budget_jan_mwh": float(s.energy_budgets.loc[("north_hydro", 1), "max_mwh"]),
            "tariff": s.config.tariffs.offered_pkr_per_kwh}


# the tiny scenario's mining row declares its load type, so the BTC axis values it (#12 item 8)
FLEX_TYPED = ("name,kind,load_type,value_usd_per_mwh,capex_usd_per_mw_year,max_mw_per_region,min_site_mw,window_h,"
              "max_off_share,backup_cost_usd_per_mwh,regions\nmining,interruptible,bitcoin_mining,60,100000,400,0,24,1,0,\n")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_scenario(write_tiny_scenario(tmp_path_factory.mktemp("tiny"), {"flex_loads.csv": FLEX_TYPED}))


GRID = {"axes": {"tariff_pkr_per_kwh": [20, 99], "hydrology": ["dry", "wet"],
                 "programme_cap_mw": [100, 300]},
        "plan": {"resolution": "3h", "baseline": False}}


def test_grid_product_and_plan_options():
    g = parse_grid(GRID)
    assert g.n_variants == 8
    vs = g.variants()
    assert vs[0] == {"tariff_pkr_per_kwh": 20, "hydrology": "dry", "programme_cap_mw": 100}
    assert vs[-1] == {"tariff_pkr_per_kwh": 99, "hydrology": "wet", "programme_cap_mw": 300}
    assert g.plan == {"resolution_h": 3, "baseline": False}
    assert parse_grid({"axes": {"hydrology": "wet"}, "plan": {"days": 24}}).plan == {"days": 24}


def _check_rows(result):
    frame = result.to_frame()
    assert list(frame.index) == list(range(8))
    failed = frame[frame["status"] == "failed"]
    assert len(failed) == 4 and set(failed["tariff_pkr_per_kwh"]) == {99}
    assert failed["error"].str.contains("SolverError: HiGHS gave up on purpose").all()
    ok = frame[frame["status"] == "ok"]
    assert (ok["error"] == "").all()
    # each ok row's figures come from its own variant
    assert (ok["total_mw"] == ok["programme_cap_mw"]).all()
    jan = {"dry": 372_000 * 0.8, "wet": 372_000 * 1.15}
    assert ok.apply(lambda r: r["hydro_budget_jan_mwh"] == pytest.approx(jan[r["hydrology"]]), axis=1).all()
    assert (ok["tariff"] == 20).all()
    assert result.n_failed == 4 and result.n_ok == 4 and not result.all_failed


def test_serial_sweep_reports_failed_variants(tiny):
    result = run_sweep(tiny, parse_grid(GRID), evaluate=stand_in)
    _check_rows(result)
    data = json.loads(result.to_json())
    assert data["n_failed"] == 4 and len(data["rows"]) == 8
    assert data["rows"][4]["total_mw"] is None  # NaN figures of a failed row become null


@pytest.mark.heavy  # loads several cores: never beside a timing test (tests/conftest.py)
def test_dask_sweep_on_two_worker_local_cluster(tiny):
    from distributed import Client, LocalCluster

    seen = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        result = run_sweep(tiny, parse_grid(GRID), client=client, evaluate=stand_in,
                           on_row=lambda row: seen.append(row["variant"]))
        pids = client.run(lambda: __import__("os").getpid())
    assert result.workers == 2 and result.scheduler.startswith("tcp://")
    assert len(set(pids.values())) == 2
    assert sorted(seen) == list(range(8))
    _check_rows(result)
    serial = run_sweep(tiny, parse_grid(GRID), evaluate=stand_in).to_frame()
    pd.testing.assert_frame_equal(result.to_frame().drop(columns=["wall_s", "cpu_s"]),
                                  serial.drop(columns=["wall_s", "cpu_s"]))


def test_all_failed(tiny):
    result = run_sweep(tiny, parse_grid({"axes": {"tariff_pkr_per_kwh": [99]}}), evaluate=stand_in)
    assert result.all_failed


@pytest.mark.parametrize("data, text", [
    ([1, 2], "a grid must be a mapping"),
    ({"axes": {}}, "empty grid"),
    ({"plan": {"resolution": "3h"}}, "empty grid"),
    ({"axes": {"hydrology": []}}, "axis 'hydrology' has no values"),
    ({"axes": {"tarif_pkr_per_kwh": [20]}}, "unknown axis 'tarif_pkr_per_kwh'"),
    ({"axes": {"hydrology": ["damp"]}}, "hydrology must be one of"),
    ({"axes": {"hydrology": ["wet", "wet"]}}, "repeats a value"),
    ({"axes": {"hydrology": ["wet"]}, "extra": 1}, "unknown key(s) extra"),
    ({"axes": {"hydrology": ["wet"]}, "plan": {"resolution": "5h"}}, "plan.resolution must be one of"),
    ({"axes": {"hydrology": ["wet"]}, "plan": {"days": 13}}, "plan.days must be a whole multiple of 12"),
    ({"axes": {"hydrology": ["wet"]}, "plan": {"days": 24, "resolution": 3}}, "not both"),
    ({"axes": {"hydrology": ["wet"]}, "plan": {"solver": "cplex"}}, "unknown plan option(s) solver"),
    ({"axes": {"hydrology": ["wet"]}, "bitcoin": {"efficiency_j_per_th": 0}}, "efficiency_j_per_th must be > 0"),
    ({"axes": {"tariff_pkr_per_kwh": list(range(200)), "programme_cap_mw": list(range(100))}},
     "20,000 variants"),
])
def test_bad_grids(data, text):
    with pytest.raises(InputError) as info:
        parse_grid(data, "g.yaml")
    assert text in info.value.message


def test_grid_value_the_scenario_cannot_take(tiny):
    from dataclasses import replace

    no_solar = replace(tiny, profiles_pu=tiny.profiles_pu.drop(columns="solar"))
    with pytest.raises(InputError, match="axis 'rooftop_solar_growth_mw' value 0: .*needs a 'solar' profile"):
        check_grid_on(no_solar, parse_grid({"axes": {"rooftop_solar_growth_mw": [0, 100]}}))


def test_load_grid_reports_yaml_line(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("axes:\n  hydrology: [wet, dry\nplan: {}\n")
    with pytest.raises(InputError, match=r"g.yaml, line \d+, column \d+: not valid YAML"):
        load_grid(p)


@pytest.mark.parametrize("text, message", [
    ("axes:\n  hydrology: [wet\n", "not valid YAML"),
    ("axes:\n  tariff: [20]\n", "unknown axis 'tariff'"),
    ("axes: {}\n", "empty grid"),
    ("", "a grid must be a mapping"),
])
def test_cli_bad_grid_exits_2_and_writes_nothing(tmp_path, text, message):
    grid = tmp_path / "sweep.yaml"
    grid.write_text(text)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["sweep", "--grid", str(grid), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert not out.exists()


# --- with the real planning engine on the tiny scenario -------------------------------

REAL_GRID = """\
axes:
  btc_price_usd: [100000, 6000000]   # 6 M USD puts mining's lifetime value (3,368 USD/MWh) above VOLL: refused
  programme_cap_mw: [200, 500]
plan:
  resolution: 2h
"""


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return write_tiny_scenario(tmp_path_factory.mktemp("tiny_cli"), {"flex_loads.csv": FLEX_TYPED})


def test_plan_and_value_row_matches_direct_calls(tiny):
    from offtake.economics.value import ValueAssumptions, value_plan
    from offtake.plan import PlanOptions, plan
    from offtake.variants import apply_variant

    grid = parse_grid({"axes": {"programme_cap_mw": [200]}, "plan": {"resolution": "2h"}})
    row = run_sweep(tiny, grid).rows[0]
    assert row["status"] == "ok", row["error"]
    s = apply_variant(tiny, {"programme_cap_mw": 200})
    res = plan(s, PlanOptions(resolution_h=2))
    val = value_plan(s, res, assumptions=ValueAssumptions())
    assert row["objective_usd"] == pytest.approx(res.objective_usd, rel=1e-9)
    assert row["total_mw"] == pytest.approx(200.0) == pytest.approx(float(res.capacity_mw.to_numpy().sum()))
    assert row["contribution_usd_per_year"] == pytest.approx(val.system.contribution_usd_per_year, rel=1e-9)


@pytest.mark.heavy  # loads several cores: never beside a timing test (tests/conftest.py)
def test_cli_sweep_on_two_workers_reports_the_failing_variant(tmp_path, tiny_folder):
    grid = tmp_path / "sweep.yaml"
    grid.write_text(REAL_GRID)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["sweep", "--grid", str(grid), "--scenario", str(tiny_folder),
                                   "--workers", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "4 variants, 2 failed" in res.output
    assert {p.name for p in out.iterdir()} == {"sweep.csv", "sweep.json", "sweep.png"}
    frame = pd.read_csv(out / "sweep.csv", index_col="variant")
    assert list(frame["status"]) == ["ok", "ok", "failed", "failed"]
    assert frame.loc[2, "error"].startswith("InputError: flex_loads.csv: value_usd_per_mwh of mining")
    assert "value of lost load" in frame.loc[3, "error"]
    from offtake.plan import PlanOptions, plan
    from offtake.variants import apply_variant

    for i, cap in ((0, 200), (1, 500)):  # each ok row is that variant's own plan
        direct = plan(apply_variant(load_scenario(tiny_folder), {"btc_price_usd": 100_000, "programme_cap_mw": cap}),
                      PlanOptions(resolution_h=2))
        assert frame.loc[i, "total_mw"] == pytest.approx(float(direct.capacity_mw.to_numpy().sum()), abs=1e-6)
        assert frame.loc[i, "objective_usd"] == pytest.approx(direct.objective_usd, rel=1e-9)
    assert frame.loc[0, "total_mw"] == pytest.approx(200.0)  # the cap binds
    data = json.loads((out / "sweep.json").read_text())
    assert data["n_failed"] == 2 and data["workers"] == 2
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_sweep_all_failed_exits_1_with_the_table(tmp_path, tiny_folder):
    grid = tmp_path / "sweep.yaml"
    grid.write_text("axes:\n  btc_price_usd: [6000000]\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["sweep", "--grid", str(grid), "--scenario", str(tiny_folder),
                                   "--workers", "1", "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert "every variant failed" in res.output
    assert pd.read_csv(out / "sweep.csv")["status"].tolist() == ["failed"]


def test_cli_unreachable_scheduler_is_exit_2(tmp_path, tiny_folder):
    grid = tmp_path / "sweep.yaml"
    grid.write_text("axes:\n  programme_cap_mw: [100]\n")
    res = CliRunner().invoke(app, ["sweep", "--grid", str(grid), "--scenario", str(tiny_folder),
                                   "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "1", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert "cannot reach the Dask scheduler" in res.output
    assert not (tmp_path / "o").exists()


def test_variants_differing_only_in_tariff_share_one_plan(tiny, monkeypatch):
    import offtake.plan

    calls = []
    real = offtake.plan.plan

    def counting(s, options):
        calls.append(s.config.programme_cap_mw)
        return real(s, options)

    monkeypatch.setattr(offtake.plan, "plan", counting)
    grid = parse_grid({"axes": {"programme_cap_mw": [200, 400], "tariff_pkr_per_kwh": [20, 26]},
                       "plan": {"resolution": "2h", "baseline": True}})
    frame = run_sweep(tiny, grid).to_frame()
    assert sorted(calls) == [200, 400]  # one plan per programme cap, not per tariff
    assert (frame["status"] == "ok").all()
    assert list(frame["total_mw"]) == pytest.approx([200, 200, 400, 400])
    # same plan, valued at each tariff: the contribution rises by 6 Rs/kWh x MWh
    a, b = frame.loc[0], frame.loc[1]
    assert b["contribution_usd_per_year"] - a["contribution_usd_per_year"] == pytest.approx(
        6.0 * a["total_mwh_per_year"] * 1000 / 280.0, rel=1e-9)


@pytest.mark.heavy  # loads several cores: never beside a timing test (tests/conftest.py)
def test_cli_sweep_on_an_existing_scheduler(tmp_path, tiny_folder):
    from distributed import LocalCluster

    grid = tmp_path / "sweep.yaml"
    grid.write_text("axes:\n  programme_cap_mw: [100, 300]\n")
    out = tmp_path / "out"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        res = CliRunner().invoke(app, ["sweep", "--grid", str(grid), "--scenario", str(tiny_folder),
                                       "--scheduler", cluster.scheduler_address, "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert len(cluster.scheduler.workers) == 2  # the CLI used this cluster and left it running
    data = json.loads((out / "sweep.json").read_text())
    assert data["scheduler"] == cluster.scheduler_address and data["workers"] == 2
    assert [r["total_mw"] for r in data["rows"]] == pytest.approx([100.0, 300.0])
