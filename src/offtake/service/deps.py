"""FastAPI dependencies: service state, one DB session per request, the caller, role gates.

Other route modules (OpenADR, dashboard) use these aliases::

    from offtake.service.deps import ActorDep, SessionDep, StateDep, require_roles
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from offtake.service.access import ClientCache, check_client
from offtake.service.pubsub import Broker, Hub
from offtake.service.ratelimit import LoginGuard
from offtake.service.security import AuthError, ForbiddenError, Principal, Role, decode_token
from offtake.service.settings import Settings


@dataclass
class ServiceState:
    """Everything a request needs, kept on ``app.state.offtake``."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    hub: Hub
    broker: Broker
    signing_key: str
    clients: ClientCache
    login_guard: LoginGuard


# Cheap dependencies are ``async`` so FastAPI runs them on the event loop instead of
# hopping to the thread pool for each one (that hop dominated small requests).
async def get_state(conn: HTTPConnection) -> ServiceState:
    state: ServiceState = conn.app.state.offtake
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[Session]:
    """One session per request (opening it does no I/O; the route's thread uses it)."""
    session = state.sessions()
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


SessionDep = Annotated[Session, Depends(get_session)]

oauth2_scheme = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/auth/token",
                                                                  scopes={})),
    scheme_name="OAuth2ClientCredentials", auto_error=False)


def _decode(state: ServiceState, token: str | None) -> Principal:
    if not token:
        raise AuthError("missing access token: send 'Authorization: Bearer <token>'")
    return decode_token(token, key=state.signing_key, issuer=state.settings.token_issuer,
                        max_ttl_s=state.settings.token_ttl_s)


def principal_from_token(state: ServiceState, token: str | None) -> Principal:
    """Verify ``token`` and check its client (blocking: reads the DB on a cache miss)."""
    principal = _decode(state, token)
    info = state.clients.cached(principal.client_id)
    if info is None:
        info = state.clients.load(state.sessions, principal.client_id)
    return check_client(principal, info)


async def principal_from_token_async(state: ServiceState, token: str | None) -> Principal:
    """As :func:`principal_from_token`; a cache miss reads the DB in the thread pool."""
    principal = _decode(state, token)
    info = state.clients.cached(principal.client_id)
    if info is None:
        info = await run_in_threadpool(state.clients.load, state.sessions, principal.client_id)
    return check_client(principal, info)


async def get_principal(request: Request, state: StateDep,
                  authorization: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError("Authorization header must be 'Bearer <token>'")
        token = value.strip()
    return await principal_from_token_async(state, token)


ActorDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    """Dependency refusing callers without one of ``roles`` (403)."""
    allowed = frozenset(roles)

    async def check(actor: ActorDep) -> Principal:
        if not actor.has_any(allowed):
            raise ForbiddenError(f"needs one of the roles: {', '.join(sorted(allowed))}")
        return actor

    return Depends(check)


#: largest ``offset`` a listing accepts (beyond it the database's 64-bit integer overflows)
MAX_OFFSET = 1_000_000_000

WRITER = (Role.GRID_OPERATOR, Role.ADMIN)
READ_ALL = (Role.GRID_OPERATOR, Role.REGULATOR, Role.ADMIN)
ANY_ROLE = tuple(Role)
