"""The VTN's HTTP operations, built once per specification version.

:func:`build_router` ("3.0.1" or "3.1.0") returns the router mounted at
``/openadr3/<version>``; both read and write the same store (:mod:`.core`), so a BL
using 3.0.1 and a VEN using 3.1.0 see the same programs and events.

Errors are problem bodies with the status each operation documents: invalid requests
400 (never 422), unknown ids 404, a write the caller may not make 403, a name already
taken 409 where the operation documents 409.
"""


import hashlib
import hmac
import json
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError, OfftakeError
from offtake.service.deps import SessionDep, StateDep
from offtake.service.domain.common import ConflictError, now
from offtake.service.domain.metering import ingest_readings
from offtake.service.models import Client, MeterReading, Setpoint
from offtake.service.openadr import callbacks, core, mapping, schedule
from offtake.service.openadr import schemas as oa
from offtake.service.openadr.auth import Scope, fetch_token, require_scope
from offtake.service.openadr.core import Names, Obj, Version
from offtake.service.openadr.notify import AFTER_SETPOINT, Change
from offtake.service.openadr.runtime import ensure_tables, runtime
from offtake.service.openadr.store import (
    OadrEvent,
    OadrProgram,
    OadrReport,
    OadrSlot,
    OadrSubscription,
    OadrVen,
)
from offtake.service.problems import problem
from offtake.service.schemas import ReadingIn
from offtake.service.security import ForbiddenError, Principal, Role, parse_roles

T = TypeVar("T")

Skip = Annotated[int, Query(ge=0, le=2_147_483_647, description="records to skip")]
Limit = Annotated[int, Query(ge=0, le=50, description="records to return (at most 50)")]
TargetType = Annotated[str | None, Query(alias="targetType", max_length=128)]
TargetValues = Annotated[list[str] | None, Query(alias="targetValues", max_length=100)]
Targets = Annotated[list[str] | None, Query(alias="targets", max_length=100)]
ProgramParam = Annotated[str | None, Query(alias="programID", max_length=128)]
Name = Annotated[str | None, Query(max_length=128)]

_REGION_PROGRAM = ("program '{pid}' is Offtake's surplus programme for region '{region}': it "
                   "mirrors the core service's regions and no BL may change or delete it "
                   "(create your own program, or manage regions through /api/v1)")


class OadrRoute(APIRoute):
    """Answers only with statuses the spec documents for the operation.

    * request-validation failures and invalid inputs: 400 (badRequest), never 422;
    * a create whose body names an unknown object (event, program): 400, as creates
      document no 404;
    * no or a bad token: 401 where documented (3.1.0), else 403 (3.0.1 documents no 401).
    """

    spec_version = "3.1.0"

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        is_create = self.methods == {"POST"} and "{" not in self.path \
            and not self.path.endswith("/auth/token")
        no_401 = self.spec_version == "3.0.1" or (
            self.methods == {"PUT"} and self.path.endswith("/programs/{programID}"))

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                           "type": str(e.get("type", ""))} for e in exc.errors()]
                first = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:3])
                return problem(400, f"invalid request: {first}", errors=errors)
            except OfftakeError as exc:
                if exc.http_status == 422 or (exc.http_status == 404 and is_create):
                    return problem(400, exc.message, title=type(exc).__name__)
                if exc.http_status == 401 and no_401:
                    return problem(403, f"not authenticated: {exc.message}",
                                   title="Forbidden")
                raise

        return run


def page(items: list[T], skip: int, limit: int) -> list[T]:
    return items[skip: skip + limit]


def _invalid(exc: ValidationError) -> InputError:
    msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
    return InputError(f"invalid request: {msgs}")


def _parse(model: type[oa.BaseModel], raw: Any) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _writer(actor: Principal) -> None:
    if not actor.writes:
        raise ForbiddenError("only a business-logic client (grid operator or admin) may "
                             "write programs and events")


def reading_id(key: str, site_id: str, start_iso: str) -> str:
    """Idempotency key of a report interval: keyed by the service secret, so no other
    client can predict (and pre-claim) it; scoped to the site and its interval start."""
    mac = hmac.new(key.encode(), f"oadr-usage|{site_id}|{start_iso}".encode(), hashlib.sha256)
    return "oadr-" + mac.hexdigest()[:40]


def build_router(version: str) -> APIRouter:
    V = Version(version)
    EventIn = oa.EventIn31 if V.v31 else oa.EventIn301
    ProgramIn = oa.ProgramIn31 if V.v31 else oa.ProgramIn301
    ReportIn = oa.ReportIn31 if V.v31 else oa.ReportIn
    SubIn = oa.SubscriptionIn31 if V.v31 else oa.SubscriptionIn
    READ_T = require_scope(Scope.READ_ALL, Scope.READ_TARGETS)
    READ_V = require_scope(Scope.READ_ALL, Scope.READ_VEN_OBJECTS)
    route_class = type(f"OadrRoute_{version.replace('.', '_')}", (OadrRoute,),
                       {"spec_version": version})
    router = APIRouter(prefix=V.base, route_class=route_class, tags=[f"openadr {version}"])

    def targets_of(body: Any) -> tuple[list[str] | None, list[Obj] | None]:
        t = getattr(body, "targets", None)
        if V.v31:
            return t, None
        return core.targets_from_301(t), [core._dump(x) for x in t] if t else None

    def announce(request: Request, change: Change) -> None:
        rt = runtime(request.app)
        if rt is not None:
            rt.post(change)

    def event_change(op: str, obj: Obj, names: Names, owner: str) -> Change:
        return Change(object_type=oa.ObjectType.EVENT, operation=oa.Operation(core.V31.op(op)),
                      program_id=obj["programID"], key=f"EVENT:{obj['id']}:{op}:"
                      f"{obj['modificationDateTime']}", body=core.V301.out(obj, names),
                      body31=core.V31.out(obj), owner_client_id=owner,
                      targets=[oa.ValuesMap.model_validate(t) for t in
                               (core.V301.out(obj, names).get("targets") or [])],
                      targets31=obj.get("targets"),
                      audience=core.audience(obj.get("targets"), names))

    def program_change(op: str, obj: Obj, names: Names, owner: str) -> Change:
        return Change(object_type=oa.ObjectType.PROGRAM, operation=oa.Operation(core.V31.op(op)),
                      program_id=obj["id"], key=f"PROGRAM:{obj['id']}:{op}:"
                      f"{obj['modificationDateTime']}", body=core.V301.out(obj, names),
                      body31=core.V31.out(obj), owner_client_id=owner,
                      targets31=obj.get("targets"),
                      audience=core.audience(obj.get("targets"), names))

    # ------------------------------------------------------------ auth
    token_route = f"oadr_token_{version.replace('.', '_')}"
    token_endpoint = fetch_token if V.v31 else _token_301
    router.add_api_route("/auth/token", token_endpoint, methods=["POST"], name=token_route,
                         response_model=oa.TokenResponse,
                         summary="fetchToken (OAuth2 client credentials)")
    if V.v31:
        @router.get("/auth/server", summary="getAuthServerInfo")
        def auth_server(request: Request) -> Obj:
            return {"tokenURL": str(request.url_for(token_route))}

    # ------------------------------------------------------------ programs
    @router.get("/programs", summary="searchAllPrograms")
    def search_programs(session: SessionDep, actor: Annotated[Principal, READ_T],
                        targets: Targets = None, target_type: TargetType = None,
                        target_values: TargetValues = None, skip: Skip = 0,
                        limit: Limit = 50) -> list[Obj]:
        ensure_tables_s(session)
        names = Names.load(session)
        progs = [p for p in core.programs(session)
                 if core.match_targets31(p, targets)
                 and (core.match_targets301(_with301(p, names), target_type, target_values)
                      or (target_type == "PROGRAM_NAME" and p["programName"] in
                          (target_values or [])))]
        return [V.out(p, names) for p in page(progs, skip, limit)]

    @router.get("/programs/{programID}", summary="searchProgramByProgramId")
    def get_program(programID: str, session: SessionDep,
                    actor: Annotated[Principal, READ_T]) -> Obj:
        return V.out(core.program(session, programID), Names.load(session))

    @router.post("/programs", status_code=201, summary="createProgram")
    def create_program(raw: dict[str, Any], request: Request, session: SessionDep,
                       actor: Annotated[Principal, require_scope(Scope.WRITE_PROGRAMS)]) -> Obj:
        _writer(actor)
        body = _parse(ProgramIn, raw)
        if body.program_name.startswith(mapping.PROGRAM_PREFIX):
            raise ForbiddenError(f"program names starting '{mapping.PROGRAM_PREFIX}' are "
                                 "Offtake's region programmes")
        if session.scalar(select(OadrProgram).where(
                OadrProgram.program_name == body.program_name)) is not None:
            raise ConflictError(f"a program named '{body.program_name}' exists")
        t31, t301 = targets_of(body)
        t = now()
        row = OadrProgram(program_id=core.new_id("prog"), program_name=body.program_name,
                          owner_client_id=actor.client_id,
                          body=json.dumps(core.program_body(body, t31, t301)),
                          created_at=t, modified_at=t)
        session.add(row)
        session.commit()
        obj = core.program(session, row.program_id)
        names = Names.load(session)
        announce(request, program_change("CREATE", obj, names, actor.client_id))
        return V.out(obj, names)

    def _own_program(session: Session, program_id: str) -> OadrProgram:
        region = mapping.region_from_program_id(program_id)
        row = session.get(OadrProgram, program_id)
        if row is None:
            obj = core.program(session, program_id)  # 404 if unknown
            raise ForbiddenError(_REGION_PROGRAM.format(pid=program_id, region=region
                                                        or obj.get("programName")))
        return row

    @router.put("/programs/{programID}", summary="updateProgram")
    def update_program(programID: str, raw: dict[str, Any], request: Request,
                       session: SessionDep,
                       actor: Annotated[Principal, require_scope(Scope.WRITE_PROGRAMS)]) -> Obj:
        _writer(actor)
        row = _own_program(session, programID)
        body = _parse(ProgramIn, raw)
        other = session.scalar(select(OadrProgram).where(
            OadrProgram.program_name == body.program_name))
        if other is not None and other.program_id != programID:
            raise ConflictError(f"a program named '{body.program_name}' exists")
        t31, t301 = targets_of(body)
        row.program_name, row.modified_at = body.program_name, now()
        row.body = json.dumps(core.program_body(body, t31, t301))
        session.commit()
        obj = core.program(session, programID)
        names = Names.load(session)
        announce(request, program_change("UPDATE", obj, names, actor.client_id))
        return V.out(obj, names)

    @router.delete("/programs/{programID}", summary="deleteProgram (and its events)")
    def delete_program(programID: str, request: Request, session: SessionDep,
                       actor: Annotated[Principal, require_scope(Scope.WRITE_PROGRAMS)]) -> Obj:
        _writer(actor)
        row = _own_program(session, programID)
        obj = core.program(session, programID)
        evs = list(session.scalars(select(OadrEvent).where(OadrEvent.program_id == programID)))
        sites = {s for e in evs for s in e.sites.split()}
        for e in evs:
            session.query(OadrSlot).filter(OadrSlot.event_id == e.event_id).delete()
            session.delete(e)
        session.delete(row)
        session.commit()
        if sites:
            schedule.apply_due(session, site_ids=sites)
        names = Names.load(session)
        announce(request, program_change("DELETE", obj, names, actor.client_id))
        return V.out(obj, names)

    # ------------------------------------------------------------ events
    @router.get("/events", summary="searchAllEvents")
    def search_events(session: SessionDep, actor: Annotated[Principal, READ_T],
                      program_id: ProgramParam = None, targets: Targets = None,
                      target_type: TargetType = None, target_values: TargetValues = None,
                      active: bool | None = None, skip: Skip = 0,
                      limit: Limit = 50) -> list[Obj]:
        ensure_tables_s(session)
        names = Names.load(session)
        evs = core.events(session, actor=actor, names=names, program_id=program_id,
                          active_only=bool(active))
        evs = [e for e in evs if core.match_targets31(e, targets)
               and (target_type is None and not target_values
                    or core.match_targets301(_with301(e, names), target_type, target_values))]
        return [V.out(e, names) for e in page(evs, skip, limit)]

    @router.get("/events/{eventID}", summary="searchEventsByID")
    def get_event(eventID: str, session: SessionDep,
                  actor: Annotated[Principal, READ_T]) -> Obj:
        names = Names.load(session)
        return V.out(core.event(session, actor=actor, names=names, event_id=eventID), names)

    def _write_event(session: Session, actor: Principal, raw: dict[str, Any],
                     row: OadrEvent | None) -> tuple[Obj, Names, set[str]]:
        body = _parse(EventIn, raw)
        names = Names.load(session)
        t31, t301 = targets_of(body)
        plan = core.plan_event(session, body, t31, t301, names)
        old_sites = set(row.sites.split()) if row is not None else set()
        event_id = row.event_id if row is not None else core.new_id("evt")
        core.store_event(session, plan, event_id=event_id, program_id=body.program_id,
                         owner=actor.client_id, kind="bl", priority=body.priority, row=row)
        session.commit()
        touched = old_sites | set(plan.sites)
        if touched:
            schedule.apply_due(session, site_ids=touched)
        stored = session.get(OadrEvent, event_id)
        assert stored is not None
        return core._stored_event(stored), names, touched

    @router.post("/events", status_code=201, summary="createEvent")
    def create_event(raw: dict[str, Any], request: Request, session: SessionDep,
                     actor: Annotated[Principal, require_scope(Scope.WRITE_EVENTS)]) -> Obj:
        _writer(actor)
        obj, names, _ = _write_event(session, actor, raw, None)
        announce(request, event_change("CREATE", obj, names, actor.client_id))
        return V.out(obj, names)

    def _stored_for_write(session: Session, event_id: str) -> OadrEvent:
        row = session.get(OadrEvent, event_id)
        if row is not None:
            return row
        site_id = mapping.site_from_event_id(event_id)
        if site_id is not None and session.get(mapping_site(), site_id) is not None:
            raise ForbiddenError(f"event '{event_id}' is Offtake's live setpoint of site "
                                 f"'{site_id}'; it changes only with the allocation. To limit "
                                 "the site, create an event with an IMPORT_CAPACITY_LIMIT "
                                 "that targets it")
        raise NotFoundError(f"unknown event '{event_id}'")

    @router.put("/events/{eventID}", summary="updateEvent")
    def update_event(eventID: str, raw: dict[str, Any], request: Request, session: SessionDep,
                     actor: Annotated[Principal, require_scope(Scope.WRITE_EVENTS)]) -> Obj:
        _writer(actor)
        row = _stored_for_write(session, eventID)
        if row.kind != "bl" and Role.ADMIN not in actor.roles \
                and row.owner_client_id != actor.client_id:
            raise ForbiddenError(f"event '{eventID}' is Offtake's published {row.kind} "
                                 "schedule; only the client that published it may change it")
        obj, names, _ = _write_event(session, actor, raw, row)
        announce(request, event_change("UPDATE", obj, names, actor.client_id))
        return V.out(obj, names)

    @router.delete("/events/{eventID}", summary="deleteEvent")
    def delete_event(eventID: str, request: Request, session: SessionDep,
                     actor: Annotated[Principal, require_scope(Scope.WRITE_EVENTS)]) -> Obj:
        _writer(actor)
        row = _stored_for_write(session, eventID)
        names = Names.load(session)
        obj = core._stored_event(row)
        sites = set(row.sites.split())
        session.query(OadrSlot).filter(OadrSlot.event_id == eventID).delete()
        session.delete(row)
        session.commit()
        if sites:
            schedule.apply_due(session, site_ids=sites)
        announce(request, event_change("DELETE", obj, names, actor.client_id))
        return V.out(obj, names)

    # ------------------------------------------------------------ reports
    def _to_report(row: OadrReport) -> Obj:
        body = json.loads(row.body)
        body.pop("_version", None)
        out = {"id": row.report_id, "createdDateTime": core.iso(row.created_at),
               "modificationDateTime": core.iso(row.modified_at), "objectType": "REPORT",
               "programID": row.program_id, "clientID": row.owner_client_id, **body}
        return V.out(out)

    def _report_for(session: Session, actor: Principal, report_id: str) -> OadrReport:
        row = session.get(OadrReport, report_id)
        if row is None or (not actor.reads_all and row.owner_client_id != actor.client_id):
            raise NotFoundError(f"unknown report '{report_id}'")
        return row

    def _check_report(session: Session, actor: Principal, body: Any) -> tuple[str, Obj]:
        """The report's event (visible to the caller) and its program id."""
        names = Names.load(session)
        ev = core.event(session, actor=actor, names=names, event_id=body.event_id)
        if body.program_id is not None and body.program_id != ev["programID"]:
            raise InputError(f"programID '{body.program_id}' is not the program of event "
                             f"'{body.event_id}' ('{ev['programID']}')")
        if Role.SITE_OPERATOR in actor.roles and not actor.writes \
                and body.client_name != actor.client_id and body.client_name in names.vens:
            raise ForbiddenError(f"clientName '{body.client_name}' names another VEN; "
                                 f"report as '{actor.client_id}'")
        return ev["programID"], ev

    def _ingest(session: Session, actor: Principal, state: Any, row: OadrReport,
                body: Any) -> None:
        """USAGE -> meter readings, committed with ``row``; 409 (nothing stored) when an
        interval is already metered with other figures."""
        usage = mapping.usage_readings(body)
        if any(u.site_id == "AGGREGATED_REPORT" for u in usage):
            raise InputError("USAGE must be reported per resource (site), not AGGREGATED_REPORT")
        if not usage:
            session.commit()
            return
        key = state.signing_key
        try:
            readings = [ReadingIn(reading_id=reading_id(key, u.site_id, u.interval_start.isoformat()),
                                  site_id=u.site_id, interval_start=u.interval_start,
                                  interval_end=u.interval_end, energy_mwh=u.energy_mwh,
                                  mean_mw=u.mean_mw, max_mw=u.max_mw) for u in usage]
        except ValidationError as exc:
            raise _invalid(exc) from None
        slots = {(r.site_id, r.interval_start): r for r in readings}
        stored = {(m.site_id, _utc(m.interval_start)): m for m in session.scalars(
            select(MeterReading).where(MeterReading.site_id.in_({r.site_id for r in readings}),
                                       MeterReading.interval_start.in_(
                                           {r.interval_start for r in readings})))}
        clash = [f"{s} at {t.isoformat()}" for (s, t), r in slots.items()
                 if (s, t) in stored and (abs(stored[(s, t)].energy_mwh - r.energy_mwh) > 1e-9
                                          or _utc(stored[(s, t)].interval_end) != r.interval_end)]
        if clash:
            session.rollback()
            raise ConflictError("report rejected, nothing stored: already metered with other "
                                f"figures: {', '.join(clash[:5])}")
        accepted, dups = ingest_readings(session, actor=actor, readings=readings,
                                         settings=state.settings)  # commits row and readings
        # never answer 201 for energy that is not stored: every interval must now be there
        have = {(m.site_id, _utc(m.interval_start)): m for m in session.scalars(
            select(MeterReading).where(MeterReading.site_id.in_({r.site_id for r in readings}),
                                       MeterReading.interval_start.in_(
                                           {r.interval_start for r in readings})))}
        missing = [k for k, r in slots.items() if k not in have
                   or abs(have[k].energy_mwh - r.energy_mwh) > 1e-9]
        if missing:
            raise OfftakeError("report intervals were not stored: "
                               + ", ".join(f"{s} {t.isoformat()}" for s, t in missing[:5]))
        row.readings_accepted += accepted
        row.readings_duplicate += dups
        session.commit()

    def _announce_report(request: Request, row: OadrReport, op: str) -> None:
        out31 = core.V31.out({**_to_report(row), "clientID": row.owner_client_id})
        announce(request, Change(object_type=oa.ObjectType.REPORT,
                                 operation=oa.Operation(core.V31.op(op)),
                                 program_id=row.program_id,
                                 key=f"REPORT:{row.report_id}:{op}:{row.modified_at}",
                                 body=core.V301.out(out31), body31=out31,
                                 owner_client_id=row.owner_client_id))

    @router.get("/reports", summary="searchAllReports")
    def search_reports(session: SessionDep, state: StateDep, actor: Annotated[Principal, READ_V],
                       program_id: ProgramParam = None,
                       event_id: Annotated[str | None, Query(alias="eventID", max_length=128)] = None,
                       client_name: Annotated[str | None, Query(alias="clientName",
                                                                max_length=128)] = None,
                       skip: Skip = 0, limit: Limit = 50) -> list[Obj]:
        ensure_tables(state)
        q = select(OadrReport).order_by(OadrReport.created_at, OadrReport.report_id)
        if not actor.reads_all:
            q = q.where(OadrReport.owner_client_id == actor.client_id)
        if program_id is not None:
            q = q.where(OadrReport.program_id == program_id)
        if event_id is not None:
            q = q.where(OadrReport.event_id == event_id)
        if client_name is not None:
            q = q.where(OadrReport.client_name == client_name)
        return [_to_report(r) for r in session.scalars(q.offset(skip).limit(limit))]

    @router.post("/reports", status_code=201, summary="createReport (USAGE -> meter readings)")
    def create_report(raw: dict[str, Any], request: Request, session: SessionDep,
                      state: StateDep,
                      actor: Annotated[Principal, require_scope(Scope.WRITE_REPORTS)]) -> Obj:
        ensure_tables(state)
        body = _parse(ReportIn, raw)
        program_id, _ev = _check_report(session, actor, body)
        t = now()
        row = OadrReport(report_id=core.new_id("rep"), owner_client_id=actor.client_id,
                         client_name=body.client_name, program_id=program_id,
                         event_id=body.event_id, body=_report_body(body),
                         readings_accepted=0, readings_duplicate=0, created_at=t, modified_at=t)
        session.add(row)
        _ingest(session, actor, state, row, body)
        _announce_report(request, row, "CREATE")
        return _to_report(row)

    @router.get("/reports/{reportID}", summary="searchReportsByReportID")
    def get_report(reportID: str, session: SessionDep, state: StateDep,
                   actor: Annotated[Principal, READ_V]) -> Obj:
        ensure_tables(state)
        return _to_report(_report_for(session, actor, reportID))

    @router.put("/reports/{reportID}", summary="updateReport (new intervals are ingested)")
    def update_report(reportID: str, raw: dict[str, Any], request: Request,
                      session: SessionDep, state: StateDep,
                      actor: Annotated[Principal, require_scope(Scope.WRITE_REPORTS)]) -> Obj:
        ensure_tables(state)
        row = _report_for(session, actor, reportID)
        if row.owner_client_id != actor.client_id and not actor.writes:
            raise ForbiddenError(f"report '{reportID}' belongs to another client")
        body = _parse(ReportIn, raw)
        program_id, _ev = _check_report(session, actor, body)
        row.client_name, row.program_id, row.event_id = body.client_name, program_id, body.event_id
        row.body, row.modified_at = _report_body(body), now()
        _ingest(session, actor, state, row, body)
        _announce_report(request, row, "UPDATE")
        return _to_report(row)

    @router.delete("/reports/{reportID}", summary="deleteReport (its meter readings stay)")
    def delete_report(reportID: str, request: Request, session: SessionDep, state: StateDep,
                      actor: Annotated[Principal, require_scope(Scope.WRITE_REPORTS)]) -> Obj:
        ensure_tables(state)
        row = _report_for(session, actor, reportID)
        if row.owner_client_id != actor.client_id and not actor.writes:
            raise ForbiddenError(f"report '{reportID}' belongs to another client")
        out = _to_report(row)
        _announce_report(request, row, "DELETE")
        session.delete(row)
        session.commit()
        return out

    # ------------------------------------------------------------ subscriptions
    def _to_sub(row: OadrSubscription) -> Obj:
        body = json.loads(row.body)
        body.pop("_version", None)
        body.pop(AFTER_SETPOINT, None)
        out = {"id": row.subscription_id, "createdDateTime": core.iso(row.created_at),
               "modificationDateTime": core.iso(row.modified_at), "objectType": "SUBSCRIPTION",
               "clientID": row.owner_client_id, **body}
        if V.v31 and out.get("targets") and isinstance(out["targets"][0], dict):
            out["targets"] = core.targets_from_301(
                [oa.ValuesMap.model_validate(t) for t in out["targets"]])
        if not V.v31 and out.get("targets") and isinstance(out["targets"][0], str):
            out["_t301"] = [{"type": "GROUP", "values": out["targets"]}]
        # operations are echoed as sent: both specs spell them READ/CREATE/UPDATE/DELETE,
        # openadr3-client (2.x, both modes) sends and parses GET/POST/PUT/DELETE
        if not V.v31 and not out.get("programID"):
            out["programID"] = ""
        return V.out(out)

    def _sub_for(session: Session, actor: Principal, sub_id: str) -> OadrSubscription:
        row = session.get(OadrSubscription, sub_id)
        if row is None or (Role.ADMIN not in actor.roles
                           and row.owner_client_id != actor.client_id):
            raise NotFoundError(f"unknown subscription '{sub_id}'")
        return row

    def _sub_body(session: Session, body: Any, after_setpoint: int | None = None) -> str:
        """The stored body; ``after_setpoint``: the newest setpoint id when the
        subscription was created (None: now), older setpoint versions are not announced."""
        if body.program_id:
            core.program(session, body.program_id)  # 404 if unknown
        for op in body.object_operations:
            callbacks.check_url(op.callback_url)  # 400 for a refused target (SSRF)
        d = body.model_dump(mode="json", by_alias=True, exclude_none=True)
        d["_version"] = V.name
        if after_setpoint is None:
            after_setpoint = session.scalar(select(func.max(Setpoint.setpoint_id))) or 0
        d[AFTER_SETPOINT] = after_setpoint
        return json.dumps(d)

    @router.get("/subscriptions", summary="searchSubscriptions (own; admin: all)")
    def search_subscriptions(session: SessionDep, state: StateDep,
                             actor: Annotated[Principal, READ_V],
                             program_id: ProgramParam = None,
                             client_name: Annotated[str | None, Query(alias="clientName",
                                                                      max_length=128)] = None,
                             targets: Targets = None, target_type: TargetType = None,
                             target_values: TargetValues = None,
                             objects: Annotated[list[oa.ObjectType] | None, Query()] = None,
                             skip: Skip = 0, limit: Limit = 50) -> list[Obj]:
        ensure_tables(state)
        q = select(OadrSubscription).order_by(OadrSubscription.created_at,
                                              OadrSubscription.subscription_id)
        if Role.ADMIN not in actor.roles:
            q = q.where(OadrSubscription.owner_client_id == actor.client_id)
        if program_id is not None:
            q = q.where(OadrSubscription.program_id == program_id)
        if client_name is not None:
            q = q.where(OadrSubscription.client_name == client_name)
        subs = []
        for row in session.scalars(q):
            s = _to_sub(row)
            if V.v31 and not core.match_targets31(s, targets):
                continue
            if not V.v31 and not core.match_targets301(
                    {"_t301": s.get("targets")}, target_type, target_values):
                continue
            if objects and not any(set(objects) & set(op["objects"])
                                   for op in s["objectOperations"]):
                continue
            subs.append(s)
        return page(subs, skip, limit)

    @router.post("/subscriptions", status_code=201, summary="createSubscription")
    def create_subscription(raw: dict[str, Any], session: SessionDep, state: StateDep,
                            actor: Annotated[Principal, require_scope(Scope.WRITE_SUBSCRIPTIONS)],
                            ) -> Obj:
        ensure_tables(state)
        body = _parse(SubIn, raw)
        t = now()
        row = OadrSubscription(subscription_id=core.new_id("sub"), owner_client_id=actor.client_id,
                               client_name=body.client_name, program_id=body.program_id or "",
                               body=_sub_body(session, body), created_at=t, modified_at=t)
        session.add(row)
        session.commit()
        return _to_sub(row)

    @router.get("/subscriptions/{subscriptionID}", summary="searchSubscriptionByID")
    def get_subscription(subscriptionID: str, session: SessionDep, state: StateDep,
                         actor: Annotated[Principal, READ_V]) -> Obj:
        ensure_tables(state)
        return _to_sub(_sub_for(session, actor, subscriptionID))

    @router.put("/subscriptions/{subscriptionID}", summary="updateSubscription")
    def update_subscription(subscriptionID: str, raw: dict[str, Any], session: SessionDep,
                            state: StateDep,
                            actor: Annotated[Principal, require_scope(Scope.WRITE_SUBSCRIPTIONS)],
                            ) -> Obj:
        ensure_tables(state)
        row = _sub_for(session, actor, subscriptionID)
        body = _parse(SubIn, raw)
        # an update keeps the creation mark (a subscription made before this fix has none: 0)
        row.body = _sub_body(session, body, int(json.loads(row.body).get(AFTER_SETPOINT, 0)))
        row.client_name, row.program_id = body.client_name, body.program_id or ""
        row.modified_at = now()
        session.commit()
        return _to_sub(row)

    @router.delete("/subscriptions/{subscriptionID}", summary="deleteSubscription")
    def delete_subscription(subscriptionID: str, session: SessionDep, state: StateDep,
                            actor: Annotated[Principal, require_scope(Scope.WRITE_SUBSCRIPTIONS)],
                            ) -> Obj:
        ensure_tables(state)
        row = _sub_for(session, actor, subscriptionID)
        out = _to_sub(row)
        session.delete(row)
        session.commit()
        return out

    # ------------------------------------------------------------ vens and resources
    def _ven_out(v: Obj, names: Names) -> Obj:
        if V.v31:
            return V.out({k: x for k, x in v.items() if k != "resources"})
        out = dict(v)
        out["resources"] = [V.out(r) for r in v.get("resources") or []] or None
        return V.out(out, names)

    @router.get("/vens", summary="searchVens")
    def search_vens(session: SessionDep, state: StateDep, actor: Annotated[Principal, READ_V],
                    ven_name: Annotated[str | None, Query(alias="venName", max_length=128)] = None,
                    targets: Targets = None, target_type: TargetType = None,
                    target_values: TargetValues = None, skip: Skip = 0,
                    limit: Limit = 50) -> list[Obj]:
        ensure_tables(state)
        names = Names.load(session)
        vs = [v for v in core.vens(session, actor=actor)
              if (ven_name is None or v["venName"] == ven_name) and core.match_targets31(v, targets)
              and core.match_targets301(_with301(v, names), target_type, target_values)]
        return [_ven_out(v, names) for v in page(vs, skip, limit)]

    @router.get("/vens/{venID}", summary="searchVenByID")
    def get_ven(venID: str, session: SessionDep, state: StateDep,
                actor: Annotated[Principal, READ_V]) -> Obj:
        ensure_tables(state)
        return _ven_out(core.ven(session, actor=actor, ven_id=venID), Names.load(session))

    def _register(session: Session, actor: Principal, raw: dict[str, Any],
                  existing: Obj | None) -> Obj:
        body = _parse(oa.VenIn, raw)
        client_id = body.client_id if actor.writes and body.client_id else actor.client_id
        if existing is not None:
            client_id = existing["clientID"]
        if not actor.writes and (client_id != actor.client_id or body.ven_name != client_id
                                 or (body.client_id or client_id) != client_id):
            raise ForbiddenError(f"a VEN may register only itself (venName '{actor.client_id}')")
        client = session.get(Client, client_id)
        if client is None or Role.SITE_OPERATOR not in parse_roles(client.roles):
            raise NotFoundError(f"no site-operator client '{client_id}': a VEN is provisioned "
                                "by an admin first (POST /api/v1/clients)")
        if body.ven_name != client_id:
            raise InputError(f"venName must be the VEN's client id '{client_id}'")
        if body.targets is not None and not actor.writes:
            raise ForbiddenError("only a BL may assign targets to a VEN")
        reg = session.get(OadrVen, client_id)
        if existing is None and reg is not None:
            raise InputError(f"VEN '{client_id}' is already registered (id "
                             f"'{mapping.to_object_id(client_id)}'); update it with PUT")
        targets = body.targets
        if targets is not None:
            targets = [str(v) for t in targets for v in
                       (t.get("values", []) if isinstance(t, dict) else [t])]
        d: Obj = {"attributes": [core._dump(a) for a in body.attributes or []] or None}
        if targets is not None:
            d["targets"] = targets or None
        elif reg is not None:
            d["targets"] = json.loads(reg.body).get("targets")
        t = now()
        if reg is None:
            session.add(OadrVen(client_id=client_id, body=json.dumps(d), created_at=t,
                                modified_at=t))
        else:
            reg.body, reg.modified_at = json.dumps(d), t
        session.commit()
        return core.ven(session, actor=actor, ven_id=mapping.to_object_id(client_id))

    @router.post("/vens", status_code=201, summary="createVen (register a provisioned VEN)")
    def create_ven(raw: dict[str, Any], session: SessionDep, state: StateDep,
                   actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> Obj:
        ensure_tables(state)
        return _ven_out(_register(session, actor, raw, None), Names.load(session))

    @router.put("/vens/{venID}", summary="updateVen (attributes; targets by a BL)")
    def update_ven(venID: str, raw: dict[str, Any], session: SessionDep, state: StateDep,
                   actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> Obj:
        ensure_tables(state)
        existing = core.ven(session, actor=actor, ven_id=venID)
        return _ven_out(_register(session, actor, raw, existing), Names.load(session))

    _DERIVED = ("VENs and resources mirror the core service's clients and sites; delete or "
                "change them through the core API (/api/v1)")

    @router.delete("/vens/{venID}", summary="deleteVen (refused: a VEN is a core client)")
    def delete_ven(venID: str, session: SessionDep,
                   actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> Obj:
        core.ven(session, actor=actor, ven_id=venID)  # 404 first
        raise ForbiddenError(_DERIVED)

    def _resources(session: Session, actor: Principal, ven_id: str | None) -> list[Obj]:
        vs = core.vens(session, actor=actor)
        if ven_id is not None:
            vs = [v for v in vs if v["id"] == ven_id]
        return [r for v in vs for r in v.get("resources") or []]

    def _search_resources(session: Session, actor: Principal, ven_id: str | None,
                          resource_name: str | None, targets: list[str] | None,
                          target_type: str | None, target_values: list[str] | None,
                          skip: int, limit: int) -> list[Obj]:
        res = [r for r in _resources(session, actor, ven_id)
               if (resource_name is None or r["resourceName"] == resource_name)
               and core.match_targets31(r, targets)
               and core.match_targets301(r, target_type, target_values)]
        return [V.out(r) for r in page(res, skip, limit)]

    def _one_resource(session: Session, actor: Principal, ven_id: str | None,
                      resource_id: str) -> Obj:
        for r in _resources(session, actor, ven_id):
            if r["id"] == resource_id:
                return V.out(r)
        raise NotFoundError(f"unknown resource '{resource_id}'")

    if V.v31:
        @router.get("/resources", summary="searchVenResources")
        def search_resources(session: SessionDep, actor: Annotated[Principal, READ_V],
                             resource_name: Annotated[str | None, Query(alias="resourceName",
                                                                        max_length=128)] = None,
                             ven_id: Annotated[str | None, Query(alias="venID",
                                                                 max_length=128)] = None,
                             targets: Targets = None, skip: Skip = 0,
                             limit: Limit = 50) -> list[Obj]:
            return _search_resources(session, actor, ven_id, resource_name, targets, None, None,
                                     skip, limit)

        @router.get("/resources/{resourceID}", summary="searchVenResourceByID")
        def get_resource31(resourceID: str, session: SessionDep,
                           actor: Annotated[Principal, READ_V]) -> Obj:
            return _one_resource(session, actor, None, resourceID)

        @router.post("/resources", status_code=201, summary="createResource (refused)")
        def create_resource31(session: SessionDep,
                              actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> Obj:
            raise ForbiddenError(_DERIVED)

        @router.put("/resources/{resourceID}", summary="updateVenResource (refused)")
        @router.delete("/resources/{resourceID}", summary="deleteVenResource (refused)")
        def write_resource31(resourceID: str, session: SessionDep,
                             actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> Obj:
            _one_resource(session, actor, None, resourceID)
            raise ForbiddenError(_DERIVED)
    else:
        @router.get("/vens/{venID}/resources", summary="searchVenResources")
        def search_resources301(venID: str, session: SessionDep,
                                actor: Annotated[Principal, READ_V],
                                resource_name: Annotated[str | None, Query(
                                    alias="resourceName", max_length=128)] = None,
                                target_type: TargetType = None, target_values: TargetValues = None,
                                skip: Skip = 0, limit: Limit = 50) -> list[Obj]:
            core.ven(session, actor=actor, ven_id=venID)
            return _search_resources(session, actor, venID, resource_name, None, target_type,
                                     target_values, skip, limit)

        @router.get("/vens/{venID}/resources/{resourceID}", summary="searchVenResourceByID")
        def get_resource301(venID: str, resourceID: str, session: SessionDep,
                            actor: Annotated[Principal, READ_V]) -> Obj:
            return _one_resource(session, actor, venID, resourceID)

        @router.post("/vens/{venID}/resources", status_code=201, summary="createResource (refused)")
        def create_resource301(venID: str, session: SessionDep,
                               actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> Obj:
            core.ven(session, actor=actor, ven_id=venID)
            raise ForbiddenError(_DERIVED)

        @router.put("/vens/{venID}/resources/{resourceID}", summary="updateResource (refused)")
        @router.delete("/vens/{venID}/resources/{resourceID}", summary="deleteResource (refused)")
        def write_resource301(venID: str, resourceID: str, session: SessionDep,
                              actor: Annotated[Principal, require_scope(Scope.WRITE_VENS)]) -> Obj:
            _one_resource(session, actor, venID, resourceID)
            raise ForbiddenError(_DERIVED)

    if V.v31:
        from offtake.service.openadr import mqtt

        mqtt.add_routes(router, READ_T, READ_V)
    return router


async def _token_301(state: StateDep, request: Request,
                     grant_type: Annotated[str, Form(max_length=64)],
                     client_id: Annotated[str | None, Form(max_length=4096)] = None,
                     client_secret: Annotated[str | None, Form(max_length=4096)] = None,
                     scope: Annotated[str, Form(max_length=4096)] = "",
                     authorization: Annotated[str | None, Header()] = None) -> Any:
    """3.0.1 documents 200/400/403/500 for the token endpoint: bad credentials are 403."""
    out = await fetch_token(state=state, grant_type=grant_type, client_id=client_id,
                            client_secret=client_secret, scope=scope, authorization=authorization)
    if isinstance(out, Response) and out.status_code == 401:
        body = json.loads(bytes(out.body))
        body["status"] = 403
        return JSONResponse(body, status_code=403, media_type="application/problem+json")
    return out


def mapping_site() -> type:
    from offtake.service.models import Site

    return Site


def ensure_tables_s(session: Session) -> None:
    """No-op hook (tables are migrated in the lifespan; reports/subscriptions re-check)."""


def _with301(obj: Obj, names: Names) -> Obj:
    if obj.get("_t301") is None and obj.get("targets"):
        return {**obj, "_t301": names.to_301(obj["targets"])}
    return obj


def _report_body(body: Any) -> str:
    d = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    d.pop("programID", None)
    # payloadDescriptors keep the objectType sent: REPORT_PAYLOAD_DESCRIPTOR (the specs,
    # and the default), or EVENT_PAYLOAD_DESCRIPTOR as openadr3-client 2.x sends and parses
    for r in d.get("resources", []):
        for iv in r.get("intervals", []):
            if "intervalPeriod" in iv:
                p = iv["intervalPeriod"]
                iv["intervalPeriod"] = _fix_period(p)
        if "intervalPeriod" in r:
            r["intervalPeriod"] = _fix_period(r["intervalPeriod"])
    return json.dumps(d)


def _fix_period(p: Obj) -> Obj:
    """Pydantic's duration text -> the spec's pattern; times with a Z."""
    out = dict(p)
    for k in ("duration", "randomizeStart"):
        if k in out:
            out[k] = core.iso_duration(_parse_td(out[k]))
    return out


def _parse_td(text: str) -> timedelta:
    from pydantic import TypeAdapter

    return TypeAdapter(timedelta).validate_python(text)


def _utc(t: Any) -> Any:
    from datetime import UTC

    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
