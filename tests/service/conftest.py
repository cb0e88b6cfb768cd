"""Fixtures for the service tests: every app test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a fresh schema in database ``test`` (dropped at the end), so runs
are repeatable and can share the server with other test sessions.  Tables are emptied
before each test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from svc_support import PG_BASE, SECRET, TestClient, reset_tables

from offtake.service.app import create_app
from offtake.service.domain.clients import create_client
from offtake.service.security import Role, issue_token, set_hash_cost
from offtake.service.settings import Settings

set_hash_cost(time_cost=1, memory_cost_kib=1024)  # fast hashes in tests only


def _pg_available() -> bool:
    try:
        eng = create_engine(PG_BASE)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL schema for this test session (dropped afterwards)."""
    if not _pg_available():
        msg = f"PostgreSQL not reachable at {PG_BASE} (set OFFTAKE_TEST_PG or start it)"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true and a required component is missing: {msg}", pytrace=False)
        pytest.skip(msg)
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    eng = create_engine(PG_BASE)
    with eng.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    with eng.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    eng.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'service.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture(scope="session")
def settings(backend: str) -> Settings:
    return Settings(database_url=backend, secret_key=SECRET, allocation_tick_s=0,
                    pubsub_channel=f"offtake_test_{uuid.uuid4().hex[:8]}")


def reset_guards(app) -> None:  # type: ignore[no-untyped-def]
    """Forget cached clients and failed-login counts (tables were just emptied)."""
    state = app.state.offtake
    state.clients.clear()
    state.login_guard.reset()


@pytest.fixture(scope="session")
def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    yield application
    application.state.offtake.engine.dispose()


@pytest.fixture(scope="module")
def sandbox_clock_app(backend: str):  # type: ignore[no-untyped-def]
    """One module's service with the sandbox clock enabled (same database as the other modules);
    a module uses it by defining ``app`` as this fixture."""
    application = create_app(Settings(database_url=backend, secret_key=SECRET,
                                      allocation_tick_s=0, sandbox_clock=True,
                                      pubsub_channel=f"offtake_test_{uuid.uuid4().hex[:8]}"))
    yield application
    application.state.offtake.engine.dispose()


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    reset_tables(app)
    reset_guards(app)
    with TestClient(app) as c:
        yield c


@dataclass
class Actors:
    """Clients of every role with ready bearer headers."""

    app: object

    def token(self, client_id: str, *roles: Role, ttl_s: int = 600) -> str:
        """A token for ``client_id``, stored as a client with ``roles`` if it is not one
        yet (the service checks every token against the clients table)."""
        from offtake.service.models import Client

        state = self.app.state.offtake  # type: ignore[attr-defined]
        with state.sessions() as session:
            row = session.get(Client, client_id)
            if row is None:
                create_client(session, actor=None, name=client_id, roles=list(roles),
                              client_id=client_id)
                gen = 0
            else:
                gen = int(row.token_gen or 0)
        return issue_token(client_id=client_id, roles=set(roles), key=state.signing_key,
                           ttl_s=min(ttl_s, state.settings.token_ttl_s), gen=gen)

    def headers(self, client_id: str, *roles: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(client_id, *roles)}"}

    def make_client(self, client_id: str, *roles: Role) -> tuple[dict[str, str], str]:
        """Store a client (needed for site owners) and return (headers, secret)."""
        with self.app.state.offtake.sessions() as session:  # type: ignore[attr-defined]
            _c, secret = create_client(session, actor=None, name=client_id, roles=list(roles),
                                       client_id=client_id)
        return self.headers(client_id, *roles), secret


@pytest.fixture
def actors(client: TestClient, app) -> Actors:  # type: ignore[no-untyped-def]
    return Actors(app)


@pytest.fixture
def world(client: TestClient, actors: Actors) -> dict[str, dict[str, str]]:
    """Headers for: admin, grid (operator), regulator, op_a / op_b (site operators)."""
    h = {
        "admin": actors.headers("admin-1", Role.ADMIN),
        "grid": actors.headers("grid-1", Role.GRID_OPERATOR),
        "regulator": actors.headers("reg-1", Role.REGULATOR),
    }
    h["op_a"], _ = actors.make_client("op-a", Role.SITE_OPERATOR)
    h["op_b"], _ = actors.make_client("op-b", Role.SITE_OPERATOR)
    return h


SiteMaker = Callable[..., dict]


@pytest.fixture
def make_site(client: TestClient, world: dict[str, dict[str, str]]) -> SiteMaker:
    def make(site_id: str, *, owner: str = "op-a", region_id: str = "KP",
             contracted_mw: float = 10.0, interruptible_share: float = 0.5, priority: int = 1,
             tariff_pkr_per_kwh: float = 22.98, site_type: str = "mining") -> dict:
        r = client.post("/api/v1/sites", headers=world["grid"], json={
            "site_id": site_id, "name": site_id, "site_type": site_type,
            "region_id": region_id, "contracted_mw": contracted_mw,
            "interruptible_share": interruptible_share, "priority": priority,
            "tariff_pkr_per_kwh": tariff_pkr_per_kwh, "owner_client_id": owner})
        assert r.status_code == 201, r.text
        return r.json()

    return make
