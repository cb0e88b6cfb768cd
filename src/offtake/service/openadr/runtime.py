"""Life cycle of the OpenADR layer: its tables, the watcher that turns setpoint
changes into notifications (webhooks and MQTT), and the schedule ticker that applies
stored events' limits at their start (:mod:`.schedule`).

The core's push hub wakes the watcher on every setpoint change; the watcher then reads
the ``setpoints`` rows written since the last one it saw (by ``setpoint_id``, which
rises in commit order because setpoint writers are serialised), so a burst larger than
the hub's queue (an emergency curtailment of thousands of sites) loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy import func, select

from offtake.service.deps import ServiceState
from offtake.service.domain.common import now
from offtake.service.models import Setpoint
from offtake.service.openadr import core, schedule, views
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
    mqtt: object | None = None  # MqttPublisher
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def announce(self, changes: list[Change]) -> None:
        if self.mqtt is not None:
            try:
                self.mqtt.publish(changes)  # type: ignore[attr-defined]
            except Exception:
                log.exception("OpenADR MQTT publish failed")
        await self.notifier.announce(changes)

    def post(self, change: Change) -> None:
        """Announce ``change`` from any thread (best effort); wake the schedule ticker."""
        def go() -> None:
            task = self.loop.create_task(self.announce([change]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            self.wake.set()

        with contextlib.suppress(RuntimeError):  # loop closed: shutting down
            self.loop.call_soon_threadsafe(go)

    def scan(self) -> list[Change]:
        """Event changes for every setpoint written since the last scan (worker thread)."""
        with self.state.sessions() as session:
            newest = session.scalar(select(func.max(Setpoint.setpoint_id))) or 0
            if newest <= self.watermark:
                return []
            has_subs = session.scalar(select(func.count()).select_from(OadrSubscription))
            if not has_subs and self.mqtt is None:
                self.watermark = newest
                return []
            rows = session.execute(
                select(Setpoint.site_id, func.max(Setpoint.setpoint_id))
                .where(Setpoint.setpoint_id > self.watermark, Setpoint.setpoint_id <= newest)
                .group_by(Setpoint.site_id)).tuples().all()
            newest_of = dict(rows)
            site_views = views.sites(session, actor=WATCHER, site_ids=list(newest_of),
                                     active_only=False)
        self.watermark = newest
        changes = []
        for site in site_views:
            obj = core.setpoint_event(site)
            changes.append(Change(
                object_type=oa.ObjectType.EVENT,
                operation=oa.Operation.POST if site.setpoint_seq <= 1 else oa.Operation.PUT,
                program_id=obj["programID"], key=f"EVENT:{obj['id']}:{site.setpoint_seq}",
                body=core.V301.out(obj), body31=core.V31.out(obj),
                owner_client_id=site.owner_client_id,
                targets=[oa.ValuesMap.model_validate(t) for t in obj["_t301"]],
                targets31=obj["targets"], audience=frozenset({site.owner_client_id}),
                setpoint_id=newest_of[site.site_id]))
        return changes

    def tick(self) -> float:
        """Apply due schedule slots (worker thread); seconds until the next boundary."""
        tick_s = float(os.environ.get("OFFTAKE_OPENADR_TICK_S", "5"))
        with self.state.sessions() as session:
            t = now()
            schedule.apply_due(session, at=t)
            nxt = schedule.next_boundary(session, t)
        if nxt is None:
            return tick_s
        return max(0.0, min(tick_s, (nxt - now()).total_seconds()))

    async def schedule_loop(self) -> None:
        while True:
            try:
                wait_s = await asyncio.to_thread(self.tick)
            except Exception:
                log.exception("OpenADR schedule tick failed")
                wait_s = 5.0
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=wait_s + 0.01)

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
                        await self.announce(changes)
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
    from offtake.service.openadr import mqtt

    url = mqtt.broker_url()
    if url is not None:
        try:
            rt.mqtt = mqtt.MqttPublisher(url)
        except Exception:
            log.exception("OpenADR MQTT binding unavailable (%s)", url)
    app.state.openadr = rt
    watcher = asyncio.create_task(rt.watch())
    ticker = asyncio.create_task(rt.schedule_loop())
    try:
        yield
    finally:
        for task in (watcher, ticker):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if rt.mqtt is not None:
            rt.mqtt.close()  # type: ignore[attr-defined]
        for task in list(rt.tasks):
            task.cancel()
        await rt.notifier.close()
        app.state.openadr = None
