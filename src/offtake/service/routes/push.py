"""WebSocket push of setpoints (docs/service-contract.md).

The token comes in an ``Authorization: Bearer`` header, or (for browsers, which cannot
set headers) as the WebSocket subprotocols ``["offtake.bearer", "<token>"]`` (the server
selects ``offtake.bearer``); ``?token=`` still works for older clients but puts the
token in URLs, so it is redacted from the service's logs.  After the handshake the server sends the current setpoint, then every change.  Refusals close the
socket with 4401 (bad token), 4403 (not your site / wrong role) or 4404 (unknown site);
when the token expires the socket is closed with 4401 and the client reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from offtake.errors import NotFoundError, OfftakeError
from offtake.service.deps import ServiceState, principal_from_token_async
from offtake.service.domain import setpoints
from offtake.service.models import Setpoint, Site
from offtake.service.security import AuthError, ForbiddenError, Principal

router = APIRouter(prefix="/api/v1")


BEARER_SUBPROTOCOL = "offtake.bearer"


def _offered(ws: WebSocket) -> list[str]:
    raw = ws.headers.get("sec-websocket-protocol", "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def _token(ws: WebSocket) -> str | None:
    header = ws.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    offered = _offered(ws)
    if BEARER_SUBPROTOCOL in offered:
        rest = [p for p in offered if p != BEARER_SUBPROTOCOL]
        return rest[0] if rest else None
    return ws.query_params.get("token") or None


def _close_code(exc: OfftakeError) -> int:
    if isinstance(exc, AuthError):
        return 4401
    if isinstance(exc, ForbiddenError):
        return 4403
    if isinstance(exc, NotFoundError):
        return 4404
    return 4400


async def _serve(ws: WebSocket, site_id: str | None) -> None:
    state: ServiceState = ws.app.state.offtake
    await ws.accept(subprotocol=BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in _offered(ws)
                    else None)
    try:
        token = _token(ws)
        actor = await principal_from_token_async(state, token)
        if site_id is None and not actor.reads_all:
            raise ForbiddenError("the all-sites stream needs grid_operator, regulator or admin")
    except OfftakeError as exc:
        await ws.close(code=_close_code(exc), reason=exc.message[:120])
        return
    queue = state.hub.subscribe(site_id)  # subscribe before reading, so no change is missed
    try:
        try:
            current = await run_in_threadpool(_current, state, actor, site_id)
        except OfftakeError as exc:
            await ws.close(code=_close_code(exc), reason=exc.message[:120])
            return
        last: dict[str, int] = {}
        for msg in current:
            await ws.send_json(msg)
            last[str(msg["site_id"])] = int(msg["seq"])  # type: ignore[call-overload]
        receiver = asyncio.create_task(_drain(ws))
        try:
            recheck_s = max(1.0, state.settings.client_cache_s)
            getter: asyncio.Task | None = None  # type: ignore[type-arg]
            while not receiver.done():
                if getter is None:
                    getter = asyncio.create_task(queue.get())
                left_s = None if actor.expires_at is None else actor.expires_at - time.time()
                wait_s = recheck_s if left_s is None else max(0.0, min(left_s, recheck_s))
                done, _ = await asyncio.wait({getter, receiver}, timeout=wait_s,
                                             return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    if actor.expires_at is not None and actor.expires_at <= time.time():
                        getter.cancel()  # the client reconnects with a new token
                        await ws.close(code=4401, reason="access token expired")
                        break
                    try:  # the client may have been disabled or its tokens revoked
                        await principal_from_token_async(state, token)
                    except AuthError as exc:
                        getter.cancel()
                        await ws.close(code=4401, reason=exc.message[:120])
                        break
                    continue
                if getter not in done:
                    getter.cancel()
                    break
                msg = getter.result()
                getter = None
                if int(msg["seq"]) <= last.get(msg["site_id"], 0):
                    continue
                last[msg["site_id"]] = int(msg["seq"])
                await ws.send_json(msg)
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        state.hub.unsubscribe(site_id, queue)


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) client frames until it disconnects."""
    while True:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            return


def _current(state: ServiceState, actor: Principal, site_id: str | None) -> list[dict[str, object]]:
    with state.sessions() as session:
        if site_id is not None:
            return [setpoints.message(setpoints.current_setpoint(session, actor=actor,
                                                                 site_id=site_id))]
        rows = session.scalars(select(Setpoint).join(
            Site, (Site.site_id == Setpoint.site_id) & (Site.setpoint_seq == Setpoint.seq)))
        return [setpoints.message(r) for r in rows]


@router.websocket("/sites/{site_id}/setpoints/ws")
async def site_setpoints_ws(websocket: WebSocket, site_id: str) -> None:
    """Push one site's setpoints (owner site operator, or any reader of all sites)."""
    await _serve(websocket, site_id)


@router.websocket("/setpoints/ws")
async def all_setpoints_ws(websocket: WebSocket) -> None:
    """Push every site's setpoints (grid operator, regulator, admin)."""
    await _serve(websocket, None)
