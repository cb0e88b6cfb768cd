"""OAuth2 client-credentials token endpoint and identity."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Header, HTTPException
from fastapi.concurrency import run_in_threadpool

from offtake.service.deps import ActorDep, StateDep
from offtake.service.domain.clients import authenticate
from offtake.service.schemas import Me, Token

router = APIRouter(tags=["auth"])


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, pw = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, pw


@router.post("/auth/token", response_model=Token, summary="Client-credentials token")
async def token(state: StateDep,
                grant_type: Annotated[str, Form(max_length=64)],
                client_id: Annotated[str | None, Form(max_length=64)] = None,
                client_secret: Annotated[str | None, Form(max_length=200)] = None,
                scope: Annotated[str, Form(max_length=500)] = "",
                authorization: Annotated[str | None, Header()] = None) -> Token:
    """RFC 6749 §4.4: credentials in the form body or HTTP Basic; returns a JWT (HS256)."""
    if grant_type != "client_credentials":
        raise HTTPException(400, "unsupported grant_type: only client_credentials is supported")
    basic = _basic(authorization)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise HTTPException(400, "client_id and client_secret are required")

    def run() -> str:
        with state.sessions() as session:
            return authenticate(session, client_id=client_id, client_secret=client_secret,
                                key=state.signing_key, ttl_s=state.settings.token_ttl_s,
                                issuer=state.settings.token_issuer, scope=scope)

    access = await run_in_threadpool(run)
    return Token(access_token=access, expires_in=state.settings.token_ttl_s, scope=scope)


@router.get("/api/v1/me", response_model=Me, summary="Who am I")
def me(actor: ActorDep) -> Me:
    return Me(client_id=actor.client_id, roles=sorted(actor.roles))
