"""Surplus assessment on a hand-solved two-region system, and min-cut against the LP."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from offtake.network import max_hostable_mw
from offtake.scenario import load_scenario
from offtake.scenario.tiny import GENERATORS_CSV, LINES_CSV, write_tiny_scenario
from offtake.surplus import assess, national_with_losses
from offtake.surplus_cost import cost_bands, dispatch_units, normalise_bands


@pytest.fixture
def tiny(tmp_path):
    return load_scenario(write_tiny_scenario(tmp_path / "tiny"))


def test_hand_solved_hours(tiny):
    r = assess(tiny)
    # hydro 372,000 MWh in January (744 h) -> 500 MW; gas 600 * 0.9 = 540; solar 0.8 * 200 in 07-17h
    # hour 0: north 500 - 110 = 390, south 540 - 550 = -10; corridor 300 MW
    assert r.local_surplus_mw.iloc[0].tolist() == pytest.approx([390, -10])
    assert r.hostable_mw.iloc[0].tolist() == pytest.approx([380, 290])
    assert r.national_mw.iloc[0] == pytest.approx(380)
    # hour 19: north 500 - 165 = 335, south 540 - 770 = -230
    assert r.hostable_mw.iloc[19].tolist() == pytest.approx([105, 70])
    assert r.national_mw.iloc[19] == pytest.approx(105)
    # hour 12: south has solar: 700 - 550 = 150
    assert r.hostable_mw.iloc[12].tolist() == pytest.approx([540, 450])
    assert r.national_mw.iloc[12] == pytest.approx(540)
    assert r.household_shortfall_mw.sum() == 0


def test_losses_and_household_shortfall(tmp_path):
    lines = LINES_CSV.replace("300,300,0", "200,200,0.1")
    s = load_scenario(write_tiny_scenario(tmp_path / "l", {"lines.csv": lines}))
    r = assess(s)
    # hour 19: south needs 230 MW, the line delivers at most 200 * 0.9 = 180 -> 50 MW short.
    # Corridors count in delivered MW (180) and transfers are not charged their losses, so the
    # national figure is north's 335 - 180 sent = 155 MW ...
    assert r.household_shortfall_mw.iloc[19] == pytest.approx(50)
    assert r.national_mw.iloc[19] == pytest.approx(155)
    # ... and in hour 0 (south short of 10 MW) 390 - 10 = 380 MW
    assert r.national_mw.iloc[0] == pytest.approx(380)
    # with losses charged (the LP cross-check) north must send 200 MW to deliver 180, and 10 / 0.9
    # to deliver 10: the lossless figure is high by exactly the corridor losses, 20 and 1.11 MW
    split, short = national_with_losses(r.local_surplus_mw, s)
    assert split.sum(axis=1).iloc[19] == pytest.approx(135) and short.iloc[19] == pytest.approx(50)
    assert split.sum(axis=1).iloc[0] == pytest.approx(390 - 10 / 0.9)
    # the split places the national total: spare plant (north's hydro) and nothing else here
    assert r.national_split_mw.iloc[19].tolist() == pytest.approx([155, 0])


def test_min_cut_equals_lp_per_region_on_lossless_pakistan_graph():
    pk = load_scenario("pakistan-2025")
    lossless = pk.lines.assign(loss_pu=0.0)
    s = replace(pk, lines=lossless)
    rng = np.random.default_rng(7)
    local = pd.DataFrame(rng.normal(500, 2500, (40, 7)), columns=s.region_names, index=pk.snapshots[:40])
    cut = max_hostable_mw(local, s)
    # the national LP restricted to one region at a time: force other regions' new load to zero
    for r in s.region_names:  # an LP that may place new load only at r
        split, short = _region_lp(local, s, r)
        feasible = short < 1e-6
        assert np.allclose(cut[r][feasible.to_numpy()], split[feasible.to_numpy()], atol=1e-5)


def _region_lp(local, s, region):
    import linopy
    import xarray as xr

    from offtake.network import incidence
    from offtake.solver import solve_quietly

    t = np.arange(len(local))
    frm, to = incidence(s)
    m = linopy.Model()
    ln = s.lines
    fwd = m.add_variables(lower=0, upper=xr.DataArray(ln["capacity_forward_mw"].to_numpy(float), coords={"line": list(ln.index)}).expand_dims(snapshot=t), name="f")
    bwd = m.add_variables(lower=0, upper=xr.DataArray(ln["capacity_backward_mw"].to_numpy(float), coords={"line": list(ln.index)}).expand_dims(snapshot=t), name="b")
    x = m.add_variables(lower=0, coords=[t], dims=["snapshot"], name="x")
    short = m.add_variables(lower=0, coords=[t, s.region_names], dims=["snapshot", "region"], name="short")
    is_r = xr.DataArray([1.0 if n == region else 0.0 for n in s.region_names], coords={"region": s.region_names})
    net = (fwd * to).sum("line") + (bwd * frm).sum("line") - (fwd * frm).sum("line") - (bwd * to).sum("line")
    sv = xr.DataArray(local.to_numpy(), coords={"snapshot": t, "region": s.region_names})
    m.add_constraints(net + short - x * is_r >= -sv, name="bal")
    m.add_objective(1e4 * short.sum() - x.sum())
    solve_quietly(m)
    return pd.Series(m.solution["x"].to_numpy()), pd.Series(m.solution["short"].to_numpy().sum(axis=1))


def test_pakistan_summary_is_sane():
    r = assess(load_scenario("pakistan-2025"))
    at = r.available_at_least()
    assert (at.diff(axis=1).iloc[:, 1:] <= 1e-9).all().all()  # more hours -> less MW
    assert (r.hostable_mw.to_numpy() >= 0).all()
    # a region alone can never host more than the national total
    assert (r.hostable_mw.max(axis=1) <= r.national_mw + 1e-6).all()
    # the recalibrated system is tight at its peak: a few hours cannot serve demand x (1 + 5 % reserve)
    # even without new load (0.016 % of the energy); under 0.05 %, and charging corridor losses only adds to it
    short = r.household_shortfall_mw
    assert short.sum() < 5e-4 * (r.demand_mw.to_numpy().sum() * (1 + r.reserve_margin))
    _, lossy_short = national_with_losses(r.local_surplus_mw, load_scenario("pakistan-2025"))
    assert lossy_short.sum() >= short.sum() - 1e-6
    assert set(r.headroom) == {*r.hostable_mw.columns, "NATIONAL"}
    # bands: cumulative, and the top band never above the any-cost figure
    cb = r.by_cost
    assert (np.diff(cb.hostable_mw, axis=0) >= -1e-6).all() and (np.diff(cb.national_mw, axis=0) >= -1e-6).all()
    assert (cb.hostable_mw[-1] <= r.hostable_mw.to_numpy() + 1e-6).all()
    assert (cb.national_mw[-1] <= r.national_mw.to_numpy() + 1e-6).all()


# ---------------------------------------------------------------------------------------------
# surplus by cost (offtake.surplus_cost), hand-solved on the tiny scenario (docs/surplus.md)

BUDGET_HEADER = "budget,month,max_mwh,min_mwh,take_or_pay_mwh,take_or_pay_usd_per_mwh\n"
BIG_SOLAR = GENERATORS_CSV.replace("south_solar,south,solar,solar,200,", "south_solar,south,solar,solar,1000,")


def test_cost_bands_hand_solved(tiny):
    cb = cost_bands(tiny)
    assert cb.bands_usd_per_mwh == (0.0, 40.0, 60.0, 80.0, 120.0)
    # hour 0: the least-cost baseline sends 300 MW of hydro south (corridor full): hydro 410 of its
    # 500 MW (budget 372,000 MWh / 744 h), gas 250 of 540.  Free: nothing (no sun, hydro budget binds).
    # <= 40 USD/MWh: hydro's 90 spare MW, usable only in the north; <= 80: gas too = the capacity figures.
    np.testing.assert_allclose(cb.hostable_mw[:, 0, :], [[0, 0], [90, 0], [90, 0], [380, 290], [380, 290]], atol=1e-6)
    assert cb.national_mw[:, 0].tolist() == pytest.approx([0, 90, 90, 380, 380])
    # hour 19 (evening peak): hydro 465 (165 north + 300 south), 35 MW spare
    np.testing.assert_allclose(cb.hostable_mw[:, 19, :], [[0, 0], [35, 0], [35, 0], [105, 70], [105, 70]], atol=1e-6)
    # the top band holds every plant: equals the capacity (any cost) figures
    r = assess(tiny)
    np.testing.assert_allclose(cb.hostable_mw[-1], r.hostable_mw.to_numpy(), atol=1e-6)


def test_curtailed_solar_is_free_and_deliverable(tmp_path):
    s = load_scenario(write_tiny_scenario(tmp_path / "sun", {"generators.csv": BIG_SOLAR}))
    cb = cost_bands(s)
    # hour 12: solar 800 MW (1000 x 0.8) covers all 660 MW of need; 140 MW curtailed.  South exports
    # 110 MW north, leaving 190 MW of corridor, so all 140 free MW reach either region.
    assert cb.hostable_mw[0, 12].tolist() == pytest.approx([140, 140])
    assert cb.national_mw[0, 12] == pytest.approx(140)
    # <= 40: hydro's 500 MW joins: north 390 + 250 south via 300 MW of corridor -> 640; south 250 + 300 = 550
    assert cb.hostable_mw[1, 12].tolist() == pytest.approx([640, 550])
    t = cb.table()
    free = t[t.band_max_usd_per_mwh == 0].set_index("region")
    # 11 sunny hours a day (07-17 h) with 140 MW curtailed in each, over 2 days, scaled to a year
    assert free.loc["NATIONAL", "mwh_per_year"] == pytest.approx(140 * 11 * 2 * 8760 / 48)
    assert free.loc["NATIONAL", "hours_per_year"] == pytest.approx(11 * 2 * 8760 / 48)


def test_take_or_pay_volume_is_free(tmp_path):
    gens = GENERATORS_CSV.replace("south_gas,south,gas,gas,600,80,0,0.1,,", "south_gas,south,gas,rlng,600,80,0,0.1,,lng")
    hydro = "".join(f"north_hydro,{m},372000,0,0,0\n" for m in range(1, 13))
    budgets = BUDGET_HEADER + hydro + "".join(f"lng,{m},,0,{400 * 744},70\n" for m in range(1, 13))
    s = load_scenario(write_tiny_scenario(tmp_path / "top", {"generators.csv": gens, "energy_budgets.csv": budgets}))
    u = dispatch_units(s)
    part = u.names.index("south_gas:take_or_pay")
    assert u.avail_mw[0, part] == pytest.approx(400) and u.cost_usd_per_mwh[part] == pytest.approx(10)
    cb = cost_bands(s)
    # hour 0: south needs 550 = 300 hydro over the corridor + 250 of the 400 MW contracted; 150 MW of
    # paid-for gas is left: free, in the south, and in the north through the corridor's backward 300 MW
    assert cb.hostable_mw[0, 0].tolist() == pytest.approx([150, 150])
    assert cb.national_mw[0, 0] == pytest.approx(150)


def _three_region_scenario(tmp_path, hours=36, tie=False):
    rng = np.random.default_rng(11)
    idx = pd.date_range("2025-01-01", periods=hours, freq="h", tz="Asia/Karachi")
    stamp = idx.strftime("%Y-%m-%dT%H:%M:%S+05:00")
    demand = pd.DataFrame({"timestamp": stamp, "a": rng.uniform(200, 900, hours), "b": rng.uniform(300, 1200, hours),
                           "c": rng.uniform(100, 700, hours)})
    prof = pd.DataFrame({"timestamp": stamp, "solar": np.clip(np.sin((idx.hour - 6) / 12 * np.pi), 0, 1),
                         "wind": rng.uniform(0, 1, hours)})
    gens = """\
name,region,technology,fuel,capacity_mw,marginal_cost_usd_per_mwh,min_output_pu,forced_outage_rate,profile,budget
a_hydro,a,hydro,hydro,400,3,0,0,,a_hydro
a_coal,a,coal,coal_local,500,35,0.3,0.1,,
b_nuclear,b,nuclear,nuclear,600,6,0.6,0.1,,
b_gas,b,gas,gas,900,65,0,0.1,,
b_oil,b,oil,oil,500,110,0,0.1,,
c_solar,c,solar,solar,900,0,0,0,solar,
c_wind,c,wind,wind,500,0,0,0,wind,
c_gas,c,gas,rlng,400,85,0,0.1,,
"""
    if tie:  # two regions' gas at one cost: the baseline could run either, the new load gets the better
        gens = gens.replace("c_gas,c,gas,rlng,400,85,", "c_gas,c,gas,rlng,400,65,")
    lines = ("name,from_region,to_region,capacity_forward_mw,capacity_backward_mw,loss_pu\n"
             "a-b,a,b,350,300,0\nb-c,b,c,250,400,0\na-c,a,c,150,150,0\n")
    regions = "name,description,lat,lon\na,,30,70\nb,,31,71\nc,,32,72\n"
    budgets = "budget,month,max_mwh\n" + "".join(f"a_hydro,{m},{200 * 744}\n" for m in range(1, 13))
    folder = write_tiny_scenario(tmp_path / "three", {
        "regions.csv": regions, "generators.csv": gens, "lines.csv": lines, "energy_budgets.csv": budgets,
        "demand.csv": demand.to_csv(index=False), "profiles.csv": prof.to_csv(index=False)})
    return load_scenario(folder)


def _bidder_lp(s, bands):
    """A price-taking new load bidding b + 0.5 USD/MWh, at one region or anywhere (NATIONAL):
    linopy + HiGHS, households first.  Returns MW it takes, (band, hour, target)."""
    import linopy
    import xarray as xr

    from offtake.solver import solve_quietly

    u = dispatch_units(s)
    regions = s.region_names
    targets = [*regions, "NATIONAL"]
    T = np.arange(len(s.snapshots))
    dims = {"band": list(bands), "snapshot": T, "target": targets}
    U = pd.Index(u.names, name="unit")
    m = linopy.Model()
    lo = xr.DataArray(u.min_mw, coords=[T, U], dims=["snapshot", "unit"])
    hi = xr.DataArray(u.avail_mw, coords=[T, U], dims=["snapshot", "unit"])
    full = xr.DataArray(np.zeros((len(bands), len(T), len(targets))), coords=dims)
    p = m.add_variables(lower=lo + full, upper=hi + full, name="p")
    ln = s.lines
    L = pd.Index(list(ln.index), name="line")
    fwd = m.add_variables(lower=0, upper=xr.DataArray(ln["capacity_forward_mw"].to_numpy(float), coords=[L]) + full, name="fwd")
    bwd = m.add_variables(lower=0, upper=xr.DataArray(ln["capacity_backward_mw"].to_numpy(float), coords=[L]) + full, name="bwd")
    R = pd.Index(regions, name="region")
    allowed = xr.DataArray([[1.0 if t in (r, "NATIONAL") else 0.0 for t in targets] for r in regions], coords=[R, pd.Index(targets, name="target")])
    idx = [full.indexes[d] for d in full.dims]
    x_upper = xr.where(allowed > 0, np.inf, 0.0).broadcast_like(full).transpose(*full.dims, "region")
    x = m.add_variables(lower=0, upper=x_upper, name="x")
    short = m.add_variables(lower=0, coords=[*idx, R], name="short")
    unit_in = xr.DataArray(np.eye(len(regions))[u.region], coords=[U, R])
    frm = xr.DataArray((ln["from_region"].to_numpy()[:, None] == np.array(regions)[None, :]).astype(float), coords=[L, R])
    to = xr.DataArray((ln["to_region"].to_numpy()[:, None] == np.array(regions)[None, :]).astype(float), coords=[L, R])
    need = xr.DataArray(s.demand_mw[regions].to_numpy() * (1 + s.config.reserve_margin), coords=[T, R], dims=["snapshot", "region"])
    gen = (p * unit_in).sum("unit")
    net = (fwd * to).sum("line") + (bwd * frm).sum("line") - (fwd * frm).sum("line") - (bwd * to).sum("line")
    m.add_constraints(gen + net + short - x >= need, name="balance")
    bid = xr.DataArray(np.asarray(bands) + 0.5, coords=[pd.Index(list(bands), name="band")])
    # free energy (spill, curtailment, take-or-pay) costs the system nothing in the hours it is free
    cost = xr.DataArray(np.where(u.free, 0.0, u.cost_usd_per_mwh[None, :]), coords=[T, U], dims=["snapshot", "unit"])
    m.add_objective((p * cost).sum() + 1e5 * short.sum() - (x * bid).sum())
    status, _ = solve_quietly(m)
    assert status == "ok"
    assert float(m.solution["short"].sum()) == pytest.approx(0.0, abs=1e-6)
    return m.solution["x"].sum("region").transpose("band", "snapshot", "target").to_numpy()


@pytest.mark.parametrize("tie", [False, True])
def test_cost_bands_equal_a_price_taking_bidder(tmp_path, tie):
    """The closed form (greedy baseline dispatch + min-cut) against an LP in which a new load bids the
    band's price: it draws exactly the energy plant at or below that cost can deliver to it."""
    s = _three_region_scenario(tmp_path, tie=tie)
    bands = (0.0, 10.0, 40.0, 70.0, 90.0, 120.0)
    cb = cost_bands(s, bands)
    got = np.concatenate([cb.hostable_mw, cb.national_mw[:, :, None]], axis=2)
    want = _bidder_lp(s, bands)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert (np.ptp(got[2, :, :3], axis=1) > 1).any()  # corridors bind in some hours (regions differ)
    assert (got[0] > 1).any() and (np.diff(got, axis=0) >= -1e-9).all()  # free energy exists; bands cumulative


def test_bands_are_normalised():
    assert normalise_bands((120, 40)) == (0.0, 40.0, 120.0)
    with pytest.raises(ValueError):
        normalise_bands((-1.0,))


# ---------------------------------------------------------------------------------------------
# offtake assess: the CSV, the JSON, bad --bands


def _cli(args):
    from typer.testing import CliRunner

    from offtake.cli import app

    return CliRunner().invoke(app, args)


def test_assess_writes_surplus_by_cost(tmp_path):
    folder = write_tiny_scenario(tmp_path / "sun", {"generators.csv": BIG_SOLAR})
    out = tmp_path / "out"
    res = _cli(["assess", "--scenario", str(folder), "--out", str(out), "--bands", "80,40"])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "surplus_by_cost.csv")
    assert list(t.columns) == ["region", "band_max_usd_per_mwh", "mwh_per_year", "mw_in_95pct_of_hours", "hours_per_year"]
    assert sorted(set(t.band_max_usd_per_mwh)) == [0.0, 40.0, 80.0]  # the free band always comes first
    assert list(dict.fromkeys(t.region)) == ["north", "south", "NATIONAL"]
    nat = t[t.region == "NATIONAL"].set_index("band_max_usd_per_mwh")
    assert nat.loc[0.0, "mwh_per_year"] == pytest.approx(140 * 11 * 2 * 8760 / 48, abs=1)
    assert (nat["mwh_per_year"].diff().dropna() >= 0).all()
    summary = json.loads((out / "surplus_summary.json").read_text())
    assert summary["band"].startswith("any cost")
    block = summary["surplus_by_cost"]
    assert block["bands_usd_per_mwh"] == [0.0, 40.0, 80.0] and block["cumulative"] is True
    assert block["regions"]["NATIONAL"]["free"]["mwh_per_year"] == pytest.approx(nat.loc[0.0, "mwh_per_year"], abs=1)
    for name in ("surplus_heatmaps.png", "surplus_duration_curves.png", "surplus_by_region.png"):  # drawn by the worker
        assert (out / name).stat().st_size > 10_000
    assert "Surplus BY COST" in res.output and "free" in res.output and "ANY COST" in res.output


@pytest.mark.parametrize("bands", ["40,abc", "-5", "40,40", "40,,80", "inf", ""])
def test_assess_bad_bands_exit_2_and_write_nothing(tmp_path, bands):
    folder = write_tiny_scenario(tmp_path / "tiny")
    out = tmp_path / "out"
    res = _cli(["assess", "--scenario", str(folder), "--out", str(out), "--bands", bands, "--no-plots"])
    assert res.exit_code == 2, res.output
    assert "--bands" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_report_section_and_summary_block(tmp_path):
    from offtake.report.surplus_section import band_table, cost_band_section, summary_block

    s = load_scenario(write_tiny_scenario(tmp_path / "sun", {"generators.csv": BIG_SOLAR}))
    r = assess(s)
    sec, tables, figs = cost_band_section(r, tariff_usd_per_mwh=82.0)
    assert sec is not None and sec.anchor == "surplus-by-cost"
    free_twh = 140 * 11 * 2 * 8760 / 48 / 1e6
    assert sec.kpis[0][0] == f"{free_twh:,.2f} TWh / yr" and "free" in sec.kpis[0][1]
    assert "<= 80 USD/MWh" in sec.kpis[2][1]  # the largest band under the tariff
    assert list(tables) == ["surplus_by_cost.csv"] and "surplus_free_heatmap" in figs
    heat = figs["surplus_free_heatmap"]
    assert len(heat.data) == 3 and {tr.coloraxis for tr in heat.data} == {"coloraxis"}  # NATIONAL + 2 regions, one scale
    wide = band_table(r)
    assert wide.columns[1] == "free [TWh/yr]" and wide.loc[wide.region == "NATIONAL", "free [TWh/yr]"].item() == pytest.approx(free_twh)
    block = summary_block(r)
    assert block["regions"]["south"]["le_40_usd_per_mwh"]["band_max_usd_per_mwh"] == 40.0
    assert summary_block(assess(s, bands_usd_per_mwh=None)) is None


def test_cost_bands_do_not_depend_on_which_equal_cost_plant_runs(monkeypatch):
    """Plants of one cost in several regions (imported coal at 60 USD/MWh in Karachi and Balochistan,
    reservoir hydro at 2 in KP and Punjab) can trade places in the baseline at no cost; the bands
    must not depend on the choice.  The greedy baseline and an LP baseline pick differently in
    mid-May of the built-in scenario; the figures agree."""
    import offtake.surplus_cost as C

    pk = load_scenario("pakistan-2025")
    week = slice(3240, 3408)  # 7 days from 16 May
    s = replace(pk, demand_mw=pk.demand_mw.iloc[week], profiles_pu=pk.profiles_pu.iloc[week])
    greedy = C.cost_bands(s)

    def lp_baseline(u, sc, need):
        p, short, dump = C._dispatch_lp(u, sc, np.arange(len(need)), need)
        return p, dump, short.sum(axis=1) < 1e-6

    monkeypatch.setattr(C, "_greedy_dispatch", lp_baseline)
    lp = C.cost_bands(s)
    np.testing.assert_allclose(greedy.hostable_mw, lp.hostable_mw, atol=1e-6)
    np.testing.assert_allclose(greedy.national_mw, lp.national_mw, atol=1e-6)


def test_monthly_availability_and_minimum_take(tmp_path):
    """availability.csv scales a month's availability; a budget's min_mwh is must-run output."""
    avail = "generator,month,available_pu\nsouth_gas,1,0.5\n"
    u = dispatch_units(load_scenario(write_tiny_scenario(tmp_path / "a", {"availability.csv": avail})))
    assert u.avail_mw[0, u.names.index("south_gas")] == pytest.approx(600 * 0.9 * 0.5)
    # gas must take 401,760 MWh in January = 540 MW in each of its 744 hours: all it has
    gens = GENERATORS_CSV.replace("south_gas,south,gas,gas,600,80,0,0.1,,", "south_gas,south,gas,gas,600,80,0,0.1,,gas_contract")
    hydro = "".join(f"north_hydro,{m},372000,0,0,0\n" for m in range(1, 13))
    budgets = BUDGET_HEADER + hydro + "".join(f"gas_contract,{m},,401760,0,0\n" for m in range(1, 13))
    s = load_scenario(write_tiny_scenario(tmp_path / "m", {"generators.csv": gens, "energy_budgets.csv": budgets}))
    u = dispatch_units(s)
    assert u.min_mw[0, u.names.index("south_gas")] == pytest.approx(540)
    cb = cost_bands(s)
    # 12 h: need south 550, north 110.  Gas 540 (forced) + solar 160 = 700 in the south; 110 go
    # north, so only 120 MW of solar fit: 40 MW are curtailed, free, and reach either region
    assert cb.hostable_mw[0, 12].tolist() == pytest.approx([40, 40])
    assert cb.national_mw[0, 12] == pytest.approx(40)


def test_plot_worker_draws_in_a_forked_child(tmp_path, monkeypatch):
    import os

    import offtake.commands.assess as A

    monkeypatch.setattr(A, "_free_core", lambda: True)
    worker = A.PlotWorker()
    assert worker.proc is not None and worker.proc.pid != os.getpid()
    r = assess(load_scenario(write_tiny_scenario(tmp_path / "tiny")))
    written = A.write_results(r, tmp_path / "out", plots=True, worker=worker)
    assert worker.proc is None  # joined
    pngs = sorted(p.name for p in written if p.suffix == ".png")
    assert pngs == ["surplus_by_region.png", "surplus_duration_curves.png", "surplus_heatmaps.png"]
    assert all((tmp_path / "out" / n).stat().st_size > 10_000 for n in pngs)
