"""Representative days: the requested number of days, weights that cover every month exactly."""

from __future__ import annotations

import numpy as np
import pytest

from offtake.plan import PlanOptions, prepare
from offtake.scenario import load_scenario


@pytest.mark.parametrize("days", [12, 24, 48])
def test_days_count_and_month_weights(days):
    pk = load_scenario("pakistan-2025")
    x = prepare(pk, PlanOptions(days=days))
    assert len(x.snapshots) == days * 24
    assert x.weight_h.sum() == pytest.approx(8760)
    month = np.asarray(x.snapshots.month)
    for m in range(1, 13):  # each month's days are represented by its own days, weights = its hours
        assert x.weight_h[month == m].sum() == pytest.approx(pk.snapshots[pk.snapshots.month == m].size)
    assert len(np.unique(x.snapshots.normalize())) == days  # distinct days, none picked twice
