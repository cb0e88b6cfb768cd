"""Offtake's day-ahead schedule and prices, published as OpenADR events.

``POST /api/v1/openadr/day-ahead`` (grid operator or admin) takes a day and, for each
interval of it (hourly or 15-minute), runs the allocation as a dry run on the surplus
signals in force then (the forecasts posted for that day), and stores per site one
event ``da-<site>-<YYYYMMDD>`` in its region's program: ``IMPORT_CAPACITY_LIMIT`` [kW]
per interval, targeted at the site.  These are *informational*: the binding limit at
any moment stays the site's setpoint event, which follows the actual signals.  With
``prices`` it also stores per region ``price-<region>-<YYYYMMDD>``: one ``PRICE`` per
interval, targeted at the region, so a VEN can plan its next day.  Posting the same
day again replaces both (same ids, new modification time).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from offtake.errors import InputError
from offtake.service.deps import ActorDep, SessionDep, StateDep
from offtake.service.domain.common import require_writer
from offtake.service.domain.setpoints import run_allocation
from offtake.service.openadr import core, mapping
from offtake.service.openadr import schemas as oa
from offtake.service.openadr.notify import Change
from offtake.service.openadr.runtime import runtime
from offtake.service.openadr.store import OadrEvent

router = APIRouter(prefix="/api/v1/openadr", tags=["openadr3"])


class RegionPrices(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region_id: str = Field(min_length=1, max_length=64)
    values: list[Annotated[float, Field(ge=-1e6, le=1e6)]] = Field(min_length=1, max_length=96)
    currency: str = Field(default="USD", min_length=3, max_length=3)
    units: str = Field(default="MWH", min_length=1, max_length=16)


class DayAheadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    timezone: str = Field(default="Asia/Karachi", max_length=64)
    resolution_minutes: Annotated[int, Field(ge=15, le=60)] = 60
    prices: list[RegionPrices] = Field(default_factory=list, max_length=100)


class DayAheadOut(BaseModel):
    day: date
    start: datetime
    intervals: int
    site_events: int
    price_events: int
    event_ids: list[str]


def _day_bounds(body: DayAheadIn) -> tuple[datetime, int]:
    if body.resolution_minutes not in (15, 60):
        raise InputError("resolution_minutes must be 15 or 60")
    try:
        tz = ZoneInfo(body.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown timezone '{body.timezone}'") from None
    start = datetime.combine(body.day, time(0), tzinfo=tz)
    end = datetime.combine(body.day + timedelta(days=1), time(0), tzinfo=tz)
    n = int((end - start).total_seconds() // (body.resolution_minutes * 60))
    return start, n


def _upsert(session: SessionDep, event_id: str, raw: dict[str, object], names: core.Names,
            owner: str, kind: str) -> dict[str, object]:
    ev = oa.EventIn31.model_validate(raw)
    plan = core.plan_event(session, ev, ev.targets, None, names)
    row = session.get(OadrEvent, event_id)
    core.store_event(session, plan, event_id=event_id, program_id=ev.program_id, owner=owner,
                     kind=kind, priority=None, row=row)
    session.flush()
    stored = session.get(OadrEvent, event_id)
    assert stored is not None
    return {"op": "UPDATE" if row is not None else "CREATE", "obj": core._stored_event(stored)}


@router.post("/day-ahead", status_code=201, response_model=DayAheadOut,
             summary="Publish a day's forecast allocation (and prices) as OpenADR events")
def publish_day_ahead(body: DayAheadIn, request: Request, session: SessionDep,
                      state: StateDep, actor: ActorDep) -> DayAheadOut:
    require_writer(actor)
    start, n = _day_bounds(body)
    step = timedelta(minutes=body.resolution_minutes)
    names = core.Names.load(session)
    unknown = sorted({p.region_id for p in body.prices} - names.regions)
    if unknown:
        raise InputError(f"unknown region(s) in prices: {', '.join(unknown)}")
    bad = [p.region_id for p in body.prices if len(p.values) != n]
    if bad:
        raise InputError(f"prices for {', '.join(bad)} need {n} values (one per "
                         f"{body.resolution_minutes}-minute interval of {body.day})")
    # the allocation of the forecast signals in force at each interval's midpoint
    per_site: dict[str, list[float]] = {}
    region_of: dict[str, str] = {}
    for i in range(n):
        at = start + i * step + step / 2
        out = run_allocation(session, actor=actor, at=at, dry_run=True)
        for s in out.sites:
            per_site.setdefault(s.site_id, [0.0] * n)[i] = s.setpoint_mw
            region_of[s.site_id] = s.region_id
    tag = body.day.strftime("%Y%m%d")
    period = {"start": core.iso(start), "duration": core.iso_duration(step)}
    written: list[dict[str, object]] = []
    for site, mws in sorted(per_site.items()):
        raw = {"programID": mapping.program_id_for(region_of[site]),
               "eventName": f"day-ahead surplus schedule {site} {body.day}",
               "targets": [site], "intervalPeriod": period,
               "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                                       "payloadType": mapping.CAPACITY_LIMIT, "units": "KW"}],
               "intervals": [{"id": i, "payloads": [{"type": mapping.CAPACITY_LIMIT,
                                                     "values": [round(mw * 1000.0, 3)]}]}
                             for i, mw in enumerate(mws)]}
        written.append(_upsert(session, f"da-{mapping.to_object_id(site)}-{tag}"[:128], raw,
                               names, actor.client_id, "dayahead"))
    for p in body.prices:
        raw = {"programID": mapping.program_id_for(p.region_id),
               "eventName": f"day-ahead price {p.region_id} {body.day}",
               "targets": [p.region_id], "intervalPeriod": period,
               "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                                       "payloadType": "PRICE", "units": p.units.upper(),
                                       "currency": p.currency.upper()}],
               "intervals": [{"id": i, "payloads": [{"type": "PRICE", "values": [v]}]}
                             for i, v in enumerate(p.values)]}
        written.append(_upsert(session, f"price-{mapping.to_object_id(p.region_id)}-{tag}"[:128],
                               raw, names, actor.client_id, "price"))
    session.commit()
    rt = runtime(request.app)
    if rt is not None:
        for w in written:
            obj = w["obj"]
            assert isinstance(obj, dict)
            rt.post(Change(object_type=oa.ObjectType.EVENT, operation=oa.Operation(str(w["op"])),
                           program_id=obj["programID"],
                           key=f"EVENT:{obj['id']}:{w['op']}:{obj['modificationDateTime']}",
                           body=core.V301.out(obj, names), body31=core.V31.out(obj),
                           owner_client_id=actor.client_id, targets31=obj.get("targets"),
                           audience=core.audience(obj.get("targets"), names)))
    return DayAheadOut(day=body.day, start=start, intervals=n,
                       site_events=len(per_site), price_events=len(body.prices),
                       event_ids=[str(json.loads(json.dumps(w["obj"]))["id"]) for w in written])
