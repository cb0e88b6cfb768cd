"""SQLAlchemy 2 tables of the operations service.

Money is stored as integer paisa (1 PKR = 100 paisa) so the ledger balances exactly;
power in MW and energy in MWh as floats.  Times are UTC (:class:`UTCDateTime`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from offtake.service.db import UTCDateTime


class Base(DeclarativeBase):
    pass


class Client(Base):
    """An OAuth2 client (machine credential) with its roles."""

    __tablename__ = "clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated Role values
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # tokens carry the generation they were issued under; revocation bumps it
    token_gen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ServiceConfig(Base):
    """Key/value settings the service generates itself (e.g. the signing key)."""

    __tablename__ = "service_config"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Region(Base):
    __tablename__ = "regions"
    region_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Site(Base):
    """A flexible load: a mining site or an AI data centre, with its live setpoint state."""

    __tablename__ = "sites"
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    site_type: Mapped[str] = mapped_column(String(32))
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.region_id"), index=True)
    contracted_mw: Mapped[float] = mapped_column(Float)
    interruptible_share: Mapped[float] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer)
    tariff_pkr_per_kwh: Mapped[float] = mapped_column(Float)
    # "flat" (tariff_pkr_per_kwh) or "surplus_indexed" (region price + adder, floored);
    # see domain/pricing.py
    tariff_design: Mapped[str] = mapped_column(String(16), default="flat", server_default="flat")
    tariff_adder_pkr_per_kwh: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    tariff_floor_pkr_per_kwh: Mapped[float | None] = mapped_column(Float, nullable=True)
    owner_client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # live state, mirrored from the newest row of `setpoints`
    setpoint_seq: Mapped[int] = mapped_column(Integer, default=0)
    setpoint_mw: Mapped[float] = mapped_column(Float, default=0.0)


class SurplusSignal(Base):
    """Available MW for a region over an interval, posted by the grid operator."""

    __tablename__ = "surplus_signals"
    signal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.region_id"))
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_end: Mapped[datetime] = mapped_column(UTCDateTime)
    available_mw: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))  # forecast | actual
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    __table_args__ = (Index("ix_signal_region_time", "region_id", "interval_start", "interval_end"),)


class RegionPrice(Base):
    """Energy price for a region over a wall-clock interval [PKR/kWh], forecast or actual.

    Overlaps are allowed (as for surplus signals): the price in force at a moment is the
    newest ``actual`` covering it, else the newest ``forecast`` (see domain/prices.py).
    """

    __tablename__ = "region_prices"
    price_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.region_id"))
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_end: Mapped[datetime] = mapped_column(UTCDateTime)
    price_pkr_per_kwh: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))  # forecast | actual
    posted_by: Mapped[str] = mapped_column(String(64))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_price_region_time", "region_id", "interval_start", "interval_end"),)


class SimClock(Base):
    """The sandbox's simulated clock (one row, ``clock_id`` 1), used only when the service
    runs with ``OFFTAKE_SANDBOX_CLOCK=1``: sim = sim_origin + (wall - wall_origin) x speed."""

    __tablename__ = "sim_clock"
    clock_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wall_origin: Mapped[datetime] = mapped_column(UTCDateTime)
    sim_origin: Mapped[datetime] = mapped_column(UTCDateTime)
    speed: Mapped[float] = mapped_column(Float)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(64))


class Setpoint(Base):
    """Every setpoint ever issued; ``seq`` increases by one per site."""

    __tablename__ = "setpoints"
    setpoint_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"))
    seq: Mapped[int] = mapped_column(Integer)
    setpoint_mw: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("site_id", "seq", name="uq_setpoint_site_seq"),
                      Index("ix_setpoint_site_issued", "site_id", "issued_at"))


class Curtailment(Base):
    """An emergency curtailment: all sites (region_id NULL) or one region held at zero."""

    __tablename__ = "curtailments"
    curtailment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_id: Mapped[str | None] = mapped_column(ForeignKey("regions.region_id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class MeterReading(Base):
    """Energy a site drew over an interval; unique per reading_id and per (site, start)."""

    __tablename__ = "meter_readings"
    reading_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"))
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_end: Mapped[datetime] = mapped_column(UTCDateTime)
    energy_mwh: Mapped[float] = mapped_column(Float)
    mean_mw: Mapped[float] = mapped_column(Float)
    max_mw: Mapped[float] = mapped_column(Float)
    allowed_mw: Mapped[float] = mapped_column(Float)
    excess_mwh: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean)
    period: Mapped[str] = mapped_column(String(7))  # billing month YYYY-MM
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by: Mapped[str] = mapped_column(String(64))
    # metered after the fact (the agent was down) from the site meter's register
    reconstructed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    __table_args__ = (UniqueConstraint("site_id", "interval_start", name="uq_reading_site_start"),)


class LedgerEntry(Base):
    """Append-only double-entry ledger; the entries of one ``txn_id`` sum to zero."""

    __tablename__ = "ledger_entries"
    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(64), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"))
    account: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # energy | penalty
    period: Mapped[str] = mapped_column(String(7))
    energy_mwh: Mapped[float] = mapped_column(Float)
    amount_paisa: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reconstructed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # energy entries: the unit price charged [PKR/kWh] (time-weighted over the reading) and
    # where it came from: flat | actual | forecast | fallback | mixed; NULL on penalties
    price_pkr_per_kwh: Mapped[float | None] = mapped_column(Float, nullable=True)
    price_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    __table_args__ = (Index("ix_ledger_site_period", "site_id", "period"),)


class Invoice(Base):
    """A site's bill for one month; issuing it closes the month for that site."""

    __tablename__ = "invoices"
    invoice_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"))
    period: Mapped[str] = mapped_column(String(7))
    energy_mwh: Mapped[float] = mapped_column(Float)
    tariff_pkr_per_kwh: Mapped[float] = mapped_column(Float)
    tariff_design: Mapped[str] = mapped_column(String(16), default="flat", server_default="flat")
    energy_charge_paisa: Mapped[int] = mapped_column(BigInteger)
    penalty_paisa: Mapped[int] = mapped_column(BigInteger)
    total_paisa: Mapped[int] = mapped_column(BigInteger)
    readings: Mapped[int] = mapped_column(Integer)
    flagged_readings: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("site_id", "period", name="uq_invoice_site_period"),)


class SiteEvent(Base):
    """An event a site agent reported (fail-safe, trip, driver error...)."""

    __tablename__ = "site_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who changed what, when.  Append-only."""

    __tablename__ = "audit_log"
    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text)  # JSON
