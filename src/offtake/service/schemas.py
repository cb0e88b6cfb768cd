"""Pydantic request/response bodies of the HTTP API (tables live in ``models.py``).

Times are ISO 8601 with an offset (naive times are refused); power in MW, energy in
MWh, money in PKR.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from offtake.service.security import Role

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Text = Annotated[str, Field(max_length=2000)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteType(StrEnum):
    """One vocabulary with the scenario's flexible-load types (flex_loads.csv ``load_type``)."""

    BITCOIN_MINING = "bitcoin_mining"
    AI_TRAINING = "ai_training"
    AI_INFERENCE = "ai_inference"


#: old site-type names still accepted (deprecated; answered with the new name)
SITE_TYPE_ALIASES = {"mining": SiteType.BITCOIN_MINING}


def _site_type_alias(v: object) -> object:
    if isinstance(v, str) and v in SITE_TYPE_ALIASES:
        import logging

        logging.getLogger("offtake.service").warning(
            "site_type %r is deprecated; use %r", v, str(SITE_TYPE_ALIASES[v]))
        return SITE_TYPE_ALIASES[v]
    return v


SiteTypeIn = Annotated[SiteType, BeforeValidator(_site_type_alias)]


class SetpointReason(StrEnum):
    ALLOCATION = "allocation"
    EMERGENCY = "emergency"
    MANUAL = "manual"


class SignalKind(StrEnum):
    FORECAST = "forecast"
    ACTUAL = "actual"


class TariffDesign(StrEnum):
    """How a site's energy is priced (docs/service.md#tariff-designs-and-region-prices)."""

    FLAT = "flat"  # tariff_pkr_per_kwh
    SURPLUS_INDEXED = "surplus_indexed"  # region price in force + adder, never below the floor


#: a price or tariff [PKR/kWh]: finite, >= 0
PkrPerKwh = Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)]


class EventKind(StrEnum):
    FAILSAFE_ENTER = "failsafe_enter"
    FAILSAFE_EXIT = "failsafe_exit"
    UNDERFREQUENCY_TRIP = "underfrequency_trip"
    DRIVER_ERROR = "driver_error"
    CLOCK_SKEW = "clock_skew"


class Problem(BaseModel):
    """RFC 7807 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, object]] | None = None


class Token(Out):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    scope: str = ""


class ClientCreate(In):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    roles: Annotated[list[Role], Field(min_length=1, max_length=4)]
    client_id: Id | None = None


class ClientUpdate(In):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    roles: Annotated[list[Role], Field(min_length=1, max_length=4)] | None = None
    active: bool | None = None


class ClientPublic(Out):
    client_id: str
    name: str
    roles: list[Role]
    active: bool
    created_at: datetime


class ClientCreated(ClientPublic):
    client_secret: str = Field(description="shown once; store it now")


class Me(Out):
    client_id: str
    roles: list[Role]


class RegionPublic(Out):
    region_id: str
    name: str


class RegionStatus(Out):
    """A region now: surplus, allocation, contracts, curtailment (for dashboards)."""

    region_id: str
    name: str
    available_mw: float | None
    signal_kind: SignalKind | None
    allocated_mw: float
    contracted_mw: float
    sites: int
    curtailed: bool


class SiteCreate(In):
    site_id: Id | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    site_type: SiteTypeIn  # 'mining' still accepted (deprecated alias of 'bitcoin_mining')
    region_id: Id
    contracted_mw: Annotated[float, Field(gt=0, le=10_000)]
    interruptible_share: Annotated[float, Field(ge=0, le=1)]
    priority: Annotated[int, Field(ge=1, le=1000)] = 100
    tariff_pkr_per_kwh: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
    owner_client_id: Id
    tariff_design: TariffDesign = TariffDesign.FLAT
    tariff_adder_pkr_per_kwh: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False,
                                                     description="surplus_indexed only")] = 0.0
    tariff_floor_pkr_per_kwh: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False,
                                                     description="surplus_indexed only")] | None = None


class SiteUpdate(In):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    contracted_mw: Annotated[float, Field(gt=0, le=10_000)] | None = None
    interruptible_share: Annotated[float, Field(ge=0, le=1)] | None = None
    priority: Annotated[int, Field(ge=1, le=1000)] | None = None
    tariff_pkr_per_kwh: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] | None = None
    owner_client_id: Id | None = None
    active: bool | None = None
    tariff_design: TariffDesign | None = None
    tariff_adder_pkr_per_kwh: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] | None = None
    tariff_floor_pkr_per_kwh: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False,
                                                     description="0 disables the floor")] | None = None


class SitePublic(Out):
    site_id: str
    name: str
    site_type: SiteTypeIn  # rows stored before the rename say 'mining'
    region_id: str
    contracted_mw: float
    interruptible_share: float
    priority: int
    tariff_pkr_per_kwh: float
    tariff_design: TariffDesign = TariffDesign.FLAT
    tariff_adder_pkr_per_kwh: float = 0.0
    tariff_floor_pkr_per_kwh: float | None = None
    owner_client_id: str
    active: bool
    created_at: datetime
    setpoint_seq: int
    setpoint_mw: float


class SignalIn(In):
    region_id: Id
    interval_start: AwareDatetime
    interval_end: AwareDatetime
    available_mw: Annotated[float, Field(ge=0, le=100_000)]
    kind: SignalKind = SignalKind.FORECAST

    @model_validator(mode="after")
    def _ordered(self) -> SignalIn:
        if self.interval_end <= self.interval_start:
            raise ValueError("interval_end must be after interval_start")
        return self


class SignalsIn(In):
    signals: Annotated[list[SignalIn], Field(min_length=1, max_length=10_000)]


class SignalPublic(Out):
    signal_id: int
    region_id: str
    interval_start: datetime
    interval_end: datetime
    available_mw: float
    kind: SignalKind
    created_at: datetime
    created_by: str


class PriceIn(In):
    """An energy price for a region over a wall-clock interval."""

    region_id: Id
    interval_start: AwareDatetime
    interval_end: AwareDatetime
    price_pkr_per_kwh: PkrPerKwh
    kind: SignalKind = SignalKind.FORECAST

    @model_validator(mode="after")
    def _ordered(self) -> PriceIn:
        if self.interval_end <= self.interval_start:
            raise ValueError("interval_end must be after interval_start")
        return self


#: most prices one POST /prices may carry
MAX_PRICES_PER_POST = 10_000


class PricesIn(In):
    prices: Annotated[list[PriceIn], Field(min_length=1, max_length=MAX_PRICES_PER_POST)]


class PricePublic(Out):
    price_id: int
    region_id: str
    interval_start: datetime
    interval_end: datetime
    price_pkr_per_kwh: float
    kind: SignalKind
    posted_by: str
    posted_at: datetime


class PricesPosted(Out):
    prices: list[PricePublic]


class SimClockIn(In):
    """sim_time = sim_origin + (wall_time - wall_origin) x speed."""

    wall_origin: AwareDatetime
    sim_origin: AwareDatetime
    speed: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False,
                                  description="simulated seconds per wall second")]


class SimClockPublic(Out):
    wall_origin: datetime
    sim_origin: datetime
    speed: float
    set_at: datetime
    set_by: str
    sim_now: datetime = Field(description="the simulated time when this answer was made")
    sim_period: str = Field(description="the billing month (YYYY-MM) at sim_now")


class SetpointPublic(Out):
    """The contract's setpoint message (docs/service-contract.md)."""

    site_id: str
    setpoint_mw: float
    seq: int
    reason: SetpointReason
    valid_from: datetime
    valid_until: datetime | None
    issued_at: datetime


class ManualSetpoint(In):
    setpoint_mw: Annotated[float, Field(ge=0, le=10_000)]
    valid_until: AwareDatetime | None = None


class AllocationRequest(In):
    at: AwareDatetime | None = None
    region_ids: Annotated[list[Id], Field(max_length=100)] | None = None
    dry_run: bool = False


class RegionAllocation(Out):
    region_id: str
    available_mw: float
    allocated_mw: float
    signal_id: int | None
    curtailed: bool


class SiteAllocation(Out):
    site_id: str
    region_id: str
    setpoint_mw: float
    changed: bool


class AllocationOutcome(Out):
    at: datetime
    dry_run: bool
    changed: int
    regions: list[RegionAllocation]
    sites: list[SiteAllocation]


class SignalsPosted(Out):
    signals: list[SignalPublic]
    allocation: AllocationOutcome | None


class CurtailRequest(In):
    region_id: Id | None = None
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class CurtailmentPublic(Out):
    curtailment_id: int
    region_id: str | None
    reason: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    ended_by: str | None
    sites_affected: int = 0


#: energy_mwh may differ from mean_mw x duration by this share (sampled mean vs register)
ENERGY_TOLERANCE = 0.05


class ReadingIn(In):
    reading_id: Id
    site_id: Id
    interval_start: AwareDatetime
    interval_end: AwareDatetime
    energy_mwh: Annotated[float, Field(ge=0, le=100_000)]
    mean_mw: Annotated[float, Field(ge=0, le=100_000)]
    max_mw: Annotated[float, Field(ge=0, le=100_000)]
    reconstructed: bool = Field(default=False, description=(
        "metered after the fact from the site meter's register (the agent was down)"))

    @model_validator(mode="after")
    def _ordered(self) -> ReadingIn:
        span_s = (self.interval_end - self.interval_start).total_seconds()
        if span_s <= 0:
            raise ValueError("interval_end must be after interval_start")
        if span_s > 86_400:
            raise ValueError("a reading may cover at most 24 hours")
        implied_mwh = self.mean_mw * span_s / 3600.0
        if abs(self.energy_mwh - implied_mwh) > ENERGY_TOLERANCE * max(
                self.energy_mwh, implied_mwh) + 1e-6:
            raise ValueError(f"energy_mwh {self.energy_mwh:g} does not match mean_mw "
                             f"{self.mean_mw:g} x {span_s:g} s = {implied_mwh:.6g} MWh "
                             f"(tolerance {ENERGY_TOLERANCE:.0%})")
        if self.max_mw < self.mean_mw * (1 - ENERGY_TOLERANCE) - 1e-9:
            raise ValueError(f"max_mw {self.max_mw:g} is below mean_mw {self.mean_mw:g}")
        return self


class ReadingsIn(In):
    readings: Annotated[list[ReadingIn], Field(min_length=1, max_length=5000)]


class ReadingsResult(Out):
    accepted: int
    duplicates: int


class ReadingPublic(Out):
    reading_id: str
    site_id: str
    interval_start: datetime
    interval_end: datetime
    energy_mwh: float
    mean_mw: float
    max_mw: float
    allowed_mw: float = Field(description="highest setpoint in force during the interval [MW]")
    excess_mwh: float
    flagged: bool
    period: str
    reconstructed: bool = False


class SiteEventIn(In):
    event_id: Id
    kind: EventKind
    at: AwareDatetime
    detail: Text = ""


class SiteEventPublic(Out):
    event_id: str
    site_id: str
    kind: EventKind
    at: datetime
    detail: str
    received_at: datetime


class LedgerEntryPublic(Out):
    entry_id: int
    txn_id: str
    site_id: str
    account: str
    kind: str
    period: str
    energy_mwh: float
    amount_pkr: float
    created_at: datetime
    reconstructed: bool = Field(default=False, description=(
        "the reading behind this entry was metered after the fact (agent was down)"))
    price_pkr_per_kwh: float | None = Field(default=None, description=(
        "energy entries: unit price charged [PKR/kWh], time-weighted over the reading"))
    price_source: str | None = Field(default=None, description=(
        "energy entries: flat | actual | forecast | fallback | mixed"))


class LedgerBalance(Out):
    entries: int
    sum_pkr: float = Field(description="sum of every entry; 0 when the ledger balances")
    balanced: bool
    receivable_pkr: float
    energy_revenue_pkr: float
    penalty_revenue_pkr: float
    energy_mwh: float


Period = Annotated[str, Field(pattern=r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class InvoiceRequest(In):
    period: Period
    site_id: Id | None = None


class InvoicePublic(Out):
    invoice_id: int
    site_id: str
    period: str
    energy_mwh: float
    tariff_pkr_per_kwh: float = Field(description="the site's flat tariff when issued "
                                      "(for surplus_indexed: the no-price fallback)")
    tariff_design: TariffDesign = TariffDesign.FLAT
    average_price_pkr_per_kwh: float | None = Field(default=None, description=(
        "energy charge / energy (penalties excluded) [PKR/kWh]; null when no energy"))
    energy_charge_pkr: float
    penalty_pkr: float
    total_pkr: float
    readings: int
    flagged_readings: int
    issued_at: datetime
    issued_by: str


class AuditPublic(Out):
    audit_id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: str
