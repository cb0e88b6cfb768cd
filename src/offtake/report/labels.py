"""Human labels for code names: table headers with units, legend entries, axis titles.

One place, so the terminal, the report and the PNGs say the same thing.
"""

from __future__ import annotations

import re

FLEX_LABELS = {
    "bitcoin_mining": "Bitcoin mining", "ai_training": "AI training", "ai_inference": "AI inference",
    "bitcoin": "Bitcoin mining", "aidc": "AI data centre", "mining": "Bitcoin mining", "ai": "AI data centre",
}

# column / key -> label with unit
COLUMN_LABELS = {
    "capacity_mw": "MW", "mw": "MW", "energy_mwh_per_year": "GWh/yr", "mwh_per_year": "GWh/yr",
    "curtailed_hours_per_year": "curtailed [h/yr]", "curtailment_rate": "curtailed [% of energy]",
    "uptime_share": "uptime [%]", "kind": "kind", "revenue_usd_per_mwh": "revenue [USD/MWh]",
    "npv_usd": "NPV [M USD]", "irr_per_year": "IRR [%/yr]", "payback_years": "payback [yr]",
    "breakeven_tariff_pkr_per_kwh": "break-even tariff [Rs/kWh]", "pays_at_tariff": "pays at this tariff",
    "before_mwh_per_year": "before [GWh/yr]", "after_mwh_per_year": "after [GWh/yr]",
    "extra_mwh_per_year": "extra [GWh/yr]", "before_cost_usd_per_year": "cost before [M USD/yr]",
    "after_cost_usd_per_year": "cost after [M USD/yr]", "extra_cost_usd_per_year": "extra cost [M USD/yr]",
    "utilisation_before": "utilisation before [%]", "utilisation_after": "utilisation after [%]",
    "mean_usd": "mean NPV [M USD]", "p10_usd": "P10 [M USD]", "p50_usd": "P50 [M USD]", "p90_usd": "P90 [M USD]",
    "prob_loss": "P(loss) [%]", "var95_usd": "VaR 95 % [M USD]", "cvar95_usd": "CVaR 95 % [M USD]",
    "extra_tco2_per_year": "extra CO2 [kt/yr]", "t_per_mwh": "tCO2/MWh",
    "tariff_pkr_per_kwh": "tariff [Rs/kWh]",
}

PARAMETER_LABELS = {
    "tariff_pkr_per_kwh": "tariff", "dry_uptime_factor": "uptime in a dry year", "btc_price_usd": "BTC price",
    "btc_vol_per_year": "BTC volatility", "hashrate_growth_per_year": "hashrate growth",
    "rental_usd_per_gpu_hour": "GPU rental price", "discount_rate_per_year": "discount rate",
    "capex_usd_per_mw": "capex", "pkr_per_usd": "exchange rate", "uptime_share": "uptime",
    "demand_growth_per_year": "demand growth", "rental_drift_per_year": "GPU rental trend", "rental_vol_per_year": "GPU rental volatility",
    "wet_uptime_factor": "uptime in a wet year", "hashrate_price_elasticity": "hashrate response to price",
}

_UNITS = (("_usd_per_mwh", " [USD/MWh]"), ("_pkr_per_kwh", " [Rs/kWh]"), ("_usd_per_gpu_hour", " [USD/GPU-h]"),
          ("_per_year", " [/yr]"), ("_usd", " [USD]"), ("_mwh", " [MWh]"), ("_mw", " [MW]"), ("_h", " [h]"),
          ("_share", " [share]"), ("_pu", " [per unit]"))


def flex_label(name: str) -> str:
    """'bitcoin_mining' -> 'Bitcoin mining'; unknown names: underscores to spaces."""
    return FLEX_LABELS.get(name, name.replace("_", " "))


def column_label(name: str) -> str:
    """A header in words with its unit ('npv_usd' -> 'NPV [M USD]')."""
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    return key_label(name)


def parameter_label(name: str) -> str:
    return PARAMETER_LABELS.get(name, key_label(name))


def key_label(name: str) -> str:
    """Any snake_case key with a unit suffix to words: 'window_lower_pkr_per_kwh' -> 'window lower [Rs/kWh]'."""
    for suffix, unit in _UNITS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return re.sub(r"_+", " ", name[: -len(suffix)]).strip() + unit
    return name.replace("_", " ")
