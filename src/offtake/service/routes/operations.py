"""Grid operations: surplus signals, allocation runs, emergency curtailment, meter intake."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime

from offtake.service.deps import WRITER, ActorDep, SessionDep, StateDep, require_roles
from offtake.service.domain import metering, setpoints, signals
from offtake.service.models import SurplusSignal
from offtake.service.schemas import (
    AllocationOutcome,
    AllocationRequest,
    CurtailmentPublic,
    CurtailRequest,
    ReadingsIn,
    ReadingsResult,
    SignalPublic,
    SignalsIn,
    SignalsPosted,
)
from offtake.service.security import Principal

router = APIRouter(prefix="/api/v1")
Writer = Annotated[Principal, require_roles(*WRITER)]


@router.post("/surplus-signals", response_model=SignalsPosted, status_code=201,
             tags=["operations"],
             summary="Post available MW per region; signals in force now re-allocate at once")
def post_signals(body: SignalsIn, session: SessionDep, actor: Writer,
                 allocate: bool = True) -> SignalsPosted:
    rows, outcome = signals.post_signals(session, actor=actor, signals=body.signals,
                                         allocate_now=allocate)
    return SignalsPosted(signals=[SignalPublic.model_validate(r) for r in rows],
                         allocation=outcome)


@router.get("/surplus-signals", response_model=list[SignalPublic], tags=["operations"])
def list_signals(session: SessionDep, actor: ActorDep, region_id: str | None = None,
                 start: AwareDatetime | None = None, end: AwareDatetime | None = None,
                 limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[SurplusSignal]:
    return signals.list_signals(session, region_id=region_id, start=start, end=end, limit=limit)


@router.post("/allocations", response_model=AllocationOutcome, tags=["operations"],
             summary="Allocate the surplus in force at `at` (default now) and push setpoints")
def run_allocation(body: AllocationRequest, session: SessionDep,
                   actor: Writer) -> AllocationOutcome:
    return setpoints.run_allocation(session, actor=actor, at=body.at, region_ids=body.region_ids,
                                    dry_run=body.dry_run)


def _curtailment(record, sites: int = 0) -> CurtailmentPublic:  # type: ignore[no-untyped-def]
    return CurtailmentPublic(
        curtailment_id=record.curtailment_id, region_id=record.region_id,
        reason=record.reason, started_at=record.started_at, started_by=record.started_by,
        ended_at=record.ended_at, ended_by=record.ended_by, sites_affected=sites)


@router.post("/emergency-curtailments", response_model=CurtailmentPublic, status_code=201,
             tags=["operations"],
             summary="Set every site (or one region's) to 0 MW now, pushed to agents")
def curtail(body: CurtailRequest, session: SessionDep, actor: Writer) -> CurtailmentPublic:
    record, n = setpoints.emergency_curtail(session, actor=actor, reason=body.reason,
                                            region_id=body.region_id)
    return _curtailment(record, n)


@router.get("/emergency-curtailments", response_model=list[CurtailmentPublic],
            tags=["operations"])
def list_curtailments(session: SessionDep, actor: ActorDep,
                      active_only: bool = False) -> list[CurtailmentPublic]:
    return [_curtailment(r) for r in setpoints.list_curtailments(session, active_only=active_only)]


@router.post("/emergency-curtailments/{curtailment_id}/release",
             response_model=CurtailmentPublic, tags=["operations"],
             summary="End a curtailment and re-allocate the regions it held")
def release(curtailment_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep,
            actor: Writer) -> CurtailmentPublic:
    record, n = setpoints.release_curtailment(session, actor=actor, curtailment_id=curtailment_id)
    return _curtailment(record, n)


@router.post("/meter-readings", response_model=ReadingsResult, tags=["metering"],
             summary="Send meter readings (idempotent per reading_id and per site+interval)")
def post_readings(body: ReadingsIn, session: SessionDep, actor: ActorDep,
                  state: StateDep) -> ReadingsResult:
    accepted, dups = metering.ingest_readings(session, actor=actor, readings=body.readings,
                                              settings=state.settings)
    return ReadingsResult(accepted=accepted, duplicates=dups)
