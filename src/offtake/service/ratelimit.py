"""Throttling of the token endpoints: failed logins per client and per address, and a
cap on concurrent secret checks.

Why: a client-secret check is an argon2id hash (64 MiB and ~50 ms of CPU each with the
library defaults), so unthrottled token requests are a cheap way to exhaust the
server's memory and CPU.  Three limits apply to every path ending in ``/auth/token``
(the core and the OpenADR 3 endpoint):

* **per address**: more than ``max_per_address`` failed logins from one client address
  within ``window_s`` locks that address out for ``lock_s`` (HTTP 429, answered before
  the body is read and before any hash is computed);
* **per client**: more than ``max_per_client`` failures for one ``client_id`` within
  ``window_s`` locks that client id for ``lock_s`` (HTTP 429, also with the right secret,
  so guessing cannot continue from many addresses);
* **concurrency**: at most ``concurrency`` token requests are processed at once; up to
  ``queue`` more wait on the event loop (no thread held), beyond that HTTP 429.

Memory is bounded: each table keeps at most ``max_keys`` entries (least recently seen
evicted first), a few hundred bytes each.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from offtake.errors import OfftakeError


class RateLimitedError(OfftakeError):
    """Too many failed logins or token requests (HTTP 429)."""

    exit_code = 2
    http_status = 429


@dataclass
class _Entry:
    window_start: float
    failures: int = 0
    locked_until: float = 0.0


class FailureTable:
    """Failures per key in a fixed window, lock-out after ``limit``; bounded LRU."""

    def __init__(self, *, limit: int, window_s: float, lock_s: float, max_keys: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.lock_s, self.max_keys = limit, window_s, lock_s, max_keys
        self._clock = clock
        self._data: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def locked_for_s(self, key: str) -> float:
        """Seconds ``key`` stays locked (0 when it is not)."""
        with self._lock:
            e = self._data.get(key)
            return 0.0 if e is None else max(0.0, e.locked_until - self._clock())

    def fail(self, key: str) -> bool:
        """Count a failure; True when this failure locked the key."""
        t = self._clock()
        with self._lock:
            e = self._data.get(key)
            if e is None or t - e.window_start > self.window_s:
                locked = e.locked_until if e is not None else 0.0
                e = _Entry(window_start=t, locked_until=locked)
                self._data[key] = e
            self._data.move_to_end(key)
            e.failures += 1
            newly = e.failures >= self.limit and e.locked_until <= t
            if newly:
                e.locked_until = t + self.lock_s
            while len(self._data) > self.max_keys:
                self._data.popitem(last=False)
            return newly

    def clear(self, key: str) -> None:
        with self._lock:
            e = self._data.get(key)
            if e is not None and e.locked_until <= self._clock():
                del self._data[key]

    def reset(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class LoginGuard:
    """The per-client and per-address failure tables of one service process."""

    def __init__(self, *, max_per_client: int = 10, max_per_address: int = 30,
                 window_s: float = 60.0, lock_s: float = 60.0, max_keys: int = 10_000,
                 concurrency: int = 4, queue: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clients = FailureTable(limit=max_per_client, window_s=window_s, lock_s=lock_s,
                                    max_keys=max_keys, clock=clock)
        self.addresses = FailureTable(limit=max_per_address, window_s=window_s, lock_s=lock_s,
                                      max_keys=max_keys, clock=clock)
        self.concurrency = concurrency
        self.queue = queue

    def check_client(self, client_id: str) -> None:
        left = self.clients.locked_for_s(client_id)
        if left > 0:
            raise RateLimitedError(f"too many failed logins for client '{client_id[:64]}': "
                                   f"try again in {left:.0f} s")

    def failed(self, client_id: str) -> None:
        self.clients.fail(client_id)

    def succeeded(self, client_id: str) -> None:
        self.clients.clear(client_id)

    def reset(self) -> None:
        self.clients.reset()
        self.addresses.reset()


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _too_many(detail: str, retry_after_s: float) -> tuple[dict[str, Any], dict[str, Any]]:
    body = json.dumps({"type": "about:blank", "title": "Too Many Requests", "status": 429,
                       "detail": detail}).encode()
    start = {"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"retry-after", str(max(1, int(retry_after_s + 0.999))).encode()),
        (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}


class TokenThrottle:
    """ASGI middleware applying :class:`LoginGuard` to every ``*/auth/token`` request."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]],
                 guard: LoginGuard) -> None:
        self.app = app
        self.guard = guard
        self._sem: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).endswith("/auth/token"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or ("unknown", 0)
        address = str(client[0])
        left = self.guard.addresses.locked_for_s(address)
        if left > 0:
            await self._refuse(send, f"too many failed logins from {address}: try again in "
                                     f"{left:.0f} s", left)
            return
        loop = asyncio.get_running_loop()
        if self._sem is None or self._loop is not loop:  # one semaphore per event loop
            self._sem, self._loop = asyncio.Semaphore(self.guard.concurrency), loop
        if self._sem.locked() and self._waiting >= self.guard.queue:
            await self._refuse(send, "too many token requests at once: retry shortly", 1.0)
            return
        status = [0]

        async def tap(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        self._waiting += 1
        try:
            await self._sem.acquire()
        finally:
            self._waiting -= 1
        try:
            await self.app(scope, receive, tap)
        finally:
            self._sem.release()
        if status[0] == 401:
            self.guard.addresses.fail(address)

    @staticmethod
    async def _refuse(send: Send, detail: str, retry_after_s: float) -> None:
        start, body = _too_many(detail, retry_after_s)
        await send(start)
        await send(body)
