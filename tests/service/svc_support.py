"""Helpers shared by the service tests (importable: tests/service is on sys.path)."""

from __future__ import annotations

import os
import warnings

from sqlalchemy import MetaData, text

with warnings.catch_warnings():  # starlette warns about httpx on import
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PG_BASE = os.environ.get("OFFTAKE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "test-secret-key-that-is-long-enough-0123456789"
KEEP = {"regions", "service_config", "alembic_version", "alembic_version_openadr"}
_tables: dict[int, list[str]] = {}


def reset_tables(app) -> None:  # type: ignore[no-untyped-def]
    """Empty every table but the seeded ones (children first)."""
    engine = app.state.offtake.engine
    names = _tables.get(id(engine))
    if names is None:
        meta = MetaData()
        meta.reflect(engine)
        names = [t.name for t in reversed(meta.sorted_tables) if t.name not in KEEP]
        _tables[id(engine)] = names
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))


__all__ = ["PG_BASE", "SECRET", "TestClient", "reset_tables"]
