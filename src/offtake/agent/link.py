"""Client side of docs/service-contract.md: token, setpoint (poll + WebSocket push),
meter readings and site events.  Also measures clock skew against the service's
``Date`` header, and validates every setpoint message before the agent sees it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from offtake.agent.config import ServiceConfig
from offtake.errors import OfftakeError


class LinkError(OfftakeError):
    """The service could not be reached or answered with an error."""


class AuthError(LinkError):
    """The service refused the agent's credentials or its token."""

    exit_code = 2


class SetpointError(OfftakeError):
    """A setpoint message that breaks the contract (rejected; the last valid one stays)."""


class Setpoint(BaseModel):
    """One setpoint as the contract defines it; power in MW, times tz-aware."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    site_id: str
    setpoint_mw: float = Field(ge=0)
    seq: int = Field(ge=0)
    reason: str = "allocation"
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    issued_at: datetime | None = None

    @field_validator("setpoint_mw")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number of MW")
        return v

    @field_validator("valid_from", "valid_until", "issued_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("time must carry a UTC offset")
        return v


def parse_setpoint(raw: str | bytes | dict[str, Any], site_id: str) -> Setpoint:
    """Validate a setpoint message; raise :class:`SetpointError` naming what is wrong."""
    try:
        data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except ValueError as exc:
        raise SetpointError(f"setpoint message is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SetpointError("setpoint message is not a JSON object")
    try:
        sp = Setpoint.model_validate(data)
    except ValidationError as exc:
        what = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            + ("" if isinstance(e.get("input"), dict) else f" (got {e.get('input')!r})")
            for e in exc.errors())
        raise SetpointError(f"malformed setpoint ({what})") from None
    if sp.site_id != site_id:
        raise SetpointError(f"setpoint is for site {sp.site_id!r}, this agent runs {site_id!r}")
    if sp.valid_from and sp.valid_until and sp.valid_until <= sp.valid_from:
        raise SetpointError("setpoint valid_until is not after valid_from")
    return sp



def skew_from_date(server_s: float, local_s: float) -> float:
    """Service clock minus local clock [s] from an HTTP ``Date`` header (whole seconds, truncated):
    the service's time lies in [server_s, server_s + 1), so the estimate is its midpoint, and a
    difference within that resolution is no evidence of skew (0; before this, a same-machine agent
    shifted its clock by up to 1 s and stamped readings before the setpoints they answered)."""
    skew = server_s + 0.5 - local_s
    return 0.0 if abs(skew) <= 1.0 else skew

class ServiceLink:
    """HTTP + WebSocket client for one site; every success updates ``last_ok`` (monotonic)."""

    def __init__(self, cfg: ServiceConfig, site_id: str,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.cfg = cfg
        self.site_id = site_id
        self.base = cfg.url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base, timeout=cfg.request_timeout_s,
                                       transport=transport)
        self._token: str | None = None
        self._token_until = 0.0
        self.last_ok: float | None = None
        self.skew_s: float | None = None   # service clock minus local clock [s]

    def _seen(self, resp: httpx.Response) -> None:
        self.last_ok = time.monotonic()
        date = resp.headers.get("date")
        if date:
            try:
                server = parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError):
                return
            self.skew_s = skew_from_date(server, time.time())

    async def token(self) -> str:
        if self._token and time.monotonic() < self._token_until:
            return self._token
        try:
            resp = await self._http.post("/auth/token", data={
                "grant_type": "client_credentials", "client_id": self.cfg.client_id,
                "client_secret": self.cfg.secret()})
        except httpx.HTTPError as exc:
            raise LinkError(f"service {self.base} unreachable: {exc!r}") from None
        if resp.status_code in (400, 401, 403):
            raise AuthError(f"service refused the credentials of client {self.cfg.client_id!r}"
                            f" (HTTP {resp.status_code}): check service.client_id/secret")
        if resp.status_code != 200:
            raise LinkError(f"token request failed: HTTP {resp.status_code}")
        self._seen(resp)
        body = resp.json()
        self._token = str(body["access_token"])
        self._token_until = time.monotonic() + 0.8 * float(body.get("expires_in", 3600))
        return self._token

    async def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self.token()}"}
            try:
                resp = await self._http.request(method, path, headers=headers, **kw)
            except httpx.HTTPError as exc:
                raise LinkError(f"service {self.base} unreachable: {exc!r}") from None
            if resp.status_code == 401 and attempt == 1:
                self._token = None   # expired or the service restarted with a new key
                continue
            if resp.status_code >= 400:
                raise LinkError(f"{method} {path}: HTTP {resp.status_code} {resp.text[:200]}")
            self._seen(resp)
            return resp
        raise AuthError(f"service rejects the agent's token for {path}")

    async def get_setpoint(self) -> dict[str, Any]:
        resp = await self._call("GET", f"/api/v1/sites/{self.site_id}/setpoint")
        return dict(resp.json())

    async def post_readings(self, readings: list[dict[str, Any]]) -> tuple[int, int]:
        resp = await self._call("POST", "/api/v1/meter-readings", json={"readings": readings})
        body = resp.json()
        return int(body.get("accepted", 0)), int(body.get("duplicates", 0))

    async def post_event(self, event: dict[str, Any]) -> None:
        await self._call("POST", f"/api/v1/sites/{self.site_id}/events", json=event)

    async def setpoint_stream(self, ping_s: float) -> AsyncIterator[str]:
        """Yield raw setpoint messages from the push WebSocket until it closes."""
        import websockets

        # the token goes in a header, never in the URL (URLs end up in logs)
        url = self.base.replace("http", "ws", 1) + f"/api/v1/sites/{self.site_id}/setpoints/ws"
        headers = {"Authorization": f"Bearer {await self.token()}"}
        async with websockets.connect(url, additional_headers=headers, ping_interval=ping_s,
                                      ping_timeout=ping_s,
                                      open_timeout=self.cfg.request_timeout_s) as ws:
            async for msg in ws:
                self.last_ok = time.monotonic()
                yield msg if isinstance(msg, str) else msg.decode("utf-8", errors="replace")

    async def close(self) -> None:
        await self._http.aclose()
