"""Tables of the OpenADR 3 layer and their own Alembic history.

Offtake's own programs (one per region), its setpoint events (one per site), VENs and
resources are views of the core tables (regions, sites, clients, setpoints).  What
OpenADR adds is kept here: programs and events a business-logic (BL) client writes,
with each event's intervals flattened into schedule slots (so "what limit is in force
at t" and "when does the next one start" are indexed queries); the registrations VENs
post about themselves; the reports VENs post (as received, plus what they became); the
subscriptions with their webhooks; one row per webhook delivery and one per applied
schedule slot, so several workers never send a notification or apply a limit twice.  The tables live in their own metadata with their own
version table (``alembic_version_openadr``) so this history never collides with the
core service's.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from sqlalchemy import Boolean, Engine, Float, Integer, String, Text, UniqueConstraint, text
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


class OadrProgram(OadrBase):
    """A program a BL created; ``body`` is its JSON in the 3.1.0 shape (targets as strings)."""

    __tablename__ = "oadr_programs"
    program_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    program_name: Mapped[str] = mapped_column(String(128), unique=True)
    owner_client_id: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OadrEvent(OadrBase):
    """An event a BL created (any number per program, any number of intervals).

    ``body``: the event's JSON as accepted (3.1.0 shape, plus ``targets301`` when it came
    in the 3.0.1 shape).  ``sites``: the space-separated site ids it acts on (empty for an
    event without an ``IMPORT_CAPACITY_LIMIT``, and for Offtake's informational day-ahead
    schedules, ``kind`` "dayahead").  ``kind``: "bl" or "dayahead" or "price".
    """

    __tablename__ = "oadr_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    program_id: Mapped[str] = mapped_column(String(128), index=True)
    owner_client_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="bl")
    priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    targets: Mapped[str] = mapped_column(Text, default="")  # JSON list of 3.1 strings
    sites: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OadrSlot(OadrBase):
    """One interval of a stored event that carries an ``IMPORT_CAPACITY_LIMIT`` [MW]."""

    __tablename__ = "oadr_slots"
    slot_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    interval_id: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    limit_mw: Mapped[float] = mapped_column(Float)
    applies: Mapped[bool] = mapped_column(Boolean, default=True)


class OadrApplication(OadrBase):
    """A slot applied to a site (unique key: site|event|interval|event version)."""

    __tablename__ = "oadr_applications"
    application_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    site_id: Mapped[str] = mapped_column(String(128), index=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OadrVen(OadrBase):
    """What a VEN (or a BL for it) registered: attributes, and targets a BL assigned."""

    __tablename__ = "oadr_vens"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime)


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
