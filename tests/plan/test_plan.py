"""Planning engine: hand-solved examples, PyPSA agreement, diagnosis, independent check."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from offtake.errors import CheckError, InfeasibleError, InputError
from offtake.examples import TWO_REGION_OBJECTIVE_USD, mixed_loads, must_run_glut, two_region_mining
from offtake.plan import PlanOptions, build_model, check_solution, plan, prepare, solve
from offtake.plan.pypsa_io import optimize_network, to_pypsa
from offtake.plan.run import solve_inputs


def test_two_region_matches_hand_solution() -> None:
    r = plan(two_region_mining())
    assert r.objective_usd == pytest.approx(TWO_REGION_OBJECTIVE_USD, rel=1e-9)
    assert r.capacity_mw.loc["B", "bitcoin_mining"] == pytest.approx(5.0, abs=1e-7)
    assert r.capacity_mw.loc["A", "bitcoin_mining"] == 0.0
    np.testing.assert_allclose(r.consumption_mw[("B", "bitcoin_mining")], [5, 5, 0], atol=1e-7)
    np.testing.assert_allclose(r.dispatch_mw["A_cheap"], [65, 70, 70], atol=1e-7)
    np.testing.assert_allclose(r.dispatch_mw["B_dear"], [0, 0, 10], atol=1e-7)
    np.testing.assert_allclose(r.flow_mw["A-B"], [45, 50, 50], atol=1e-7)
    np.testing.assert_allclose(r.price_usd_per_mwh["A"], [10, 10, 10], atol=1e-7)
    np.testing.assert_allclose(r.price_usd_per_mwh["B"], [10, 20, 50], atol=1e-7)
    assert r.unserved_mwh == 0.0


def test_two_region_summary_for_economics() -> None:
    r = plan(two_region_mining())
    fs = r.flex_summary().set_index(["region", "flex"])
    row = fs.loc[("B", "bitcoin_mining")]
    years = 3 / 8760
    assert row["energy_mwh_per_year"] == pytest.approx(10 / years)
    assert row["curtailed_hours_per_year"] == pytest.approx(1 / years)
    assert row["uptime_share"] == pytest.approx(2 / 3)
    # baseline: A serves 20 + 40/45/50 import, B 0/0/10 -> extra = the 10 MWh of mining from A at 10 USD/MWh
    assert r.extra_generation_cost_usd_per_year == pytest.approx(100 / years)
    gf = r.generation_by_fuel()
    assert gf.loc["gas", "extra_mwh_per_year"] == pytest.approx(10 / years)
    # value created = mining value 300 - extra generation 100 - capex 150 = 50 USD over 3 h
    assert r.net_value_usd_per_year == pytest.approx(50 / years)


def test_build_only_names_blocks() -> None:
    m = build_model(mixed_loads())
    for name in ("Generator-p", "Line-p", "Bus-unserved", "Flex-capacity", "Flex-p", "Flex-backup"):
        assert name in m.variables
    for name in ("Bus-nodal_balance", "Region-reserve", "Flex-p-upper", "Flex-firm", "Flex-programme_cap",
                 "Flex-window-training"):
        assert name in m.constraints
    assert m.status == "initialized"  # built, not solved


@pytest.mark.parametrize("make", [two_region_mining, mixed_loads])
def test_same_objective_as_pypsa(make) -> None:  # type: ignore[no-untyped-def]
    s = make()
    x = prepare(s)
    res = solve(build_model(x))
    obj = optimize_network(to_pypsa(x))
    assert res.objective_usd == pytest.approx(obj, rel=1e-6)


def test_pypsa_agreement_at_3h_resolution() -> None:
    x = prepare(mixed_loads(), PlanOptions(resolution_h=3))
    # blocks follow the clock (00-03, 03-06, ...): the series starts at 19:00, so 2 h, 15 x 3 h, 1 h
    assert x.weight_h.sum() == 48 and len(x.snapshots) == 17 and list(x.weight_h[[0, 1, -1]]) == [2, 3, 1]
    assert solve(build_model(x)).objective_usd == pytest.approx(optimize_network(to_pypsa(x)), rel=1e-6)


def test_infeasible_is_explained() -> None:
    with pytest.raises(InfeasibleError) as exc:
        plan(must_run_glut())
    text = str(exc.value)
    assert "B, 2025-07-14 20:00-22:00" in text
    assert "must-run generation exceeds demand plus flexible loads plus export limit by 30 MW" in text
    assert exc.value.exit_code == 2


def test_min_site_above_max_is_infeasible() -> None:
    s = two_region_mining()
    fl = s.flex_loads.copy()
    fl.loc["bitcoin_mining", "min_site_mw"] = 500.0
    with pytest.raises(InfeasibleError, match="min_site_mw 500 MW exceeds max_mw_per_region 100 MW"):
        plan(dataclasses.replace(s, flex_loads=fl))


def test_min_site_rounding_leaves_no_small_site() -> None:
    s = mixed_loads()
    fl = s.flex_loads.copy()
    fl["min_site_mw"] = 20.0
    r = plan(dataclasses.replace(s, flex_loads=fl))
    cap = r.capacity_mw.to_numpy()
    assert not ((cap > 1e-6) & (cap < 20 - 1e-6)).any()
    assert r.rounded_sites  # the 14.6 MW training site in C was rounded


def test_flex_value_above_voll_rejected() -> None:
    s = two_region_mining()
    fl = s.flex_loads.copy()
    fl.loc["bitcoin_mining", "value_usd_per_mwh"] = 5000.0
    with pytest.raises(InputError, match="value of lost load"):
        plan(dataclasses.replace(s, flex_loads=fl))


def test_households_first_when_short() -> None:
    s = two_region_mining()
    d = s.demand_mw.copy()
    d["B"] = [40.0, 45.0, 170.0]  # hour 3: B needs 170, at most 100 + 50 available
    r = plan(dataclasses.replace(s, demand_mw=d), PlanOptions(allow_unserved=True))
    assert r.unserved_mw["B"].iloc[2] == pytest.approx(20.0)
    assert r.consumption_mw.iloc[2].sum() == 0.0
    assert r.price_usd_per_mwh["B"].iloc[2] == pytest.approx(1000.0)


def test_check_catches_tampered_solution() -> None:
    x = prepare(two_region_mining())
    sol, _, _ = solve_inputs(x, PlanOptions())
    check_solution(x, sol)  # the genuine solution passes
    bad = sol.dispatch.copy()
    bad[1, 0] += 1e-3
    with pytest.raises(CheckError, match="energy balance off"):
        check_solution(x, dataclasses.replace(sol, dispatch=bad))
    flows = sol.flow_forward.copy()
    flows[2, 0] = 60.0
    with pytest.raises(CheckError, match="corridor above forward limit"):
        check_solution(x, dataclasses.replace(sol, flow_forward=flows))
    u = sol.unserved.copy()
    u[0, 1] = 5.0
    fp = sol.flex_p.copy()
    fp[0, 1, 0] += 5.0  # balance holds, but households were cut while mining ran
    with pytest.raises(CheckError, match="households not served while flexible loads draw"):
        check_solution(x, dataclasses.replace(sol, unserved=u, flex_p=fp))


def test_representative_days_weights() -> None:
    from offtake.scenario.io import load_scenario

    s = load_scenario()
    x = prepare(s, PlanOptions(days=12))
    assert len(x.snapshots) == 12 * 24
    assert x.weight_h.sum() == pytest.approx(len(s.snapshots))
    assert sorted(set(x.month)) == list(range(1, 13))
    with pytest.raises(InputError, match="multiple of 12"):
        prepare(s, PlanOptions(days=10))
    with pytest.raises(InputError, match="must divide 24"):
        prepare(s, PlanOptions(resolution_h=5))


def test_plan_does_not_mutate_scenario() -> None:
    s = mixed_loads()
    before = (s.demand_mw.copy(), s.generators.copy(), s.flex_loads.copy())
    plan(s, PlanOptions(resolution_h=2))
    assert s.demand_mw.equals(before[0]) and s.generators.equals(before[1]) and s.flex_loads.equals(before[2])


@pytest.mark.slow
def test_full_builtin_matches_pypsa() -> None:
    from offtake.scenario.io import load_scenario

    x = prepare(load_scenario())
    sol, res, _ = solve_inputs(x, PlanOptions())
    check_solution(x, sol)
    assert res.objective_usd == pytest.approx(optimize_network(to_pypsa(x), solver="ipm"), rel=1e-6)


@pytest.mark.parametrize(("kw", "objective", "lng_mwh", "coal_mwh", "unused_mwh"), [
    ({}, 3600.0, 100.0, 40.0, 0.0),
    ({"top_mwh": 150.0}, 2400.0, 140.0, 0.0, 10.0),
    ({"coal_max_mwh": 30.0}, 4000.0, 110.0, 30.0, 0.0),
])
def test_take_or_pay_budget_and_availability_by_hand(kw, objective, lng_mwh, coal_mwh, unused_mwh) -> None:
    from offtake.examples import take_or_pay

    s = take_or_pay(**kw)
    r = plan(s)
    assert r.objective_usd == pytest.approx(objective, rel=1e-9)  # hand solution in the example's docstring
    np.testing.assert_allclose(r.dispatch_mw["A_nuclear"], [50, 50, 50, 50], atol=1e-7)  # 50 % available in July
    assert r.dispatch_mw["A_rlng"].sum() == pytest.approx(lng_mwh, abs=1e-6)
    assert r.dispatch_mw["A_coal"].sum() == pytest.approx(coal_mwh, abs=1e-6)
    top = r.take_or_pay()
    assert top.loc[("lng", 7), "unused_mwh"] == pytest.approx(unused_mwh, abs=1e-6)
    free = r.free_mw()
    np.testing.assert_allclose(free[("A", "wind", "curtailed")], [30, 0, 0, 0], atol=1e-7)
    total_top = free[("A", "rlng", "take_or_pay")].sum()  # 1-hour snapshots: MW summed = MWh
    assert total_top == pytest.approx(unused_mwh, abs=1e-6)
    # the independent PyPSA model of the same network (budgets and take-or-pay via extra_functionality)
    x = prepare(s)
    assert optimize_network(to_pypsa(x)) == pytest.approx(objective, rel=1e-6)
    mix = r.fuel_mix()
    assert list(mix.index) == ["hydro", "nuclear", "rlng", "gas", "coal_local", "coal_imported", "oil", "wind",
                               "solar", "bagasse"]
    years = 4 / 8760
    assert mix.loc["rlng", "baseline_mwh_per_year"] == pytest.approx(lng_mwh / years)
    assert mix.loc["wind", "with_flex_mwh_per_year"] == pytest.approx(60 / years)  # 30 + 30 of 90 available
    ft = r.free_table().set_index(["region", "fuel", "kind"])
    assert ft.loc[("A", "wind", "curtailed"), "baseline_mwh_per_year"] == pytest.approx(30 / years)
    summary = r.summary()
    assert summary["take_or_pay_unused_mwh_per_year"] == pytest.approx(unused_mwh / years)
    assert summary["free_mwh_per_year_by_kind"]["curtailed"] == pytest.approx(30 / years)


def test_budget_min_take_forces_energy_and_is_checked() -> None:
    import dataclasses

    from offtake.examples import take_or_pay
    from offtake.scenario.schema import BUDGET_COLUMNS

    s = take_or_pay(coal_max_mwh=200.0)
    eb = s.energy_budgets.copy()
    eb.loc[("coal", 7), "min_mwh"] = 90.0  # must burn 90 MWh of coal: more than the 40 it would
    r = plan(dataclasses.replace(s, energy_budgets=eb[BUDGET_COLUMNS]))
    assert r.dispatch_mw["A_coal"].sum() == pytest.approx(90.0, abs=1e-6)
    # 140 MWh residual: coal 90, LNG 50 within its contract (at 10), so 3,600 - 40*40 - 60*10 + 90*40 + 50*10
    assert r.objective_usd == pytest.approx(1000 + 50 * 10 + 90 * 40, rel=1e-9)
    x = prepare(dataclasses.replace(s, energy_budgets=eb[BUDGET_COLUMNS]))
    bad = dataclasses.replace(read_back := solve_inputs(x, PlanOptions())[0],
                              dispatch=read_back.dispatch * np.array([1, 1, 1, 0.5]))
    with pytest.raises(CheckError, match="below min_mwh"):
        check_solution(x, bad)
