"""Surplus signals: per-region available MW over intervals, forecast or actual."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from offtake.errors import NotFoundError
from offtake.service.domain.common import audit, in_interval, now, require_writer
from offtake.service.models import Region, SurplusSignal
from offtake.service.schemas import AllocationOutcome, SignalIn, SignalKind
from offtake.service.security import Principal


def post_signals(session: Session, *, actor: Principal, signals: list[SignalIn],
                 allocate_now: bool = True) -> tuple[list[SurplusSignal], AllocationOutcome | None]:
    """Store signals; if any is in force now (and ``allocate_now``), re-allocate its regions."""
    from offtake.service.domain.setpoints import run_allocation

    require_writer(actor)
    known = set(session.scalars(select(Region.region_id)))
    unknown = sorted({s.region_id for s in signals} - known)
    if unknown:
        raise NotFoundError(f"unknown region(s): {', '.join(unknown)}")
    t = now()
    rows = [SurplusSignal(region_id=s.region_id, interval_start=s.interval_start,
                          interval_end=s.interval_end, available_mw=s.available_mw,
                          kind=str(s.kind), created_at=t, created_by=actor.client_id)
            for s in signals]
    session.add_all(rows)
    audit(session, actor=actor, action="signals.post", target_type="region",
          target_id=",".join(sorted({s.region_id for s in signals})),
          detail={"count": len(rows)})
    session.commit()
    live = sorted({s.region_id for s in signals if s.interval_start <= t < s.interval_end})
    outcome = run_allocation(session, actor=actor, at=t, region_ids=live) \
        if live and allocate_now else None
    return rows, outcome


def list_signals(session: Session, *, region_id: str | None = None,
                 start: datetime | None = None, end: datetime | None = None,
                 limit: int = 500) -> list[SurplusSignal]:
    """Signals overlapping [start, end), newest interval first."""
    q = in_interval(select(SurplusSignal), SurplusSignal, region_id=region_id, start=start, end=end)
    q = q.order_by(SurplusSignal.interval_start.desc(), SurplusSignal.signal_id.desc())
    return list(session.scalars(q.limit(limit)))


def signals_in_force(session: Session, *, at: datetime) -> dict[str, SurplusSignal]:
    """Per region, the signal covering ``at``: an actual beats a forecast, then the newest."""
    rows = session.scalars(select(SurplusSignal).where(SurplusSignal.interval_start <= at,
                                                       SurplusSignal.interval_end > at))
    best: dict[str, SurplusSignal] = {}
    for row in rows:
        key = (row.kind == SignalKind.ACTUAL, row.signal_id)
        cur = best.get(row.region_id)
        if cur is None or key > (cur.kind == SignalKind.ACTUAL, cur.signal_id):
            best[row.region_id] = row
    return best
