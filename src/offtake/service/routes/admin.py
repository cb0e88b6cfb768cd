"""Client management (admin) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import select

from offtake.service.deps import READ_ALL, SessionDep, require_roles
from offtake.service.domain import clients as dom
from offtake.service.models import AuditEntry
from offtake.service.schemas import (
    AuditPublic,
    ClientCreate,
    ClientCreated,
    ClientPublic,
    ClientUpdate,
)
from offtake.service.security import Principal, Role

router = APIRouter(prefix="/api/v1", tags=["admin"])
Admin = Annotated[Principal, require_roles(Role.ADMIN)]


def _public(client, secret: str | None = None):  # type: ignore[no-untyped-def]
    data = {"client_id": client.client_id, "name": client.name,
            "roles": dom.client_roles(client), "active": client.active,
            "created_at": client.created_at}
    return ClientCreated(**data, client_secret=secret) if secret else ClientPublic(**data)


@router.post("/clients", response_model=ClientCreated, status_code=201,
             summary="Create a client (its secret is shown once)")
def create_client(body: ClientCreate, session: SessionDep, actor: Admin) -> ClientCreated:
    client, secret = dom.create_client(session, actor=actor, name=body.name, roles=body.roles,
                                       client_id=body.client_id)
    return _public(client, secret)


@router.get("/clients", response_model=list[ClientPublic])
def list_clients(session: SessionDep, actor: Admin) -> list[ClientPublic]:
    return [_public(c) for c in dom.list_clients(session, actor=actor)]


@router.patch("/clients/{client_id}", response_model=ClientPublic)
def update_client(client_id: str, body: ClientUpdate, session: SessionDep,
                  actor: Admin) -> ClientPublic:
    client = dom.update_client(session, actor=actor, client_id=client_id, name=body.name,
                               roles=body.roles, active=body.active)
    return _public(client)


@router.post("/clients/{client_id}/revoke-tokens", response_model=ClientPublic,
             summary="Invalidate every token issued to a client so far")
def revoke_tokens(client_id: str, session: SessionDep, actor: Admin) -> ClientPublic:
    """The client's next request with an older token gets 401; it can fetch a new token
    with its secret (disable it with PATCH ``active: false`` to stop that too)."""
    return _public(dom.revoke_tokens(session, actor=actor, client_id=client_id))


@router.get("/audit", response_model=list[AuditPublic], summary="Who changed what")
def audit_log(session: SessionDep, actor: Annotated[Principal, require_roles(*READ_ALL)],
              target_id: str | None = None, action: str | None = None,
              since: AwareDatetime | None = None,
              limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[AuditEntry]:
    q = select(AuditEntry)
    if target_id:
        q = q.where(AuditEntry.target_id == target_id)
    if action:
        q = q.where(AuditEntry.action == action)
    if since:
        q = q.where(AuditEntry.at >= since)
    return list(session.scalars(q.order_by(AuditEntry.audit_id.desc()).limit(limit)))
