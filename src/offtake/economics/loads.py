"""The plain per-load-type inputs the plan hands to the economics.

The planning engine reports, per load type, the planned MW, the energy it may
draw in a year (MWh), the hours it is curtailed and the resulting uptime share.
:class:`LoadInputs` holds those figures, checks them once, and derives whichever
of them the caller did not give.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from offtake.economics._checks import as_array
from offtake.economics.finance import HOURS_PER_YEAR
from offtake.errors import InputError


class LoadKind(StrEnum):
    BITCOIN = "bitcoin"
    AIDC = "aidc"


@dataclass(frozen=True)
class LoadInputs:
    """One load type's planned size and availability.

    Attributes
    ----------
    kind : the load type
    mw : planned capacity [MW] (facility draw at full load)
    uptime_share : share of the year the load may run at full power [0-1]
    curtailment_hours_per_year : hours per year the load is switched off [h]
    """

    kind: LoadKind
    mw: float
    uptime_share: float = 0.9
    curtailment_hours_per_year: float = 876.0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", LoadKind(self.kind))
        except ValueError as exc:
            raise InputError(f"load kind must be one of {[k.value for k in LoadKind]} "
                             f"(got {self.kind!r})") from exc
        as_array("mw", self.mw, min_value=0.0)
        as_array("uptime_share", self.uptime_share, min_value=0.0, max_value=1.0)
        as_array("curtailment_hours_per_year", self.curtailment_hours_per_year,
                 min_value=0.0, max_value=HOURS_PER_YEAR)

    @property
    def mwh_per_year(self) -> float:
        """Energy drawn in a year [MWh] = MW x 8760 h x uptime share."""
        return self.mw * HOURS_PER_YEAR * self.uptime_share

    @classmethod
    def from_plan(cls, kind: LoadKind | str, mw: float, *, mwh_per_year: float | None = None,
                  curtailment_hours_per_year: float | None = None) -> LoadInputs:
        """Build from plan figures: uptime from MWh when given, else from curtailed hours.

        ``uptime = MWh / (MW x 8760)``; without MWh, ``uptime = 1 - h / 8760``.  A load
        that is partly curtailed in an hour has fewer MWh than hours suggest, so MWh wins.
        """
        mw_f = float(as_array("mw", mw, min_value=0.0))
        hours = None if curtailment_hours_per_year is None else float(
            as_array("curtailment_hours_per_year", curtailment_hours_per_year, min_value=0.0,
                     max_value=HOURS_PER_YEAR))
        if mwh_per_year is not None:
            mwh = float(as_array("mwh_per_year", mwh_per_year, min_value=0.0))
            if mw_f == 0.0:
                if mwh > 0.0:
                    raise InputError(f"mwh_per_year {mwh:g} needs mw > 0")
                uptime = 0.0
            else:
                uptime = mwh / (mw_f * HOURS_PER_YEAR)
                if uptime > 1.0 + 1e-9:
                    raise InputError(f"mwh_per_year {mwh:g} exceeds mw x 8760 h = "
                                     f"{mw_f * HOURS_PER_YEAR:g}")
            uptime = min(uptime, 1.0)
            if hours is None:
                hours = HOURS_PER_YEAR * (1.0 - uptime)
        elif hours is not None:
            uptime = 1.0 - hours / HOURS_PER_YEAR
        else:
            raise InputError("give mwh_per_year or curtailment_hours_per_year")
        return cls(kind=LoadKind(kind), mw=mw_f, uptime_share=uptime,
                   curtailment_hours_per_year=hours)
