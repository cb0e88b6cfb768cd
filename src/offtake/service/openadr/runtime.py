"""Life cycle of the OpenADR layer: its tables, and the watcher that turns setpoint
changes into webhook notifications.

The core's push hub wakes the watcher on every setpoint change; the watcher then reads
the ``setpoints`` rows written since the last one it saw (by ``setpoint_id``, which
rises in commit order because setpoint writers are serialised), so a burst larger than
the hub's queue (an emergency curtailment of thousands of sites) loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy import func, select

from offtake.service.deps import ServiceState
from offtake.service.models import Setpoint
from offtake.service.openadr import mapping, views
from offtake.service.openadr import schemas as oa
from offtake.service.openadr.notify import Change, Notifier
from offtake.service.openadr.store import OadrSubscription, run_openadr_migrations
from offtake.service.security import Principal, Role

log = logging.getLogger(__name__)
WATCHER = Principal(client_id="openadr-watcher", roles=frozenset({Role.REGULATOR}))
_migrated: set[int] = set()
_migrate_lock = threading.Lock()


def ensure_tables(state: ServiceState) -> None:
    """Create/upgrade the OpenADR tables once per engine (cheap after the first call)."""
    key = id(state.engine)
    if key in _migrated:
        return
    with _migrate_lock:
        if key not in _migrated:
            run_openadr_migrations(state.engine)
            _migrated.add(key)


@dataclass
class OpenADRRuntime:
    state: ServiceState
    notifier: Notifier
    loop: asyncio.AbstractEventLoop
    watermark: int = 0
    tasks: set[asyncio.Task[object]] = field(default_factory=set)

    def post(self, change: Change) -> None:
        """Announce ``change`` from any thread (best effort)."""
        def go() -> None:
            task = self.loop.create_task(self.notifier.announce([change]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        with contextlib.suppress(RuntimeError):  # loop closed: shutting down
            self.loop.call_soon_threadsafe(go)

    def scan(self) -> list[Change]:
        """Event changes for every setpoint written since the last scan (worker thread)."""
        with self.state.sessions() as session:
            newest = session.scalar(select(func.max(Setpoint.setpoint_id))) or 0
            if newest <= self.watermark:
                return []
            has_subs = session.scalar(select(func.count()).select_from(OadrSubscription))
            if not has_subs:
                self.watermark = newest
                return []
            rows = session.execute(
                select(Setpoint.site_id, func.max(Setpoint.seq))
                .where(Setpoint.setpoint_id > self.watermark, Setpoint.setpoint_id <= newest)
                .group_by(Setpoint.site_id)).tuples().all()
            seqs = dict(rows)
            site_views = views.sites(session, actor=WATCHER, site_ids=list(seqs),
                                     active_only=False)
        self.watermark = newest
        changes = []
        for site in site_views:
            event = mapping.event_for_site(site)
            changes.append(Change(
                object_type=oa.ObjectType.EVENT,
                operation=oa.Operation.POST if site.setpoint_seq <= 1 else oa.Operation.PUT,
                program_id=event.program_id, key=f"EVENT:{event.id}:{site.setpoint_seq}",
                body=event.model_dump(mode="json", by_alias=True, exclude_none=True),
                owner_client_id=site.owner_client_id, targets=event.targets))
        return changes

    async def watch(self) -> None:
        queue = self.state.hub.subscribe(None)
        try:
            while True:
                await queue.get()
                while not queue.empty():  # one scan covers every queued message
                    queue.get_nowait()
                try:
                    changes = await asyncio.to_thread(self.scan)
                    if changes:
                        await self.notifier.announce(changes)
                except Exception:
                    log.exception("OpenADR event notifications failed")
        finally:
            self.state.hub.unsubscribe(None, queue)


def runtime(app: FastAPI) -> OpenADRRuntime | None:
    rt: OpenADRRuntime | None = getattr(app.state, "openadr", None)
    return rt


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Migrate the OpenADR tables, then run the setpoint watcher until shutdown."""
    state: ServiceState = app.state.offtake
    await asyncio.to_thread(ensure_tables, state)
    rt = OpenADRRuntime(state=state, notifier=Notifier(state.sessions),
                        loop=asyncio.get_running_loop())

    def start_mark() -> int:
        with state.sessions() as session:
            return session.scalar(select(func.max(Setpoint.setpoint_id))) or 0

    rt.watermark = await asyncio.to_thread(start_mark)
    app.state.openadr = rt
    watcher = asyncio.create_task(rt.watch())
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        for task in list(rt.tasks):
            task.cancel()
        await rt.notifier.close()
        app.state.openadr = None
