"""What the dashboard shows: per region surplus, allocated and drawn MW; per site its
setpoint, state and latest draw; active emergency curtailments.

A grid operator, regulator or admin sees everything.  A site operator sees only its
own sites, and regions only as the sum of its own sites (no surplus figure).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from offtake.service.domain.common import now
from offtake.service.domain.regions import region_status
from offtake.service.domain.setpoints import list_curtailments
from offtake.service.models import MeterReading, Region, Setpoint, Site
from offtake.service.security import Principal

#: a reading older than this no longer counts as the site's current draw
DRAW_WINDOW = timedelta(hours=1)


class SiteState(StrEnum):
    RUNNING = "running"        # allowed > 0 MW by allocation
    HELD = "held"              # manual setpoint in force
    CURTAILED = "curtailed"    # emergency setpoint 0 MW
    IDLE = "idle"              # 0 MW without emergency (no surplus)
    OVER_LIMIT = "over_limit"  # latest reading flagged above its setpoint
    INACTIVE = "inactive"


class RegionRow(BaseModel):
    region_id: str
    name: str
    surplus_mw: float | None
    allocated_mw: float
    drawn_mw: float
    contracted_mw: float
    sites: int
    curtailed: bool


class SiteRow(BaseModel):
    site_id: str
    name: str
    region_id: str
    site_type: str
    owner_client_id: str
    contracted_mw: float
    setpoint_mw: float
    seq: int
    reason: str | None
    drawn_mw: float | None
    drawn_at: datetime | None
    state: SiteState


class CurtailmentRow(BaseModel):
    curtailment_id: int
    region_id: str | None
    reason: str
    started_at: datetime
    started_by: str


class Summary(BaseModel):
    at: datetime
    client_id: str
    roles: list[str]
    can_curtail: bool
    regions: list[RegionRow]
    sites: list[SiteRow]
    curtailments: list[CurtailmentRow]


def _state(active: bool, setpoint_mw: float, reason: str | None, flagged: bool) -> SiteState:
    if not active:
        return SiteState.INACTIVE
    if flagged:
        return SiteState.OVER_LIMIT
    if reason == "emergency":
        return SiteState.CURTAILED
    if reason == "manual":
        return SiteState.HELD
    return SiteState.RUNNING if setpoint_mw > 0 else SiteState.IDLE


def build_summary(session: Session, *, actor: Principal, site_limit: int = 2000) -> Summary:
    """The dashboard's data now; at most ``site_limit`` sites are listed (all are summed)."""
    t = now()
    latest = (select(MeterReading.site_id, func.max(MeterReading.interval_start).label("start"))
              .where(MeterReading.interval_end > t - DRAW_WINDOW)
              .group_by(MeterReading.site_id).subquery())
    q = (select(Site, Setpoint.reason, MeterReading.mean_mw, MeterReading.interval_end,
                MeterReading.flagged)
         .outerjoin(Setpoint, and_(Setpoint.site_id == Site.site_id,
                                   Setpoint.seq == Site.setpoint_seq))
         .outerjoin(latest, latest.c.site_id == Site.site_id)
         .outerjoin(MeterReading, and_(MeterReading.site_id == latest.c.site_id,
                                       MeterReading.interval_start == latest.c.start))
         .order_by(Site.region_id, Site.priority, Site.site_id))
    if not actor.reads_all:
        q = q.where(Site.owner_client_id == actor.client_id)
    rows = []
    drawn_by_region: dict[str, float] = {}
    own: dict[str, list[float]] = {}
    for site, reason, mean_mw, drawn_at, flagged in session.execute(q).tuples():
        if mean_mw is not None:
            drawn_by_region[site.region_id] = drawn_by_region.get(site.region_id, 0.0) + mean_mw
        agg = own.setdefault(site.region_id, [0.0, 0.0, 0])
        if site.active:
            agg[0] += site.setpoint_mw
            agg[1] += site.contracted_mw
            agg[2] += 1
        rows.append(SiteRow(
            site_id=site.site_id, name=site.name, region_id=site.region_id,
            site_type=site.site_type, owner_client_id=site.owner_client_id,
            contracted_mw=site.contracted_mw, setpoint_mw=site.setpoint_mw,
            seq=site.setpoint_seq, reason=reason, drawn_mw=mean_mw, drawn_at=drawn_at,
            state=_state(site.active, site.setpoint_mw, reason, bool(flagged))))
    curtailments = list_curtailments(session, active_only=True)
    if actor.reads_all:
        regions = [RegionRow(region_id=r.region_id, name=r.name, surplus_mw=r.available_mw,
                             allocated_mw=r.allocated_mw,
                             drawn_mw=drawn_by_region.get(r.region_id, 0.0),
                             contracted_mw=r.contracted_mw, sites=r.sites, curtailed=r.curtailed)
                   for r in region_status(session, at=t)]
    else:
        curtailed = {c.region_id for c in curtailments}
        names = dict(session.execute(select(Region.region_id, Region.name)).tuples().all())
        regions = [RegionRow(region_id=rid, name=names.get(rid, rid), surplus_mw=None,
                             allocated_mw=mw, drawn_mw=drawn_by_region.get(rid, 0.0),
                             contracted_mw=cap, sites=int(n),
                             curtailed=None in curtailed or rid in curtailed)
                   for rid, (mw, cap, n) in sorted(own.items())]
    return Summary(
        at=t, client_id=actor.client_id, roles=sorted(str(r) for r in actor.roles),
        can_curtail=actor.writes, regions=regions, sites=rows[:site_limit],
        curtailments=[CurtailmentRow(curtailment_id=c.curtailment_id, region_id=c.region_id,
                                     reason=c.reason, started_at=c.started_at,
                                     started_by=c.started_by) for c in curtailments])
