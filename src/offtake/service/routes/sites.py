"""Regions, sites, per-site setpoints, readings and events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from offtake.service.deps import MAX_OFFSET, WRITER, ActorDep, SessionDep, require_roles
from offtake.service.domain import metering, regions, setpoints, sites
from offtake.service.models import MeterReading, Region, Setpoint, Site, SiteEvent
from offtake.service.schemas import (
    ManualSetpoint,
    ReadingPublic,
    RegionPublic,
    RegionStatus,
    SetpointPublic,
    SiteCreate,
    SiteEventIn,
    SiteEventPublic,
    SitePublic,
    SiteUpdate,
)
from offtake.service.security import Principal

router = APIRouter(prefix="/api/v1")
Writer = Annotated[Principal, require_roles(*WRITER)]
Limit = Annotated[int, Query(ge=1, le=5000)]


@router.get("/regions", response_model=list[RegionPublic], tags=["regions"])
def list_regions(session: SessionDep, actor: ActorDep) -> list[Region]:
    return regions.list_regions(session)


@router.get("/regions/status", response_model=list[RegionStatus], tags=["regions"],
            summary="Surplus, allocated and contracted MW per region now")
def region_status(session: SessionDep, actor: ActorDep) -> list[RegionStatus]:
    return regions.region_status(session)


@router.post("/sites", response_model=SitePublic, status_code=201, tags=["sites"])
def create_site(body: SiteCreate, session: SessionDep, actor: Writer) -> Site:
    return sites.create_site(session, actor=actor, data=body)


@router.get("/sites", response_model=list[SitePublic], tags=["sites"],
            summary="Sites (a site operator sees only their own)")
def list_sites(session: SessionDep, actor: ActorDep, region_id: str | None = None,
               limit: Limit = 1000, offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> list[Site]:
    return sites.list_sites(session, actor=actor, region_id=region_id, limit=limit, offset=offset)


@router.get("/sites/{site_id}", response_model=SitePublic, tags=["sites"])
def get_site(site_id: str, session: SessionDep, actor: ActorDep) -> Site:
    return sites.get_site(session, actor=actor, site_id=site_id)


@router.patch("/sites/{site_id}", response_model=SitePublic, tags=["sites"])
def update_site(site_id: str, body: SiteUpdate, session: SessionDep, actor: Writer) -> Site:
    return sites.update_site(session, actor=actor, site_id=site_id, data=body)


@router.get("/sites/{site_id}/setpoint", response_model=SetpointPublic, tags=["setpoints"],
            summary="Current setpoint (poll; or use the WebSocket)")
def get_setpoint(site_id: str, session: SessionDep, actor: ActorDep) -> Setpoint:
    return setpoints.current_setpoint(session, actor=actor, site_id=site_id)


@router.put("/sites/{site_id}/setpoint", response_model=SetpointPublic, tags=["setpoints"],
            summary="Hold a site at a manual setpoint until valid_until (default 1 h)")
def put_setpoint(site_id: str, body: ManualSetpoint, session: SessionDep,
                 actor: Writer) -> Setpoint:
    return setpoints.set_manual(session, actor=actor, site_id=site_id,
                                setpoint_mw=body.setpoint_mw, valid_until=body.valid_until)


@router.get("/sites/{site_id}/setpoints", response_model=list[SetpointPublic],
            tags=["setpoints"], summary="Setpoint history, newest first")
def setpoint_history(site_id: str, session: SessionDep, actor: ActorDep,
                     limit: Limit = 100) -> list[Setpoint]:
    return setpoints.setpoint_history(session, actor=actor, site_id=site_id, limit=limit)


@router.get("/sites/{site_id}/meter-readings", response_model=list[ReadingPublic],
            tags=["metering"])
def site_readings(site_id: str, session: SessionDep, actor: ActorDep,
                  start: AwareDatetime | None = None, end: AwareDatetime | None = None,
                  flagged_only: bool = False, limit: Limit = 1000) -> list[MeterReading]:
    return metering.list_readings(session, actor=actor, site_id=site_id, start=start, end=end,
                                  flagged_only=flagged_only, limit=limit)


@router.post("/sites/{site_id}/events", response_model=SiteEventPublic, status_code=201,
             tags=["metering"], summary="Report a site event (idempotent on event_id)")
def post_event(site_id: str, body: SiteEventIn, session: SessionDep,
               actor: ActorDep) -> SiteEvent:
    event, _new = metering.record_site_event(session, actor=actor, site_id=site_id, event=body)
    return event


@router.get("/sites/{site_id}/events", response_model=list[SiteEventPublic], tags=["metering"])
def list_events(site_id: str, session: SessionDep, actor: ActorDep,
                limit: Limit = 500) -> list[SiteEvent]:
    return metering.list_site_events(session, actor=actor, site_id=site_id, limit=limit)
