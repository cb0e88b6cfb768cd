"""The last hours of each region for the dashboard chart: surplus, allocation and draw, hourly.

- surplus: the latest-posted surplus signal covering each hour's start [MW]
  (grid operator, regulator, admin only; ``None`` for a site operator);
- allocated: the sum of the setpoints in force at each hour's start [MW];
- drawn: metered energy whose interval starts in the hour, divided by one hour [MW].

A site operator sees only its own sites.  Vectorised over (item, hour) with numpy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from offtake.service.domain.common import now
from offtake.service.models import MeterReading, Region, Setpoint, Site, SurplusSignal
from offtake.service.security import Principal


class RegionHistory(BaseModel):
    region_id: str
    name: str
    surplus_mw: list[float | None] | None
    allocated_mw: list[float]
    drawn_mw: list[float]


class History(BaseModel):
    hours: list[datetime]  # each hour's start (UTC)
    timezone: str  # the zone billing uses, for display
    regions: list[RegionHistory]


def _ts(values: list[datetime]) -> np.ndarray:
    return np.array([v.timestamp() for v in values], dtype=float)


def build_history(session: Session, *, actor: Principal, hours: int = 24, timezone: str = "Asia/Karachi") -> History:
    t = now()
    end = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    grid = [end - timedelta(hours=hours - i) for i in range(hours)]
    g = _ts(grid)  # (T,)
    start = grid[0]
    sites_q = select(Site.site_id, Site.region_id)
    if not actor.reads_all:
        sites_q = sites_q.where(Site.owner_client_id == actor.client_id)
    site_region = dict(session.execute(sites_q).tuples().all())
    names = dict(session.execute(select(Region.region_id, Region.name)).tuples().all())
    region_ids = sorted(names) if actor.reads_all else sorted(set(site_region.values()))
    pos = {r: i for i, r in enumerate(region_ids)}
    R, T = len(region_ids), len(grid)

    # allocation: per site, the highest-seq setpoint valid at each hour's start
    alloc = np.zeros((R, T))
    if site_region:
        sp = session.execute(select(Setpoint.site_id, Setpoint.seq, Setpoint.setpoint_mw, Setpoint.valid_from,
                                    Setpoint.valid_until)
                             .where(Setpoint.site_id.in_(list(site_region)), Setpoint.valid_from < end)
                             .order_by(Setpoint.site_id, Setpoint.seq)).tuples().all()
        if sp:
            site = np.array([r[0] for r in sp])
            seq = np.array([r[1] for r in sp], dtype=float)
            mw = np.array([r[2] for r in sp], dtype=float)
            vf = _ts([r[3] for r in sp])
            vu = np.array([r[4].timestamp() if r[4] is not None else np.inf for r in sp])
            valid = (vf[:, None] <= g[None, :]) & (vu[:, None] > g[None, :])  # (P, T)
            score = np.where(valid, seq[:, None], -1.0)
            for s in np.unique(site):  # one pass per site, vectorised over hours
                rows = np.flatnonzero(site == s)
                best = rows[np.argmax(score[rows], axis=0)]
                ok = score[best, np.arange(T)] >= 0
                alloc[pos[site_region[s]]] += np.where(ok, mw[best], 0.0)

    # draw: energy per hour bucket
    drawn = np.zeros((R, T))
    if site_region:
        rd = session.execute(select(MeterReading.site_id, MeterReading.interval_start, MeterReading.energy_mwh)
                             .where(MeterReading.site_id.in_(list(site_region)), MeterReading.interval_start >= start,
                                    MeterReading.interval_start < end)).tuples().all()
        if rd:
            b = ((_ts([r[1] for r in rd]) - g[0]) // 3600).astype(int)
            ri = np.array([pos[site_region[r[0]]] for r in rd])
            np.add.at(drawn, (ri, b), np.array([r[2] for r in rd], dtype=float))

    surplus: np.ndarray | None = None
    if actor.reads_all and R:
        sg = session.execute(select(SurplusSignal.region_id, SurplusSignal.interval_start, SurplusSignal.interval_end,
                                    SurplusSignal.available_mw, SurplusSignal.created_at)
                             .where(SurplusSignal.interval_end > start, SurplusSignal.interval_start < end)
                             .order_by(SurplusSignal.created_at, SurplusSignal.signal_id)).tuples().all()
        surplus = np.full((R, T), np.nan)
        if sg:
            reg = np.array([pos.get(r[0], -1) for r in sg])
            s0, s1 = _ts([r[1] for r in sg]), _ts([r[2] for r in sg])
            av = np.array([r[3] for r in sg], dtype=float)
            cover = (s0[:, None] <= g[None, :]) & (s1[:, None] > g[None, :])  # (S, T), ordered by creation
            for r in range(R):  # the latest-created covering signal wins
                rows = np.flatnonzero(reg == r)
                if len(rows) == 0:
                    continue
                c = cover[rows]
                last = len(rows) - 1 - np.argmax(c[::-1], axis=0)
                surplus[r] = np.where(c.any(axis=0), av[rows][last], np.nan)

    out = []
    for r, rid in enumerate(region_ids):
        out.append(RegionHistory(
            region_id=rid, name=names.get(rid, rid),
            surplus_mw=None if surplus is None else [None if np.isnan(v) else float(v) for v in surplus[r]],
            allocated_mw=[float(v) for v in alloc[r]], drawn_mw=[float(v) for v in drawn[r]]))
    return History(hours=grid, timezone=timezone, regions=out)


__all__ = ["History", "RegionHistory", "build_history", "datetime"]
