"""The deal space (#12): sited MW always pay their investors; hand-solved one-region day; CLI; summary.json."""

from __future__ import annotations

import io
import json
import math
from dataclasses import replace

import pandas as pd
import pytest

from offtake.deal import DealOptions, run_deal
from offtake.economics.designs import Design, DesignKind, coefficients
from offtake.economics.valuation import scenario_economics
from offtake.errors import InputError
from offtake.scenario import load_scenario, tiny
from offtake.scenario.tiny import write_tiny_scenario

FX = 280.0  # the tiny scenario's PKR per USD


def hand_scenario(folder):
    """One region, one day: 12 h at 60 MW and 12 h at 150 MW; 'cheap' 100 MW at 10 USD/MWh, 'dear' 1,000 MW at
    50 USD/MWh (RLNG, imported).  Mining: V = 40 USD/MWh, C = 43,800 USD/MW-yr (5 USD per MW-hour), at most 30 MW."""
    cols = pd.read_csv(io.StringIO(tiny.GENERATORS_CSV), dtype=str, keep_default_na=False).columns
    rows = [{"name": "cheap", "region": "A", "technology": "hydro", "fuel": "hydro", "capacity_mw": "100",
             "marginal_cost_usd_per_mwh": "10"},
            {"name": "dear", "region": "A", "technology": "gas", "fuel": "rlng", "capacity_mw": "1000",
             "marginal_cost_usd_per_mwh": "50"}]
    g = pd.DataFrame(rows).reindex(columns=cols).fillna("")
    for c in ("min_output_pu", "forced_outage_rate"):
        if c in g:
            g[c] = "0"
    idx = pd.date_range("2025-01-01", periods=24, freq="h", tz="Asia/Karachi")
    ts = idx.strftime("%Y-%m-%dT%H:%M:%S+05:00")
    edits = {"scenario.yaml": tiny.SCENARIO_YAML.replace("reserve_margin: 0.1", "reserve_margin: 0"),
             "regions.csv": "name,description,lat,lon\nA,one region,30,70\n",
             "generators.csv": g.to_csv(index=False),
             "lines.csv": "name,from_region,to_region,capacity_forward_mw,capacity_backward_mw,loss_pu\n",
             "demand.csv": pd.DataFrame({"timestamp": ts, "A": [60.0] * 12 + [150.0] * 12}).to_csv(index=False),
             "profiles.csv": pd.DataFrame({"timestamp": ts}).to_csv(index=False),
             "energy_budgets.csv": "budget,month,max_mwh\n",
             "flex_loads.csv": "name,kind,value_usd_per_mwh,capex_usd_per_mw_year,max_mw_per_region,min_site_mw,"
                               "window_h,max_off_share,backup_cost_usd_per_mwh,regions\n"
                               "mining,interruptible,40,43800,30,0,24,1,0,\n"}
    return write_tiny_scenario(folder, edits)


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    return load_scenario(hand_scenario(tmp_path_factory.mktemp("hand")))


@pytest.fixture(scope="module")
def hand_deal(hand):
    # levels in Rs/kWh at 280 PKR/USD: 2.8 = 10 USD/MWh, 5.6 = 20, 8.4 = 30, 9.0 = 32.14
    return run_deal(hand, DealOptions(resolution_h=1, ke_regions=(), levels={
        "flat": (2.0, 5.6, 8.4, 9.0), "surplus_indexed": (2.8, 5.6, 6.0), "revenue_share": (0.5, 0.75, 0.8)}))


def _point(deal, design, level):
    return next(p for p in deal.points if p.design == design and p.level == pytest.approx(level))


def test_hand_solved_surplus_indexed(hand_deal):
    # cheap plant marginal in the 12 low hours (price 10 USD/MWh), dear in the high ones (50):
    # the load bids V - adder = 40 - a and runs the 12 low hours, 4,380 h/yr, at most 30 MW.
    # NPV per MW-yr = 4,380 x (40 - 10 - a) - 43,800 = 4,380 x (20 - a)
    p = _point(hand_deal, "surplus_indexed", 2.8)  # a = 10 USD/MWh
    assert p.mw_by_type["mining"] == pytest.approx(30.0)
    assert p.hours_run_by_type["mining"] == pytest.approx(4380.0)
    assert p.npv_usd_by_type["mining"] == pytest.approx(4380 * 10 * 30)  # 1,314,000
    assert p.price_paid_pkr_per_kwh_by_type["mining"] == pytest.approx((10 + 10) * FX / 1000)
    # energy cost caused = the cheap plant's 10 USD/MWh = Rs 2.80/kWh; network Rs 1.5
    assert p.energy_cost_caused_pkr_per_kwh == pytest.approx(2.8)
    kwh = 30 * 4380 * 1000
    assert p.contribution_pkr_per_year == pytest.approx((5.6 - 1.5 - 2.8) * kwh)  # Rs 170.8 M
    assert p.others_change_pkr_per_kwh == pytest.approx(-(5.6 - 1.5 - 2.8) * kwh / (1806e9 / 14.3 * 0.84))
    assert p.imported_fuel_usd_per_year == pytest.approx(0.0, abs=1e-6)
    assert _point(hand_deal, "surplus_indexed", 5.6).npv_usd_by_type["mining"] == pytest.approx(0.0, abs=1.0)  # a = 20
    assert _point(hand_deal, "surplus_indexed", 6.0).total_mw == 0.0  # a = 21.4 > 20: nobody comes


def test_hand_solved_flat(hand_deal):
    # T <= 10 USD/MWh: the utility would sell below its cost, so nothing; 10 < T <= 30: 30 MW run the low hours,
    # NPV = 4,380 x (40 - T) - 43,800 per MW; above 30 the investor needs 43,800 / (40 - T) hours: the utility
    # sells some high hours at a loss (RLNG), which shows as imported fuel.
    assert _point(hand_deal, "flat", 2.0).total_mw == 0.0
    p = _point(hand_deal, "flat", 5.6)
    assert p.mw_by_type["mining"] == pytest.approx(30.0)
    assert p.npv_usd_by_type["mining"] == pytest.approx(30 * (4380 * 20 - 43800))
    p9 = _point(hand_deal, "flat", 9.0)
    t = 9.0 * 1000 / FX
    assert p9.hours_run_by_type["mining"] == pytest.approx(43800 / (40 - t), rel=1e-6)
    assert p9.npv_usd_by_type["mining"] == pytest.approx(0.0, abs=1.0)
    assert p9.imported_fuel_usd_per_year == pytest.approx(30 * (43800 / (40 - t) - 4380) * 50, rel=1e-6)


def test_hand_solved_revenue_share(hand_deal):
    # pays max(price, s x 40): at s = 0.5 Rs 20 USD/MWh in the low hours: NPV = 4,380 x 20 - 43,800 per MW;
    # s = 0.75 breaks even; s = 0.8 (32 USD/MWh) does not pay: the outer iteration removes it
    assert _point(hand_deal, "revenue_share", 0.5).npv_usd_by_type["mining"] == pytest.approx(30 * 43800)
    assert _point(hand_deal, "revenue_share", 0.75).npv_usd_by_type["mining"] == pytest.approx(0.0, abs=1.0)
    p = _point(hand_deal, "revenue_share", 0.8)
    assert p.total_mw == 0.0 and p.outer_iterations >= 2


def test_no_sited_mw_has_negative_npv_hand(hand_deal):
    for p in hand_deal.points:
        for name, mw in p.mw_by_type.items():
            if mw > 1e-6:
                assert p.npv_usd_by_type[name] >= -1.0, (p.design, p.level)


def test_recommended_is_the_largest_contribution(hand_deal):
    rec = hand_deal.recommended
    works = [p for p in hand_deal.points if p.works]
    assert rec is not None and rec.contribution_pkr_per_year == max(p.contribution_pkr_per_year for p in works)
    d = hand_deal.decision()
    assert set(d) >= {"assumptions", "designs", "recommended"}
    for key in ("design", "level", "level_units", "mw_by_type", "npv_usd_by_type", "value_usd_per_mwh_by_type",
                "contribution_pkr_per_year", "others_change_pkr_per_kwh", "units_sold_kwh", "imf_full_cost_met",
                "imported_fuel_usd_per_year"):
        assert key in d["designs"][0]


@pytest.fixture(scope="module")
def builtin_rich():
    # the built-in scenario with BTC at 250,000 USD so that mining is sited under some designs
    s = load_scenario()
    flex = s.flex_loads.copy()
    flex.loc[flex["load_type"] == "bitcoin_mining", "btc_price_usd"] = 250_000.0
    return replace(s, flex_loads=flex)


def test_no_sited_mw_has_negative_npv_builtin(builtin_rich):
    deal = run_deal(builtin_rich, DealOptions(days=12, n_levels=3))
    econ = scenario_economics(builtin_rich.flex_loads)
    assert econ["bitcoin_mining"].value_usd_per_mwh > 100  # the richer BTC price reached the valuation
    assert any(p.total_mw > 1 for p in deal.points)
    for p in deal.points:
        for name, mw in p.mw_by_type.items():
            if mw > 1e-6:
                assert p.npv_usd_by_type[name] >= -1e-6 * abs(econ[name].fixed_cost_usd_per_mw_year) * mw - 1.0, \
                    (p.design, p.level, name)


def test_builtin_valuation_is_lifetime_not_first_year():
    e = scenario_economics(load_scenario().flex_loads)
    m = e["bitcoin_mining"]
    assert m.first_year_value_usd_per_mwh == pytest.approx(93.76, abs=0.01)  # first month (issue #12)
    assert m.value_usd_per_mwh == pytest.approx(56.1, abs=0.1)  # PV-weighted over the 4-year life
    assert e["ai_training"].load_type == "ai_training" and e["ai_inference"].firm


def test_design_validation():
    with pytest.raises(InputError, match="revenue_share level is a share"):
        Design(DesignKind.REVENUE_SHARE, 1.5)
    with pytest.raises(InputError, match="must be one of"):
        Design("auction", 1.0)
    with pytest.raises(InputError, match="floor applies to the surplus_indexed"):
        Design(DesignKind.FLAT, 20.0, floor_pkr_per_kwh=5.0)
    with pytest.raises(InputError, match="level must be >= 0"):
        Design(DesignKind.FLAT, -1.0)


def test_floor_is_paid_and_never_leaves_a_loss(hand):
    # adder 0 and a floor of Rs 7 (25 USD/MWh): pays max(10, 25) = 25 in the low hours: NPV = 4,380 x 15 - 43,800 > 0
    deal = run_deal(hand, DealOptions(resolution_h=1, ke_regions=(), designs=("surplus_indexed",),
                                      levels={"surplus_indexed": (0.0,)}, floor_pkr_per_kwh=7.0))
    p = deal.points[0]
    assert p.mw_by_type["mining"] == pytest.approx(30.0)
    assert p.npv_usd_by_type["mining"] == pytest.approx(30 * (4380 * 15 - 43800))


def test_coefficients_flat_participation_hours():
    econ = list(scenario_economics(pd.DataFrame([{"name": "m", "kind": "interruptible", "value_usd_per_mwh": 40.0,
                                                   "capex_usd_per_mw_year": 43800.0}]).set_index("name")).values())
    c = coefficients(Design(DesignKind.FLAT, 5.6), econ, FX)  # T = 20 USD/MWh
    assert c.participation_h_per_year[0] == pytest.approx(43800 / 20)
    c = coefficients(Design(DesignKind.FLAT, 12.0), econ, FX)  # T = 42.9 > V: never
    assert c.participation_h_per_year[0] > 8760


def test_cli_deal_writes_files_and_refuses_bad_input(tmp_path, hand):
    from typer.testing import CliRunner

    from offtake.cli import app

    out = tmp_path / "deal"
    res = CliRunner().invoke(app, ["deal", "--scenario", hand.source, "--levels", "3", "--serial",
                                   "--resolution", "1h", "--ke-regions", "", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["deal.json", "deal_mw.png", "deal_others_tariff.png",
                                                     "deal_space.csv"]
    data = json.loads((out / "deal.json").read_text())
    assert len(data["designs"]) == 9 and data["assumptions"]["mining"]["value_usd_per_mwh"] == 40.0
    bad = tmp_path / "bad"
    res = CliRunner().invoke(app, ["deal", "--scenario", hand.source, "--designs", "auction", "--serial",
                                   "--out", str(bad)])
    assert res.exit_code == 2 and "tariff design must be one of" in res.output and not bad.exists()
    res = CliRunner().invoke(app, ["deal", "--scenario", hand.source, "--ke-regions", "NOWHERE", "--serial",
                                   "--out", str(bad)])
    assert res.exit_code == 2 and "unknown region" in res.output and not bad.exists()


def test_no_design_works_is_said_plainly(hand):
    flex = hand.flex_loads.copy()
    flex["value_usd_per_mwh"] = 5.0  # earns less than the cheapest power costs
    deal = run_deal(replace(hand, flex_loads=flex), DealOptions(resolution_h=1, ke_regions=(), n_levels=3))
    assert deal.recommended is None and all(p.total_mw == 0 for p in deal.points)
    assert math.isnan(deal.points[0].min_npv_usd)


def test_run_report_carries_the_decision(tmp_path, hand):
    from offtake.pipeline import RunOptions, run
    from offtake.report.decision import write_run

    r = run(RunOptions(scenario=hand.source, resolution_h=1, deal_levels=3, risk_paths=100, risk_months=12))
    # the plan is the offered flat Rs 22.98/kWh (82 USD/MWh > V = 40): nobody would come
    assert r.offered.design == "flat" and r.offered.level == 22.98 and r.offered.total_mw == 0.0
    assert float(r.plan.capacity_mw.to_numpy().sum()) == 0.0
    out = tmp_path / "run"
    out.mkdir()
    names = {p.name for p in write_run(r, out)}
    assert {"deal_mw.png", "deal_others_tariff.png", "deal_space.csv", "summary.json", "report.html"} <= names
    s = json.loads((out / "summary.json").read_text())
    assert set(s["decision"]) >= {"assumptions", "designs", "recommended"}
    assert len(s["decision"]["designs"]) == 9
    assert s["decision"]["recommended"]["design"] in ("flat", "surplus_indexed", "revenue_share")
    assert s["resolution"] == {"solved": "1h", "snapshots": 24, "words": "hourly (24 snapshots)"}
    assert "mining" in s["value"]["loads"]
    html = (out / "report.html").read_text()
    assert "At a flat Rs 22.98/kWh no mining or AI site pays" in html
    assert "Plan solved at hourly (24 snapshots)" in html
    assert "The deal: tariff designs and levels" in html


def test_headline_says_plainly_when_no_design_works(hand):
    from types import SimpleNamespace

    from offtake.report.deal_section import headline

    flex = hand.flex_loads.copy()
    flex["value_usd_per_mwh"] = 5.0
    s = replace(hand, flex_loads=flex)
    deal = run_deal(s, DealOptions(resolution_h=1, ke_regions=(), n_levels=2))
    text = " ".join(headline(SimpleNamespace(scenario=s, offered=None, deal=deal)))
    assert "No tariff design in the range studied works" in text


@pytest.mark.heavy  # loads several cores: never beside a timing test (tests/conftest.py)
def test_dask_gives_the_serial_answer(hand):
    from distributed import Client, LocalCluster

    opts = DealOptions(resolution_h=1, ke_regions=(), n_levels=3)
    serial = run_deal(hand, opts)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dist = run_deal(hand, opts, client=client)
    assert [(p.design, p.level, round(p.total_mw, 6)) for p in dist.points] == \
        [(p.design, p.level, round(p.total_mw, 6)) for p in serial.points]
