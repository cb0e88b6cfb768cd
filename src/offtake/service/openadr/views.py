"""Read the core tables as the OpenADR layer sees them (regions, sites with setpoints, VENs).

Access rules are the core service's: readers of all (grid operator, regulator, admin)
see every site; a site operator sees only the sites it owns.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from offtake.service.models import Client, Region, Setpoint, Site
from offtake.service.openadr.mapping import RegionView, SiteView
from offtake.service.security import Principal, Role, parse_roles

#: OpenADR needs a creation time for programs; regions carry none, so programs date
#: from the start of the surplus-power programme.
PROGRAM_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def regions(session: Session) -> list[RegionView]:
    return [RegionView(r.region_id, r.name, PROGRAM_EPOCH)
            for r in session.scalars(select(Region).order_by(Region.region_id))]


def sites(session: Session, *, actor: Principal, site_ids: list[str] | None = None,
          region_id: str | None = None, owner: str | None = None,
          active_only: bool = True) -> list[SiteView]:
    """Sites ``actor`` may read, each with its live setpoint row (if any)."""
    q = (select(Site, Setpoint)
         .outerjoin(Setpoint, and_(Setpoint.site_id == Site.site_id,
                                   Setpoint.seq == Site.setpoint_seq))
         .order_by(Site.site_id))
    if not actor.reads_all:
        q = q.where(Site.owner_client_id == actor.client_id)
    if active_only:
        q = q.where(Site.active.is_(True))
    if site_ids is not None:
        q = q.where(Site.site_id.in_(site_ids))
    if region_id is not None:
        q = q.where(Site.region_id == region_id)
    if owner is not None:
        q = q.where(Site.owner_client_id == owner)
    out = []
    for site, sp in session.execute(q).tuples():
        out.append(SiteView(
            site_id=site.site_id, name=site.name, region_id=site.region_id,
            owner_client_id=site.owner_client_id, contracted_mw=site.contracted_mw,
            created_at=site.created_at, setpoint_mw=sp.setpoint_mw if sp else site.setpoint_mw,
            setpoint_seq=site.setpoint_seq, reason=sp.reason if sp else None,
            valid_from=sp.valid_from if sp else None, valid_until=sp.valid_until if sp else None,
            issued_at=sp.issued_at if sp else None))
    return out


def ven_clients(session: Session, *, actor: Principal) -> list[Client]:
    """Site-operator clients (VENs) ``actor`` may see: all for readers, else itself."""
    q = select(Client).where(Client.active.is_(True)).order_by(Client.client_id)
    if not actor.reads_all:
        q = q.where(Client.client_id == actor.client_id)
    return [c for c in session.scalars(q) if Role.SITE_OPERATOR in parse_roles(c.roles)]
