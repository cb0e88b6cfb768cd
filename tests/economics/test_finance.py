"""Finance helpers against hand-computed values."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from offtake.economics import aidc, bitcoin, finance, tariff
from offtake.economics.finance import (
    annuity_factor,
    discount_factors,
    irr,
    npv,
    payback_periods,
    pkr_per_kwh_to_usd_per_mwh,
    rate_per_period,
    usd_per_mwh_to_pkr_per_kwh,
    with_replacements,
)
from offtake.errors import InputError


@pytest.mark.parametrize("module", [finance, bitcoin, aidc, tariff])
def test_doctests_pass(module: object) -> None:
    failed, attempted = doctest.testmod(module)  # type: ignore[arg-type]
    assert attempted > 0 and failed == 0


def test_npv_hand_computed() -> None:
    # -100 + 50 / 1.1 + 60 / 1.21
    assert npv(0.10, [-100.0, 50.0, 60.0]) == pytest.approx(-100 + 45.454545 + 49.586777)


def test_npv_keeps_leading_axes_and_broadcasts_rates() -> None:
    cf = np.array([[-100.0, 110.0], [-100.0, 120.0]])
    out = npv(np.array([0.10, 0.20]), cf)
    assert out.shape == (2,)
    assert out == pytest.approx([0.0, 0.0], abs=1e-9)


def test_annuity_factor_hand_and_zero_rate() -> None:
    assert annuity_factor(0.10, 10) == pytest.approx(0.1 / (1 - 1.1**-10))
    assert annuity_factor(0.0, 5) == pytest.approx(0.2)
    assert annuity_factor(np.array([0.0, 0.1]), 10).shape == (2,)


def test_discount_factors_shape() -> None:
    df = discount_factors(np.array([0.0, 1.0]), 3)
    assert df.tolist() == [[1.0, 1.0, 1.0], [1.0, 0.5, 0.25]]


def test_rate_per_period_compounds_back() -> None:
    assert (1 + rate_per_period(0.12, 12)) ** 12 == pytest.approx(1.12)


def test_irr_zeroes_npv_for_each_row() -> None:
    rng = np.random.default_rng(0)
    cf = np.concatenate([-rng.uniform(50, 150, (20, 1)), rng.uniform(5, 40, (20, 8))], axis=1)
    r = irr(cf)
    assert r.shape == (20,)
    assert np.abs(npv(r, cf)).max() < 1e-6


def test_irr_nan_without_sign_change() -> None:
    assert math.isnan(irr([100.0, 10.0, 10.0]))
    assert np.isnan(irr(np.array([[-1.0, -1.0], [-1.0, 2.0]]))[0])


def test_payback_hand_cases() -> None:
    assert payback_periods([-100.0, 40.0, 40.0, 40.0]) == pytest.approx(2.5)
    assert payback_periods([10.0, -5.0]) == 0.0
    assert math.isnan(payback_periods([-100.0, 10.0, 10.0]))
    rows = payback_periods(np.array([[-10.0, 5.0, 5.0], [-10.0, 10.0, 0.0]]))
    assert rows.tolist() == [2.0, 1.0]


def test_with_replacements_decides_per_path() -> None:
    monthly = np.array([[5.0, 5.0, 5.0, 5.0], [5.0, 3.0, 9.0, 9.0]])
    got = with_replacements(monthly, 8.0, 2)
    # path 0: 5 x 2 >= 8, replaced; path 1: 3 x 2 < 8, site closes after month 2
    assert got.tolist() == [[5.0, -3.0, 5.0, 5.0], [5.0, 3.0, 0.0, 0.0]]
    assert monthly[1, 2] == 9.0  # input not mutated


def test_currency_round_trip() -> None:
    x = np.array([50.0, 80.81])
    assert pkr_per_kwh_to_usd_per_mwh(usd_per_mwh_to_pkr_per_kwh(x)) == pytest.approx(x)
    assert usd_per_mwh_to_pkr_per_kwh(100.0, pkr_per_usd=280.0) == pytest.approx(28.0)


@pytest.mark.parametrize("call, message", [
    (lambda: npv(-1.0, [1.0, 2.0]), "rate must be > -1"),
    (lambda: npv(0.1, [1.0, float("nan")]), "cashflows must be finite"),
    (lambda: npv(0.1, []), "at least one period"),
    (lambda: irr([1.0]), "at least two periods"),
    (lambda: annuity_factor(0.1, 0), "n_periods must be > 0"),
    (lambda: npv(0.1, ["a"]), "cashflows must be a number"),
    (lambda: with_replacements([1.0], 1.0, 0), "life_months must be >= 1"),
])
def test_bad_input_raises_input_error(call: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()  # type: ignore[operator]
