"""Benchmark: Monte Carlo valuation of 10,000 paths x 120 months (target < 2 s).

Ours: the vectorised pipeline (``offtake.risk.draw_shocks`` + ``value_paths``: BTC / GPU /
hashrate / uptime paths, monthly cash flows of a 100 MW mining site and a 100 MW AI data
centre, NPV per path).

Peer: the straightforward loop a competent engineer would write without numpy arrays:
the month-only parts (time, block subsidy, discount factors, fleet and GPU figures) are
computed once, then each path is valued month by month with Python floats and ``math``
(random numbers are the same draws, converted to lists once, outside the timing).  It
runs on **all** paths (no subset scaled up), and its NPVs are checked equal to ours
(relative 1e-9) before any figure is reported.  Both are timed the same way: one untimed
warm-up run, then the median of ``--repeats`` runs.

Run: ``.venv/bin/python bench/risk_paths.py [--paths N] [--months M] [--repeats R]``.
Prints the figures and appends one JSON line (with the load average) to bench/results.jsonl.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_time, record

from offtake.economics.aidc import AidcCase, Firmness
from offtake.economics.bitcoin import (
    BLOCKS_PER_DAY,
    DAYS_PER_MONTH,
    HASHES_PER_DIFFICULTY,
    SECONDS_PER_DAY,
    Fleet,
    MiningCase,
    block_height_on,
    subsidy_btc,
)
from offtake.economics.finance import HOURS_PER_MONTH, pkr_per_kwh_to_usd_per_mwh, rate_per_period
from offtake.economics.loads import LoadKind
from offtake.risk import DEFAULT_LOADS, RiskAssumptions, draw_shocks, value_paths


def _replace_scalar(monthly: list[float], cost: float, life: int) -> list[float]:
    """with_replacements for one path: renew at each life end only if it pays, residual credit."""
    cf = list(monthly)
    n = len(cf)
    alive = True
    start = life
    while start < n:
        renew = alive and cf[start - 1] * life >= cost
        if renew:
            cf[start - 1] -= cost
        else:
            for j in range(start, n):
                cf[j] = 0.0
        alive = renew
        start += life
    used = n - (start - life)
    if used < life and alive:
        cf[-1] += cost * (1.0 - used / life)
    return cf


def loop_npvs(a: RiskAssumptions, z_btc: list[list[float]], z_gpu: list[list[float]],
              u_hydro: list[list[float]], z_demand: list[float]) -> dict[str, list[float]]:
    """NPV per path of each default load, one path and one month at a time (Python floats)."""
    n_months = len(z_btc[0])
    dt = 1.0 / 12.0
    t = [(m + 0.5) / 12.0 for m in range(n_months)]
    start_h = block_height_on(a.start_date)
    subsidy = [float(subsidy_btc(start_h + BLOCKS_PER_DAY * DAYS_PER_MONTH * 12.0 * tm)) for tm in t]
    rate_m = float(rate_per_period(a.discount_rate_per_year, 12))
    disc = [(1.0 + rate_m) ** -k for k in range(n_months + 1)]
    tariff = float(pkr_per_kwh_to_usd_per_mwh(a.tariff_pkr_per_kwh, a.pkr_per_usd))
    mining, aidc = MiningCase(), AidcCase()
    load_btc = next(x for x in DEFAULT_LOADS if x.kind is LoadKind.BITCOIN)
    load_ai = next(x for x in DEFAULT_LOADS if x.kind is LoadKind.AIDC)
    fleet = Fleet.for_power_mw(mining.miner, load_btc.mw)
    btc_life = max(1, round(fleet.miner.life_years * 12))
    btc_capex0 = fleet.capex_usd + mining.infrastructure_usd_per_mw * fleet.power_mw
    j_per_th = fleet.miner.efficiency_j_per_th
    case = replace(aidc, mw=load_ai.mw, electricity_usd_per_mwh=tariff)
    gpu_life = max(1, round(case.gpu.life_years * 12))
    gpu_cost = case.n_gpus * case.gpu.price_usd
    inf_share = 1.0 - case.training_share
    fixed_opex = case.fixed_opex_share_per_year * case.facility_capex_usd / 12
    facility_credit = case.facility_capex_usd * max(0.0, 1.0 - n_months / (12.0 * case.facility_life_years))
    rho = a.btc_gpu_correlation
    rho_c = math.sqrt(1.0 - rho * rho)
    btc_step = (a.btc_drift_per_year - 0.5 * a.btc_vol_per_year ** 2) * dt
    btc_sd = a.btc_vol_per_year * math.sqrt(dt)
    gpu_step = (a.rental_drift_per_year - 0.5 * a.rental_vol_per_year ** 2) * dt
    gpu_sd = a.rental_vol_per_year * math.sqrt(dt)
    lag = min(a.hashrate_lag_months, n_months)
    log_growth = math.log1p(a.hashrate_growth_per_year)
    out: dict[str, list[float]] = {"bitcoin": [], "aidc": []}
    for zb, zg, uh, zd in zip(z_btc, z_gpu, u_hydro, z_demand):
        g_d = max(a.demand_growth_per_year + a.demand_growth_sd * zd, -0.99)
        log_p = log_r = 0.0
        log_ret: list[float] = []
        btc_month: list[float] = []
        ai_month: list[float] = []
        for m in range(n_months):
            log_p += btc_step + btc_sd * zb[m]
            log_r += gpu_step + gpu_sd * (rho * zb[m] + rho_c * zg[m])
            log_ret.append(log_p)
            price = a.btc_price_usd * math.exp(log_p)
            rental = a.rental_usd_per_gpu_hour * math.exp(log_r)
            lagged = log_ret[m - lag] if m >= lag else 0.0
            difficulty = a.difficulty * math.exp(log_growth * t[m] + a.hashrate_price_elasticity * lagged)
            u = uh[m // 12]
            hydro = a.wet_uptime_factor if u < a.wet_year_probability else (
                a.dry_uptime_factor if u >= 1.0 - a.dry_year_probability else 1.0)
            demand = max(1.0 - a.uptime_loss_per_demand_growth * ((1.0 + g_d) ** t[m] - 1.0), 0.0)
            factor = hydro * demand
            # mining: revenue per MWh from hashprice, economic shutdown when the margin is negative
            hashprice = SECONDS_PER_DAY * 1e12 / (difficulty * HASHES_PER_DIFFICULTY) * (subsidy[m] + a.fees_btc_per_block) * price
            revenue = hashprice * (1.0 - mining.pool_fee_share) / (24.0e-6 * j_per_th)
            margin = max(revenue - tariff - mining.other_opex_usd_per_mwh, 0.0)
            up_b = min(load_btc.uptime_share * factor, 1.0)
            btc_month.append(margin * fleet.power_mw * HOURS_PER_MONTH * up_b)
            # AI data centre: grid hours at full revenue, curtailed hours on backup for the inference share
            up_a = min(load_ai.uptime_share * factor, 1.0)
            rev_full = case.n_gpus * rental * case.utilisation * HOURS_PER_MONTH
            grid_h = HOURS_PER_MONTH * up_a
            cash = rev_full * up_a - case.electricity_usd_per_mwh * case.mw * grid_h
            if case.firmness is Firmness.BACKUP:
                cash += rev_full * (1.0 - up_a) * inf_share - case.backup_usd_per_mwh * case.mw * (HOURS_PER_MONTH - grid_h) * inf_share
            ai_month.append(cash - fixed_opex)
        btc_cf = _replace_scalar(btc_month, fleet.capex_usd, btc_life)
        ai_cf = _replace_scalar(ai_month, gpu_cost, gpu_life)
        ai_cf[-1] += facility_credit
        out["bitcoin"].append(-btc_capex0 + sum(c * disc[k + 1] for k, c in enumerate(btc_cf)))
        out["aidc"].append(-case.capex_usd + sum(c * disc[k + 1] for k, c in enumerate(ai_cf)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2025)
    args = ap.parse_args()
    a = RiskAssumptions(n_paths=args.paths, n_months=args.months)

    def ours() -> dict[str, np.ndarray]:
        return value_paths(a, draw_shocks(np.random.default_rng(args.seed), a.n_paths, a.n_months))

    shocks = draw_shocks(np.random.default_rng(args.seed), a.n_paths, a.n_months)
    lists = (shocks.z_btc.tolist(), shocks.z_gpu.tolist(), shocks.u_hydro.tolist(), shocks.z_demand.tolist())
    npvs = ours()
    loop = loop_npvs(a, *lists)
    for key in ("bitcoin", "aidc"):
        np.testing.assert_allclose(loop[key], npvs[key], rtol=1e-9, atol=1e-3)
    wall_s, runs = median_time(ours, repeat=max(args.repeats, 5), warmup=1)
    loop_s, loop_runs = median_time(lambda: loop_npvs(a, *lists), repeat=args.repeats, warmup=1)
    rec = record("risk_paths", {
        "n_paths": args.paths, "n_months": args.months, "loads": sorted(npvs),
        "wall_s_median": round(wall_s, 4), "runs_s": [round(x, 4) for x in runs],
        "paths_per_s": round(args.paths / wall_s, 1),
        "loop_paths": args.paths, "loop_wall_s_median": round(loop_s, 3), "loop_runs_s": [round(x, 3) for x in loop_runs],
        "peer": "per-path, per-month loop on Python floats, month-only parts once, all paths, warm, median",
        "speedup_vs_loop": round(loop_s / wall_s, 1), "target_s": 2.0, "meets_target": wall_s < 2.0,
        "numpy": np.__version__})
    print(f"{args.paths:,} paths x {args.months} months: {wall_s:.3f} s median; loop {loop_s:.2f} s; "
          f"{rec['speedup_vs_loop']}x")


if __name__ == "__main__":
    main()
