"""Plan figures -> LoadInputs."""

from __future__ import annotations

import pytest

from offtake.economics.loads import LoadInputs, LoadKind
from offtake.errors import InputError


def test_uptime_from_energy_wins_over_hours() -> None:
    load = LoadInputs.from_plan("bitcoin", 100.0, mwh_per_year=700_800.0,
                                curtailment_hours_per_year=100.0)
    assert load.kind is LoadKind.BITCOIN
    assert load.uptime_share == pytest.approx(0.8)
    assert load.curtailment_hours_per_year == 100.0
    assert load.mwh_per_year == pytest.approx(700_800.0)


def test_uptime_from_hours() -> None:
    load = LoadInputs.from_plan(LoadKind.AIDC, 50.0, curtailment_hours_per_year=876.0)
    assert load.uptime_share == pytest.approx(0.9)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give mwh_per_year or curtailment_hours_per_year"),
    ({"mwh_per_year": 900_000.0}, "exceeds mw x 8760"),
    ({"curtailment_hours_per_year": 9000.0}, "<= 8760"),
    ({"mwh_per_year": -1.0}, "mwh_per_year must be >= 0"),
])
def test_bad_plan_figures(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        LoadInputs.from_plan("bitcoin", 100.0, **kwargs)
    with pytest.raises(InputError, match="needs mw > 0"):
        LoadInputs.from_plan("bitcoin", 0.0, mwh_per_year=5.0)


def test_bad_kind_and_uptime() -> None:
    with pytest.raises(InputError, match="load kind must be one of"):
        LoadInputs("steel", 10.0)
    with pytest.raises(InputError, match="uptime_share must be <= 1"):
        LoadInputs("aidc", 10.0, uptime_share=1.2)
