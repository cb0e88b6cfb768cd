"""Stored events' ``IMPORT_CAPACITY_LIMIT`` schedules, applied to sites at their start.

At any time ``t`` a site's limit is that of the slot covering ``t`` among the events
that target it, the event with the lowest ``priority`` number winning (no priority
ranks last), then the most recently modified one (User Guide, "Event priority").  The
limit becomes a manual setpoint of the core service held until the slot ends (clipped
to the site's contracted MW), so the allocation keeps it and the setpoint stream (native
agents, OpenADR setpoint events, webhooks, MQTT) carries it.  Nothing is applied before
its start: :func:`apply_due` only considers slots with ``start <= t``.

Each application is claimed in ``oadr_applications`` under a key of (site, event,
interval, event version, the site's setpoint seq), so with several workers one applies
it.  When a site's winning slot ends, or its event is changed or deleted, and no other
slot covers it, the hold is released to the allocation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from offtake.errors import OfftakeError
from offtake.service.db import setpoint_write_lock
from offtake.service.domain.common import now
from offtake.service.domain.setpoints import Change, issue, run_allocation, set_manual
from offtake.service.models import Setpoint, Site
from offtake.service.openadr.store import OadrApplication, OadrEvent, OadrSlot
from offtake.service.schemas import SetpointReason
from offtake.service.security import Principal, Role

log = logging.getLogger(__name__)
SCHEDULER = Principal(client_id="openadr-schedule", roles=frozenset({Role.GRID_OPERATOR}))
_EPS_MW = 1e-6


@dataclass(frozen=True)
class Winner:
    site_id: str
    event_id: str
    interval_id: int
    limit_mw: float
    end_at: datetime
    modified_at: datetime


def winners(session: Session, at: datetime, site_ids: set[str] | None = None) -> dict[str, Winner]:
    """Per site, the slot in force at ``at`` after priority and modification time."""
    rows = session.execute(
        select(OadrSlot.event_id, OadrSlot.interval_id, OadrSlot.limit_mw, OadrSlot.end_at,
               OadrEvent.sites, OadrEvent.priority, OadrEvent.modified_at)
        .join(OadrEvent, OadrEvent.event_id == OadrSlot.event_id)
        .where(OadrSlot.applies.is_(True), OadrSlot.start_at <= at, OadrSlot.end_at > at)
    ).all()
    best: dict[str, tuple[tuple[float, float], Winner]] = {}
    for event_id, interval_id, limit_mw, end_at, sites, priority, modified in rows:
        rank = (float(priority) if priority is not None else float("inf"), -modified.timestamp())
        for site in sites.split():
            if site_ids is not None and site not in site_ids:
                continue
            cur = best.get(site)
            if cur is None or rank < cur[0]:
                best[site] = (rank, Winner(site, event_id, interval_id, limit_mw, end_at, modified))
    return {s: w for s, (_r, w) in best.items()}


def _claim(session: Session, key: str, site_id: str, event_id: str) -> bool:
    pg = session.get_bind().dialect.name == "postgresql"
    ins = (postgresql.insert if pg else sqlite.insert)(OadrApplication)
    got = session.scalar(ins.values(key=key, site_id=site_id, event_id=event_id,
                                    applied_at=now()).on_conflict_do_nothing()
                         .returning(OadrApplication.application_id))
    session.commit()
    return got is not None


def apply_due(session: Session, *, at: datetime | None = None,
              site_ids: set[str] | None = None) -> list[str]:
    """Apply every slot in force at ``at`` that is not applied yet; release holds this
    layer set whose slot is over.  Returns the sites whose setpoint changed."""
    at = at or now()
    wins = winners(session, at, site_ids)
    held = _our_holds(session, site_ids)
    changed: list[str] = []
    if wins:
        state = {r[0]: r[1:] for r in session.execute(
            select(Site.site_id, Site.contracted_mw, Site.setpoint_seq, Setpoint.setpoint_mw,
                   Setpoint.reason, Setpoint.valid_until)
            .outerjoin(Setpoint, and_(Setpoint.site_id == Site.site_id,
                                      Setpoint.seq == Site.setpoint_seq))
            .where(Site.site_id.in_(list(wins))))}
        for site, w in sorted(wins.items()):
            if site not in state:
                continue
            contracted, seq, cur_mw, reason, until = state[site]
            mw = min(w.limit_mw, contracted)
            if reason == SetpointReason.MANUAL and cur_mw is not None \
                    and abs(cur_mw - mw) <= _EPS_MW and until == w.end_at:
                continue  # already in force
            key = f"{site}|{w.event_id}|{w.interval_id}|{w.modified_at.isoformat()}|{seq}"
            if not _claim(session, key, site, w.event_id):
                continue
            try:
                set_manual(session, actor=SCHEDULER, site_id=site, setpoint_mw=mw,
                           valid_until=w.end_at)
                changed.append(site)
            except OfftakeError as exc:  # curtailed region, inactive site, ...
                session.rollback()
                log.warning("OpenADR limit for %s not applied: %s", site, exc.message)
    over = sorted(s for s in held if s not in wins)
    if over:
        changed += release(session, over)
    return changed


def _our_holds(session: Session, site_ids: set[str] | None) -> set[str]:
    """Sites whose current setpoint is a manual hold issued by this scheduler."""
    q = (select(Site.site_id).join(Setpoint, and_(Setpoint.site_id == Site.site_id,
                                                   Setpoint.seq == Site.setpoint_seq))
         .where(Setpoint.reason == str(SetpointReason.MANUAL),
                Setpoint.issued_by == SCHEDULER.client_id))
    if site_ids is not None:
        q = q.where(Site.site_id.in_(list(site_ids)))
    return set(session.scalars(q))


def release(session: Session, site_ids: list[str]) -> list[str]:
    """Hand ``site_ids`` (held by this scheduler) back to the allocation."""
    with setpoint_write_lock(session):
        rows = session.execute(
            select(Site.site_id, Site.region_id, Setpoint.setpoint_mw)
            .join(Setpoint, and_(Setpoint.site_id == Site.site_id,
                                 Setpoint.seq == Site.setpoint_seq))
            .where(Site.site_id.in_(site_ids), Setpoint.reason == str(SetpointReason.MANUAL),
                   Setpoint.issued_by == SCHEDULER.client_id)).all()
        if not rows:
            session.rollback()
            return []
        t = now()
        issue(session, changes=[Change(s, mw, SetpointReason.ALLOCATION, t, t) for s, _r, mw in rows],
              issued_by=SCHEDULER.client_id)
        run_allocation(session, actor=SCHEDULER, at=t, _locked=True,
                       region_ids=sorted({r for _s, r, _m in rows}))
        session.commit()
    return [s for s, _r, _m in rows]


def next_boundary(session: Session, at: datetime) -> datetime | None:
    """The next slot start or end after ``at`` (when the schedule must be looked at)."""
    starts = session.scalar(select(func.min(OadrSlot.start_at)).where(
        OadrSlot.applies.is_(True), OadrSlot.start_at > at))
    ends = session.scalar(select(func.min(OadrSlot.end_at)).where(
        OadrSlot.applies.is_(True), OadrSlot.end_at > at))
    cands = [t for t in (starts, ends) if t is not None]
    return min(cands) if cands else None
