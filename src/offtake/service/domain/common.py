"""Helpers shared by the domain modules: clock, audit log, site access checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError
from offtake.service.models import AuditEntry, Site
from offtake.service.security import ForbiddenError, Principal, Role


class ConflictError(InputError):
    """The request clashes with existing state, e.g. a duplicate id (HTTP 409)."""

    http_status = 409


def now() -> datetime:
    return datetime.now(UTC)


def audit(session: Session, *, actor: Principal | str, action: str, target_type: str,
          target_id: str, detail: dict[str, Any] | None = None) -> None:
    """Append one audit entry (in the caller's transaction)."""
    who = actor if isinstance(actor, str) else actor.client_id
    session.add(AuditEntry(at=now(), actor=who, action=action, target_type=target_type,
                           target_id=target_id,
                           detail=json.dumps(detail or {}, default=str, sort_keys=True)))


def in_interval(q: Any, table: Any, *, region_id: str | None, start: datetime | None,
                end: datetime | None) -> Any:
    """Restrict a query of region intervals (signals, prices) to one region and to the rows
    overlapping [start, end)."""
    if region_id:
        q = q.where(table.region_id == region_id)
    if start:
        q = q.where(table.interval_end > start)
    if end:
        q = q.where(table.interval_start < end)
    return q


def require_writer(actor: Principal) -> None:
    if not actor.writes:
        raise ForbiddenError("this action needs the grid_operator or admin role")


def site_for_read(session: Session, *, actor: Principal, site_id: str) -> Site:
    """The site, if ``actor`` may read it (all readers; a site operator only their own)."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFoundError(f"unknown site '{site_id}'")
    if not actor.reads_all and site.owner_client_id != actor.client_id:
        raise ForbiddenError(f"site '{site_id}' belongs to another operator")
    return site


def site_for_report(session: Session, *, actor: Principal, site_id: str) -> Site:
    """The site, if ``actor`` may report for it (writers, or the owning site operator)."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFoundError(f"unknown site '{site_id}'")
    own = Role.SITE_OPERATOR in actor.roles and site.owner_client_id == actor.client_id
    if not (actor.writes or own):
        raise ForbiddenError(f"site '{site_id}' belongs to another operator")
    return site
