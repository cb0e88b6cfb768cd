"""Discounting, annuities, NPV, IRR and payback as vectorised numpy functions.

Conventions: a cash-flow array has time on its **last** axis, period 0 first (the
investment), then one entry per period; every leading axis (paths, scenarios) is
kept.  Rates are per period (a fraction, 0.10 for 10 %).  Use
:func:`rate_per_period` to turn an annual rate into a monthly one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from offtake.economics._checks import FloatArray, as_array, out
from offtake.errors import InputError

__all__ = ["HOURS_PER_MONTH", "HOURS_PER_YEAR", "PKR_PER_USD", "annuity_factor",
           "discount_factors", "irr", "npv", "payback_periods", "pkr_per_kwh_to_usd_per_mwh",
           "rate_per_period", "usd_per_mwh_to_pkr_per_kwh", "with_replacements"]


def rate_per_period(annual_rate: ArrayLike, periods_per_year: int = 12) -> Any:
    """Equivalent rate per period: ``(1 + r) ** (1 / k) - 1`` [fraction].

    >>> round(rate_per_period(0.12682503, 12), 6)
    0.01
    """
    r = as_array("annual_rate", annual_rate, min_value=-1.0, strict=True)
    if periods_per_year < 1:
        raise InputError(f"periods_per_year must be >= 1 (got {periods_per_year})")
    return out((1.0 + r) ** (1.0 / periods_per_year) - 1.0)


def annuity_factor(rate: ArrayLike, n_periods: ArrayLike) -> Any:
    """Capital recovery factor: the level payment per unit of present value.

    ``r / (1 - (1 + r) ** -n)``, and ``1 / n`` when ``r == 0``.

    Parameters
    ----------
    rate : rate per period [fraction], > -1
    n_periods : number of periods [count], > 0

    >>> round(annuity_factor(0.10, 10), 6)
    0.162745
    >>> annuity_factor(0.0, 4)
    0.25
    """
    r = as_array("rate", rate, min_value=-1.0, strict=True)
    n = as_array("n_periods", n_periods, min_value=0.0, strict=True)
    r, n = np.broadcast_arrays(r, n)
    small = np.abs(r) < 1e-12
    safe_r = np.where(small, 1.0, r)
    factor = np.where(small, 1.0 / n, safe_r / (1.0 - (1.0 + safe_r) ** -n))
    return out(factor)


def discount_factors(rate: ArrayLike, n_periods: int) -> FloatArray:
    """``(1 + r) ** -t`` for ``t = 0 .. n_periods - 1``; shape ``rate.shape + (n,)``.

    >>> discount_factors(1.0, 3).tolist()
    [1.0, 0.5, 0.25]
    """
    r = as_array("rate", rate, min_value=-1.0, strict=True)
    if n_periods < 1:
        raise InputError(f"n_periods must be >= 1 (got {n_periods})")
    t = np.arange(n_periods, dtype=float)
    return np.asarray((1.0 + r[..., None]) ** -t)


def npv(rate: ArrayLike, cashflows: ArrayLike) -> Any:
    """Net present value ``sum_t CF_t / (1 + r) ** t`` with ``CF_0`` undiscounted.

    Parameters
    ----------
    rate : rate per period [fraction]; scalar or broadcastable to ``cashflows.shape[:-1]``
    cashflows : cash flows [currency], time on the last axis

    Returns
    -------
    NPV [currency], shape ``cashflows.shape[:-1]`` (a float for one series).

    >>> round(npv(0.10, [-100.0, 110.0, 121.0]), 9)
    100.0
    >>> npv(0.0, [[-1.0, 2.0], [-3.0, 1.0]]).tolist()
    [1.0, -2.0]
    """
    cf = as_array("cashflows", cashflows)
    if cf.ndim == 0 or cf.shape[-1] == 0:
        raise InputError("cashflows must have at least one period on its last axis")
    r = as_array("rate", rate, min_value=-1.0, strict=True)
    t = np.arange(cf.shape[-1], dtype=float)
    df = (1.0 + r[..., None]) ** -t
    return out(np.sum(cf * df, axis=-1))


def irr(cashflows: ArrayLike, *, low: float = -0.99, high: float = 10.0,
        tol: float = 1e-10, max_iter: int = 200) -> Any:
    """Internal rate of return per period, by vectorised bisection [fraction].

    Finds ``r`` in ``[low, high]`` with ``npv(r, cashflows) == 0`` for every series
    at once.  Returns NaN for a series whose NPV has the same sign at both ends
    (no root in the bracket, e.g. all-positive or all-negative flows).  With more
    than one sign change a series may have several roots; bisection returns one.

    >>> round(irr([-100.0, 110.0]), 8)
    0.1
    >>> round(irr([-100.0, 60.0, 60.0]), 6)
    0.130662
    >>> import math; math.isnan(irr([-1.0, -1.0]))
    True
    """
    cf = as_array("cashflows", cashflows)
    if cf.ndim == 0 or cf.shape[-1] < 2:
        raise InputError("cashflows must have at least two periods on its last axis")
    if not -1.0 < low < high:
        raise InputError(f"irr bracket must satisfy -1 < low < high (got {low}, {high})")
    t = np.arange(cf.shape[-1], dtype=float)

    def f(r: FloatArray) -> FloatArray:
        return np.asarray(np.sum(cf * (1.0 + r[..., None]) ** -t, axis=-1))

    shape = cf.shape[:-1]
    lo = np.full(shape, low)
    hi = np.full(shape, high)
    f_lo = f(lo)
    f_hi = f(hi)
    has_root = np.sign(f_lo) != np.sign(f_hi)
    exact_lo = f_lo == 0.0
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        f_mid = f(mid)
        same = np.sign(f_mid) == np.sign(f_lo)
        lo = np.where(same, mid, lo)
        f_lo = np.where(same, f_mid, f_lo)
        hi = np.where(same, hi, mid)
        if np.all(hi - lo < tol):
            break
    root = np.where(exact_lo, low, 0.5 * (lo + hi))
    return out(np.where(has_root | exact_lo, root, np.nan))


def payback_periods(cashflows: ArrayLike) -> Any:
    """Periods until cumulative (undiscounted) cash flow first reaches zero.

    Linear within the period in which it turns: if the cumulative sum is ``-a``
    after period ``t - 1`` and period ``t`` brings ``c``, payback is
    ``t - 1 + a / c``.  0 when ``CF_0 >= 0``; NaN when never paid back.

    >>> payback_periods([-100.0, 40.0, 40.0, 40.0])
    2.5
    >>> import math; math.isnan(payback_periods([-100.0, 10.0]))
    True
    """
    cf = as_array("cashflows", cashflows)
    if cf.ndim == 0 or cf.shape[-1] == 0:
        raise InputError("cashflows must have at least one period on its last axis")
    cum = np.cumsum(cf, axis=-1)
    reached = cum >= 0.0
    any_reached = reached.any(axis=-1)
    t = np.argmax(reached, axis=-1)
    prev_idx = np.maximum(t - 1, 0)
    prev = np.take_along_axis(cum, prev_idx[..., None], axis=-1)[..., 0]
    step = np.take_along_axis(cf, t[..., None], axis=-1)[..., 0]
    safe_step = np.where(step == 0.0, 1.0, step)
    frac = np.where(t == 0, 0.0, (t - 1) + (-prev) / safe_step)
    return out(np.where(any_reached, frac, np.nan))


#: PKR per USD, Jul 2025 (shared/facts/pakistan.md).
PKR_PER_USD = 284.36
HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = HOURS_PER_YEAR / 12.0


def usd_per_mwh_to_pkr_per_kwh(usd_per_mwh: ArrayLike, pkr_per_usd: float = PKR_PER_USD) -> Any:
    """Convert a price in USD/MWh to PKR/kWh: ``x * pkr_per_usd / 1000``.

    >>> round(usd_per_mwh_to_pkr_per_kwh(100.0), 4)
    28.436
    """
    x = as_array("usd_per_mwh", usd_per_mwh)
    fx = float(as_array("pkr_per_usd", pkr_per_usd, min_value=0.0, strict=True))
    return out(x * fx / 1000.0)


def pkr_per_kwh_to_usd_per_mwh(pkr_per_kwh: ArrayLike, pkr_per_usd: float = PKR_PER_USD) -> Any:
    """Convert a price in PKR/kWh to USD/MWh: ``x * 1000 / pkr_per_usd``.

    >>> round(pkr_per_kwh_to_usd_per_mwh(28.436), 6)
    100.0
    """
    x = as_array("pkr_per_kwh", pkr_per_kwh)
    fx = float(as_array("pkr_per_usd", pkr_per_usd, min_value=0.0, strict=True))
    return out(x * 1000.0 / fx)


def with_replacements(monthly_usd: ArrayLike, replacement_usd: float, life_months: int) -> FloatArray:
    """Monthly cash with equipment replaced at the end of each life, when it pays [USD].

    ``monthly_usd[..., j]`` is the cash of month ``j + 1`` with the equipment running.
    At the end of each life (month ``life``, ``2 life``, ...) the owner buys new
    equipment for ``replacement_usd`` only if that month's cash, repeated over a
    whole life, repays it (undiscounted); otherwise the site closes
    and every later month is 0.  Equipment alive at the horizon end is credited its
    undepreciated value (straight line over ``life``) in the last month.  Only the
    (few) life boundaries are looped over; paths stay vectorised.

    >>> with_replacements([5.0, 5.0, 5.0, 5.0], 8.0, 2).tolist()
    [5.0, -3.0, 5.0, 5.0]
    >>> with_replacements([5.0, 3.0, 5.0, 5.0], 8.0, 2).tolist()
    [5.0, 3.0, 0.0, 0.0]
    >>> with_replacements([5.0, 5.0, 5.0], 8.0, 2).tolist()
    [5.0, -3.0, 9.0]
    """
    cf = np.array(as_array("monthly_usd", monthly_usd), dtype=float, copy=True)
    if cf.ndim == 0:
        raise InputError("monthly_usd must have months on its last axis")
    if life_months < 1:
        raise InputError(f"life_months must be >= 1 (got {life_months})")
    cost = float(as_array("replacement_usd", replacement_usd, min_value=0.0))
    n = cf.shape[-1]
    alive = np.ones(cf.shape[:-1], dtype=bool)
    start = life_months
    while start < n:
        renew = alive & (cf[..., start - 1] * life_months >= cost)
        cf[..., start - 1] -= np.where(renew, cost, 0.0)
        cf[..., start:] = np.where(renew[..., None], cf[..., start:], 0.0)
        alive = renew
        start += life_months
    used = n - (start - life_months)
    if used < life_months:
        cf[..., -1] += np.where(alive, cost * (1.0 - used / life_months), 0.0)
    return np.asarray(cf)
