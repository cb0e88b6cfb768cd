"""The sandbox report's checks on hand-made readings (no processes): the households-first check
fails when a site draws above the signal, names the site, and passes when it stays under; the
value model's revenue and contribution equal a hand computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd

from offtake.economics.designs import Design
from offtake.sandbox.programme import Programme, SitePlan, value_model
from offtake.sandbox.report import build

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _prog(n: int = 2) -> Programme:
    idx = pd.date_range("2025-05-12", periods=n, freq="h", tz="Asia/Karachi")
    one = pd.DataFrame({"R": [1.0] * n}, index=idx)
    site = SitePlan("r-mine-01", "R", "bitcoin_mining", 10.0, 10, 1)   # 10 MW, idle floor 80 W
    return Programme("offer", Design("surplus_indexed", 2.0), "test", [site], ["R"], idx, one * 100, one * 6.0,
                     one * 10.0, one * 4.0, one * 3.0, 1.5, 280.0)


def _readings(mw: float, step_s: float, n: int) -> list[dict]:
    """Half-second readings at ``mw`` over ``n`` hours of ``step_s`` wall seconds."""
    out = []
    for k in range(int(n * step_s / 0.5)):
        a = T0 + timedelta(seconds=0.5 * k)
        out.append({"reading_id": f"x{k}", "interval_start": a.isoformat(),
                    "interval_end": (a + timedelta(seconds=0.5)).isoformat(),
                    "energy_mwh": mw * 0.5 / 3600, "mean_mw": mw, "max_mw": mw, "allowed_mw": 6.0})
    return out


def _run(tmp_path, mw: float) -> dict:
    prog, step = _prog(), 4.0
    hours = [{"hour": h, "sim_time": str(prog.hours[h]), "region": "R",
              "wall_start": (T0 + timedelta(seconds=step * h)).isoformat(),
              "wall_end": (T0 + timedelta(seconds=step * (h + 1))).isoformat(),
              "signal_mw": 6.0, "forecast_mw": 6.0, "price_pkr_per_kwh": 10.0, "plan_mw": 3.0} for h in range(2)]
    rs = _readings(mw, step, 2)
    opt = SimpleNamespace(scenario="t", speed=900.0, seed=1, forecast_error=0.1)
    return build(tmp_path, opt, prog, {"r-mine-01": prog.sites[0]}, hours, {"r-mine-01": rs},
                 {"r-mine-01": [r["reading_id"] for r in rs]}, [], {"months": [], "invoices": [], "refused": []},
                 step, {})


def test_households_first_fails_on_overdraw_and_names_the_site(tmp_path):
    s = _run(tmp_path, 8.0)   # 8 MW against a 6 MW signal: over 6 x 1.02 + 0.05 + floor
    hf = s["households_first"]
    assert hf["checkable"] and not hf["passed"]
    assert {v["site"] for v in hf["violations"]} == {"r-mine-01"}
    assert {v["hour"] for v in hf["violations"]} == {0, 1}


def test_households_first_passes_under_the_signal(tmp_path):
    s = _run(tmp_path, 5.9)
    assert s["households_first"]["passed"] and s["households_first"]["violations"] == []
    # metered: 5.9 MW for each simulated hour
    assert abs(s["by_region"]["R"]["mwh_delivered"] - 11.8) < 1e-9


def test_value_model_by_hand():
    # 2 hours of 1 MWh at 10 Rs/kWh: revenue 2 x 1,000 kWh x 10 = 20,000 Rs;
    # contribution 2 x 1,000 x (10 - 1.5 network - 4 marginal) = 9,000 Rs
    prog = _prog()
    got = value_model(prog, pd.DataFrame({"R": [1.0, 1.0]}))
    assert got["R"]["revenue_pkr"] == 20000.0 and abs(got["R"]["contribution_pkr"] - 9000.0) < 1e-9
