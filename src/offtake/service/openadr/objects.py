"""OpenADR 3.0.1 programs, events, VENs and resources, as views of the core service.

Programs are the regions, VENs the site-operator clients, resources their sites and
events the sites' live setpoints (see :mod:`offtake.service.openadr.mapping`).  A
grid operator's business-logic client may also *write* an event: an
``IMPORT_CAPACITY_LIMIT`` for one site becomes a manual setpoint in the core service.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query

from offtake.errors import InputError, NotFoundError
from offtake.service.deps import SessionDep
from offtake.service.domain.setpoints import set_manual
from offtake.service.openadr import mapping, views
from offtake.service.openadr import schemas as oa
from offtake.service.openadr.auth import Scope, require_scope
from offtake.service.security import ForbiddenError, Principal

router = APIRouter(tags=["openadr3"])
MAX_HOLD = timedelta(days=31)

Skip = Annotated[int, Query(ge=0, le=10_000_000, description="records to skip")]
Limit = Annotated[int, Query(ge=0, le=50, description="records to return (at most 50)")]
TargetType = Annotated[str | None, Query(alias="targetType", max_length=128)]
TargetValues = Annotated[list[str] | None, Query(alias="targetValues", max_length=100)]
ProgramParam = Annotated[str | None, Query(alias="programID", max_length=128)]


T = TypeVar("T")


def page(items: list[T], skip: int, limit: int) -> list[T]:
    return items[skip: skip + limit]


def targets_match(targets: list[oa.ValuesMap] | None, t_type: str | None,
                  t_values: list[str] | None) -> bool:
    """Spec filter: the object has a target of ``t_type`` holding any of ``t_values``."""
    if t_type is None and not t_values:
        return True
    for t in targets or []:
        if t_type is not None and t.type != t_type:
            continue
        if not t_values or set(map(str, t.values)) & set(t_values):
            return True
    return False


# ---------------------------------------------------------------- programs
@router.get("/programs", response_model=list[oa.Program], response_model_exclude_none=True,
            summary="searchAllPrograms")
def search_programs(session: SessionDep, actor: Annotated[Principal, require_scope(Scope.READ_ALL)],
                    target_type: TargetType = None, target_values: TargetValues = None,
                    skip: Skip = 0, limit: Limit = 50) -> list[oa.Program]:
    progs = [mapping.program_for_region(r) for r in views.regions(session)]
    return page([p for p in progs if targets_match(p.targets, target_type, target_values)
                 or (target_type == "PROGRAM_NAME" and p.program_name in (target_values or []))],
                skip, limit)


def _program(session: SessionDep, program_id: str) -> oa.Program:
    region_id = mapping.region_from_program_id(program_id)
    for r in views.regions(session):
        if r.region_id == region_id:
            return mapping.program_for_region(r)
    raise NotFoundError(f"unknown program '{program_id}'")


@router.get("/programs/{programID}", response_model=oa.Program, response_model_exclude_none=True,
            summary="searchProgramByProgramId")
def get_program(programID: str, session: SessionDep,
                actor: Annotated[Principal, require_scope(Scope.READ_ALL)]) -> oa.Program:
    return _program(session, programID)


_DERIVED = ("programs are the service's regions; manage regions through the core API "
            "(/api/v1), not OpenADR")


@router.post("/programs", status_code=201, summary="createProgram (refused: derived)")
def create_program(actor: Annotated[Principal, require_scope(Scope.WRITE_PROGRAMS)]) -> None:
    raise ForbiddenError(_DERIVED)


@router.put("/programs/{programID}", summary="updateProgram (refused: derived)")
@router.delete("/programs/{programID}", summary="deleteProgram (refused: derived)")
def write_program(programID: str,
                  actor: Annotated[Principal, require_scope(Scope.WRITE_PROGRAMS)]) -> None:
    raise ForbiddenError(_DERIVED)


# ---------------------------------------------------------------- events
@router.get("/events", response_model=list[oa.Event], response_model_exclude_none=True,
            summary="searchAllEvents")
def search_events(session: SessionDep, actor: Annotated[Principal, require_scope(Scope.READ_ALL)],
                  program_id: ProgramParam = None, target_type: TargetType = None,
                  target_values: TargetValues = None, skip: Skip = 0,
                  limit: Limit = 50) -> list[oa.Event]:
    region_id = None
    if program_id is not None:
        region_id = mapping.region_from_program_id(program_id)
        if region_id is None:
            return []
    events = [mapping.event_for_site(s)
              for s in views.sites(session, actor=actor, region_id=region_id)]
    return page([e for e in events if targets_match(e.targets, target_type, target_values)],
                skip, limit)


def _site_of_event(session: SessionDep, actor: Principal, event_id: str) -> mapping.SiteView:
    site_id = mapping.site_from_event_id(event_id)
    found = views.sites(session, actor=actor, site_ids=[site_id]) if site_id else []
    if not found:
        raise NotFoundError(f"unknown event '{event_id}'")
    return found[0]


@router.get("/events/{eventID}", response_model=oa.Event, response_model_exclude_none=True,
            summary="searchEventsByID")
def get_event(eventID: str, session: SessionDep,
              actor: Annotated[Principal, require_scope(Scope.READ_ALL)]) -> oa.Event:
    return mapping.event_for_site(_site_of_event(session, actor, eventID))


def _capacity_limit_mw(body: oa.EventIn) -> tuple[float, timedelta | None]:
    """The single IMPORT_CAPACITY_LIMIT of ``body`` [MW] and its duration (None: open)."""
    units = {d.payload_type: (d.units or "KW").upper() for d in body.payload_descriptors or []}
    factor = {"KW": 1 / mapping.KW_PER_MW, "MW": 1.0, "W": 1e-6}.get(
        units.get(mapping.CAPACITY_LIMIT, "KW"))
    if factor is None:
        raise InputError("IMPORT_CAPACITY_LIMIT units must be KW, MW or W")
    if len(body.intervals) != 1:
        raise InputError("an event must carry exactly one interval (one limit per site)")
    values = [p.values for p in body.intervals[0].payloads if p.type == mapping.CAPACITY_LIMIT]
    if len(values) != 1 or len(values[0]) != 1 or isinstance(values[0][0], bool) \
            or not isinstance(values[0][0], (int, float)) or not values[0][0] >= 0:
        raise InputError("the interval needs one IMPORT_CAPACITY_LIMIT payload with one "
                         "number >= 0")
    period = body.intervals[0].interval_period or body.interval_period
    duration = period.duration if period is not None and period.duration > timedelta(0) else None
    if duration is not None and duration > MAX_HOLD:
        raise InputError(f"an event may hold a limit for at most {MAX_HOLD.days} days "
                         "(PT0S or no duration: the default one-hour hold)")
    return float(values[0][0]) * factor, duration


def _apply_event(session: SessionDep, actor: Principal, site_id: str,
                 body: oa.EventIn) -> oa.Event:
    sites = views.sites(session, actor=actor, site_ids=[site_id], active_only=False)
    if not sites:
        raise NotFoundError(f"unknown site '{site_id}'")
    if body.program_id != mapping.program_id_for(sites[0].region_id):
        raise InputError(f"site '{site_id}' belongs to program "
                         f"'{mapping.program_id_for(sites[0].region_id)}', not '{body.program_id}'")
    mw, duration = _capacity_limit_mw(body)
    from offtake.service.domain.common import now

    until = now() + duration if duration is not None else None
    set_manual(session, actor=actor, site_id=site_id, setpoint_mw=mw, valid_until=until)
    return mapping.event_for_site(views.sites(session, actor=actor, site_ids=[site_id],
                                              active_only=False)[0])


@router.post("/events", status_code=201, response_model=oa.Event,
             response_model_exclude_none=True, summary="createEvent (one site's limit)")
def create_event(body: oa.EventIn, session: SessionDep,
                 actor: Annotated[Principal, require_scope(Scope.WRITE_EVENTS)]) -> oa.Event:
    names = [v for t in body.targets or [] if t.type == "RESOURCE_NAME" for v in t.values]
    if len(names) != 1 or not isinstance(names[0], str):
        raise InputError("an event must target exactly one site: targets "
                         "[{type: RESOURCE_NAME, values: [<site id>]}]")
    return _apply_event(session, actor, names[0], body)


@router.put("/events/{eventID}", response_model=oa.Event, response_model_exclude_none=True,
            summary="updateEvent (new limit for the event's site)")
def update_event(eventID: str, body: oa.EventIn, session: SessionDep,
                 actor: Annotated[Principal, require_scope(Scope.WRITE_EVENTS)]) -> oa.Event:
    site = _site_of_event(session, actor, eventID)
    return _apply_event(session, actor, site.site_id, body)


@router.delete("/events/{eventID}", summary="deleteEvent (refused: a site always has a limit)")
def delete_event(eventID: str,
                 actor: Annotated[Principal, require_scope(Scope.WRITE_EVENTS)]) -> None:
    raise ForbiddenError("a site's setpoint event cannot be deleted; post a new limit "
                         "(PUT) or curtail through the core API")


# ---------------------------------------------------------------- vens and resources
def _vens(session: SessionDep, actor: Principal) -> list[oa.Ven]:
    by_owner: dict[str, list[mapping.SiteView]] = {}
    for s in views.sites(session, actor=actor):
        by_owner.setdefault(s.owner_client_id, []).append(s)
    return [mapping.ven_for_client(c.client_id, c.created_at, by_owner.get(c.client_id, []))
            for c in views.ven_clients(session, actor=actor)]


def _ven(session: SessionDep, actor: Principal, ven_id: str) -> oa.Ven:
    for v in _vens(session, actor):
        if v.id == ven_id:
            return v
    raise NotFoundError(f"unknown VEN '{ven_id}'")


@router.get("/vens", response_model=list[oa.Ven], response_model_exclude_none=True,
            summary="searchVens")
def search_vens(session: SessionDep, actor: Annotated[Principal, require_scope(Scope.READ_ALL)],
                ven_name: Annotated[str | None, Query(alias="venName", max_length=128)] = None,
                target_type: TargetType = None, target_values: TargetValues = None,
                skip: Skip = 0, limit: Limit = 50) -> list[oa.Ven]:
    vens = [v for v in _vens(session, actor) if ven_name is None or v.ven_name == ven_name]
    return page([v for v in vens if targets_match(v.targets, target_type, target_values)],
                skip, limit)


@router.get("/vens/{venID}", response_model=oa.Ven, response_model_exclude_none=True,
            summary="searchVenByID")
def get_ven(venID: str, session: SessionDep,
            actor: Annotated[Principal, require_scope(Scope.READ_ALL)]) -> oa.Ven:
    return _ven(session, actor, venID)


@router.get("/vens/{venID}/resources", response_model=list[oa.Resource],
            response_model_exclude_none=True, summary="searchVenResources")
def search_resources(venID: str, session: SessionDep,
                     actor: Annotated[Principal, require_scope(Scope.READ_ALL)],
                     resource_name: Annotated[str | None, Query(alias="resourceName",
                                                                max_length=128)] = None,
                     target_type: TargetType = None, target_values: TargetValues = None,
                     skip: Skip = 0, limit: Limit = 50) -> list[oa.Resource]:
    res = [r for r in _ven(session, actor, venID).resources or []
           if resource_name is None or r.resource_name == resource_name]
    return page([r for r in res if targets_match(r.targets, target_type, target_values)],
                skip, limit)


@router.get("/vens/{venID}/resources/{resourceID}", response_model=oa.Resource,
            response_model_exclude_none=True, summary="searchVenResourceByID")
def get_resource(venID: str, resourceID: str, session: SessionDep,
                 actor: Annotated[Principal, require_scope(Scope.READ_ALL)]) -> oa.Resource:
    for r in _ven(session, actor, venID).resources or []:
        if r.id == resourceID:
            return r
    raise NotFoundError(f"unknown resource '{resourceID}' of VEN '{venID}'")


@router.post("/vens", status_code=201, summary="createVen (VENs are provisioned out of band)")
def create_ven(body: dict[str, object], session: SessionDep,
               actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> None:
    name = body.get("venName")
    for v in _vens(session, actor):
        if v.ven_name == name:
            from offtake.service.domain.common import ConflictError

            raise ConflictError(f"VEN '{name}' already exists with id '{v.id}'")
    raise ForbiddenError("a VEN is a site-operator credential of the core service; an admin "
                         "creates it (POST /api/v1/clients) and the grid operator assigns sites")


_VEN_DERIVED = ("VENs and resources mirror the core service's clients and sites; "
                "change them through the core API (/api/v1)")


@router.put("/vens/{venID}", summary="updateVen (refused: derived)")
@router.delete("/vens/{venID}", summary="deleteVen (refused: derived)")
@router.post("/vens/{venID}/resources", status_code=201, summary="createResource (refused)")
def write_ven(venID: str,
              actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> None:
    raise ForbiddenError(_VEN_DERIVED)


@router.put("/vens/{venID}/resources/{resourceID}", summary="updateResource (refused)")
@router.delete("/vens/{venID}/resources/{resourceID}", summary="deleteResource (refused)")
def write_resource(venID: str, resourceID: str,
                   actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> None:
    raise ForbiddenError(_VEN_DERIVED)
