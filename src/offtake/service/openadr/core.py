"""The OpenADR objects of both mounted versions, from one store.

Objects are built as plain JSON dicts in the 3.1.0 shape (targets are strings) with
the 3.0.1 targets kept alongside under ``_t301``; :class:`Version` turns them into what
each mount serves.  Two families of programs and events live side by side:

* **Offtake's own**, derived from the core tables: one program per region
  (``offtake-surplus-<region>``, read-only to every BL) and one event per site carrying
  its live setpoint (``setpoint-<site>``, changed only by the core service);
* **stored** ones a BL writes: programs (``prog-...``) and events (``evt-...``) in any
  program, any number of them, with any number of intervals.

Target strings (3.1.0) and ``{type, values}`` targets (3.0.1) map onto each other:
a site id is ``RESOURCE_NAME``, a VEN (site-operator client id) ``VEN_NAME``, a region
id ``SERVICE_AREA``, anything else ``GROUP``.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError
from offtake.service.domain.common import now
from offtake.service.models import Client, Region, Site
from offtake.service.openadr import mapping, views
from offtake.service.openadr import schemas as oa
from offtake.service.openadr.store import OadrEvent, OadrProgram, OadrSlot, OadrVen
from offtake.service.security import Principal, Role, parse_roles

Obj = dict[str, Any]
MAX_SLOT = timedelta(days=31)
DEFAULT_HOLD = timedelta(hours=1)
_UNIT_TO_MW = {"KW": 1e-3, "MW": 1.0, "W": 1e-6}


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_duration(d: timedelta) -> str:
    """ISO 8601 duration matching the spec's pattern (``PT0S``, ``P1DT2H``, ``PT0.5S``)."""
    total = d.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    out = f"{sign}P" + (f"{int(days)}D" if days else "")
    t = ""
    if hours:
        t += f"{int(hours)}H"
    if minutes:
        t += f"{int(minutes)}M"
    if seconds or not (days or hours or minutes):
        s = f"{seconds:.6f}".rstrip("0").rstrip(".")
        t += f"{s}S"
    return out + ("T" + t if t else "")


# ---------------------------------------------------------------- names and targets
class Names:
    """Site, VEN and region ids, to classify target strings; each table is read once per
    request, and only when something needs it (a 3.1.0 VEN poll needs none of them)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._sites: list[tuple[str, str, str]] | None = None
        self._vens: set[str] | None = None
        self._regions: set[str] | None = None

    @classmethod
    def load(cls, session: Session) -> Names:
        return cls(session)

    def _site_rows(self) -> list[tuple[str, str, str]]:
        if self._sites is None:
            self._sites = [tuple(r) for r in self._session.execute(  # type: ignore[misc]
                select(Site.site_id, Site.region_id, Site.owner_client_id)).all()]
        return self._sites  # type: ignore[return-value]

    @functools.cached_property
    def site_region(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._site_rows()}

    @functools.cached_property
    def site_owner(self) -> dict[str, str]:
        return {r[0]: r[2] for r in self._site_rows()}

    @property
    def vens(self) -> set[str]:
        if self._vens is None:
            self._vens = {cid for cid, roles in self._session.execute(
                select(Client.client_id, Client.roles)) if Role.SITE_OPERATOR in parse_roles(roles)}
        return self._vens

    @property
    def regions(self) -> set[str]:
        if self._regions is None:
            self._regions = set(self._session.scalars(select(Region.region_id)))
        return self._regions

    def to_301(self, targets: list[str] | None) -> list[Obj] | None:
        if not targets:
            return None
        groups: dict[str, list[str]] = {}
        for t in targets:
            kind = ("RESOURCE_NAME" if t in self.site_region else "VEN_NAME" if t in self.vens
                    else "SERVICE_AREA" if t in self.regions else "GROUP")
            groups.setdefault(kind, []).append(t)
        return [{"type": k, "values": v} for k, v in groups.items()]


def audience(targets: list[str] | None, names: Names) -> frozenset[str] | None:
    """VEN client ids an object with ``targets`` is aimed at (None: untargeted, all)."""
    if not targets:
        return None
    out: set[str] = set()
    for t in targets:
        if t in names.site_owner:
            out.add(names.site_owner[t])
        if t in names.vens:
            out.add(t)
        if t in names.regions:
            out |= {o for s, o in names.site_owner.items() if names.site_region[s] == t}
    return frozenset(out)


def targets_from_301(targets: list[oa.ValuesMap] | None) -> list[str] | None:
    if not targets:
        return None
    out = [str(v) for t in targets for v in t.values if isinstance(v, (str, int, float))
           and not isinstance(v, bool)]
    return [t[:128] for t in dict.fromkeys(out) if t] or None


def ven_target_set(session: Session, actor: Principal, names: Names) -> set[str]:
    """Target strings addressed to ``actor`` as a VEN: its name, its sites, their regions,
    and the targets a BL assigned to its VEN registration."""
    rows = session.execute(select(Site.site_id, Site.region_id)
                           .where(Site.owner_client_id == actor.client_id)).all()
    out = {actor.client_id} | {r[0] for r in rows} | {r[1] for r in rows}
    reg = session.get(OadrVen, actor.client_id)
    if reg is not None:
        out |= set(json.loads(reg.body).get("targets") or [])
    return out


def visible(obj_targets: list[str] | None, actor: Principal, mine: set[str] | None) -> bool:
    """Readers of all see everything; a VEN sees untargeted objects and those aimed at it."""
    if actor.reads_all or mine is None:
        return True
    return not obj_targets or bool(set(obj_targets) & mine)


def match_targets31(obj: Obj, wanted: list[str] | None) -> bool:
    """3.1.0 ``targets`` filter: every listed target is among the object's."""
    return not wanted or set(wanted) <= set(obj.get("targets") or [])


def match_targets301(obj: Obj, t_type: str | None, t_values: list[str] | None) -> bool:
    if t_type is None and not t_values:
        return True
    for t in obj.get("_t301") or []:
        if t_type is not None and t["type"] != t_type:
            continue
        if not t_values or set(map(str, t["values"])) & set(t_values):
            return True
    return False


# ---------------------------------------------------------------- versions
@dataclass(frozen=True)
class Version:
    name: str  # "3.0.1" | "3.1.0"

    @property
    def v31(self) -> bool:
        return self.name == "3.1.0"

    @property
    def base(self) -> str:
        return f"/openadr3/{self.name}"

    def op(self, operation: str) -> str:
        """An operation in this version's spelling (CREATE/UPDATE/DELETE vs POST/PUT/DELETE)."""
        canon = {"POST": "CREATE", "PUT": "UPDATE", "GET": "READ"}.get(operation, operation)
        if self.v31:
            return canon
        return {"CREATE": "POST", "UPDATE": "PUT", "READ": "GET"}.get(canon, canon)

    def out(self, obj: Obj, names: Names | None = None) -> Obj:
        """``obj`` (internal, 3.1.0 shape) as this version serves it."""
        body = {k: v for k, v in obj.items() if not k.startswith("_") and v is not None}
        if self.v31:
            return body
        body.pop("clientID", None)
        body.pop("duration", None)
        if obj.get("objectType") == "PROGRAM":
            body.pop("attributes", None)  # a 3.1.0 program field
        t301 = obj.get("_t301")
        if t301 is None and obj.get("targets") and names is not None:
            t301 = names.to_301(obj["targets"])
        if t301:
            body["targets"] = t301
        else:
            body.pop("targets", None)
        return body


V301 = Version("3.0.1")
V31 = Version("3.1.0")


def _dump(model: oa.BaseModel) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _period_out(p: oa.IntervalPeriod | None) -> Obj | None:
    if p is None:
        return None
    out: Obj = {"start": iso(p.start), "duration": iso_duration(p.duration)}
    if p.randomize_start is not None:
        out["randomizeStart"] = iso_duration(p.randomize_start)
    return out


def _intervals_out(intervals: list[oa.Interval]) -> list[Obj]:
    out = []
    for iv in intervals:
        d: Obj = {"id": iv.id, "payloads": [_dump(p) for p in iv.payloads]}
        if iv.interval_period is not None:
            d["intervalPeriod"] = _period_out(iv.interval_period)
        out.append(d)
    return out


# ---------------------------------------------------------------- programs
def region_program(region: mapping.RegionView) -> Obj:
    p = mapping.program_for_region(region)
    body = _dump(p)
    body["createdDateTime"] = body["modificationDateTime"] = iso(region.created_at)
    body["targets"] = [region.region_id]
    body["_t301"] = [{"type": "SERVICE_AREA", "values": [region.region_id]}]
    body["_derived"] = True
    return body


def _stored_program(row: OadrProgram) -> Obj:
    body = json.loads(row.body)
    return {"id": row.program_id, "createdDateTime": iso(row.created_at),
            "modificationDateTime": iso(row.modified_at), "objectType": "PROGRAM", **body}


def programs(session: Session) -> list[Obj]:
    out = [region_program(r) for r in views.regions(session)]
    out += [_stored_program(r) for r in session.scalars(
        select(OadrProgram).order_by(OadrProgram.created_at, OadrProgram.program_id))]
    return out


def program(session: Session, program_id: str) -> Obj:
    region_id = mapping.region_from_program_id(program_id)
    if region_id is not None:
        for r in views.regions(session):
            if r.region_id == region_id:
                return region_program(r)
    row = session.get(OadrProgram, program_id)
    if row is None:
        raise NotFoundError(f"unknown program '{program_id}'")
    return _stored_program(row)


def program_body(body: oa.ProgramIn, targets31: list[str] | None,
                 t301: list[Obj] | None) -> Obj:
    out = {k: v for k, v in _dump(body).items() if k != "targets"}
    if body.interval_period is not None:
        out["intervalPeriod"] = _period_out(body.interval_period)
    if body.time_zone_offset is not None:
        out["timeZoneOffset"] = iso_duration(body.time_zone_offset)
    out["targets"] = targets31
    if t301:
        out["_t301"] = t301
    return {k: v for k, v in out.items() if v is not None}


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


# ---------------------------------------------------------------- events
def setpoint_event(site: mapping.SiteView) -> Obj:
    e = mapping.event_for_site(site)
    body = _dump(e)
    body["createdDateTime"] = iso(e.created_date_time)
    body["modificationDateTime"] = iso(e.modification_date_time)
    body["intervalPeriod"] = _period_out(e.interval_period)
    body["targets"] = [site.site_id, site.owner_client_id]
    body["_t301"] = _dump_list(e.targets)
    body["_derived"] = True
    body["_owner"] = site.owner_client_id
    return body


def _dump_list(items: list[oa.ValuesMap] | None) -> list[Obj] | None:
    return [_dump(t) for t in items] if items else None


def _stored_event(row: OadrEvent) -> Obj:
    body = json.loads(row.body)
    return {"id": row.event_id, "createdDateTime": iso(row.created_at),
            "modificationDateTime": iso(row.modified_at), "objectType": "EVENT",
            "programID": row.program_id, **body}


def events(session: Session, *, actor: Principal, names: Names,
           program_id: str | None = None, active_only: bool = False) -> list[Obj]:
    """Every event ``actor`` may see: setpoint events of its sites, then stored events."""
    mine = None if actor.reads_all else ven_target_set(session, actor, names)
    out: list[Obj] = []
    region_id = mapping.region_from_program_id(program_id) if program_id else None
    if program_id is None or region_id is not None:
        out += [setpoint_event(s) for s in views.sites(session, actor=actor, region_id=region_id)]
    q = select(OadrEvent).order_by(OadrEvent.created_at, OadrEvent.event_id)
    if program_id is not None:
        q = q.where(OadrEvent.program_id == program_id)
    if active_only:
        q = q.where(or_(OadrEvent.ends_at.is_(None), OadrEvent.ends_at > now()))
    for row in session.scalars(q):
        if visible(json.loads(row.targets) or None, actor, mine):
            out.append(_stored_event(row))
    return out


def event(session: Session, *, actor: Principal, names: Names, event_id: str) -> Obj:
    site_id = mapping.site_from_event_id(event_id)
    if site_id is not None:
        found = views.sites(session, actor=actor, site_ids=[site_id])
        if found:
            return setpoint_event(found[0])
    row = session.get(OadrEvent, event_id)
    mine = None if actor.reads_all else ven_target_set(session, actor, names)
    if row is None or not visible(json.loads(row.targets) or None, actor, mine):
        raise NotFoundError(f"unknown event '{event_id}'")
    return _stored_event(row)


@dataclass
class Slot:
    interval_id: int
    start: datetime
    end: datetime
    limit_mw: float | None


@dataclass
class EventPlan:
    """What a validated event write stores."""

    body: Obj
    targets: list[str]
    sites: list[str]
    slots: list[Slot] = field(default_factory=list)
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def _capacity_factor(body: oa.EventInBase) -> float:
    units = {d.payload_type: (d.units or "KW").upper() for d in body.payload_descriptors or []}
    factor = _UNIT_TO_MW.get(units.get(mapping.CAPACITY_LIMIT, "KW"))
    if factor is None:
        raise InputError("IMPORT_CAPACITY_LIMIT units must be KW, MW or W")
    return factor


def plan_event(session: Session, body: oa.EventInBase, targets31: list[str] | None,
               t301: list[Obj] | None, names: Names, *, at: datetime | None = None) -> EventPlan:
    """Validate an event write; lay its intervals out in time.

    Interval ``i`` (in list order) starts at its own ``intervalPeriod.start`` or at the
    event's start + i x the event's duration; a start of 0001-01-01 means now.  An
    ``IMPORT_CAPACITY_LIMIT`` interval needs one number >= 0 and a duration of at most
    31 days (PT0S on a single interval: the default one-hour hold).
    """
    t = at or now()
    prog = program(session, body.program_id)  # 404 for an unknown program
    region = mapping.region_from_program_id(body.program_id) if prog.get("_derived") else None
    targets = list(targets31 or [])
    site_targets = [s for s in targets if s in names.site_region]
    problems: list[str] = []
    if region is not None:
        foreign = [s for s in site_targets if names.site_region[s] != region]
        if foreign:
            problems.append(f"site(s) {', '.join(foreign[:5])} are not in region '{region}' "
                            f"of program '{body.program_id}'")
    base = body.interval_period
    base_start = base.start if base is not None else datetime(1, 1, 1, tzinfo=UTC)  # now
    base_duration = base.duration if base is not None else (body.duration or timedelta(0))
    has_limit = any(p.type == mapping.CAPACITY_LIMIT for iv in body.intervals for p in iv.payloads)
    factor = _capacity_factor(body) if has_limit else 1.0
    slots: list[Slot] = []
    for pos, iv in enumerate(body.intervals):
        where = f"intervals[{pos}] (id {iv.id})"
        p = iv.interval_period
        if p is not None:
            start = t if p.start.year == 1 else p.start
            duration = p.duration
        else:
            if pos and base_duration <= timedelta(0):
                problems.append(f"{where}: intervals after the first need a duration "
                                "(the event's intervalPeriod.duration or their own)")
                continue
            start = (t if base_start.year == 1 else base_start) + pos * base_duration
            duration = base_duration
        values = [pl.values for pl in iv.payloads if pl.type == mapping.CAPACITY_LIMIT]
        limit: float | None = None
        if values:
            v = values[0]
            if len(values) != 1 or len(v) != 1 or isinstance(v[0], bool) \
                    or not isinstance(v[0], (int, float)) or not v[0] >= 0 or v[0] > 1e9:
                problems.append(f"{where}: IMPORT_CAPACITY_LIMIT needs one number >= 0 "
                                f"(got {v!r})")
                continue
            limit = float(v[0]) * factor
            if duration <= timedelta(0):
                if len(body.intervals) > 1:
                    problems.append(f"{where}: a limit in a schedule needs a duration > 0")
                    continue
                duration = DEFAULT_HOLD
            if duration > MAX_SLOT:
                problems.append(f"{where}: a limit may hold for at most {MAX_SLOT.days} days")
                continue
        try:
            end = start + duration
        except OverflowError:
            problems.append(f"{where}: interval ends after year 9999")
            continue
        slots.append(Slot(iv.id, start, end, limit))
    if problems:
        raise InputError("event rejected, nothing stored:\n" + "\n".join(
            f"  - {p}" for p in problems))
    sites = site_targets
    if has_limit and not sites and region is not None and not targets:
        sites = sorted(s for s, r in names.site_region.items() if r == region)
    if not has_limit:
        sites = []
    out: Obj = {"eventName": body.event_name, "priority": body.priority, "targets": targets or None,
                "payloadDescriptors": _dump_list(body.payload_descriptors),  # type: ignore[arg-type]
                "reportDescriptors": body.report_descriptors,
                "intervalPeriod": _period_out(body.interval_period),
                "intervals": _intervals_out(body.intervals)}
    if body.duration is not None:
        out["duration"] = iso_duration(body.duration)
    if t301:
        out["_t301"] = t301
    out = {k: v for k, v in out.items() if v is not None}
    ends = [s.end for s in slots if s.end > s.start]
    return EventPlan(body=out, targets=targets, sites=sites, slots=slots,
                     starts_at=min((s.start for s in slots), default=None),
                     ends_at=max(ends) if ends and len(ends) == len(slots) else None)


def store_event(session: Session, plan: EventPlan, *, event_id: str, program_id: str,
                owner: str, kind: str, priority: int | None,
                row: OadrEvent | None = None) -> OadrEvent:
    t = now()
    if row is None:
        row = OadrEvent(event_id=event_id, program_id=program_id, owner_client_id=owner,
                        kind=kind, created_at=t)
        session.add(row)
    else:
        session.query(OadrSlot).filter(OadrSlot.event_id == row.event_id).delete()
        row.program_id = program_id
    row.priority, row.targets = priority, json.dumps(plan.targets)
    row.sites, row.body = " ".join(plan.sites), json.dumps(plan.body)
    row.starts_at, row.ends_at, row.modified_at = plan.starts_at, plan.ends_at, t
    session.add_all([OadrSlot(event_id=event_id, interval_id=s.interval_id, start_at=s.start,
                              end_at=s.end, limit_mw=s.limit_mw, applies=kind == "bl")
                     for s in plan.slots if s.limit_mw is not None and plan.sites])
    return row


# ---------------------------------------------------------------- vens and resources
def _ven_reg(session: Session) -> dict[str, Obj]:
    return {r.client_id: {**json.loads(r.body), "_created": r.created_at,
                          "_modified": r.modified_at} for r in session.scalars(select(OadrVen))}


def vens(session: Session, *, actor: Principal) -> list[Obj]:
    by_owner: dict[str, list[mapping.SiteView]] = {}
    for s in views.sites(session, actor=actor):
        by_owner.setdefault(s.owner_client_id, []).append(s)
    regs = _ven_reg(session)
    out = []
    for c in views.ven_clients(session, actor=actor):
        reg = regs.get(c.client_id, {})
        created = c.created_at
        modified = reg.get("_modified", created)
        sites = by_owner.get(c.client_id, [])
        res = [resource(s) for s in sites]
        out.append({"id": mapping.to_object_id(c.client_id), "createdDateTime": iso(created),
                    "modificationDateTime": iso(max(modified, created)), "objectType": "VEN",
                    "clientID": c.client_id, "venName": c.client_id,
                    "attributes": reg.get("attributes"), "targets": reg.get("targets") or None,
                    "resources": res or None})
    return out


def ven(session: Session, *, actor: Principal, ven_id: str) -> Obj:
    for v in vens(session, actor=actor):
        if v["id"] == ven_id:
            return v
    raise NotFoundError(f"unknown VEN '{ven_id}'")


def resource(site: mapping.SiteView) -> Obj:
    r = mapping.resource_for_site(site)
    body = _dump(r)
    body["createdDateTime"] = body["modificationDateTime"] = iso(site.created_at)
    body["clientID"] = site.owner_client_id
    body["targets"] = [site.region_id]
    body["_t301"] = [{"type": "SERVICE_AREA", "values": [site.region_id]}]
    return body
