"""The FastAPI application factory.

``create_app(settings)`` migrates the database (``alembic upgrade head``), seeds the
regions, and includes the routers.  Extra route modules (OpenADR 3, dashboard) add
themselves in :func:`_include_routers` below; they find everything they need on
``app.state.offtake`` (a :class:`~offtake.service.deps.ServiceState`) or through the
dependencies in :mod:`offtake.service.deps`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from offtake.service.access import ClientCache
from offtake.service.db import make_engine, make_session_factory, run_migrations
from offtake.service.deps import ServiceState
from offtake.service.logredact import install_log_redaction
from offtake.service.problems import install_openapi, install_problem_handlers
from offtake.service.pubsub import Broker, Hub
from offtake.service.ratelimit import LoginGuard, TokenThrottle
from offtake.service.security import Principal, Role
from offtake.service.settings import Settings

log = logging.getLogger(__name__)

#: optional router modules owned by other parts of the service; each defines ``router``
OPTIONAL_ROUTERS = ("offtake.service.openadr.routes", "offtake.service.dashboard.routes")
SCHEDULER = Principal(client_id="scheduler", roles=frozenset({Role.GRID_OPERATOR}))


def build_state(settings: Settings) -> ServiceState:
    """Engine, migrated schema, seeded regions, signing key, push hub and broker."""
    from offtake.service.domain.clients import signing_key
    from offtake.service.domain.regions import ensure_regions
    from offtake.service.keystore import check_database_key, read_key_file

    key_from_config = settings.secret_key
    if key_from_config is None and settings.secret_key_file is not None:
        key_from_config = read_key_file(settings.secret_key_file)
    engine = make_engine(settings)
    if key_from_config is None:
        check_database_key(settings.database_url)
    if settings.migrate_on_start:
        run_migrations(engine)
    mode = settings.pubsub
    if mode == "auto":
        mode = "postgres" if engine.dialect.name == "postgresql" else "memory"
    conninfo = None
    if mode == "postgres":
        if engine.dialect.name != "postgresql":
            from offtake.errors import InputError

            raise InputError("OFFTAKE_PUBSUB=postgres needs a PostgreSQL OFFTAKE_DATABASE_URL")
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    hub = Hub()
    broker = Broker(hub, mode, settings.pubsub_channel, conninfo)
    sessions = make_session_factory(engine)
    clients = ClientCache(ttl_s=settings.client_cache_s)
    guard = LoginGuard(max_per_client=settings.login_max_failures_per_client,
                       max_per_address=settings.login_max_failures_per_address,
                       window_s=settings.login_window_s, lock_s=settings.login_lock_s,
                       concurrency=settings.login_concurrency)
    sessions.configure(info={"broker": broker, "client_cache": clients, "login_guard": guard})
    with sessions() as session:
        ensure_regions(session)
        key = key_from_config or signing_key(session)
    return ServiceState(settings=settings, engine=engine, sessions=sessions, hub=hub,
                        broker=broker, signing_key=key, clients=clients, login_guard=guard)


async def _allocation_ticker(state: ServiceState) -> None:
    """Re-run allocation periodically so forecast intervals take effect when they start."""
    from offtake.service.domain.setpoints import run_allocation

    def tick() -> None:
        with state.sessions() as session:
            run_allocation(session, actor=SCHEDULER)

    while True:
        await asyncio.sleep(state.settings.allocation_tick_s)
        try:
            await run_in_threadpool(tick)
        except Exception:
            log.exception("scheduled allocation failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service.  ``settings`` None reads ``OFFTAKE_*`` from the environment."""
    settings = settings or Settings()
    state = build_state(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.hub.bind_loop(asyncio.get_running_loop())
        await run_in_threadpool(state.broker.start)
        ticker = (asyncio.create_task(_allocation_ticker(state))
                  if settings.allocation_tick_s > 0 else None)
        try:
            yield
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            await run_in_threadpool(state.broker.stop)
            state.hub.bind_loop(None)

    app = FastAPI(
        title="Offtake operations service",
        version="1.0",
        description="Sites, surplus signals, setpoints, metering and billing for flexible "
                    "loads on surplus power. Authenticate with OAuth2 client credentials at "
                    "/auth/token. Errors are RFC 7807 problem details.",
        lifespan=lifespan)
    app.state.offtake = state
    app.add_middleware(TokenThrottle, guard=state.login_guard)
    install_log_redaction()
    install_problem_handlers(app)
    _include_routers(app)
    install_openapi(app)
    return app


def _include_routers(app: FastAPI) -> None:
    from offtake.service.routes import admin, auth, billing, operations, prices, push, sites

    @app.get("/healthz", tags=["meta"], summary="Liveness")
    async def healthz() -> dict[str, str]:  # on the event loop: no thread-pool wait
        return {"status": "ok"}

    for module in (auth, admin, sites, operations, prices, billing, push):
        app.include_router(module.router)
    for name in OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that part is not there (yet)
            log.exception("optional routes %s failed to import; serving without them", name)
            continue
        except Exception:
            log.exception("optional routes %s failed to import; serving without them", name)
            continue
        app.include_router(module.router)
