"""Tables of the OpenADR 3 layer and their own Alembic history.

Programs, events, VENs and resources are views of the core tables (regions, sites,
clients, setpoints), so they need no storage.  What OpenADR adds is kept here:
the reports VENs post (as received, plus what they became), the subscriptions with
their webhooks, and one row per webhook delivery so several workers never send the
same notification twice.  The tables live in their own metadata with their own
version table (``alembic_version_openadr``) so this history never collides with the
core service's.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from sqlalchemy import Engine, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from offtake.service.db import UTCDateTime

VERSION_TABLE = "alembic_version_openadr"
_PG_MIGRATION_LOCK = 764_201_399  # advisory-lock key for "OpenADR schema migration"


class OadrBase(DeclarativeBase):
    pass


class OadrReport(OadrBase):
    """A report a VEN posted; ``body`` is its JSON as stored (spec shape)."""

    __tablename__ = "oadr_reports"
    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_client_id: Mapped[str] = mapped_column(String(64), index=True)
    client_name: Mapped[str] = mapped_column(String(128), index=True)
    program_id: Mapped[str] = mapped_column(String(128), index=True)
    event_id: Mapped[str] = mapped_column(String(128), index=True)
    body: Mapped[str] = mapped_column(Text)
    readings_accepted: Mapped[int] = mapped_column(Integer, default=0)
    readings_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OadrSubscription(OadrBase):
    """A webhook subscription; ``body`` holds clientName, programID, objectOperations."""

    __tablename__ = "oadr_subscriptions"
    subscription_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_client_id: Mapped[str] = mapped_column(String(64), index=True)
    client_name: Mapped[str] = mapped_column(String(128))
    program_id: Mapped[str] = mapped_column(String(128), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OadrDelivery(OadrBase):
    """One notification to one subscription; the unique key makes delivery once-only."""

    __tablename__ = "oadr_deliveries"
    delivery_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(300))  # e.g. EVENT:setpoint-s1:42
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (UniqueConstraint("subscription_id", "object_key",
                                       name="uq_oadr_delivery_sub_key"),)


def run_openadr_migrations(engine: Engine, revision: str = "head") -> None:
    """``alembic upgrade head`` for the OpenADR tables; safe with several workers."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location",
                        str(resources.files("offtake.service.openadr") / "migrations"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
