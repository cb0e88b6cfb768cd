"""What the sandbox operates (no processes): sites from the plan when it sites MW, the offer as a
labelled what-if when it does not, the split recomputed by hand, prices = marginal cost + adder."""

from __future__ import annotations

import pytest

from offtake.economics.designs import Design
from offtake.errors import InputError
from offtake.sandbox.programme import MINER_W, build_programme
from offtake.scenario.io import load_scenario
from offtake.scenario.tiny import write_tiny_scenario


def _tiny(tmp_path):
    return load_scenario(str(write_tiny_scenario(tmp_path / "tiny")))


def test_sites_come_from_the_plan_when_it_sites_mw(tmp_path):
    sc = _tiny(tmp_path)
    p = build_programme(sc, Design("surplus_indexed", 1.0), start=None, hours=24, regions=2, sites_per_region=2,
                        miners_per_site=10, pods_per_site=8, resolution_h=1)
    assert p.source == "plan" and "WHAT-IF" not in p.note
    # the tiny plan sites 400 MW of mining in 'north' (its flexible load is named 'mining')
    assert [(s.site_id, s.flex, round(s.mw, 6)) for s in p.sites] == [
        ("north-mine-01", "mining", 200.0), ("north-mine-02", "mining", 200.0)]
    s = p.sites[0]
    assert s.unit_multiplier == round(200e6 / (10 * MINER_W))
    # surplus_indexed: the posted price is the plan's marginal cost; the service adds the level
    diff = (p.price_pkr_per_kwh - p.marginal_pkr_per_kwh.clip(lower=0)).to_numpy()
    assert abs(diff - 1.0).max() < 1e-3
    # the plan's own draw of these sites never exceeds their MW
    assert (p.plan_mw["north"] <= 400.0 + 1e-6).all()


def test_offer_split_by_hand_on_the_builtin_scenario():
    from offtake.surplus import assess

    sc = load_scenario("pakistan-2025")
    p = build_programme(sc, Design("surplus_indexed", 2.0), start="2025-05-12", hours=6, regions=2,
                        sites_per_region=2, miners_per_site=10, pods_per_site=8)
    assert p.source == "offer" and "WHAT-IF" in p.note          # the plan sites 0 MW at this design
    mean = assess(sc).hostable_mw.mean()
    for region in p.regions:
        mine = sum(s.mw for s in p.sites if s.region == region and s.load_type == "bitcoin_mining")
        ai = sum(s.mw for s in p.sites if s.region == region and s.load_type == "ai_training")
        # 2,000 MW x the region's share of mean hostable MW, then mining 1,000 : training 150
        # (flex_loads.csv max_mw_per_region of the simulated types; firm inference is not simulated)
        offer = 2000.0 * mean[region] / mean.sum()
        assert abs(mine - offer * 1000 / 1150) < 1e-6 and abs(ai - offer * 150 / 1150) < 1e-6
    # the two regions with the most offered MW (largest mean hostable MW)
    assert set(p.regions) == set(mean.sort_values().index[-2:])
    # signals: each region's hostable MW times its share of the simulated fleet
    fleet = {r: sum(s.mw for s in p.sites if s.region == r) for r in p.regions}
    r0 = p.regions[0]
    assert abs(p.signal_mw[r0].iloc[0] - p.hostable_mw[r0].iloc[0] * fleet[r0] / sum(fleet.values())) < 1e-6


def test_bad_window_is_an_input_error(tmp_path):
    sc = _tiny(tmp_path)
    with pytest.raises(InputError, match="only 48 hours"):
        build_programme(sc, Design("flat", 5.0), start=None, hours=100, regions=1, sites_per_region=1,
                        miners_per_site=10, pods_per_site=8)
