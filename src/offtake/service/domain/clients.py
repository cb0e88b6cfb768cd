"""OAuth2 clients: creation (secret shown once), token issue, the first admin, the signing key."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offtake.errors import NotFoundError
from offtake.service.access import invalidate
from offtake.service.domain.common import ConflictError, audit, now
from offtake.service.models import Client, ServiceConfig
from offtake.service.ratelimit import LoginGuard
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
                    created_at=now(), token_gen=0)
    session.add(client)
    audit(session, actor=actor or "bootstrap", action="client.create", target_type="client",
          target_id=cid, detail={"name": name, "roles": client.roles})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConflictError(f"client '{cid}' already exists") from None
    invalidate(session, cid)  # a cached "no such client" must not outlive its creation
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
        new_roles = ",".join(sorted({str(r) for r in roles}))
        if new_roles != client.roles:
            client.roles = changes["roles"] = new_roles
    if active is not None and active != client.active:
        client.active = changes["active"] = active
    if "roles" in changes or "active" in changes:
        # tokens issued before a role change or a deactivation never work again
        client.token_gen = changes["token_gen"] = int(client.token_gen or 0) + 1
    audit(session, actor=actor, action="client.update", target_type="client",
          target_id=client_id, detail=changes)
    session.commit()
    invalidate(session, client_id)
    return client


def revoke_tokens(session: Session, *, actor: Principal, client_id: str) -> Client:
    """Invalidate every token issued to ``client_id`` so far (bumps ``token_gen``)."""
    _require_admin(actor)
    client = session.get(Client, client_id)
    if client is None:
        raise NotFoundError(f"unknown client '{client_id}'")
    client.token_gen = int(client.token_gen or 0) + 1
    audit(session, actor=actor, action="client.revoke_tokens", target_type="client",
          target_id=client_id, detail={"token_gen": client.token_gen})
    session.commit()
    invalidate(session, client_id)
    return client


def authenticate(session: Session, *, client_id: str, client_secret: str, key: str,
                 ttl_s: int, issuer: str, scope: str = "") -> str:
    """Client-credentials grant: a signed token, or :class:`AuthError`.

    Failures are counted per client id (:class:`~offtake.service.ratelimit.LoginGuard`,
    found on the session's ``info``); a locked client id gets
    :class:`~offtake.service.ratelimit.RateLimitedError` (429) without a secret check.
    """
    guard = session.info.get("login_guard")
    if isinstance(guard, LoginGuard):
        guard.check_client(client_id)
    client = session.get(Client, client_id)
    ok = verify_or_dummy(client.secret_hash if client else None, client_secret)
    if client is None or not ok or not client.active:
        if isinstance(guard, LoginGuard):
            guard.failed(client_id)
        raise AuthError("invalid client credentials")
    if isinstance(guard, LoginGuard):
        guard.succeeded(client_id)
    return issue_token(client_id=client.client_id, roles=parse_roles(client.roles), key=key,
                       ttl_s=ttl_s, issuer=issuer, scope=scope, gen=int(client.token_gen or 0))


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
