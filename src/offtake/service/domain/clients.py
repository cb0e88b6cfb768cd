"""OAuth2 clients: creation (secret shown once), token issue, the first admin, the signing key."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offtake.errors import NotFoundError
from offtake.service.domain.common import ConflictError, audit, now
from offtake.service.models import Client, ServiceConfig
from offtake.service.security import (
    AuthError,
    ForbiddenError,
    Principal,
    Role,
    hash_secret,
    issue_token,
    new_secret,
    parse_roles,
    verify_or_dummy,
)


def _require_admin(actor: Principal) -> None:
    if Role.ADMIN not in actor.roles:
        raise ForbiddenError("managing clients needs the admin role")


def client_roles(client: Client) -> list[Role]:
    return sorted(parse_roles(client.roles))


def create_client(session: Session, *, actor: Principal | None, name: str, roles: list[Role],
                  client_id: str | None = None) -> tuple[Client, str]:
    """Create a client; returns it with its plain secret (stored only as an argon2 hash).

    ``actor`` None is the bootstrap path used by ``ensure_admin``.
    """
    if actor is not None:
        _require_admin(actor)
    cid = client_id or f"c-{uuid.uuid4().hex[:12]}"
    if session.get(Client, cid) is not None:
        raise ConflictError(f"client '{cid}' already exists")
    secret = new_secret()
    client = Client(client_id=cid, name=name, secret_hash=hash_secret(secret),
                    roles=",".join(sorted({str(r) for r in roles})), active=True,
                    created_at=now())
    session.add(client)
    audit(session, actor=actor or "bootstrap", action="client.create", target_type="client",
          target_id=cid, detail={"name": name, "roles": client.roles})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConflictError(f"client '{cid}' already exists") from None
    return client, secret


def list_clients(session: Session, *, actor: Principal) -> list[Client]:
    _require_admin(actor)
    return list(session.scalars(select(Client).order_by(Client.client_id)))


def update_client(session: Session, *, actor: Principal, client_id: str, name: str | None = None,
                  roles: list[Role] | None = None, active: bool | None = None) -> Client:
    _require_admin(actor)
    client = session.get(Client, client_id)
    if client is None:
        raise NotFoundError(f"unknown client '{client_id}'")
    changes: dict[str, object] = {}
    if name is not None:
        client.name = changes["name"] = name
    if roles is not None:
        client.roles = ",".join(sorted({str(r) for r in roles}))
        changes["roles"] = client.roles
    if active is not None:
        client.active = changes["active"] = active
    audit(session, actor=actor, action="client.update", target_type="client",
          target_id=client_id, detail=changes)
    session.commit()
    return client


def authenticate(session: Session, *, client_id: str, client_secret: str, key: str,
                 ttl_s: int, issuer: str, scope: str = "") -> str:
    """Client-credentials grant: a signed token, or :class:`AuthError`."""
    client = session.get(Client, client_id)
    ok = verify_or_dummy(client.secret_hash if client else None, client_secret)
    if client is None or not ok or not client.active:
        raise AuthError("invalid client credentials")
    return issue_token(client_id=client.client_id, roles=parse_roles(client.roles), key=key,
                       ttl_s=ttl_s, issuer=issuer, scope=scope)


def ensure_admin(session: Session) -> tuple[str, str] | None:
    """Create the first admin client if there is none; returns (client_id, secret) once."""
    for client in session.scalars(select(Client)):
        if Role.ADMIN in parse_roles(client.roles):
            return None
    cid = "admin" if session.get(Client, "admin") is None else f"admin-{uuid.uuid4().hex[:6]}"
    client, secret = create_client(session, actor=None, name="first admin",
                                   roles=[Role.ADMIN], client_id=cid)
    return client.client_id, secret


def signing_key(session: Session) -> str:
    """The token signing key kept in the database (created once, shared by all workers)."""
    row = session.get(ServiceConfig, "jwt_secret")
    if row is not None:
        return row.value
    session.add(ServiceConfig(key="jwt_secret", value=secrets.token_urlsafe(48)))
    try:
        session.commit()
    except IntegrityError:  # another worker created it first
        session.rollback()
    row = session.get(ServiceConfig, "jwt_secret")
    assert row is not None
    return row.value
