"""One valuation (#12 item 1): the planner's linear NPV equals the investor's month-by-month cash flows."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from offtake.economics.aidc import value_aidc
from offtake.economics.bitcoin import value_mining
from offtake.economics.valuation import (
    LoadType,
    ValuationAssumptions,
    aidc_economics,
    mining_economics,
    rental_breakeven_usd_per_gpu_hour,
    type_economics,
)
from offtake.errors import InputError


def test_mining_linear_npv_equals_value_mining():
    a = ValuationAssumptions()
    e = mining_economics("m", a.mining)
    # 1,000 MW at 80 % uptime paying 20 USD/MWh, no economic shutdown: exactly A x ((V - p) E - C) per MW
    case = replace(a.mining, mw=1000.0, uptime_share=0.8, electricity_usd_per_mwh=20.0, economic_shutdown=False)
    v = value_mining(case)
    assert v.npv_usd / v.power_mw == pytest.approx(e.npv_usd_per_mw((e.value_usd_per_mwh - 20.0) * 8760 * 0.8),
                                                   rel=1e-9)
    # with the option to stop in loss-making months the full model is worth at least the linear NPV
    shut = value_mining(replace(case, electricity_usd_per_mwh=60.0, economic_shutdown=True))
    assert shut.npv_usd / shut.power_mw >= e.npv_usd_per_mw((e.value_usd_per_mwh - 60.0) * 8760 * 0.8) - 1e-6
    assert e.value_usd_per_mwh == pytest.approx(56.125, abs=1e-3) and e.first_year_value_usd_per_mwh == pytest.approx(
        93.759, abs=1e-3)
    assert e.capex_usd_per_mw == pytest.approx(14.0 / 17.5 * 1e6 + 200_000)  # S21 14 USD/TH at 17.5 J/TH + infra


@pytest.mark.parametrize("lt", [LoadType.AI_TRAINING, LoadType.AI_INFERENCE])
def test_aidc_linear_npv_equals_value_aidc(lt):
    a = ValuationAssumptions()
    case = a.aidc_case(lt)
    e = aidc_economics("x", lt, case)
    c = replace(case, mw=1000.0, uptime_share=0.8, electricity_usd_per_mwh=50.0)
    v = value_aidc(c)
    if lt is LoadType.AI_TRAINING:
        margin = (e.value_usd_per_mwh - 50.0) * 8760 * 0.8
    else:  # firm: earns V every hour, grid 80 %, backup fuel the rest
        margin = e.value_usd_per_mwh * 8760 - 50.0 * 8760 * 0.8 - e.backup_usd_per_mwh * 8760 * 0.2
    # value_aidc buys a whole number of GPUs; the valuation is per MW (continuous): within 1e-5
    assert v.npv_usd / 1000.0 == pytest.approx(e.npv_usd_per_mw(margin), rel=1e-5)


def test_rental_breakeven_is_proportional():
    a = ValuationAssumptions()
    e = aidc_economics("x", LoadType.AI_TRAINING, a.aidc_case(LoadType.AI_TRAINING))
    need = 2 * e.value_usd_per_mwh
    assert rental_breakeven_usd_per_gpu_hour(e, need) == pytest.approx(2 * 2.0)
    # check: at that rental the type's V is what was needed
    e2 = aidc_economics("x", LoadType.AI_TRAINING, replace(a.aidc_case(LoadType.AI_TRAINING), rental_usd_per_gpu_hour=4.0))
    assert e2.value_usd_per_mwh == pytest.approx(need)


def test_row_inputs_and_overrides():
    row = pd.Series({"kind": "deferrable", "load_type": "ai_training", "rental_usd_per_gpu_hour": 3.0, "pue": 1.2,
                     "utilisation": 0.9})
    e = type_economics("t", row)
    assert e.inputs["rental_usd_per_gpu_hour"] == 3.0 and e.inputs["pue"] == 1.2 and e.inputs["utilisation"] == 0.9
    assert e.source == "economics"
    over = type_economics("m", pd.Series({"kind": "interruptible", "value_usd_per_mwh": 40.0,
                                          "capex_usd_per_mw_year": 43800.0}))
    assert over.source == "scenario" and over.value_usd_per_mwh == 40.0 and over.annuity_years == 1.0
    with pytest.raises(InputError, match="give load_type or both"):
        type_economics("m", pd.Series({"kind": "interruptible", "value_usd_per_mwh": 40.0}))
