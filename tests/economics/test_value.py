"""value_plan: investor and system views of plan figures, checked by hand on the tiny scenario."""

from __future__ import annotations

import json
import math

import pytest

from offtake.economics.bitcoin import MINERS, MiningCase, value_mining
from offtake.economics.loads import LoadKind
from offtake.economics.value import (
    LoadFigures,
    PlanFigures,
    ValueAssumptions,
    load_kind_of,
    value_plan,
)
from offtake.errors import InputError
from offtake.scenario import load_scenario
from offtake.scenario.tiny import write_tiny_scenario

FX = 280.0  # the tiny scenario's PKR per USD
MWH = 100 * 8760 * 0.9  # 100 MW at 90 % uptime = 788,400 MWh/yr
EXTRA_USD = MWH * 20.0  # the plan's extra generation cost: 20 USD per MWh drawn


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    # item 8 of #12: each type declares its load_type (no guessing from the name)
    flex = ("name,kind,load_type,value_usd_per_mwh,capex_usd_per_mw_year,max_mw_per_region,min_site_mw,window_h,"
            "max_off_share,backup_cost_usd_per_mwh,regions\n"
            "mining,interruptible,bitcoin_mining,60,100000,400,0,24,1,0,\n"
            "ai_training,deferrable,ai_training,700,5200000,100,0,24,0.3,0,\n")
    return load_scenario(write_tiny_scenario(tmp_path_factory.mktemp("tiny"), {"flex_loads.csv": flex}))


def figures(extra=EXTRA_USD):
    return PlanFigures(loads=(LoadFigures("mining", "interruptible", 100.0, MWH, 876.0),
                              LoadFigures("ai_training", "deferrable", 0.0, 0.0, 0.0)),
                       extra_generation_cost_usd_per_year=extra)


def test_system_view_by_hand(tiny):
    r = value_plan(tiny, figures())
    s = r.system
    assert r.pkr_per_usd == FX
    assert s.tariff_pkr_per_kwh == 22.98  # the scenario's offered tariff
    assert s.tariff_usd_per_mwh == pytest.approx(22.98 * 1000 / FX)
    # energy cost caused = 20 USD/MWh x 280 PKR/USD / 1000 = 5.6 PKR/kWh
    assert s.energy_cost_pkr_per_kwh == pytest.approx(5.6)
    contrib = (22.98 - 1.5 - 5.6) * MWH * 1000  # PKR/yr = 12.52 bn (network charge Rs 1.5 is not a contribution)
    assert s.contribution_pkr_per_year == pytest.approx(contrib)
    assert s.contribution_usd_per_year == pytest.approx(contrib / FX)
    # spread over units sold: 126.3 TWh purchased less 16 % DISCO losses [est] = 106.1 TWh
    assert s.other_consumers_change_pkr_per_kwh == pytest.approx(-contrib / (1806e9 / 14.3 * 0.84))
    assert s.full_cost_pkr_per_kwh == pytest.approx(5.6 + 1.5 + 16.67)  # same energy-cost basis as the contribution
    assert not s.recovers_full_cost and s.others_tariffs_fall
    assert s.mw == 100.0 and s.mwh_per_year == pytest.approx(MWH)
    assert s.window_lower_pkr_per_kwh == pytest.approx(5.6)


def test_reference_energy_charge_without_baseline(tiny):
    s = value_plan(tiny, figures(extra=None)).system
    assert s.energy_cost_pkr_per_kwh == 9.67
    assert math.isnan(s.extra_generation_cost_usd_per_year)
    assert s.contribution_pkr_per_year == pytest.approx((22.98 - 1.5 - 9.67) * MWH * 1000)


def test_investor_view_uses_plan_mw_uptime_and_tariff(tiny):
    r = value_plan(tiny, figures(), tariff_pkr_per_kwh=25.0, assumptions=ValueAssumptions(btc_price_usd=200_000))
    mining = r.loads[0]
    assert mining.load_kind == "bitcoin" and mining.basis == "plan"
    assert mining.uptime_share == pytest.approx(0.9)
    s21 = MINERS["S21"]  # the reference miner of the valuation template
    direct = value_mining(MiningCase(mw=100.0, miner=s21, uptime_share=0.9,
                                     electricity_usd_per_mwh=25.0 * 1000 / FX, btc_price_usd=200_000), FX)
    assert mining.npv_usd == pytest.approx(direct.npv_usd)
    assert mining.capex_usd == pytest.approx(direct.capex_usd)
    # NPV is zero at the break-even tariff; the USD/MWh figure is the same price
    be = mining.breakeven_tariff_pkr_per_kwh
    assert 0 < be < 500
    at_be = value_mining(MiningCase(mw=100.0, miner=s21, uptime_share=0.9,
                                    electricity_usd_per_mwh=be * 1000 / FX, btc_price_usd=200_000), FX)
    assert abs(at_be.npv_usd) < 1e-3 * direct.capex_usd
    assert mining.breakeven_tariff_usd_per_mwh == pytest.approx(be * 1000 / FX)
    assert mining.pays_at_tariff == (direct.npv_usd >= 0) == (25.0 <= be)
    # the window's upper end is the only sited type's break-even
    assert r.system.window_upper_pkr_per_kwh == pytest.approx(be)
    assert r.system.window_is_empty == (be <= 5.6)


def test_unsited_type_gets_reference_break_even_only(tiny):
    ai = value_plan(tiny, figures()).loads[1]
    assert ai.load_kind == "aidc" and ai.basis.startswith("not sited")
    assert math.isnan(ai.npv_usd) and math.isnan(ai.irr_per_year) and not ai.pays_at_tariff
    assert ai.revenue_usd_per_mwh > 0


def test_frames_and_json(tiny):
    r = value_plan(tiny, figures())
    frame = r.to_frame()
    assert list(frame.index) == ["mining", "ai_training"]
    assert {"npv_usd", "breakeven_tariff_pkr_per_kwh", "breakeven_tariff_usd_per_mwh"} <= set(frame.columns)
    assert r.system_frame().loc["energy_cost_pkr_per_kwh", "value"] == pytest.approx(5.6)
    data = json.loads(r.to_json())
    assert data["system"]["mw"] == 100.0 and len(data["loads"]) == 2
    row = r.summary()
    assert row["mining_mw"] == 100.0 and row["total_mw"] == 100.0
    assert row["contribution_usd_per_year"] == pytest.approx(r.system.contribution_usd_per_year)


def test_load_kind_is_declared_never_guessed():
    import pandas as pd

    assert load_kind_of(pd.Series({"load_type": "bitcoin_mining"})) is LoadKind.BITCOIN
    assert load_kind_of(pd.Series({"load_type": "ai_inference"})) is LoadKind.AIDC
    # a name full of mining words does not make a type Bitcoin: without load_type it has no kind
    assert load_kind_of(pd.Series({"name": "bitcoin_mining_btc", "load_type": None})) is None


def test_bad_inputs(tiny):
    with pytest.raises(InputError, match="tariff must be a finite number >= 0"):
        value_plan(tiny, figures(), tariff_pkr_per_kwh=-1.0)
    with pytest.raises(InputError, match="mining.mw must be a finite number >= 0"):
        LoadFigures("mining", "interruptible", -5.0, 0.0, 0.0)
    too_much = PlanFigures(loads=(LoadFigures("mining", "interruptible", 1.0, 9000.0, 0.0),))
    with pytest.raises(InputError, match="exceeds mw x 8760"):
        value_plan(tiny, too_much)
    with pytest.raises(InputError, match="cannot read plan figures"):
        value_plan(tiny, object())


# --- on the tiny scenario's real plan -------------------------------------------------


@pytest.fixture(scope="module")
def tiny_plan(tiny):
    from offtake.plan import PlanOptions, plan

    return plan(tiny, PlanOptions())


def test_value_of_the_tiny_plan(tiny, tiny_plan):
    from offtake.economics.value import plan_figures

    figs = plan_figures(tiny_plan)
    bt = tiny_plan.by_type()
    by_name = {lf.name: lf for lf in figs.loads}
    assert set(by_name) == {"mining", "ai_training"}
    assert by_name["mining"].mw == pytest.approx(float(bt.loc["mining", "capacity_mw"]))
    assert by_name["mining"].mwh_per_year == pytest.approx(float(bt.loc["mining", "energy_mwh_per_year"]))
    assert figs.extra_generation_cost_usd_per_year == pytest.approx(tiny_plan.extra_generation_cost_usd_per_year)
    r = value_plan(tiny, tiny_plan)
    s = r.system
    assert s.mw == pytest.approx(float(tiny_plan.capacity_mw.to_numpy().sum()))
    # energy cost caused = the plan's extra generation cost per kWh drawn, in PKR
    kwh = s.mwh_per_year * 1000
    assert s.energy_cost_pkr_per_kwh == pytest.approx(figs.extra_generation_cost_usd_per_year * FX / kwh)
    assert s.contribution_pkr_per_year == pytest.approx((22.98 - 1.5 - s.energy_cost_pkr_per_kwh) * kwh)
    for v in r.loads:
        assert (v.basis == "plan") == (v.mw > 0)


def _invoke(*args):
    from typer.testing import CliRunner

    from offtake.cli import app

    return CliRunner().invoke(app, ["value", *args])


def test_cli_value_runs_the_plan_and_reads_a_plan_dir(tmp_path, tiny):
    out = tmp_path / "v1"
    res = _invoke("--scenario", tiny.source, "--tariff", "25", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "Investor view at Rs 25/kWh" in res.output and "System view" in res.output
    assert {p.name for p in out.iterdir()} == {"value_loads.csv", "value_system.csv", "value.json"}
    direct = json.loads((out / "value.json").read_text())
    assert direct["system"]["tariff_pkr_per_kwh"] == 25.0

    from typer.testing import CliRunner

    from offtake.cli import app

    plan_dir = tmp_path / "plan"
    assert CliRunner().invoke(app, ["plan", "--scenario", tiny.source, "--out", str(plan_dir)]).exit_code == 0
    res2 = _invoke("--scenario", tiny.source, "--plan-dir", str(plan_dir), "--tariff", "25",
                   "--out", str(tmp_path / "v2"))
    assert res2.exit_code == 0, res2.output
    from_dir = json.loads((tmp_path / "v2" / "value.json").read_text())
    assert from_dir["system"]["contribution_pkr_per_year"] == pytest.approx(
        direct["system"]["contribution_pkr_per_year"], rel=1e-6)
    assert [v["mw"] for v in from_dir["loads"]] == pytest.approx([v["mw"] for v in direct["loads"]])


@pytest.mark.parametrize("args, text", [
    (["--tariff", "-1"], "--tariff must be a finite number >= 0"),
    (["--btc-price", "0"], "--btc-price must be a finite number > 0"),
    (["--plan-dir", "/nonexistent/plan"], "summary.json not found"),
    (["--resolution", "5h"], "resolution must be one of"),
])
def test_cli_value_bad_input_exit_2_nothing_written(tmp_path, tiny, args, text):
    out = tmp_path / "out"
    res = _invoke("--scenario", tiny.source, *args, "--out", str(out))
    assert res.exit_code == 2, res.output
    assert text in res.output
    assert not out.exists()


def test_cli_value_plan_dir_of_another_scenario(tmp_path, tiny):
    (tmp_path / "summary.json").write_text(json.dumps({"scenario": "other", "by_type": {}}))
    res = _invoke("--scenario", tiny.source, "--plan-dir", str(tmp_path), "--out", str(tmp_path / "o"))
    assert res.exit_code == 2 and "is a plan of scenario 'other'" in res.output
    (tmp_path / "summary.json").write_text("{not json")
    res = _invoke("--scenario", tiny.source, "--plan-dir", str(tmp_path), "--out", str(tmp_path / "o"))
    assert res.exit_code == 2 and "cannot read the plan summary" in res.output
    assert not (tmp_path / "o").exists()
