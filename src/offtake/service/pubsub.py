"""Setpoint push: an in-process hub of WebSocket subscribers plus a cross-process fan-out.

Domain code calls :func:`stage` with the setpoint messages it wrote; they are delivered
only if the transaction commits:

* ``memory`` mode: an ``after_commit`` hook hands them to this process's :class:`Hub`.
* ``postgres`` mode: ``pg_notify`` runs inside the transaction (PostgreSQL delivers it at
  commit); a listener thread in every worker receives it and feeds its own hub, so an
  agent connected to any worker hears a change made by any other.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import defaultdict
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

Message = dict[str, Any]
_ALL = "*"
_NOTIFY_BYTES = 7000  # PostgreSQL's payload limit is 8000 bytes


class Hub:
    """Subscribers of this process, each an ``asyncio.Queue`` of setpoint messages."""

    def __init__(self, queue_size: int = 256, all_sites_queue_size: int = 100_000) -> None:
        self._subs: dict[str, set[asyncio.Queue[Message]]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue_size = queue_size
        # an all-sites stream must hold a whole emergency (one message per site)
        self._all_queue_size = all_sites_queue_size

    def bind_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop

    def subscribe(self, site_id: str | None) -> asyncio.Queue[Message]:
        """Queue receiving messages for ``site_id`` (every site when None)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        q: asyncio.Queue[Message] = asyncio.Queue(
            self._queue_size if site_id else self._all_queue_size)
        self._subs[site_id or _ALL].add(q)
        return q

    def unsubscribe(self, site_id: str | None, q: asyncio.Queue[Message]) -> None:
        key = site_id or _ALL
        self._subs[key].discard(q)
        if not self._subs[key]:
            self._subs.pop(key, None)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    def publish_threadsafe(self, messages: list[Message]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or not messages:
            return
        try:
            loop.call_soon_threadsafe(self.dispatch, messages)
        except RuntimeError:  # loop shutting down
            pass

    def dispatch(self, messages: list[Message]) -> None:
        """Put each message on its site's queues and the all-sites queues (event loop only)."""
        everyone = self._subs.get(_ALL, set())
        for msg in messages:
            for q in (*self._subs.get(msg["site_id"], ()), *everyone):
                if q.full():  # a slow consumer keeps only the newest messages
                    try:
                        q.get_nowait()
                    except asyncio.QueueEmpty:
                        pass
                q.put_nowait(msg)


class Broker:
    """How staged messages leave a transaction: ``memory`` or ``postgres``."""

    def __init__(self, hub: Hub, mode: str, channel: str, conninfo: str | None = None) -> None:
        self.hub, self.mode, self.channel, self.conninfo = hub, mode, channel, conninfo
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    def start(self) -> None:
        if self.mode == "postgres" and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._listen, name="offtake-pg-listen",
                                            daemon=True)
            self._thread.start()
            self.ready.wait(10)
        else:
            self.ready.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f'LISTEN "{self.channel}"')
                    self.ready.set()
                    while not self._stop.is_set():
                        # wakes every 50 ms to see stop(): an app's shutdown waits at most that
                        for note in conn.notifies(timeout=0.05):
                            self.hub.publish_threadsafe(json.loads(note.payload))
            except Exception:
                log.exception("setpoint listener lost its PostgreSQL connection; retrying")
                self._stop.wait(1.0)


def stage(session: Session, messages: list[Message]) -> None:
    """Send ``messages`` to subscribers once ``session`` commits (never if it rolls back)."""
    broker: Broker | None = session.info.get("broker")
    if broker is None or not messages:
        return
    if broker.mode == "postgres":
        params = [{"c": broker.channel, "p": chunk} for chunk in _chunks(messages)]
        session.execute(text("SELECT pg_notify(:c, :p)"), params)
    else:
        session.info.setdefault("pending_push", []).extend(messages)


def _chunks(messages: list[Message]) -> list[str]:
    out: list[str] = []
    batch: list[str] = []
    size = 2
    for msg in messages:
        item = json.dumps(msg, separators=(",", ":"))
        if batch and size + len(item) + 1 > _NOTIFY_BYTES:
            out.append("[" + ",".join(batch) + "]")
            batch, size = [], 2
        batch.append(item)
        size += len(item) + 1
    if batch:
        out.append("[" + ",".join(batch) + "]")
    return out


@event.listens_for(Session, "after_commit")
def _push_after_commit(session: Session) -> None:
    pending = session.info.pop("pending_push", None)
    broker: Broker | None = session.info.get("broker")
    if pending and broker is not None:
        broker.hub.publish_threadsafe(pending)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop("pending_push", None)
