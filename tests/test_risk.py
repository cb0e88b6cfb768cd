"""Monte Carlo: reproducibility, path properties, cross-checks with the deterministic valuation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from offtake.economics.aidc import AidcCase, value_aidc
from offtake.economics.bitcoin import MiningCase, subsidy_btc, value_mining
from offtake.economics.loads import LoadInputs, LoadKind
from offtake.errors import InputError
from offtake.risk import (
    NpvDistribution,
    RiskAssumptions,
    draw_shocks,
    run_risk,
    simulate_paths,
    tornado,
    value_paths,
)

SMALL = RiskAssumptions(n_paths=400, n_months=60)


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    a = run_risk(SMALL, np.random.default_rng(7), with_tornado=False)
    b = run_risk(SMALL, np.random.default_rng(7), with_tornado=False)
    c = run_risk(SMALL, np.random.default_rng(8), with_tornado=False)
    for da, db, dc in zip(a.distributions, b.distributions, c.distributions, strict=True):
        np.testing.assert_array_equal(da.npv_usd, db.npv_usd)
        assert not np.array_equal(da.npv_usd, dc.npv_usd)
    assert a.to_frame().equals(b.to_frame())


def test_price_paths_gbm_moments_and_correlation() -> None:
    a = RiskAssumptions(n_paths=20_000, n_months=12, btc_drift_per_year=0.1,
                        btc_vol_per_year=0.5, btc_gpu_correlation=0.6)
    p = simulate_paths(a, draw_shocks(np.random.default_rng(1), a.n_paths, a.n_months))
    assert p.btc_price_usd.shape == (20_000, 12) and (p.btc_price_usd > 0).all()
    log_1y = np.log(p.btc_price_usd[:, -1] / a.btc_price_usd)
    # ln P_1 ~ N(mu - sigma^2/2, sigma^2): mean 0.1 - 0.125, sd 0.5; 4 standard errors
    assert abs(log_1y.mean() - (0.1 - 0.125)) < 4 * 0.5 / np.sqrt(20_000)
    assert log_1y.std() == pytest.approx(0.5, rel=0.03)
    r_btc = np.diff(np.log(p.btc_price_usd), axis=1).ravel()
    r_gpu = np.diff(np.log(p.rental_usd_per_gpu_hour), axis=1).ravel()
    assert np.corrcoef(r_btc, r_gpu)[0, 1] == pytest.approx(0.6, abs=0.02)


def test_hashrate_follows_price_with_lag() -> None:
    a = RiskAssumptions(n_paths=5, n_months=24, hashrate_growth_per_year=0.0,
                        hashrate_price_elasticity=0.8, hashrate_lag_months=6)
    p = simulate_paths(a, draw_shocks(np.random.default_rng(2), 5, 24))
    assert (p.difficulty[:, :6] == a.difficulty).all()
    expected = a.difficulty * (p.btc_price_usd[:, :-6] / a.btc_price_usd) ** 0.8
    np.testing.assert_allclose(p.difficulty[:, 6:], expected, rtol=1e-12)


def test_halving_month_and_hydrology_and_demand() -> None:
    a = RiskAssumptions(n_paths=3, n_months=48, wet_year_probability=1.0,
                        dry_year_probability=0.0, demand_growth_per_year=0.05,
                        demand_growth_sd=0.0, uptime_loss_per_demand_growth=0.5)
    p = simulate_paths(a, draw_shocks(np.random.default_rng(3), 3, 48))
    sub = subsidy_btc(p.block_height)
    # start 1 Jan 2026 at height 929,424: block 1,050,000 falls ~837 days later, month 28
    assert sub[27] == 3.125 and sub[28] == 1.5625
    t = (np.arange(1, 49) - 0.5) / 12
    np.testing.assert_allclose(p.uptime_factor, np.broadcast_to(1.05 * (1 - 0.5 * (1.05**t - 1)),
                                                                (3, 48)))
    dry = simulate_paths(replace(a, wet_year_probability=0.0, dry_year_probability=1.0,
                                 demand_growth_per_year=0.0),
                         draw_shocks(np.random.default_rng(3), 3, 48))
    assert (dry.uptime_factor == 0.9).all()


def _no_randomness(**kw: object) -> RiskAssumptions:
    return RiskAssumptions(n_paths=4, n_months=120, btc_vol_per_year=0.0, rental_vol_per_year=0.0,
                           rental_drift_per_year=0.0, wet_year_probability=0.0,
                           dry_year_probability=0.0, demand_growth_per_year=0.0,
                           demand_growth_sd=0.0, **kw)  # type: ignore[arg-type]


def test_zero_volatility_matches_deterministic_valuations() -> None:
    a = _no_randomness()
    loads = (LoadInputs(LoadKind.BITCOIN, 50.0, uptime_share=0.8),
             LoadInputs(LoadKind.AIDC, 20.0, uptime_share=0.8))
    npvs = value_paths(a, draw_shocks(np.random.default_rng(0), 4, 120), loads)
    tariff_usd = 22.98 * 1000 / 284.36
    mining = value_mining(MiningCase(mw=50.0, uptime_share=0.8, electricity_usd_per_mwh=tariff_usd,
                                     months=120))
    aidc = value_aidc(AidcCase(mw=20.0, uptime_share=0.8, electricity_usd_per_mwh=tariff_usd,
                               rental_growth_per_year=0.0, months=120))
    np.testing.assert_allclose(npvs["bitcoin"], mining.npv_usd, rtol=1e-9)
    np.testing.assert_allclose(npvs["aidc"], aidc.npv_usd, rtol=1e-9)


def test_vectorised_equals_path_by_path() -> None:
    a = RiskAssumptions(n_paths=6, n_months=36)
    shocks = draw_shocks(np.random.default_rng(11), 6, 36)
    together = value_paths(a, shocks)
    for i in range(6):
        one = value_paths(a, shocks.head(i + 1))  # first i+1 paths alone
        for key in together:
            assert one[key][-1] == pytest.approx(together[key][i], rel=1e-12)


def test_higher_tariff_lowers_every_path() -> None:
    shocks = draw_shocks(np.random.default_rng(4), 200, 60)
    low = value_paths(replace(SMALL, n_paths=200, tariff_pkr_per_kwh=15.0), shocks)
    high = value_paths(replace(SMALL, n_paths=200, tariff_pkr_per_kwh=30.0), shocks)
    for key in low:
        assert (high[key] <= low[key] + 1e-6).all() and high[key].mean() < low[key].mean()


def test_distribution_statistics_by_hand() -> None:
    x = np.arange(-50.0, 50.0)  # 100 samples
    d = NpvDistribution.from_samples("x", 1.0, x)
    assert d.prob_loss == 0.5
    assert d.p50_usd == pytest.approx(-0.5)
    assert d.var95_usd == pytest.approx(-np.percentile(x, 5))
    assert d.cvar95_usd == pytest.approx(-x[x <= np.percentile(x, 5)].mean())
    with pytest.raises(InputError, match="no NPV samples"):
        NpvDistribution.from_samples("x", 1.0, np.array([]))


def test_tornado_bars_and_outputs() -> None:
    res = run_risk(SMALL, np.random.default_rng(5), tornado_paths=100, seed=5)
    bars = {(b.load, b.parameter): b for b in res.tornado}
    assert bars[("bitcoin", "rental_usd_per_gpu_hour")].swing_usd == 0.0
    assert bars[("aidc", "btc_price_usd")].swing_usd == 0.0
    t = bars[("bitcoin", "tariff_pkr_per_kwh")]
    assert t.npv_high_usd < t.base_npv_usd < t.npv_low_usd
    swings = [b.swing_usd for b in res.tornado if b.load == "aidc"]
    assert swings == sorted(swings, reverse=True)
    doc = json.loads(res.to_json())
    assert doc["seed"] == 5 and doc["assumptions"]["start_date"] == "2026-01-01"
    assert {d["load"] for d in doc["distributions"]} == {"bitcoin", "aidc"}
    assert res.paths_frame().shape == (400, 2)
    assert list(res.to_frame().index) == ["bitcoin", "aidc"]


def test_repeated_load_kinds_get_distinct_keys() -> None:
    loads = (LoadInputs("bitcoin", 10.0), LoadInputs("bitcoin", 20.0))
    res = run_risk(replace(SMALL, n_paths=50), np.random.default_rng(0), loads=loads,
                   with_tornado=False)
    assert [(d.load, d.mw) for d in res.distributions] == [("bitcoin#0", 10.0), ("bitcoin#1", 20.0)]


@pytest.mark.parametrize("call, message", [
    (lambda: RiskAssumptions(btc_price_usd=-1.0), "btc_price_usd must be > 0"),
    (lambda: RiskAssumptions(n_paths=0), "paths and months must be >= 1"),
    (lambda: RiskAssumptions(n_paths=10**8), "use fewer paths or months"),
    (lambda: RiskAssumptions(btc_gpu_correlation=1.5), "btc_gpu_correlation must be <= 1"),
    (lambda: RiskAssumptions(wet_year_probability=0.6, dry_year_probability=0.6), "<= 1"),
    (lambda: draw_shocks(42, 10, 10), "numpy.random.Generator"),  # type: ignore[arg-type]
    (lambda: run_risk(SMALL, np.random.default_rng(0), loads=()), "at least one load"),
    (lambda: tornado(SMALL, draw_shocks(np.random.default_rng(0), 5, 60),
                     ranges={"nope": ("=", 0.0, 1.0)}), "unknown tornado parameter"),
])
def test_bad_input(call: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()  # type: ignore[operator]


def test_cli_writes_files_and_rejects_bad_input(tmp_path: Path) -> None:
    from offtake.cli import app

    runner = CliRunner()
    out = tmp_path / "risk"
    sites = ["--bitcoin-mw", "100", "--aidc-mw", "100"]
    res = runner.invoke(app, ["risk", "--paths", "300", "--months", "24", "--seed", "1", *sites,
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Investor NPV" in res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["risk.json", "risk_npv_histogram.png", "risk_npv_paths.csv",
                     "risk_summary.csv", "risk_tornado.csv", "risk_tornado.png"]
    assert (out / "risk_npv_histogram.png").read_bytes()[:4] == b"\x89PNG"
    again = runner.invoke(app, ["risk", "--paths", "300", "--months", "24", "--seed", "1", *sites,
                                "--no-tornado", "-o", str(tmp_path / "again")])
    assert (tmp_path / "again" / "risk_npv_paths.csv").read_text() == \
        (out / "risk_npv_paths.csv").read_text()
    assert again.exit_code == 0
    quiet = runner.invoke(app, ["risk", "--paths", "200", "--months", "12", *sites, "--no-tornado"])
    assert quiet.exit_code == 0 and "wrote nothing (give --out DIR" in quiet.output

    bad_out = tmp_path / "bad"
    bad = runner.invoke(app, ["risk", "--paths", "100", "--tariff", "-3", *sites, "--out", str(bad_out)])
    assert bad.exit_code == 2 and "--tariff must be a finite number >= 0" in bad.output
    assert not bad_out.exists()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    clash = runner.invoke(app, ["risk", "--paths", "100", "--out", str(a_file)])
    assert clash.exit_code == 2 and "is not a folder" in clash.output
    zero = runner.invoke(app, ["risk", "--bitcoin-mw", "0", "--aidc-mw", "0"])
    assert zero.exit_code == 2 and "nothing to value" in zero.output


def test_cli_takes_tariff_and_sizes_from_scenario_and_plan(tmp_path: Path) -> None:
    """No --tariff: the scenario's offered tariff; no sizes: the plan's MW (here a plan folder)."""
    import json

    from offtake.cli import app
    from offtake.scenario.tiny import write_tiny_scenario

    runner = CliRunner()
    sc = write_tiny_scenario(tmp_path / "tiny")
    plan_out = tmp_path / "plan"
    res = runner.invoke(app, ["plan", "--scenario", str(sc), "--out", str(plan_out), "--no-plots"])
    assert res.exit_code == 0, res.output
    planned = json.loads((plan_out / "summary.json").read_text())["by_type"]
    res = runner.invoke(app, ["risk", "--scenario", str(sc), "--plan-dir", str(plan_out), "--paths", "200",
                              "--months", "12", "--no-tornado", "-o", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    from offtake.scenario import load_scenario

    offered = load_scenario(str(sc)).config.tariffs.offered_pkr_per_kwh
    assert f"tariff Rs {offered:.2f}/kWh" in res.output
    data = json.loads((tmp_path / "r" / "risk.json").read_text())
    assert data["assumptions"]["tariff_pkr_per_kwh"] == offered
    mw = sorted(d["mw"] for d in data["distributions"])
    assert mw == pytest.approx(sorted(v["capacity_mw"] for v in planned.values() if v["capacity_mw"] > 1e-6))
