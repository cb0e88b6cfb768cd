"""Webhook notifications for OpenADR 3 subscriptions (best effort, with retries).

When a site's setpoint changes, its event changes (``PUT``; ``POST`` for the first
setpoint), and every subscription to ``EVENT`` objects of that event's program whose
owner may read the site gets a :class:`~offtake.service.openadr.schemas.Notification`
at its ``callbackUrl``.  Each (subscription, event, seq) is claimed in
```oadr_deliveries`` before it is sent, so with several workers exactly one sends it;
a failed POST is retried with exponential back-off, then marked ``failed``.

A subscription hears only setpoint changes committed after it was created: it stores
the highest ``setpoints.setpoint_id`` of its creation (:data:`AFTER_SETPOINT` in its
body) and older setpoint versions are not announced to it, however late the watcher
scans them.  (Setpoint ids rise in commit order, so nothing newer is missed.)
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from offtake.errors import InputError
from offtake.service.domain.common import now
from offtake.service.models import Client
from offtake.service.openadr import callbacks
from offtake.service.openadr import schemas as oa
from offtake.service.openadr.store import OadrDelivery, OadrSubscription
from offtake.service.security import READERS_ALL, parse_roles

log = logging.getLogger(__name__)
#: key in a subscription's stored body: the newest setpoint id when it was created
AFTER_SETPOINT = "_after_setpoint"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay_s: float = 0.5
    timeout_s: float = 5.0


@dataclass(frozen=True)
class Change:
    """One changed object to announce."""

    object_type: oa.ObjectType
    operation: oa.Operation
    program_id: str
    key: str  # unique per version of the object, e.g. EVENT:setpoint-s1:42
    body: dict[str, object]
    owner_client_id: str  # who owns the object (site owner, report author)
    targets: list[oa.ValuesMap] | None = None
    body31: dict[str, object] | None = None  # the object as 3.1.0 serves it
    targets31: list[str] | None = None
    #: VEN client ids the object is aimed at beyond its owner (None: every VEN)
    audience: frozenset[str] | None = frozenset()
    #: for a setpoint event: the id of the newest setpoint row it announces (subscriptions
    #: created after that row was committed do not hear it)
    setpoint_id: int | None = None

    def payload(self, version: str) -> dict[str, object]:
        """The notification body for a subscriber of ``version``."""
        if version == "3.1.0":
            op = oa.CANONICAL_OPERATION_31.get(self.operation, self.operation)
            out: dict[str, object] = {"objectType": str(self.object_type), "operation": str(op),
                                      "object": self.body31 or self.body}
            if self.targets31:
                out["targets"] = self.targets31
            return out
        op = oa.CANONICAL_OPERATION.get(self.operation, self.operation)
        note = oa.Notification(object_type=self.object_type, operation=op, object=self.body,
                               targets=self.targets)
        return note.model_dump(mode="json", by_alias=True, exclude_none=True)


def _targets_match(sub_targets: list[oa.ValuesMap] | None,
                   obj_targets: list[oa.ValuesMap] | None) -> bool:
    """A subscription with targets hears only objects sharing a value for each type."""
    if not sub_targets:
        return True
    have: dict[str, set[object]] = {}
    for t in obj_targets or []:
        have.setdefault(t.type, set()).update(map(str, t.values))
    return all(have.get(t.type, set()) & set(map(str, t.values)) for t in sub_targets)


def matching(subs: Iterable[OadrSubscription], change: Change,
             readers_all: set[str]) -> list[tuple[str, str, str | None, str]]:
    """(subscription id, callback URL, bearer token, version) for every operation that
    wants it.

    ``readers_all``: client ids whose roles read every site; anyone else hears only
    about objects it owns.
    """
    out: list[tuple[str, str, str | None, str]] = []
    want_op = oa.CANONICAL_OPERATION.get(change.operation, change.operation)
    for sub in subs:
        if sub.program_id and sub.program_id != change.program_id:
            continue
        if sub.owner_client_id not in readers_all and sub.owner_client_id != change.owner_client_id \
                and not _addressed(change, sub.owner_client_id):
            continue
        raw = json.loads(sub.body)
        if change.setpoint_id is not None and change.setpoint_id <= int(raw.get(AFTER_SETPOINT, 0)):
            continue  # the subscription was made after this setpoint (it reads it by GET)
        version = raw.get("_version", "3.0.1")
        if version == "3.1.0":
            spec31 = oa.SubscriptionIn31.model_validate(raw)
            if spec31.targets and not set(spec31.targets) <= set(change.targets31 or []):
                continue
            ops_list = spec31.object_operations
        else:
            spec = oa.SubscriptionIn.model_validate(raw)
            if not _targets_match(spec.targets, change.targets):
                continue
            ops_list = spec.object_operations
        for op in ops_list:
            ops = {oa.CANONICAL_OPERATION.get(o, o) for o in op.operations}
            if change.object_type in op.objects and want_op in ops:
                out.append((sub.subscription_id, op.callback_url, op.bearer_token, version))
    return out


def _addressed(change: Change, client_id: str) -> bool:
    """An object aimed at ``client_id`` (its sites, its name, their regions) or at all."""
    return change.audience is None or client_id in change.audience


class Notifier:
    """Claims and sends notifications from the event loop, never blocking a request."""

    def __init__(self, session_factory: sessionmaker[Session],
                 policy: RetryPolicy | None = None) -> None:
        self._sessions = session_factory
        self.policy = policy or RetryPolicy()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def drain(self) -> None:
        """Wait until every delivery started so far has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def announce(self, changes: list[Change]) -> int:
        """Claim deliveries for ``changes`` and send them in the background; returns how
        many were claimed by this process."""
        claimed = await asyncio.to_thread(self.claim, changes)
        for delivery_id, url, token, payload in claimed:
            task = asyncio.get_running_loop().create_task(
                self._send(delivery_id, url, token, payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    def claim(self, changes: list[Change]) -> list[tuple[int, str, str | None, dict[str, object]]]:
        """Insert one pending delivery row per (subscription, change) not yet claimed."""
        claimed: list[tuple[int, str, str | None, dict[str, object]]] = []
        if not changes:
            return claimed
        with self._sessions() as session:
            pg = session.get_bind().dialect.name == "postgresql"
            insert = postgresql.insert if pg else sqlite.insert
            subs = list(session.scalars(select(OadrSubscription).where(
                OadrSubscription.program_id.in_({c.program_id for c in changes} | {""}))))
            if not subs:
                return claimed
            owners = {s.owner_client_id for s in subs}
            readers_all = {c.client_id for c in session.scalars(
                select(Client).where(Client.client_id.in_(owners)))
                if parse_roles(c.roles) & READERS_ALL}
            for change in changes:
                for sub_id, url, token, version in matching(subs, change, readers_all):
                    payload = change.payload(version)
                    stmt = insert(OadrDelivery).values(
                        subscription_id=sub_id, object_key=change.key, status="pending",
                        attempts=0, last_error="", created_at=now(),
                    ).on_conflict_do_nothing().returning(OadrDelivery.delivery_id)
                    delivery_id = session.scalar(stmt)
                    if delivery_id is not None:  # None: another worker claimed it
                        claimed.append((delivery_id, url, token, payload))
            session.commit()
        return claimed

    async def _send(self, delivery_id: int, url: str, token: str | None,
                    payload: dict[str, object]) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=min(self.policy.timeout_s,
                                                         callbacks.TIMEOUT_S),
                                             follow_redirects=False)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        delay_s, error = self.policy.first_delay_s, ""
        attempts = 0
        for attempts in range(1, self.policy.attempts + 1):
            try:
                await asyncio.to_thread(callbacks.check_url, url)  # re-resolve: no rebinding
            except InputError as exc:
                error = f"refused: {exc.message}"
                break
            try:
                async with asyncio.timeout(callbacks.TIMEOUT_S):
                    async with self._client.stream("POST", url, json=payload,
                                                   headers=headers) as resp:
                        got = 0
                        async for chunk in resp.aiter_bytes():
                            got += len(chunk)
                            if got > callbacks.MAX_RESPONSE_BYTES:
                                break
                if 200 <= resp.status_code < 300:
                    error = ""
                    break
                error = f"HTTP {resp.status_code}"
                if 300 <= resp.status_code < 400:
                    error += " (redirects are not followed)"
                    break
            except (httpx.HTTPError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempts < self.policy.attempts:
                await asyncio.sleep(delay_s)
                delay_s *= 2
        await asyncio.to_thread(self._record, delivery_id, attempts, error)
        if error:
            log.warning("OpenADR notification to %s failed after %d attempts: %s",
                        url, attempts, error)

    def _record(self, delivery_id: int, attempts: int, error: str) -> None:
        with self._sessions() as session:
            row = session.get(OadrDelivery, delivery_id)
            if row is not None:
                row.attempts, row.last_error = attempts, error[:2000]
                row.status = "failed" if error else "delivered"
                session.commit()
