"""AI data-centre economics against hand-computed values."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from offtake.economics.aidc import (
    GPUS,
    AidcCase,
    Firmness,
    Gpu,
    aidc_cashflows_usd,
    firmness_cost_usd_per_year,
    gpus_per_mw,
    revenue_usd_per_mwh,
    value_aidc,
)
from offtake.errors import InputError


def test_gpus_per_mw_by_hand() -> None:
    # H100 700 W x 1.7875 server overhead (DGX B200 14.3 kW / 8 kW) x PUE 1.56
    assert gpus_per_mw(700.0) == pytest.approx(1e6 / (700 * 1.7875 * 1.56))
    assert gpus_per_mw(np.array([700.0, 1000.0]), 1.0, 1.0).tolist() == pytest.approx(
        [1e6 / 700, 1000.0])


def test_revenue_per_mwh_by_hand() -> None:
    # 1,000 GPUs per MW at 2 USD/h, 70 % rented -> 1,400 USD per MWh of draw
    assert revenue_usd_per_mwh(2.0, 0.7, 1000.0, 1.0, 1.0) == pytest.approx(1400.0)


def test_firmness_cost_backup_vs_curtail() -> None:
    # 10 MW, 100 h curtailed, revenue 500 USD/MWh, 60 % training
    lost_training = 10 * 100 * 0.6 * 500
    assert firmness_cost_usd_per_year(10, 100, 500, 0.6, Firmness.CURTAIL) == pytest.approx(
        lost_training + 10 * 100 * 0.4 * 500)
    assert firmness_cost_usd_per_year(10, 100, 500, 0.6, "backup", 250.0, 80.0) == pytest.approx(
        lost_training + 10 * 100 * 0.4 * (250 - 80))
    assert firmness_cost_usd_per_year(10, 0, 500, 0.6) == 0.0


def _flat_case(**kw: object) -> AidcCase:
    base = AidcCase(mw=1.0, gpu=Gpu("g", 1000.0, 10_000.0, life_years=5.0), pue=1.25,
                    server_overhead=1.6, rental_usd_per_gpu_hour=2.0, rental_growth_per_year=0.0,
                    utilisation=0.5, uptime_share=1.0, training_share=0.5,
                    electricity_usd_per_mwh=100.0, facility_capex_usd_per_mw_it=1.25e6,  # 1e6 per MW drawn at PUE 1.25
                    fixed_opex_share_per_year=0.12, backup_capex_usd_per_mw=0.0,
                    backup_usd_per_mwh=300.0, discount_rate_per_year=0.0, months=2,
                    facility_life_years=20.0)
    return replace(base, **kw)  # type: ignore[arg-type]


def test_cashflows_by_hand() -> None:
    case = _flat_case()
    assert case.n_gpus == 500  # 1e6 / (1000 x 1.6 x 1.25)
    cf = aidc_cashflows_usd(case, rental_usd_per_gpu_hour=np.full(2, 2.0), uptime_share=1.0)
    month = 500 * 2.0 * 0.5 * 730 - 100.0 * 730 - 0.12 * 1e6 / 12
    gpu_left = 500 * 10_000.0 * (1 - 2 / 60)
    facility_left = 1e6 * (1 - 2 / 240)
    assert cf.tolist() == pytest.approx([-(1e6 + 500 * 10_000.0), month,
                                         month + gpu_left + facility_left])


def test_curtailed_hours_backup_vs_curtail() -> None:
    rent = np.full(2, 2.0)
    backup = aidc_cashflows_usd(_flat_case(), rental_usd_per_gpu_hour=rent, uptime_share=0.5)
    curtail = aidc_cashflows_usd(_flat_case(firmness=Firmness.CURTAIL),
                                 rental_usd_per_gpu_hour=rent, uptime_share=0.5)
    # inference half runs through 365 curtailed hours: earns 500 x 2 x 0.5 x 365 x 0.5,
    # burns 1 MW x 365 h x 0.5 of backup at 300 USD/MWh
    extra = 500 * 2.0 * 0.5 * 365 * 0.5 - 300.0 * 365 * 0.5
    assert backup[1] - curtail[1] == pytest.approx(extra)


def test_value_aidc_consistent_and_rental_sensitive() -> None:
    v = value_aidc(AidcCase())
    assert v.n_gpus == AidcCase().n_gpus > 0
    assert v.cashflows_usd.shape == (61,)
    assert v.revenue_usd_per_mwh == pytest.approx(
        revenue_usd_per_mwh(2.0 * 0.9 ** (0.5 / 12), 0.7, 700.0))
    assert value_aidc(AidcCase(rental_usd_per_gpu_hour=3.0)).npv_usd > v.npv_usd


def test_levelised_cost_by_hand() -> None:
    case = _flat_case(discount_rate_per_year=0.0, uptime_share=0.5, months=None)
    v = value_aidc(case)
    # zero rate: capital charge = capex / life; backup capex is 0 in this case
    capital = 1e6 / 20 + 500 * 10_000.0 / 5
    mwh = 1.0 * 8760 * 0.5
    assert v.cost_usd_per_mwh == pytest.approx(100.0 + (capital + 0.12 * 1e6) / mwh)
    assert GPUS["B200"].power_w == 1000.0


@pytest.mark.parametrize("kwargs, message", [
    ({"utilisation": 1.5}, "utilisation must be <= 1"),
    ({"pue": 0.9}, "pue must be >= 1"),
    ({"uptime_share": -0.1}, "uptime_share must be >= 0"),
    ({"rental_usd_per_gpu_hour": -2.0}, "rental_usd_per_gpu_hour must be >= 0"),
    ({"months": 0}, "months must be >= 1"),
])
def test_bad_case(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        AidcCase(**kwargs)  # type: ignore[arg-type]


def test_bad_firmness_mode() -> None:
    with pytest.raises(InputError, match="firmness must be one of"):
        AidcCase(firmness="maybe")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="firmness must be one of"):
        firmness_cost_usd_per_year(1, 1, 1, 0.5, "maybe")  # type: ignore[arg-type]


def test_facility_capex_is_per_mw_of_it_load() -> None:
    # 10 MW drawn at PUE 1.5 is 6.67 MW of IT load: 11 M USD/MW_IT x 6.67 = 73.3 M USD
    case = AidcCase(mw=10.0, pue=1.5, facility_capex_usd_per_mw_it=11e6)
    assert case.it_mw == pytest.approx(10.0 / 1.5)
    assert case.facility_capex_usd == pytest.approx(11e6 * 10.0 / 1.5)
