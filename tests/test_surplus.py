"""Surplus assessment on a hand-solved two-region system, and min-cut against the LP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from offtake.network import max_hostable_mw
from offtake.scenario import load_scenario
from offtake.scenario.tiny import LINES_CSV, write_tiny_scenario
from offtake.surplus import _national_lp, assess


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
    # hour 19: south needs 230 MW, the line delivers at most 200 * 0.9 = 180 -> 50 MW short,
    # and north sends 200 MW of its 335 MW -> 135 MW left for new load
    assert r.household_shortfall_mw.iloc[19] == pytest.approx(50)
    assert r.national_mw.iloc[19] == pytest.approx(135)
    # hour 0: south needs 10 -> north sends 10 / 0.9
    assert r.national_mw.iloc[0] == pytest.approx(390 - 10 / 0.9)


def test_min_cut_equals_lp_per_region_on_lossless_pakistan_graph():
    pk = load_scenario("pakistan-2025")
    lossless = pk.lines.assign(loss_pu=0.0)
    from dataclasses import replace

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
    assert r.household_shortfall_mw.sum() == pytest.approx(0.0, abs=1e-6)
    assert set(r.headroom) == {*r.hostable_mw.columns, "NATIONAL"}
