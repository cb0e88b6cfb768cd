"""Region energy prices (for surplus-indexed tariffs) and the sandbox's simulated clock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from offtake.service.deps import READ_ALL, WRITER, ActorDep, SessionDep, StateDep, require_roles
from offtake.service.domain import prices, simclock
from offtake.service.domain.common import now
from offtake.service.domain.metering import billing_period
from offtake.service.models import RegionPrice, SimClock
from offtake.service.schemas import (
    PricePublic,
    PricesIn,
    PricesPosted,
    SignalKind,
    SimClockIn,
    SimClockPublic,
)
from offtake.service.security import Principal, Role

router = APIRouter(prefix="/api/v1")
Writer = Annotated[Principal, require_roles(*WRITER)]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]


@router.post("/prices", response_model=PricesPosted, status_code=201, tags=["operations"],
             summary="Post energy prices per region and wall-clock interval (all or nothing)")
def post_prices(body: PricesIn, session: SessionDep, actor: Writer) -> PricesPosted:
    rows = prices.post_prices(session, actor=actor, prices=body.prices)
    return PricesPosted(prices=[PricePublic.model_validate(r) for r in rows])


@router.get("/prices", response_model=list[PricePublic], tags=["operations"],
            summary="Prices overlapping [start, end), newest interval first")
def list_prices(session: SessionDep, actor: ActorDep, region_id: str | None = None,
                start: AwareDatetime | None = None, end: AwareDatetime | None = None,
                kind: SignalKind | None = None,
                limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[RegionPrice]:
    return prices.list_prices(session, region_id=region_id, start=start, end=end, kind=kind,
                              limit=limit)


def _clock(row: SimClock, tz: str) -> SimClockPublic:
    clock = simclock.Clock(row.wall_origin, row.sim_origin, row.speed)
    sim_now = clock.to_sim(now())
    return SimClockPublic(wall_origin=row.wall_origin, sim_origin=row.sim_origin,
                          speed=row.speed, set_at=row.set_at, set_by=row.set_by,
                          sim_now=sim_now, sim_period=billing_period(sim_now, tz))


@router.put("/admin/sim-clock", response_model=SimClockPublic, tags=["admin"],
            summary="Sandbox only (OFFTAKE_SANDBOX_CLOCK=1): bill on a simulated clock")
def put_sim_clock(body: SimClockIn, session: SessionDep, actor: Admin,
                  state: StateDep) -> SimClockPublic:
    row = simclock.set_clock(session, actor=actor, settings=state.settings,
                             wall_origin=body.wall_origin, sim_origin=body.sim_origin,
                             speed=body.speed)
    return _clock(row, state.settings.billing_timezone)


@router.get("/admin/sim-clock", response_model=SimClockPublic, tags=["admin"],
            summary="Sandbox only: the simulated clock billing uses")
def get_sim_clock(session: SessionDep, actor: Annotated[Principal, require_roles(*READ_ALL)],
                  state: StateDep) -> SimClockPublic:
    return _clock(simclock.get_clock(session, settings=state.settings),
                  state.settings.billing_timezone)


@router.delete("/admin/sim-clock", status_code=204, tags=["admin"],
               summary="Sandbox only: bill on the wall clock again from now on")
def delete_sim_clock(session: SessionDep, actor: Admin, state: StateDep) -> None:
    simclock.clear_clock(session, actor=actor, settings=state.settings)
