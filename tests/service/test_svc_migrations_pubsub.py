"""Alembic migrations match the models; PostgreSQL NOTIFY fans setpoints out across apps."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from svc_support import SECRET, TestClient, reset_tables

from offtake.service.db import run_migrations
from offtake.service.models import Base


def test_migrations_match_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    run_migrations(engine)
    run_migrations(engine)  # a second upgrade is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_notify_reaches_another_app(pg_schema_url) -> None:  # type: ignore[no-untyped-def]
    """Two app instances (as two workers would be): a change on one is pushed by the other."""
    from offtake.service.app import create_app
    from offtake.service.security import Role, issue_token
    from offtake.service.settings import Settings

    channel = f"offtake_x_{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=pg_schema_url, secret_key=SECRET, allocation_tick_s=0,
                        pubsub_channel=channel)
    app_a, app_b = create_app(settings), create_app(settings)
    reset_tables(app_a)
    token = issue_token(client_id="g", roles={Role.GRID_OPERATOR}, key=SECRET, ttl_s=600)
    h = {"Authorization": f"Bearer {token}"}
    with app_a.state.offtake.sessions() as s:
        from offtake.service.domain.clients import create_client
        create_client(s, actor=None, name="o", roles=[Role.SITE_OPERATOR], client_id="o")
        create_client(s, actor=None, name="g", roles=[Role.GRID_OPERATOR], client_id="g")
    with TestClient(app_a) as a, TestClient(app_b) as b:
        r = a.post("/api/v1/sites", headers=h, json={
            "site_id": "x", "name": "x", "site_type": "ai_inference", "region_id": "KARACHI",
            "contracted_mw": 3, "interruptible_share": 0, "tariff_pkr_per_kwh": 23,
            "owner_client_id": "o"})
        assert r.status_code == 201
        with b.websocket_connect(f"/api/v1/sites/x/setpoints/ws?token={token}") as ws:
            assert ws.receive_json()["seq"] == 1
            assert a.post("/api/v1/emergency-curtailments", headers=h,
                          json={"reason": "cross-app"}).status_code == 201
            msg = ws.receive_json()
            assert (msg["seq"], msg["reason"]) == (2, "emergency")
    for app in (app_a, app_b):
        app.state.offtake.engine.dispose()


def test_bad_settings_refused() -> None:
    from offtake.service.settings import Settings

    with pytest.raises(ValueError, match="32 characters"):
        Settings(secret_key="short")
    with pytest.raises(ValueError, match="OFFTAKE_PUBSUB"):
        Settings(pubsub="carrier-pigeon")
