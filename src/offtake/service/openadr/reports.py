"""OpenADR 3.0.1 reports (USAGE -> meter readings) and subscriptions (webhooks).

A report's USAGE intervals become core meter readings through
:func:`offtake.service.domain.metering.ingest_readings`, so compliance flags and ledger
entries follow as for the native agent.  Readings are keyed by (site, interval start):
re-posting a report, or posting another covering the same intervals, stores the
report again but counts no energy twice.  The report row and its new readings are
committed in one transaction.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError
from offtake.service.deps import SessionDep, StateDep
from offtake.service.domain.common import now
from offtake.service.domain.metering import ingest_readings
from offtake.service.openadr import mapping, views
from offtake.service.openadr import schemas as oa
from offtake.service.openadr.auth import Scope, require_scope
from offtake.service.openadr.notify import Change
from offtake.service.openadr.objects import (
    Limit,
    Skip,
    TargetType,
    TargetValues,
    page,
    targets_match,
)
from offtake.service.openadr.runtime import ensure_tables, runtime
from offtake.service.openadr.store import OadrReport, OadrSubscription
from offtake.service.schemas import ReadingIn
from offtake.service.security import ForbiddenError, Principal, Role

router = APIRouter(tags=["openadr3"])
Name = Annotated[str | None, Query(max_length=128)]


def _check_program_event(session: Session, actor: Principal, program_id: str,
                         event_id: str | None) -> None:
    region_id = mapping.region_from_program_id(program_id)
    if region_id is None or region_id not in {r.region_id for r in views.regions(session)}:
        raise NotFoundError(f"unknown program '{program_id}'")
    if event_id is None:
        return
    site_id = mapping.site_from_event_id(event_id)
    if site_id is None or not views.sites(session, actor=actor, site_ids=[site_id],
                                          active_only=False):
        raise NotFoundError(f"unknown event '{event_id}'")


def _to_report(row: OadrReport) -> oa.Report:
    body = json.loads(row.body)
    return oa.Report.model_validate({**body, "id": row.report_id,
                                     "createdDateTime": row.created_at,
                                     "modificationDateTime": row.modified_at})


def _ingest(session: Session, actor: Principal, state: StateDep, row: OadrReport,
            body: oa.ReportIn) -> None:
    """Turn USAGE into readings and commit them together with ``row``."""
    usage = mapping.usage_readings(body)
    if any(u.site_id == "AGGREGATED_REPORT" for u in usage):
        raise InputError("USAGE must be reported per resource (site), not AGGREGATED_REPORT")
    if not usage:
        session.commit()
        return
    try:
        readings = [ReadingIn(reading_id=u.reading_id, site_id=u.site_id,
                              interval_start=u.interval_start, interval_end=u.interval_end,
                              energy_mwh=u.energy_mwh, mean_mw=u.mean_mw, max_mw=u.max_mw)
                    for u in usage]
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise InputError(f"report rejected, nothing stored: {msgs}") from None
    accepted, dups = ingest_readings(session, actor=actor, readings=readings,
                                     settings=state.settings)  # commits row and readings
    row.readings_accepted += accepted
    row.readings_duplicate += dups
    session.commit()


def _report_for(session: Session, actor: Principal, report_id: str) -> OadrReport:
    row = session.get(OadrReport, report_id)
    if row is None or (not actor.reads_all and row.owner_client_id != actor.client_id):
        raise NotFoundError(f"unknown report '{report_id}'")
    return row


def _announce_report(request: Request, row: OadrReport, op: oa.Operation) -> None:
    rt = runtime(request.app)
    if rt is not None:
        rt.post(Change(object_type=oa.ObjectType.REPORT, operation=op,
                       program_id=row.program_id, key=f"REPORT:{row.report_id}:{row.modified_at}",
                       body=_to_report(row).model_dump(mode="json", by_alias=True,
                                                       exclude_none=True),
                       owner_client_id=row.owner_client_id))


@router.get("/reports", response_model=list[oa.Report], response_model_exclude_none=True,
            summary="searchAllReports")
def search_reports(session: SessionDep, state: StateDep,
                   actor: Annotated[Principal, require_scope(Scope.READ_ALL)],
                   program_id: Annotated[str | None, Query(alias="programID", max_length=128)] = None,
                   event_id: Annotated[str | None, Query(alias="eventID", max_length=128)] = None,
                   client_name: Annotated[str | None, Query(alias="clientName",
                                                            max_length=128)] = None,
                   skip: Skip = 0, limit: Limit = 50) -> list[oa.Report]:
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


@router.post("/reports", status_code=201, response_model=oa.Report,
             response_model_exclude_none=True, summary="createReport (USAGE -> meter readings)")
def create_report(body: oa.ReportIn, request: Request, session: SessionDep, state: StateDep,
                  actor: Annotated[Principal, require_scope(Scope.WRITE_REPORTS)]) -> oa.Report:
    ensure_tables(state)
    _check_program_event(session, actor, body.program_id, body.event_id)
    t = now()
    row = OadrReport(report_id=uuid.uuid4().hex, owner_client_id=actor.client_id,
                     client_name=body.client_name, program_id=body.program_id,
                     event_id=body.event_id, body=body.model_dump_json(by_alias=True),
                     readings_accepted=0, readings_duplicate=0, created_at=t, modified_at=t)
    session.add(row)
    _ingest(session, actor, state, row, body)
    _announce_report(request, row, oa.Operation.POST)
    return _to_report(row)


@router.get("/reports/{reportID}", response_model=oa.Report, response_model_exclude_none=True,
            summary="searchReportsByReportID")
def get_report(reportID: str, session: SessionDep, state: StateDep,
               actor: Annotated[Principal, require_scope(Scope.READ_ALL)]) -> oa.Report:
    ensure_tables(state)
    return _to_report(_report_for(session, actor, reportID))


@router.put("/reports/{reportID}", response_model=oa.Report, response_model_exclude_none=True,
            summary="updateReport (new intervals are ingested; stored ones stay)")
def update_report(reportID: str, body: oa.ReportIn, request: Request,
                  session: SessionDep, state: StateDep,
                  actor: Annotated[Principal, require_scope(Scope.WRITE_REPORTS)]) -> oa.Report:
    ensure_tables(state)
    row = _report_for(session, actor, reportID)
    if row.owner_client_id != actor.client_id and not actor.writes:
        raise ForbiddenError(f"report '{reportID}' belongs to another client")
    _check_program_event(session, actor, body.program_id, body.event_id)
    row.client_name, row.program_id, row.event_id = body.client_name, body.program_id, body.event_id
    row.body, row.modified_at = body.model_dump_json(by_alias=True), now()
    _ingest(session, actor, state, row, body)
    _announce_report(request, row, oa.Operation.PUT)
    return _to_report(row)


@router.delete("/reports/{reportID}", response_model=oa.Report, response_model_exclude_none=True,
               summary="deleteReport (the meter readings it produced stay: the ledger is "
                       "append-only)")
def delete_report(reportID: str, session: SessionDep, state: StateDep,
                  actor: Annotated[Principal, require_scope(Scope.WRITE_REPORTS)]) -> oa.Report:
    ensure_tables(state)
    row = _report_for(session, actor, reportID)
    if row.owner_client_id != actor.client_id and not actor.writes:
        raise ForbiddenError(f"report '{reportID}' belongs to another client")
    out = _to_report(row)
    session.delete(row)
    session.commit()
    return out


# ---------------------------------------------------------------- subscriptions
def _to_sub(row: OadrSubscription) -> oa.Subscription:
    return oa.Subscription.model_validate({**json.loads(row.body), "id": row.subscription_id,
                                           "createdDateTime": row.created_at,
                                           "modificationDateTime": row.modified_at})


def _sub_for(session: Session, actor: Principal, sub_id: str) -> OadrSubscription:
    row = session.get(OadrSubscription, sub_id)
    if row is None or (Role.ADMIN not in actor.roles and row.owner_client_id != actor.client_id):
        raise NotFoundError(f"unknown subscription '{sub_id}'")
    return row


@router.get("/subscriptions", response_model=list[oa.Subscription],
            response_model_exclude_none=True, summary="searchSubscriptions (own; admin: all)")
def search_subscriptions(session: SessionDep, state: StateDep,
                         actor: Annotated[Principal, require_scope(Scope.READ_ALL)],
                         program_id: Annotated[str | None, Query(alias="programID",
                                                                 max_length=128)] = None,
                         client_name: Annotated[str | None, Query(alias="clientName",
                                                                  max_length=128)] = None,
                         target_type: TargetType = None, target_values: TargetValues = None,
                         objects: Annotated[list[oa.ObjectType] | None, Query()] = None,
                         skip: Skip = 0, limit: Limit = 50) -> list[oa.Subscription]:
    ensure_tables(state)
    q = select(OadrSubscription).order_by(OadrSubscription.created_at,
                                          OadrSubscription.subscription_id)
    if Role.ADMIN not in actor.roles:
        q = q.where(OadrSubscription.owner_client_id == actor.client_id)
    if program_id is not None:
        q = q.where(OadrSubscription.program_id == program_id)
    if client_name is not None:
        q = q.where(OadrSubscription.client_name == client_name)
    subs = [_to_sub(r) for r in session.scalars(q)]
    subs = [s for s in subs if targets_match(s.targets, target_type, target_values) and
            (not objects or any(set(objects) & set(op.objects) for op in s.object_operations))]
    return page(subs, skip, limit)


@router.post("/subscriptions", status_code=201, response_model=oa.Subscription,
             response_model_exclude_none=True, summary="createSubscription")
def create_subscription(body: oa.SubscriptionIn, session: SessionDep, state: StateDep,
                        actor: Annotated[Principal, require_scope(Scope.WRITE_SUBSCRIPTIONS)],
                        ) -> oa.Subscription:
    ensure_tables(state)
    _check_program_event(session, actor, body.program_id, None)
    t = now()
    row = OadrSubscription(subscription_id=uuid.uuid4().hex, owner_client_id=actor.client_id,
                           client_name=body.client_name, program_id=body.program_id,
                           body=body.model_dump_json(by_alias=True), created_at=t, modified_at=t)
    session.add(row)
    session.commit()
    return _to_sub(row)


@router.get("/subscriptions/{subscriptionID}", response_model=oa.Subscription,
            response_model_exclude_none=True, summary="searchSubscriptionByID")
def get_subscription(subscriptionID: str, session: SessionDep, state: StateDep,
                     actor: Annotated[Principal, require_scope(Scope.READ_ALL)],
                     ) -> oa.Subscription:
    ensure_tables(state)
    return _to_sub(_sub_for(session, actor, subscriptionID))


@router.put("/subscriptions/{subscriptionID}", response_model=oa.Subscription,
            response_model_exclude_none=True, summary="updateSubscription")
def update_subscription(subscriptionID: str, body: oa.SubscriptionIn,
                        session: SessionDep, state: StateDep,
                        actor: Annotated[Principal, require_scope(Scope.WRITE_SUBSCRIPTIONS)],
                        ) -> oa.Subscription:
    ensure_tables(state)
    row = _sub_for(session, actor, subscriptionID)
    _check_program_event(session, actor, body.program_id, None)
    row.client_name, row.program_id = body.client_name, body.program_id
    row.body, row.modified_at = body.model_dump_json(by_alias=True), now()
    session.commit()
    return _to_sub(row)


@router.delete("/subscriptions/{subscriptionID}", response_model=oa.Subscription,
               response_model_exclude_none=True, summary="deleteSubscription")
def delete_subscription(subscriptionID: str, session: SessionDep, state: StateDep,
                        actor: Annotated[Principal, require_scope(Scope.WRITE_SUBSCRIPTIONS)],
                        ) -> oa.Subscription:
    ensure_tables(state)
    row = _sub_for(session, actor, subscriptionID)
    out = _to_sub(row)
    session.delete(row)
    session.commit()
    return out
