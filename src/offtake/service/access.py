"""Per-request checks of a token against its client, with a short, bounded cache.

A signed token is not enough: its client must still exist, be active, hold every role
the token names, and the token must carry the client's current ``token_gen`` (bumped
by revocation, by a role change and by deactivation).  The clients table is read at
most once per client every ``ttl_s`` seconds per process; a change made through this
process invalidates its entry at once, other worker processes see it within ``ttl_s``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from offtake.service.models import Client
from offtake.service.security import AuthError, Principal, Role, parse_roles


@dataclass(frozen=True)
class ClientInfo:
    """What a request needs to know about a token's client."""

    active: bool
    roles: frozenset[Role]
    token_gen: int


_ABSENT = ClientInfo(active=False, roles=frozenset(), token_gen=-1)


class ClientCache:
    """``client_id -> ClientInfo`` (or 'no such client'), kept ``ttl_s`` seconds, at most
    ``max_entries`` clients (least recently used evicted first)."""

    def __init__(self, ttl_s: float = 5.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, ClientInfo]] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # database reads, for tests

    def cached(self, client_id: str) -> ClientInfo | None:
        """The cached entry, or None when it must be (re)loaded."""
        with self._lock:
            hit = self._data.get(client_id)
            if hit is None or hit[0] <= self._clock():
                return None
            self._data.move_to_end(client_id)
            return hit[1]

    def load(self, sessions: Callable[[], Session], client_id: str) -> ClientInfo:
        with sessions() as session:
            row = session.get(Client, client_id)
            info = _ABSENT if row is None else ClientInfo(
                active=bool(row.active), roles=parse_roles(row.roles),
                token_gen=int(row.token_gen or 0))
        with self._lock:
            self.loads += 1
            self._data[client_id] = (self._clock() + self.ttl_s, info)
            self._data.move_to_end(client_id)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return info

    def invalidate(self, client_id: str) -> None:
        with self._lock:
            self._data.pop(client_id, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def check_client(principal: Principal, info: ClientInfo) -> Principal:
    """Refuse (401) a token whose client is gone, inactive, revoked or lost a role."""
    if info is _ABSENT or info.token_gen < 0:
        raise AuthError("invalid access token: unknown client")
    if not info.active:
        raise AuthError("client is disabled: its tokens are no longer accepted")
    if principal.token_gen != info.token_gen:
        raise AuthError("access token revoked: request a new one at /auth/token")
    if not principal.roles <= info.roles:
        raise AuthError("access token names roles the client no longer has: request a new one")
    return principal


def invalidate(session: Session, client_id: str) -> None:
    """Drop ``client_id`` from the cache of the service this session belongs to."""
    cache = session.info.get("client_cache")
    if isinstance(cache, ClientCache):
        cache.invalidate(client_id)
