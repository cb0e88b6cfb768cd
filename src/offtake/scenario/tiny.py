"""A tiny, hand-checkable scenario folder for tests, docs and bug reports.

Two regions (``north`` with cheap hydro, ``south`` with the demand), one corridor,
48 hourly snapshots.  ``write_tiny_scenario(folder, **edits)`` writes it; ``edits``
replace whole files' text (e.g. ``{"lines.csv": "..."}``) so a test can break one
thing at a time.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SCENARIO_YAML = """\
name: tiny
timezone: Asia/Karachi
currency: PKR
usd_exchange_rate: 280
years: [2025]
reserve_margin: 0.1
value_of_lost_load_usd_per_mwh: 3000
programme_cap_mw: 500
"""

REGIONS_CSV = "name,description,lat,lon\nnorth,hydro region,34,72\nsouth,load centre,25,67\n"

GENERATORS_CSV = """\
name,region,technology,fuel,capacity_mw,marginal_cost_usd_per_mwh,min_output_pu,forced_outage_rate,profile,budget
north_hydro,north,hydro,hydro,1000,1,0,0,,north_hydro
south_gas,south,gas,gas,600,80,0,0.1,,
south_solar,south,solar,solar,200,0,0,0,solar,
"""

LINES_CSV = "name,from_region,to_region,capacity_forward_mw,capacity_backward_mw,loss_pu\nn-s,north,south,300,300,0\n"

FLEX_CSV = """\
name,kind,load_type,value_usd_per_mwh,capex_usd_per_mw_year,max_mw_per_region,min_site_mw,window_h,max_off_share,backup_cost_usd_per_mwh,regions
mining,interruptible,bitcoin_mining,60,100000,400,0,24,1,0,
"""


def demand_frame(hours: int = 48) -> pd.DataFrame:
    idx = pd.date_range("2025-01-01", periods=hours, freq="h", tz="Asia/Karachi")
    h = idx.hour.to_numpy()
    north = 100.0 + 50.0 * (h >= 18)
    south = 500.0 + 200.0 * (h >= 18)
    return pd.DataFrame({"timestamp": idx.strftime("%Y-%m-%dT%H:%M:%S+05:00"), "north": north, "south": south})


def profiles_frame(hours: int = 48) -> pd.DataFrame:
    idx = pd.date_range("2025-01-01", periods=hours, freq="h", tz="Asia/Karachi")
    h = idx.hour.to_numpy()
    solar = ((h >= 7) & (h <= 17)).astype(float) * 0.8
    return pd.DataFrame({"timestamp": idx.strftime("%Y-%m-%dT%H:%M:%S+05:00"), "solar": solar})


def budgets_csv(energy_mwh: float = 372000.0) -> str:
    """energy_budgets.csv: the north hydro fleet's monthly energy (a budget of one generator)."""
    rows = "\n".join(f"north_hydro,{m},{energy_mwh}" for m in range(1, 13))
    return "budget,month,max_mwh\n" + rows + "\n"


def write_tiny_scenario(folder: str | Path, edits: dict[str, str] | None = None) -> Path:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "scenario.yaml": SCENARIO_YAML,
        "regions.csv": REGIONS_CSV,
        "generators.csv": GENERATORS_CSV,
        "lines.csv": LINES_CSV,
        "flex_loads.csv": FLEX_CSV,
        "energy_budgets.csv": budgets_csv(),
        "demand.csv": demand_frame().to_csv(index=False),
        "profiles.csv": profiles_frame().to_csv(index=False),
    }
    files.update(edits or {})
    for name, text in files.items():
        (out / name).write_text(text)
    return out
