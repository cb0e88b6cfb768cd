"""The sandbox's simulated clock for billing (only with ``OFFTAKE_SANDBOX_CLOCK=1``).

``offtake sandbox run`` replays simulated hours on a compressed wall clock.  Once an
admin sets the clock (``PUT /api/v1/admin/sim-clock``), metering maps every reading that
starts at or after ``wall_origin``::

    sim_time = sim_origin + (wall_time - wall_origin) x speed

its billing month is the month of its simulated start, and the energy billed (ledger
``energy_mwh`` and amount) is its metered energy x ``speed`` (a wall second at speed 3600
stands for a simulated hour at the same MW).  Invoicing asks whether a month is over by
the simulated "now".  Stored readings stay in wall time and metered energy; price look-up
stays by wall time (prices are posted on wall-clock intervals).  The clock lives in the
database (one row) so every worker sees the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError
from offtake.service.domain.common import audit, now
from offtake.service.models import SimClock
from offtake.service.security import ForbiddenError, Principal, Role
from offtake.service.settings import Settings

CLOCK_ID = 1
OFF_MESSAGE = ("the sandbox clock is off: start the service with OFFTAKE_SANDBOX_CLOCK=1 to "
               "bill on a simulated clock (sandbox runs only)")


@dataclass(frozen=True)
class Clock:
    wall_origin: datetime
    sim_origin: datetime
    speed: float

    def maps(self, wall: datetime) -> bool:
        """Whether a reading starting at ``wall`` is billed on the simulated clock."""
        return wall >= self.wall_origin

    def to_sim(self, wall: datetime) -> datetime:
        """The simulated time of ``wall`` (at or after ``wall_origin``; earlier stays wall)."""
        if not self.maps(wall):
            return wall
        try:
            return self.sim_origin + (wall - self.wall_origin) * self.speed
        except OverflowError:
            raise InputError(f"{wall.isoformat()} maps to a simulated time out of range "
                             f"(sim_origin {self.sim_origin.isoformat()}, speed "
                             f"{self.speed:g})") from None


def _require_enabled(settings: Settings) -> None:
    if not settings.sandbox_clock:
        raise NotFoundError(OFF_MESSAGE)


def active(session: Session, settings: Settings) -> Clock | None:
    """The clock billing uses now: None unless the setting is on and a clock was set."""
    if not settings.sandbox_clock:
        return None
    row = session.get(SimClock, CLOCK_ID, populate_existing=True)
    if row is None:
        return None
    return Clock(row.wall_origin, row.sim_origin, row.speed)


def get_clock(session: Session, *, settings: Settings) -> SimClock:
    _require_enabled(settings)
    row = session.get(SimClock, CLOCK_ID, populate_existing=True)
    if row is None:
        raise NotFoundError("no simulated clock is set (PUT /api/v1/admin/sim-clock)")
    return row


def set_clock(session: Session, *, actor: Principal, settings: Settings, wall_origin: datetime,
              sim_origin: datetime, speed: float) -> SimClock:
    """Set (or replace) the clock; readings already billed keep their period and amount."""
    _require_enabled(settings)
    if Role.ADMIN not in actor.roles:
        raise ForbiddenError("setting the simulated clock needs the admin role")
    Clock(wall_origin, sim_origin, speed).to_sim(now())  # refuse a clock that overflows now
    row = session.get(SimClock, CLOCK_ID)
    t = now()
    if row is None:
        row = SimClock(clock_id=CLOCK_ID, wall_origin=wall_origin, sim_origin=sim_origin,
                       speed=speed, set_at=t, set_by=actor.client_id)
        session.add(row)
    else:
        row.wall_origin, row.sim_origin, row.speed = wall_origin, sim_origin, speed
        row.set_at, row.set_by = t, actor.client_id
    audit(session, actor=actor, action="sim_clock.set", target_type="service",
          target_id="sim_clock", detail={"wall_origin": wall_origin, "sim_origin": sim_origin,
                                         "speed": speed})
    try:
        session.commit()
    except IntegrityError:  # another worker created the row at the same moment: replace it
        session.rollback()
        return set_clock(session, actor=actor, settings=settings, wall_origin=wall_origin,
                         sim_origin=sim_origin, speed=speed)
    return row


def clear_clock(session: Session, *, actor: Principal, settings: Settings) -> None:
    """Remove the clock: readings from now on are billed on the wall clock again."""
    _require_enabled(settings)
    if Role.ADMIN not in actor.roles:
        raise ForbiddenError("clearing the simulated clock needs the admin role")
    session.execute(delete(SimClock).where(SimClock.clock_id == CLOCK_ID))
    audit(session, actor=actor, action="sim_clock.clear", target_type="service",
          target_id="sim_clock")
    session.commit()
