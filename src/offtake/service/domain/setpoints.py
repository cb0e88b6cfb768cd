"""Setpoints: allocation runs, manual holds, emergency curtailment; each change is pushed.

Rules
-----
* ``seq`` rises by one with every setpoint of a site (writers hold ``setpoint_write_lock``).
* Allocation uses the surplus signal in force at ``at`` per region (no signal: 0 MW),
  skips regions under emergency curtailment, and keeps manual setpoints in force until
  their ``valid_until`` (their MW is taken off the region's surplus first).
* A setpoint is re-issued only when its MW or ``valid_until`` changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError
from offtake.service import pubsub
from offtake.service.allocation import allocate
from offtake.service.db import setpoint_write_lock
from offtake.service.domain.common import ConflictError, audit, now, require_writer, site_for_read
from offtake.service.models import Curtailment, Region, Setpoint, Site
from offtake.service.schemas import (
    AllocationOutcome,
    RegionAllocation,
    SetpointPublic,
    SetpointReason,
    SiteAllocation,
)
from offtake.service.security import Principal

MANUAL_HOLD_DEFAULT = timedelta(hours=1)
#: longest manual hold (keeps every hold expressible as an OpenADR 3 interval duration)
MANUAL_HOLD_MAX = timedelta(days=31)
_EPS_MW = 1e-6


@dataclass(frozen=True)
class Change:
    """One new setpoint to issue."""

    site_id: str
    setpoint_mw: float
    reason: SetpointReason
    valid_from: datetime
    valid_until: datetime | None


def message(row: Setpoint) -> dict[str, object]:
    """The contract's JSON message for a setpoint row."""
    return SetpointPublic.model_validate(row).model_dump(mode="json")


def issue(session: Session, *, changes: list[Change], issued_by: str) -> list[dict[str, object]]:
    """Write ``changes`` (caller holds the write lock and commits); stage their push."""
    if not changes:
        return []
    ids = [c.site_id for c in changes]
    seq_of: dict[str, int] = {}
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        seq_of.update({sid: seq for sid, seq in session.execute(
            select(Site.site_id, Site.setpoint_seq).where(Site.site_id.in_(chunk)))})
    t = now()
    rows = [{"site_id": c.site_id, "seq": seq_of[c.site_id] + 1, "setpoint_mw": float(c.setpoint_mw),
             "reason": str(c.reason), "valid_from": c.valid_from, "valid_until": c.valid_until,
             "issued_at": t, "issued_by": issued_by} for c in changes]
    session.execute(insert(Setpoint), rows)
    session.execute(update(Site), [{"site_id": r["site_id"], "setpoint_seq": r["seq"],
                                    "setpoint_mw": r["setpoint_mw"]} for r in rows])
    session.expire_all()  # loaded Site objects must see the new seq
    msgs = [SetpointPublic.model_validate(r).model_dump(mode="json") for r in rows]
    pubsub.stage(session, msgs)
    return msgs


def current_setpoint(session: Session, *, actor: Principal, site_id: str) -> Setpoint:
    site = site_for_read(session, actor=actor, site_id=site_id)
    row = session.scalar(select(Setpoint).where(Setpoint.site_id == site_id,
                                                Setpoint.seq == site.setpoint_seq))
    if row is None:
        raise NotFoundError(f"site '{site_id}' has no setpoint yet")
    return row


def setpoint_history(session: Session, *, actor: Principal, site_id: str,
                     limit: int = 100) -> list[Setpoint]:
    site_for_read(session, actor=actor, site_id=site_id)
    return list(session.scalars(select(Setpoint).where(Setpoint.site_id == site_id)
                                .order_by(Setpoint.seq.desc()).limit(limit)))


def curtailed_regions(session: Session) -> set[str | None]:
    """Regions under an active emergency curtailment (``None`` in the set: every region)."""
    return set(session.scalars(select(Curtailment.region_id).where(Curtailment.ended_at.is_(None))))


def run_allocation(session: Session, *, actor: Principal, at: datetime | None = None,
                   region_ids: list[str] | None = None, dry_run: bool = False,
                   _locked: bool = False) -> AllocationOutcome:
    """Allocate each region's surplus in force at ``at`` to its sites and issue changes."""
    from offtake.service.domain.signals import signals_in_force

    require_writer(actor)
    at = at or now()
    regions = list(session.scalars(select(Region.region_id).order_by(Region.region_id)))
    unknown = sorted(set(region_ids or []) - set(regions))
    if unknown:
        raise NotFoundError(f"unknown region(s): {', '.join(unknown)}")
    if _locked or dry_run:
        return _allocate_locked(session, actor=actor, at=at, regions=regions,
                                region_ids=region_ids, dry_run=dry_run,
                                signals=signals_in_force(session, at=at))
    with setpoint_write_lock(session):
        out = _allocate_locked(session, actor=actor, at=at, regions=regions,
                               region_ids=region_ids, dry_run=False,
                               signals=signals_in_force(session, at=at))
        session.commit()
    return out


def _allocate_locked(session: Session, *, actor: Principal, at: datetime, regions: list[str],
                     region_ids: list[str] | None, dry_run: bool,
                     signals: dict) -> AllocationOutcome:  # type: ignore[type-arg]
    curtailed = curtailed_regions(session)
    scope = set(region_ids or regions)
    cols = session.execute(
        select(Site.site_id, Site.region_id, Site.contracted_mw, Site.interruptible_share,
               Site.priority, Site.setpoint_mw, Setpoint.reason, Setpoint.valid_until)
        .join(Setpoint, (Setpoint.site_id == Site.site_id) & (Setpoint.seq == Site.setpoint_seq))
        .where(Site.active.is_(True), Site.region_id.in_(scope))
        .order_by(Site.site_id)).all()
    r_index = {r: i for i, r in enumerate(regions)}
    avail = np.array([signals[r].available_mw if r in signals else 0.0 for r in regions])
    site_ids = [c[0] for c in cols]
    reg = np.array([r_index[c[1]] for c in cols], dtype=np.int64)
    cap = np.array([c[2] for c in cols], dtype=float)
    cur = np.array([c[5] for c in cols], dtype=float)
    held = np.array([c[6] == SetpointReason.MANUAL and c[7] is not None and c[7] > at
                     for c in cols], dtype=bool)
    under_curtail = np.array([None in curtailed or c[1] in curtailed for c in cols], dtype=bool)
    # manual holds draw first from their region's surplus
    avail_left = np.clip(avail - np.bincount(reg[held], weights=cur[held], minlength=len(regions)),
                         0.0, None) if cols else avail
    free = ~held & ~under_curtail
    new = cur.copy()
    if free.any():
        new[free] = allocate(avail_left, reg[free], cap[free],
                             np.array([c[3] for c in cols])[free],
                             np.array([c[4] for c in cols])[free])
    changes: list[Change] = []
    for i in np.flatnonzero(free):
        sig = signals.get(cols[i][1])
        until = sig.interval_end if sig else None
        if abs(new[i] - cur[i]) > _EPS_MW or cols[i][6] != SetpointReason.ALLOCATION \
                or cols[i][7] != until:
            changes.append(Change(site_ids[i], float(new[i]), SetpointReason.ALLOCATION, at, until))
    if not dry_run and changes:
        issue(session, changes=changes, issued_by=actor.client_id)
        audit(session, actor=actor, action="allocation.run", target_type="region",
              target_id=",".join(sorted(scope)) if region_ids else "*",
              detail={"at": at.isoformat(), "changed": len(changes)})
    changed_ids = {c.site_id for c in changes}
    alloc_by_region = np.bincount(reg, weights=new, minlength=len(regions)) if cols \
        else np.zeros(len(regions))
    return AllocationOutcome(
        at=at, dry_run=dry_run, changed=len(changes),
        regions=[RegionAllocation(region_id=r, available_mw=float(avail[i]),
                                  allocated_mw=float(alloc_by_region[i]),
                                  signal_id=signals[r].signal_id if r in signals else None,
                                  curtailed=None in curtailed or r in curtailed)
                 for i, r in enumerate(regions) if r in scope],
        sites=[SiteAllocation(site_id=s, region_id=cols[i][1], setpoint_mw=float(new[i]),
                              changed=s in changed_ids) for i, s in enumerate(site_ids)])


def set_manual(session: Session, *, actor: Principal, site_id: str, setpoint_mw: float,
               valid_until: datetime | None = None) -> Setpoint:
    """Hold one site at ``setpoint_mw`` until ``valid_until`` (default one hour)."""
    require_writer(actor)
    with setpoint_write_lock(session):
        site = session.get(Site, site_id)
        if site is None:
            raise NotFoundError(f"unknown site '{site_id}'")
        t = now()
        until = valid_until or t + MANUAL_HOLD_DEFAULT
        if until <= t:
            raise InputError("valid_until must lie in the future")
        if until > t + MANUAL_HOLD_MAX:
            raise InputError(f"a manual hold may last at most {MANUAL_HOLD_MAX.days} days "
                             f"(valid_until {until.isoformat()} is later); re-issue it to extend")
        if setpoint_mw > site.contracted_mw + _EPS_MW:
            raise InputError(f"setpoint_mw {setpoint_mw} exceeds the site's contracted "
                             f"{site.contracted_mw} MW")
        curtailed = curtailed_regions(session)
        if setpoint_mw > 0 and (None in curtailed or site.region_id in curtailed):
            raise ConflictError(f"region '{site.region_id}' is under emergency curtailment")
        if not site.active and setpoint_mw > 0:
            raise ConflictError(f"site '{site_id}' is inactive")
        issue(session, changes=[Change(site_id, setpoint_mw, SetpointReason.MANUAL, t, until)],
              issued_by=actor.client_id)
        audit(session, actor=actor, action="setpoint.manual", target_type="site",
              target_id=site_id, detail={"setpoint_mw": setpoint_mw, "valid_until": until})
        session.commit()
    return current_setpoint(session, actor=actor, site_id=site_id)


def emergency_curtail(session: Session, *, actor: Principal, reason: str,
                      region_id: str | None = None) -> tuple[Curtailment, int]:
    """Set every site (or one region's) to 0 MW at once and push it; returns (record, sites)."""
    require_writer(actor)
    if region_id is not None and session.get(Region, region_id) is None:
        raise NotFoundError(f"unknown region '{region_id}'")
    with setpoint_write_lock(session):
        t = now()
        q = select(Site.site_id)
        if region_id is not None:
            q = q.where(Site.region_id == region_id)
        ids = list(session.scalars(q.order_by(Site.site_id)))
        record = Curtailment(region_id=region_id, reason=reason, started_at=t,
                             started_by=actor.client_id)
        session.add(record)
        issue(session, changes=[Change(s, 0.0, SetpointReason.EMERGENCY, t, None) for s in ids],
              issued_by=actor.client_id)
        session.flush()
        audit(session, actor=actor, action="emergency.curtail", target_type="region",
              target_id=region_id or "*", detail={"reason": reason, "sites": len(ids),
                                                   "curtailment_id": record.curtailment_id})
        session.commit()
    return record, len(ids)


def release_curtailment(session: Session, *, actor: Principal,
                        curtailment_id: int) -> tuple[Curtailment, int]:
    """End a curtailment and re-run allocation for the regions it freed."""
    require_writer(actor)
    with setpoint_write_lock(session):
        record = session.get(Curtailment, curtailment_id)
        if record is None:
            raise NotFoundError(f"unknown curtailment {curtailment_id}")
        if record.ended_at is not None:
            raise ConflictError(f"curtailment {curtailment_id} already ended")
        record.ended_at, record.ended_by = now(), actor.client_id
        session.flush()
        audit(session, actor=actor, action="emergency.release", target_type="curtailment",
              target_id=str(curtailment_id), detail={"region_id": record.region_id})
        out = run_allocation(session, actor=actor, _locked=True,
                             region_ids=[record.region_id] if record.region_id else None)
        session.commit()
    return record, out.changed


def list_curtailments(session: Session, *, active_only: bool = False) -> list[Curtailment]:
    q = select(Curtailment).order_by(Curtailment.curtailment_id.desc())
    if active_only:
        q = q.where(Curtailment.ended_at.is_(None))
    return list(session.scalars(q.limit(500)))
