"""Sites: registration by the grid operator, reads filtered by ownership, updates."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError
from offtake.service.db import setpoint_write_lock
from offtake.service.domain.common import ConflictError, audit, now, require_writer, site_for_read
from offtake.service.domain.setpoints import Change, issue
from offtake.service.models import Client, Region, Site
from offtake.service.schemas import SetpointReason, SiteCreate, SiteUpdate
from offtake.service.security import Principal, Role, parse_roles


def _check_owner(session: Session, owner_client_id: str) -> None:
    owner = session.get(Client, owner_client_id)
    if owner is None:
        raise InputError(f"owner_client_id '{owner_client_id}' is not a known client")
    if Role.SITE_OPERATOR not in parse_roles(owner.roles):
        raise InputError(f"owner_client_id '{owner_client_id}' lacks the site_operator role")


def create_site(session: Session, *, actor: Principal, data: SiteCreate) -> Site:
    """Register a site; it starts at 0 MW (seq 1) until the next allocation."""
    require_writer(actor)
    if session.get(Region, data.region_id) is None:
        raise NotFoundError(f"unknown region '{data.region_id}'")
    _check_owner(session, data.owner_client_id)
    site_id = data.site_id or f"site-{uuid.uuid4().hex[:10]}"
    if session.get(Site, site_id) is not None:
        raise ConflictError(f"site '{site_id}' already exists")
    t = now()
    fields = data.model_dump(exclude={"site_id"})
    fields["site_type"] = str(data.site_type)
    fields["tariff_design"] = str(data.tariff_design)
    with setpoint_write_lock(session):
        session.add(Site(site_id=site_id, active=True, created_at=t, setpoint_seq=0,
                         setpoint_mw=0.0, **fields))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            raise ConflictError(f"site '{site_id}' already exists") from None
        issue(session, changes=[Change(site_id, 0.0, SetpointReason.ALLOCATION, t, None)],
              issued_by=actor.client_id)
        audit(session, actor=actor, action="site.create", target_type="site", target_id=site_id,
              detail=data.model_dump(mode="json"))
        session.commit()
    site = session.get(Site, site_id)
    assert site is not None
    return site


def list_sites(session: Session, *, actor: Principal, region_id: str | None = None,
               limit: int = 1000, offset: int = 0) -> list[Site]:
    """Every site for readers of all; a site operator sees only their own."""
    q = select(Site)
    if not actor.reads_all:
        q = q.where(Site.owner_client_id == actor.client_id)
    if region_id:
        q = q.where(Site.region_id == region_id)
    return list(session.scalars(q.order_by(Site.site_id).offset(offset).limit(limit)))


def get_site(session: Session, *, actor: Principal, site_id: str) -> Site:
    return site_for_read(session, actor=actor, site_id=site_id)


def update_site(session: Session, *, actor: Principal, site_id: str, data: SiteUpdate) -> Site:
    """Change contract terms; deactivating a site sets it to 0 MW at once."""
    require_writer(actor)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    with setpoint_write_lock(session):
        site = session.get(Site, site_id)
        if site is None:
            raise NotFoundError(f"unknown site '{site_id}'")
        if "owner_client_id" in changes:
            _check_owner(session, changes["owner_client_id"])
        for key, value in changes.items():
            setattr(site, key, str(value) if key == "tariff_design" else value)
        if changes.get("active") is False and site.setpoint_mw > 0:
            session.flush()
            issue(session, changes=[Change(site_id, 0.0, SetpointReason.MANUAL, now(), None)],
                  issued_by=actor.client_id)
        audit(session, actor=actor, action="site.update", target_type="site", target_id=site_id,
              detail=changes)
        session.commit()
    return get_site(session, actor=actor, site_id=site_id)
