"""Database plumbing: engine, sessions, a UTC timestamp type and migrations.

SQLite (the default) and PostgreSQL are both supported; the schema is created only
by Alembic (``run_migrations``), never by ``metadata.create_all``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from offtake.service.settings import Settings


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime stored as UTC; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every time must carry a UTC offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(settings: Settings) -> Engine:
    """Build the engine; SQLite gets WAL mode and a busy timeout so threads can share it."""
    url = settings.database_url
    if url.startswith("sqlite"):
        from offtake.service.keystore import prepare_sqlite_file

        prepare_sqlite_file(url)  # created 0600 here, before SQLite creates it 0644
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # no pre-ping (it costs a round trip per request); recycle instead, and a request
    # that meets a dead connection after a database restart fails once and is retried
    return create_engine(url, pool_size=settings.db_pool_size,
                         max_overflow=settings.db_max_overflow, pool_recycle=1800)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrations_path() -> str:
    return str(resources.files("offtake.service") / "migrations")


_PG_MIGRATION_LOCK = 764_201_311  # arbitrary advisory-lock key for "schema migration"


def run_migrations(engine: Engine, revision: str = "head") -> None:
    """``alembic upgrade head`` on ``engine``; safe when several workers start at once."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", migrations_path())
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


_SQLITE_WRITE_LOCK = threading.RLock()
_PG_SETPOINT_LOCK = 764_201_312


@contextmanager
def setpoint_write_lock(session: Session) -> Iterator[None]:
    """Serialise writers of setpoints (seq numbers must not race).

    PostgreSQL: a transaction-scoped advisory lock (held until commit, across workers).
    SQLite: a process-wide lock held for the block (the caller commits inside it).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SETPOINT_LOCK})
        yield
    else:
        with _SQLITE_WRITE_LOCK:
            yield


def try_setpoint_lock(session: Session) -> bool:
    """Non-blocking variant for background ticks: False if another process holds it."""
    if session.get_bind().dialect.name == "postgresql":
        got = session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                              {"k": _PG_SETPOINT_LOCK}).scalar_one()
        return bool(got)
    return True


_PG_BILLING_LOCK = 764_201_313
_SQLITE_BILLING_LOCK = threading.RLock()


@contextmanager
def billing_lock(session: Session, *, exclusive: bool) -> Iterator[None]:
    """Meter intake (shared) against invoice issue (exclusive), so no reading slips into a
    month while it is being invoiced.  The caller commits inside the block."""
    if session.get_bind().dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        session.execute(text(f"SELECT {fn}(:k)"), {"k": _PG_BILLING_LOCK})
        yield
    else:
        with _SQLITE_BILLING_LOCK:
            yield
