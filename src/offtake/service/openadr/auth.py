"""OpenADR 3 token endpoint and scopes, mapped onto the core service's roles.

=================  ==========================================================
scope              granted to
=================  ==========================================================
read_all           every role (a site operator still sees only its own sites)
read_targets       every role (3.1.0; a VEN sees objects aimed at it)
read_ven_objects   every role (3.1.0; a VEN sees objects it owns)
read_bl            grid_operator, regulator, admin (3.1.0)
write_reports      site_operator (own sites), grid_operator, admin
write_subscriptions site_operator, grid_operator, admin
write_vens         site_operator, grid_operator, admin
write_events       grid_operator, admin
write_programs     grid_operator, admin
=================  ==========================================================

A token asks for scopes with ``scope=...``; asking for one the client's roles do not
allow is ``invalid_scope`` (RFC 6749 §5.2).  A token that names no scope (e.g. one
from the core ``/auth/token``) carries every scope its roles allow.  Rights are always
the intersection of the token's scopes and its roles' scopes.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, Form, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from offtake.service.deps import ActorDep, StateDep
from offtake.service.domain.clients import authenticate
from offtake.service.openadr.schemas import TokenResponse
from offtake.service.security import AuthError, ForbiddenError, Principal, Role


class Scope(StrEnum):
    READ_ALL = "read_all"
    READ_TARGETS = "read_targets"  # 3.1.0: objects aimed at the caller
    READ_VEN_OBJECTS = "read_ven_objects"  # 3.1.0: objects the caller owns
    READ_BL = "read_bl"  # 3.1.0: BL-wide MQTT topic lists
    WRITE_PROGRAMS = "write_programs"
    WRITE_EVENTS = "write_events"
    WRITE_REPORTS = "write_reports"
    WRITE_SUBSCRIPTIONS = "write_subscriptions"
    WRITE_VENS = "write_vens"


_VEN_SCOPES = frozenset({Scope.READ_ALL, Scope.READ_TARGETS, Scope.READ_VEN_OBJECTS,
                         Scope.WRITE_REPORTS, Scope.WRITE_SUBSCRIPTIONS, Scope.WRITE_VENS})
SCOPES_BY_ROLE: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.GRID_OPERATOR: frozenset(Scope),
    Role.SITE_OPERATOR: _VEN_SCOPES,
    Role.REGULATOR: frozenset({Scope.READ_ALL, Scope.READ_TARGETS, Scope.READ_VEN_OBJECTS,
                               Scope.READ_BL}),
}


def allowed_scopes(roles: frozenset[Role]) -> frozenset[Scope]:
    out: set[Scope] = set()
    for role in roles:
        out |= SCOPES_BY_ROLE.get(role, frozenset())
    return frozenset(out)


def effective_scopes(actor: Principal) -> frozenset[Scope]:
    allowed = allowed_scopes(actor.roles)
    asked = {s for s in getattr(actor, "scopes", frozenset()) if s in Scope.__members__.values()}
    return allowed if not asked else allowed & frozenset(Scope(s) for s in asked)


def require_scope(*scopes: Scope):  # type: ignore[no-untyped-def]
    """Dependency: the caller (valid token) whose rights include one of ``scopes``, else 403."""

    def check(actor: ActorDep) -> Principal:
        if not set(scopes) & effective_scopes(actor):
            raise ForbiddenError("this operation needs the OpenADR scope "
                                 + " or ".join(f"'{s}'" for s in scopes))
        return actor

    return Depends(check)


router = APIRouter(tags=["openadr3: auth"])


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    """RFC 6749 §5.2 error (``error``, ``error_description``) that is also an RFC 7807
    problem, so OAuth clients and the service's problem-details contract both hold."""
    headers = {"WWW-Authenticate": 'Basic realm="offtake-openadr"'} if status == 401 else None
    body = {"type": "about:blank", "title": error, "status": status, "detail": description,
            "error": error, "error_description": description}
    return JSONResponse(body, status_code=status, headers=headers,
                        media_type="application/problem+json")


def _basic(header: str | None) -> tuple[str, str] | None:
    """Credentials from ``Authorization: Basic``, form-decoded per RFC 6749 §2.3.1."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, pw = raw.partition(":")
    return (unquote_plus(user), unquote_plus(pw)) if sep else None


@router.post("/auth/token", response_model=TokenResponse,
             summary="OpenADR 3 fetchToken (OAuth2 client credentials)",
             responses={400: {"description": "RFC 6749 error"},
                        401: {"description": "invalid_client"}})
async def fetch_token(state: StateDep,
                      grant_type: Annotated[str, Form(max_length=64)],
                      client_id: Annotated[str | None, Form(max_length=4096)] = None,
                      client_secret: Annotated[str | None, Form(max_length=4096)] = None,
                      scope: Annotated[str, Form(max_length=4096)] = "",
                      authorization: Annotated[str | None, Header()] = None,
                      ) -> TokenResponse | JSONResponse:
    """Exchange client credentials (form body or HTTP Basic) for a bearer token."""
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    basic = _basic(authorization)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        return _oauth_error(400, "invalid_request", "client_id and client_secret are required")
    asked = scope.split()
    unknown = [s for s in asked if s not in Scope.__members__.values()]
    if unknown:
        return _oauth_error(400, "invalid_scope", f"unknown scope(s): {' '.join(unknown)}")
    cid, secret = client_id, client_secret

    def run() -> tuple[str, str] | None:
        from offtake.service.models import Client
        from offtake.service.security import parse_roles

        with state.sessions() as session:
            client = session.get(Client, cid)
            roles = parse_roles(client.roles) if client is not None else frozenset()
            allowed = allowed_scopes(roles)
            granted = sorted(asked) if asked else sorted(allowed)
            # authenticate first (constant-time on unknown ids), then check scopes
            token = authenticate(session, client_id=cid, client_secret=secret,
                                 key=state.signing_key, ttl_s=state.settings.token_ttl_s,
                                 issuer=state.settings.token_issuer, scope=" ".join(granted))
            if not set(granted) <= allowed:
                return None
            return token, " ".join(granted)

    try:
        issued = await run_in_threadpool(run)
    except AuthError as exc:
        return _oauth_error(401, "invalid_client", exc.message)
    if issued is None:
        return _oauth_error(400, "invalid_scope",
                            "a requested scope is not allowed for this client's roles")
    return TokenResponse(access_token=issued[0], expires_in=state.settings.token_ttl_s,
                         scope=issued[1])
