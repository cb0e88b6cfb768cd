"""Build the hourly series and tables of the built-in ``pakistan-2025`` scenario.

Run ``python -m offtake.scenario.synth_pakistan [DEST]`` to rebuild the CSV files
(needs pvlib, a dev dependency).  Every figure below traces to
``/shared/facts/pakistan.md`` (summarised in ``builtin/pakistan-2025/PROVENANCE.md``);
figures marked [est] are this file's own estimates, stated so they can be audited.
The build is deterministic (fixed seed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

YEAR = 2025
TZ = "Asia/Karachi"
SEED = 20250601

# National monthly average load [MW]. Dec (10,484), May (16,958) and Aug (~18,400) are
# published (facts/pakistan.md); the other months are [est], interpolated along the
# seasonal swing so that annual energy matches FY25 generation (127,159 GWh).
MONTHLY_AVG_MW = np.array([10800, 11000, 12300, 14500, 16958, 18600, 18700, 18400, 17300, 14300, 11300, 10484], float)

# Regional share of national load [est], from DISCO purchase shares (NEPRA State of Industry).
REGION_SHARE = {
    "KP": 0.11, "PUNJAB_N": 0.16, "PUNJAB_C": 0.30, "PUNJAB_S": 0.14,
    "SINDH": 0.08, "KARACHI": 0.15, "BALOCHISTAN": 0.06,
}
# How strongly a region's share follows the national seasonal swing [est]: Karachi's
# coastal climate is flatter; Balochistan's agricultural tube-wells peak in summer.
REGION_SEASONALITY = {"KARACHI": -0.45, "BALOCHISTAN": 0.25}

# Monthly mean hydro output [MW]: Jan (~1,164) and Aug (~8,700) are published; the other
# months are [est] along the snow-melt and monsoon cycle, scaled so the annual total is
# close to 31.4% of FY25 generation (39,928 GWh).
HYDRO_MONTHLY_MW = np.array([1164, 1250, 1900, 3300, 5600, 7900, 8800, 8700, 7200, 4500, 2500, 1600], float)
HYDRO_TOTAL_MW = 11530.0
NUCLEAR_FOR = 0.20  # forced outages, auxiliary use (gross to net) and grid-imposed reductions: FY25 output 22.5 TWh [est]
THAR_FOR = 0.32  # Thar lignite: forced outages and mine supply shortfalls: FY25 output 15.5 TWh [est]

# Daily shape [est], calibrated so that the national-grid peak (without K-Electric) is ~28 GW
# (facts: 27-29 GW) and K-Electric's ~3.75 GW (facts: 3.5-4 GW) with the monthly means above:
# height of the summer night peak over the day's mean, day-to-day weather (heat waves) and how
# much of K-Electric's hourly load follows the national shape.
SUMMER_PEAK = 0.35
WEATHER_SD = 0.09
KE_SHAPE_WEIGHT = 0.5

BTM_SOLAR_MW = 6271.0  # net-metered solar (facts: 6,271 MW net-metered) shaving midday load
PEAK_SITES = {"solar": (29.4, 71.7), "btm": (31.5, 74.3)}  # Bahawalpur (utility PV), Lahore (rooftops)

REGIONS = [
    ("KP", "Khyber Pakhtunkhwa (PESCO, TESCO)", 34.0, 71.5),
    ("PUNJAB_N", "North Punjab and Islamabad (IESCO, GEPCO)", 33.2, 73.3),
    ("PUNJAB_C", "Central Punjab (LESCO, FESCO)", 31.5, 73.5),
    ("PUNJAB_S", "South Punjab (MEPCO)", 29.8, 71.5),
    ("SINDH", "Sindh outside Karachi (HESCO, SEPCO)", 25.9, 68.6),
    ("KARACHI", "Karachi (K-Electric)", 24.9, 67.1),
    ("BALOCHISTAN", "Balochistan (QESCO)", 29.0, 66.9),
]

GEN_COLUMNS = ["name", "region", "technology", "fuel", "capacity_mw", "marginal_cost_usd_per_mwh", "min_output_pu",
               "forced_outage_rate", "profile", "budget"]
# name, region, technology, fuel, capacity_mw, marginal_cost_usd_per_mwh [est], min_output_pu [est],
# forced_outage_rate [est], profile, budget (energy_budgets.csv)
GENERATORS = [
    ("KP_hydro_reservoir", "KP", "hydro", "hydro", 4888, 2, 0, 0.03, "", "KP_hydro_reservoir"),  # Tarbela
    ("KP_hydro_ror", "KP", "hydro", "hydro", 2312, 2, 0, 0.0, "hydro_ror", ""),  # Suki Kinari, Warsak, Duber ...
    ("PUNJAB_N_hydro_reservoir", "PUNJAB_N", "hydro", "hydro", 1310, 2, 0, 0.03, "", "PUNJAB_N_hydro_reservoir"),  # Mangla
    ("PUNJAB_N_hydro_ror", "PUNJAB_N", "hydro", "hydro", 2790, 2, 0, 0.0, "hydro_ror", ""),  # Ghazi Barotha, N-J, Karot
    ("PUNJAB_C_hydro_ror", "PUNJAB_C", "hydro", "hydro", 230, 2, 0, 0.0, "hydro_ror", ""),
    ("PUNJAB_C_nuclear", "PUNJAB_C", "nuclear", "nuclear", 1330, 6, 0.6, NUCLEAR_FOR, "", ""),  # Chashma C1-C4
    ("KARACHI_nuclear", "KARACHI", "nuclear", "nuclear", 2290, 6, 0.6, NUCLEAR_FOR, "", ""),  # K-2, K-3
    ("SINDH_coal_thar", "SINDH", "lignite", "coal_local", 2640, 32, 0.3, THAR_FOR, "", ""),
    ("SINDH_coal_imported", "SINDH", "coal", "coal_imported", 660, 62, 0, 0.12, "", ""),  # Jamshoro
    ("KARACHI_coal_imported", "KARACHI", "coal", "coal_imported", 1980, 60, 0, 0.12, "", ""),  # Port Qasim, Lucky
    ("BALOCHISTAN_coal_imported", "BALOCHISTAN", "coal", "coal_imported", 1320, 60, 0, 0.12, "", ""),  # Hub
    ("PUNJAB_C_coal_imported", "PUNJAB_C", "coal", "coal_imported", 1320, 62, 0, 0.12, "", ""),  # Sahiwal
    ("PUNJAB_C_coal_other", "PUNJAB_C", "coal", "coal_imported", 530, 66, 0, 0.15, "", ""),
    ("PUNJAB_C_rlng", "PUNJAB_C", "ccgt", "rlng", 3600, 88, 0, 0.12, "", "rlng_national"),  # Balloki, HBS, Bhikki
    ("PUNJAB_C_rlng_ipp", "PUNJAB_C", "ccgt", "rlng", 2600, 105, 0, 0.18, "", "rlng_national"),  # older IPPs on RLNG
    ("PUNJAB_N_rlng", "PUNJAB_N", "ccgt", "rlng", 1000, 95, 0, 0.18, "", "rlng_national"),  # Nandipur and others
    ("KARACHI_rlng", "KARACHI", "ccgt", "rlng", 900, 85, 0, 0.12, "", "rlng_ke"),  # BQPS-III
    ("SINDH_gas", "SINDH", "gas", "gas", 3000, 45, 0, 0.18, "", "gas_domestic"),  # Guddu, Daharki, Engro Qadirpur
    ("KARACHI_gas", "KARACHI", "gas", "gas", 1800, 55, 0, 0.15, "", "gas_domestic"),  # BQPS-II, KCCP, Korangi
    ("BALOCHISTAN_gas", "BALOCHISTAN", "gas", "gas", 990, 42, 0, 0.15, "", "gas_domestic"),  # Uch I-II
    ("PUNJAB_S_oil", "PUNJAB_S", "steam_oil", "oil", 2300, 150, 0, 0.2, "", ""),  # Kapco, Muzaffargarh, Lalpir
    ("BALOCHISTAN_oil", "BALOCHISTAN", "steam_oil", "oil", 1200, 150, 0, 0.2, "", ""),  # Hubco (RFO)
    ("PUNJAB_S_solar", "PUNJAB_S", "solar", "solar", 900, 0, 0, 0.0, "solar", ""),
    ("SINDH_solar", "SINDH", "solar", "solar", 300, 0, 0, 0.0, "solar", ""),
    ("BALOCHISTAN_solar", "BALOCHISTAN", "solar", "solar", 200, 0, 0, 0.0, "solar", ""),
    ("SINDH_wind", "SINDH", "wind", "wind", 1800, 0, 0, 0.0, "wind", ""),  # Jhimpir-Gharo
    ("SINDH_bagasse", "SINDH", "bagasse", "bagasse", 200, 25, 0, 0.0, "bagasse", ""),
    ("PUNJAB_C_bagasse", "PUNJAB_C", "bagasse", "bagasse", 130, 25, 0, 0.0, "bagasse", ""),
    ("PUNJAB_S_bagasse", "PUNJAB_S", "bagasse", "bagasse", 100, 25, 0, 0.0, "bagasse", ""),
]

# Planned outages [est]: nuclear refuelling. Chashma's four units (~330 MW each) refuel one at a
# time in the low-demand months (one unit out = 75 % of the fleet); K-2 and K-3 (1,145 MW each,
# 18-month cycles, ~45-day outages) one unit each spring and autumn (one unit out = 50 %).
AVAILABILITY = {
    "PUNJAB_C_nuclear": {2: 0.75, 3: 0.75, 10: 0.75, 11: 0.75},
    "KARACHI_nuclear": {3: 0.5, 4: 0.75, 11: 0.75, 12: 0.5},
}

# Domestic gas for power [est]: the FY25 gas share of generation (8.8 % of 127,159 GWh) spread
# over the months with winter curtailment (households come first in Dec-Feb).
GAS_SHARE, GAS_MONTH_WEIGHT = 0.088, np.array([0.6, 0.7, 1.0, 1.1, 1.15, 1.15, 1.15, 1.15, 1.1, 1.05, 0.9, 0.6])
# Take-or-pay RLNG for power [est]: the energy the power sector took in FY25 (RLNG 17.5 % of
# generation), with the winter months lower (RLNG diverted to households); the contract's fuel
# price per MWh is paid whether the gas is burnt or not. K-Electric's ENI/PLL contract (0.75 of
# 7.5 MTPA) feeds BQPS-III.
RLNG_SHARE, RLNG_KE_SHARE = 0.175, 0.1
RLNG_MONTH_WEIGHT = np.array([0.75, 0.8, 0.95, 1.0, 1.1, 1.15, 1.15, 1.15, 1.1, 1.05, 0.95, 0.75])
TOP_PRICE_USD_PER_MWH = {"rlng_national": 84.0, "rlng_ke": 81.0}  # fuel part of the cheapest member's cost
FY25_GENERATION_MWH = 127_159_000.0

# name, from, to, forward MW, backward MW, loss_pu   ([est] except where noted)
LINES = [
    ("KP-PUNJAB_N", "KP", "PUNJAB_N", 7000, 7000, 0.02),
    ("PUNJAB_N-PUNJAB_C", "PUNJAB_N", "PUNJAB_C", 7000, 7000, 0.02),
    ("PUNJAB_C-PUNJAB_S", "PUNJAB_C", "PUNJAB_S", 5000, 5000, 0.02),
    ("SINDH-PUNJAB_S", "SINDH", "PUNJAB_S", 3500, 3500, 0.03),  # south-north AC corridor
    ("HVDC-MATIARI-LAHORE", "SINDH", "PUNJAB_C", 4000, 4000, 0.04),  # 4,000 MW rated (facts)
    ("SINDH-KARACHI", "SINDH", "KARACHI", 1600, 1600, 0.01),  # K-Electric import limit ~1,600 MW (facts)
    ("SINDH-BALOCHISTAN", "SINDH", "BALOCHISTAN", 1200, 1200, 0.03),
    ("PUNJAB_S-BALOCHISTAN", "PUNJAB_S", "BALOCHISTAN", 600, 600, 0.03),
]

# Flexible-load types (owned by DECISION, #12): what each load is and the inputs of its
# valuation, never a derived value.  The planner's value per MWh and yearly cost per MW come
# from offtake.economics.valuation over the asset's life, the investor's own figures.
# BTC price 100,000 USD [assumption, docs/economics.md]; H100 rental 2.00 USD/GPU-h (markets.md
# range 1.70-2.99), utilisation 0.7 [assumption], PUE 1.56 (markets.md, 2024 industry average).
FLEX_COLUMNS = ["name", "kind", "load_type", "max_mw_per_region", "min_site_mw", "window_h", "max_off_share",
                "backup_cost_usd_per_mwh", "regions", "btc_price_usd", "rental_usd_per_gpu_hour", "utilisation", "pue"]
FLEX_TYPES = [
    ("bitcoin_mining", "interruptible", "bitcoin_mining", 1000, 10, 24, 1.0, 0, "", 100000, None, None, None),
    ("ai_training", "deferrable", "ai_training", 150, 20, 168, 0.3, 0, "PUNJAB_N PUNJAB_C PUNJAB_S KARACHI SINDH",
     None, 2.0, 0.7, 1.56),
    ("ai_inference", "firm", "ai_inference", 100, 10, 24, 0.0, 250, "PUNJAB_N PUNJAB_C KARACHI", None, 2.0, 0.7, 1.56),
]


def _index() -> pd.DatetimeIndex:
    return pd.date_range(f"{YEAR}-01-01 00:00", f"{YEAR}-12-31 23:00", freq="h", tz=TZ)


def _clearsky_pu(idx: pd.DatetimeIndex, lat: float, lon: float) -> np.ndarray:
    """Clear-sky horizontal irradiance / 1000 W/m2 (pvlib solar position, Haurwitz model)."""
    import pvlib

    mid = idx + pd.Timedelta(minutes=30)  # hour-ending average ~ mid-hour sun
    loc = pvlib.location.Location(lat, lon, tz=TZ)
    sp = loc.get_solarposition(mid)
    ghi = pvlib.clearsky.haurwitz(sp["apparent_zenith"])["ghi"].to_numpy()
    return np.nan_to_num(ghi, nan=0.0) / 1000.0


def _daily_ar1(rng: np.random.Generator, n_days: int, rho: float, sd: float) -> np.ndarray:
    e = rng.normal(0.0, sd * np.sqrt(1 - rho**2), n_days)
    x = np.empty(n_days)
    x[0] = rng.normal(0, sd)
    for d in range(1, n_days):  # one pass over 365 days, not hours
        x[d] = rho * x[d - 1] + e[d]
    return x


def _budgets(hours_in_month: np.ndarray) -> pd.DataFrame:
    """energy_budgets.csv: reservoir hydro, domestic gas, take-or-pay RLNG (one row per budget and month)."""
    rows = []
    for g in GENERATORS:
        if g[3] == "hydro" and g[9]:
            for m in range(1, 13):
                rows.append((g[9], m, round(HYDRO_MONTHLY_MW[m - 1] * g[4] / HYDRO_TOTAL_MW * hours_in_month[m - 1], 1),
                             None, None))
    days = hours_in_month / hours_in_month.sum()
    gas = FY25_GENERATION_MWH * GAS_SHARE * GAS_MONTH_WEIGHT * days / (GAS_MONTH_WEIGHT * days).sum()
    for m in range(1, 13):
        rows.append(("gas_domestic", m, round(gas[m - 1], -2), None, None))
    w = RLNG_MONTH_WEIGHT * days / (RLNG_MONTH_WEIGHT * days).sum()
    for name, share in (("rlng_national", 1 - RLNG_KE_SHARE), ("rlng_ke", RLNG_KE_SHARE)):
        vol = FY25_GENERATION_MWH * RLNG_SHARE * share * w
        for m in range(1, 13):
            rows.append((name, m, None, round(vol[m - 1], -2), TOP_PRICE_USD_PER_MWH[name]))
    df = pd.DataFrame(rows, columns=["budget", "month", "max_mwh", "take_or_pay_mwh", "take_or_pay_usd_per_mwh"])
    return df.astype({"max_mwh": "Float64", "take_or_pay_mwh": "Float64", "take_or_pay_usd_per_mwh": "Float64"})


def build(dest: Path) -> None:
    rng = np.random.default_rng(SEED)
    idx = _index()
    hod = idx.hour.to_numpy()
    month = idx.month.to_numpy()
    doy = idx.day_of_year.to_numpy()
    day = doy - 1
    n_days = int(day.max()) + 1
    summer = 0.5 * (1 - np.cos(2 * np.pi * (doy - 15) / 365))  # 0 mid-January, 1 mid-July

    # Cloudiness: daily clear-sky index, lower and more variable in the monsoon (Jul-Aug) [est].
    monsoon = np.exp(-0.5 * ((doy - 215) / 25.0) ** 2)
    kc_day = np.clip(0.93 - 0.25 * monsoon[::24][:n_days] + _daily_ar1(rng, n_days, 0.6, 0.06) * (1 + 2 * monsoon[::24][:n_days]), 0.25, 1.0)
    kc = kc_day[day]

    # --- demand -----------------------------------------------------------------
    h = 2 * np.pi * hod / 24
    winter_shape = 1 + 0.10 * np.cos(h - 2 * np.pi * 19 / 24) - 0.08 * np.cos(2 * h - 2 * np.pi * 3 / 24 * 2) + 0.12 * np.exp(-0.5 * ((hod - 19) / 1.6) ** 2)
    summer_shape = 1 + 0.10 * np.cos(h - 2 * np.pi * 22 / 24) + 0.05 * np.cos(h - 2 * np.pi * 15 / 24) + SUMMER_PEAK * np.exp(-0.5 * ((hod - 22) / 2.5) ** 2)
    shape = (1 - summer) * winter_shape + summer * summer_shape
    weather = 1 + _daily_ar1(rng, n_days, 0.85, WEATHER_SD)[day] * (0.6 + 0.8 * summer)
    hourly_noise = 1 + rng.normal(0, 0.012, len(idx))
    gross = shape * weather * hourly_noise
    btm = BTM_SOLAR_MW * _clearsky_pu(idx, *PEAK_SITES["btm"]) * kc * 0.8  # 0.8: inverter, soiling, heat losses [est]
    national = np.empty(len(idx))
    for m in range(1, 13):  # exact monthly calibration: scale gross so that net meets the monthly mean
        sel = month == m
        g, b = gross[sel], btm[sel]
        k = (MONTHLY_AVG_MW[m - 1] + b.mean()) / g.mean()
        national[sel] = k * g - b

    swing = MONTHLY_AVG_MW / MONTHLY_AVG_MW.mean() - 1
    shares = np.array([[REGION_SHARE[r] * (1 + REGION_SEASONALITY.get(r, 0.0) * s) for r in REGION_SHARE] for s in swing])
    shares /= shares.sum(axis=1, keepdims=True)
    demand = pd.DataFrame(national[:, None] * shares[month - 1], index=idx, columns=list(REGION_SHARE))
    # K-Electric's load follows the national shape less closely (coastal climate): part of each
    # hour's load is replaced by the day's mean, which keeps its daily (so monthly) energy
    ke = demand["KARACHI"].to_numpy()
    ke_day = pd.Series(ke).groupby(day).transform("mean").to_numpy()
    demand["KARACHI"] = KE_SHAPE_WEIGHT * ke + (1 - KE_SHAPE_WEIGHT) * ke_day

    # --- availability profiles ---------------------------------------------------
    cs = _clearsky_pu(idx, *PEAK_SITES["solar"])
    solar = np.clip(cs * kc * 0.95, 0, 1)  # fixed-tilt utility PV [est]
    wind_season = 0.20 + 0.36 * np.exp(-0.5 * ((doy - 185) / 45.0) ** 2)  # Jhimpir: strong May-Aug [est]
    wind_diurnal = 1 + 0.25 * np.cos(2 * np.pi * (hod - 17) / 24)
    z = np.empty(len(idx))
    z[0] = 0.0
    eps = rng.normal(0, 0.35 * np.sqrt(1 - 0.9**2), len(idx))
    for t in range(1, len(idx)):  # AR(1) hourly wind anomaly (generator only, not a model loop)
        z[t] = 0.9 * z[t - 1] + eps[t]
    wind = np.clip(wind_season * wind_diurnal * np.exp(z - 0.35**2 / 2), 0, 1)
    hydro_ror = HYDRO_MONTHLY_MW[month - 1] / HYDRO_TOTAL_MW * (1 + 0.03 * np.sin(2 * np.pi * doy / 7))
    hydro_ror = np.clip(hydro_ror, 0, 1)
    crushing = np.isin(month, [11, 12, 1, 2, 3])  # sugar-cane crushing season
    bagasse = np.where(crushing, 0.62, 0.05)
    profiles = pd.DataFrame({"solar": solar, "wind": wind, "hydro_ror": hydro_ror, "bagasse": bagasse}, index=idx)

    # --- tables -----------------------------------------------------------------------
    hours_in_month = pd.Series(1.0, index=idx).groupby(month).sum().to_numpy()
    budgets = _budgets(hours_in_month)

    dest.mkdir(parents=True, exist_ok=True)
    ts = idx.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d{2})(\d{2})$", r"\1:\2", regex=True)
    out = demand.round(1)
    out.insert(0, "timestamp", ts)
    out.to_csv(dest / "demand.csv", index=False)
    prof = profiles.round(4)
    prof.insert(0, "timestamp", ts)
    prof.to_csv(dest / "profiles.csv", index=False)
    pd.DataFrame(REGIONS, columns=["name", "description", "lat", "lon"]).to_csv(dest / "regions.csv", index=False)
    pd.DataFrame(GENERATORS, columns=GEN_COLUMNS).to_csv(dest / "generators.csv", index=False)
    pd.DataFrame(LINES, columns=["name", "from_region", "to_region", "capacity_forward_mw", "capacity_backward_mw", "loss_pu"]).to_csv(dest / "lines.csv", index=False)
    budgets.to_csv(dest / "energy_budgets.csv", index=False)
    avail = [(g, m, pu) for g, months in AVAILABILITY.items() for m, pu in sorted(months.items())]
    pd.DataFrame(avail, columns=["generator", "month", "available_pu"]).to_csv(dest / "availability.csv", index=False)
    flex = pd.DataFrame(FLEX_TYPES, columns=FLEX_COLUMNS)
    for c in ("btc_price_usd", "rental_usd_per_gpu_hour", "utilisation", "pue"):
        flex[c] = flex[c].astype("Float64")
    flex.to_csv(dest / "flex_loads.csv", index=False)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "builtin" / "pakistan-2025"
    build(target)
    print(f"wrote {target}")
