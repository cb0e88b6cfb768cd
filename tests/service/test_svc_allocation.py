"""The allocation rule, on hand-computed cases and as properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from offtake.errors import InputError
from offtake.service.allocation import allocate


@pytest.mark.parametrize(
    ("avail", "region", "cap", "share", "prio", "expected"),
    [
        # plenty of surplus: everyone gets their contract
        ([100.0], [0, 0], [10, 20], [0.5, 0.5], [1, 1], [10, 20]),
        # no surplus at all
        ([0.0], [0, 0], [10, 20], [0.5, 0.5], [1, 1], [0, 0]),
        # firm blocks (5 + 10 = 15) first, the 3 MW left goes to priority 1's
        # interruptible block (5 MW) before priority 2's
        ([18.0], [0, 0], [10, 20], [0.5, 0.5], [1, 2], [8, 10]),
        # same priority: the 3 MW beyond firm is shared pro rata 5:10
        ([18.0], [0, 0], [10, 20], [0.5, 0.5], [1, 1], [6, 12]),
        # less than the firm demand: firm blocks in merit order (priority 1 fully, then 2)
        ([7.0], [0, 0], [10, 20], [0.5, 0.5], [1, 2], [5, 2]),
        # less than firm, same priority: pro rata on firm blocks 5:10
        ([6.0], [0, 0], [10, 20], [0.5, 0.5], [1, 1], [2, 4]),
        # a fully interruptible site waits behind a firm one of lower priority
        ([12.0], [0, 0], [10, 10], [1.0, 0.0], [1, 9], [2, 10]),
        # regions are independent; negative surplus counts as zero
        ([4.0, -3.0], [0, 1, 0], [10, 10, 2], [1, 1, 1], [2, 1, 1], [2, 0, 2]),
    ],
)
def test_hand_computed(avail, region, cap, share, prio, expected) -> None:  # type: ignore[no-untyped-def]
    got = allocate(avail, region, cap, share, prio)
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_empty_and_nan() -> None:
    assert allocate([5.0], [], [], [], []).shape == (0,)
    np.testing.assert_allclose(allocate([np.nan], [0], [3.0], [0.0], [1]), [0.0])


@pytest.mark.parametrize("bad", [
    {"region": [1]}, {"cap": [-1.0]}, {"share": [1.5]}, {"share": [np.nan]}, {"prio": [1, 2]},
])
def test_bad_inputs_raise(bad) -> None:  # type: ignore[no-untyped-def]
    args = {"avail": [5.0], "region": [0], "cap": [3.0], "share": [0.5], "prio": [1]} | bad
    with pytest.raises(InputError):
        allocate(args["avail"], args["region"], args["cap"], args["share"], args["prio"])


@st.composite
def systems(draw):  # type: ignore[no-untyped-def]
    n_regions = draw(st.integers(1, 4))
    n = draw(st.integers(0, 40))
    avail = draw(hnp.arrays(float, n_regions, elements=st.floats(-10, 500, allow_nan=False)))
    region = draw(hnp.arrays(np.int64, n, elements=st.integers(0, n_regions - 1)))
    cap = draw(hnp.arrays(float, n, elements=st.floats(0, 100, allow_nan=False)))
    share = draw(hnp.arrays(float, n, elements=st.floats(0, 1, allow_nan=False)))
    prio = draw(hnp.arrays(np.int64, n, elements=st.integers(1, 4)))
    return avail, region, cap, share, prio


@settings(max_examples=300, deadline=None)
@given(systems())
def test_properties(system) -> None:  # type: ignore[no-untyped-def]
    avail, region, cap, share, prio = system
    sp = allocate(avail, region, cap, share, prio)
    # within [0, contract] per site
    assert np.all(sp >= 0) and np.all(sp <= cap + 1e-9)
    total = np.bincount(region, weights=sp, minlength=avail.size)
    demand = np.bincount(region, weights=cap, minlength=avail.size)
    a = np.clip(avail, 0, None)
    # never more than the signal ...
    assert np.all(total <= a)
    # ... and nothing left idle while someone in the region still wants power
    np.testing.assert_allclose(total, np.minimum(a, demand), rtol=1e-9, atol=1e-7)
    # firm before interruptible: if any site gets interruptible power, every firm block
    # in its region is full
    firm = cap * (1 - share)
    for r in range(avail.size):
        m = region == r
        if np.any(sp[m] > firm[m] + 1e-7):
            assert np.all(sp[m] >= firm[m] - 1e-7)


@settings(max_examples=100, deadline=None)
@given(systems())
def test_merit_order_and_pro_rata(system) -> None:  # type: ignore[no-untyped-def]
    avail, region, cap, share, prio = system
    sp = allocate(avail, region, cap, share, prio)
    firm = cap * (1 - share)
    for r in range(avail.size):
        for tier_lo, tier_hi in ((0, firm), (firm, cap)):
            served = np.clip(sp - tier_lo, 0, tier_hi - tier_lo)  # this tier's share
            size = tier_hi - tier_lo
            m = (region == r) & (size > 1e-9)
            for p in np.unique(prio[m]):
                frac = served[m & (prio == p)] / size[m & (prio == p)]
                # pro rata within a priority: one fraction for the group
                assert np.ptp(frac) < 1e-6
                # a worse priority gets nothing in this tier until p is full
                worse = m & (prio > p)
                if frac.max() < 1 - 1e-6 and worse.any():
                    assert np.all(served[worse] < 1e-6)


def test_inputs_not_mutated() -> None:
    cap = np.array([5.0, 6.0])
    share = np.array([0.2, 0.8])
    before = (cap.copy(), share.copy())
    allocate(np.array([3.0]), np.array([0, 0]), cap, share, np.array([1, 2]))
    np.testing.assert_array_equal(cap, before[0])
    np.testing.assert_array_equal(share, before[1])
