"""Pydantic models of the OpenADR 3.0.1 objects this VTN serves.

Field names follow the specification's JSON (camelCase, with its own spellings
``programID``, ``eventID``, ``venID`` and ``URL``).  Object ids match the spec's
``objectID`` pattern.  Durations are ISO 8601 (``PT1H``); times carry an offset.
Only what Offtake uses is modelled strictly; unknown extra fields are ignored on
input, as the specification allows private extensions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

ObjectID = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]*$", min_length=1,
                                            max_length=128)]
Name128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]
PayloadValue = float | int | str | bool | dict[str, float]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ObjectType(StrEnum):
    PROGRAM = "PROGRAM"
    EVENT = "EVENT"
    REPORT = "REPORT"
    SUBSCRIPTION = "SUBSCRIPTION"
    VEN = "VEN"
    RESOURCE = "RESOURCE"


class Operation(StrEnum):
    """Operations a subscription listens to and a notification reports.

    3.0.1 clients send GET/POST/PUT/DELETE; later texts spell them READ/CREATE/UPDATE/DELETE.
    Both are accepted and echoed back as sent.
    """

    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"
    READ = "READ"
    CREATE = "CREATE"
    UPDATE = "UPDATE"


#: the 3.0.1 spelling of every operation (used to match subscriptions)
CANONICAL_OPERATION = {Operation.READ: Operation.GET, Operation.CREATE: Operation.POST,
                       Operation.UPDATE: Operation.PUT}
#: the 3.1.0 spelling
CANONICAL_OPERATION_31 = {Operation.GET: Operation.READ, Operation.POST: Operation.CREATE,
                          Operation.PUT: Operation.UPDATE}


class ValuesMap(_Model):
    """A type with one or more values (targets, attributes, payloads)."""

    type: Name128
    values: list[PayloadValue]


class IntervalPeriod(_Model):
    """Start and duration of intervals; ``PT0S`` means open-ended for limits."""

    start: AwareDatetime
    duration: timedelta = timedelta(0)
    randomize_start: timedelta | None = None


class Interval(_Model):
    id: int
    interval_period: IntervalPeriod | None = None
    payloads: list[ValuesMap] = Field(min_length=1)


class EventPayloadDescriptor(_Model):
    object_type: Literal["EVENT_PAYLOAD_DESCRIPTOR"] = "EVENT_PAYLOAD_DESCRIPTOR"
    payload_type: Name128
    units: str | None = None
    currency: str | None = None


class ReportPayloadDescriptor(_Model):
    """Context of report values.  Some clients label it ``EVENT_PAYLOAD_DESCRIPTOR``
    (openadr3-client 2.x does); that spelling is accepted too."""

    object_type: Literal["REPORT_PAYLOAD_DESCRIPTOR", "EVENT_PAYLOAD_DESCRIPTOR"] = \
        "REPORT_PAYLOAD_DESCRIPTOR"
    payload_type: Name128
    reading_type: str | None = None
    units: str | None = None
    accuracy: float | None = None
    confidence: int | None = Field(default=None, ge=0, le=100)


class ReportDescriptor(_Model):
    payload_type: Name128
    reading_type: str | None = None
    units: str | None = None
    targets: list[ValuesMap] | None = None
    aggregate: bool = False
    start_interval: int = -1
    num_intervals: int = -1
    historical: bool = True
    frequency: int = -1
    repeat: int = 1


class ProgramDescription(BaseModel):
    model_config = ConfigDict(extra="ignore")
    URL: str


class _Stored(_Model):
    """Fields the VTN provisions on every object."""

    id: ObjectID
    created_date_time: datetime
    modification_date_time: datetime


class Program(_Stored):
    object_type: Literal["PROGRAM"] = "PROGRAM"
    program_name: Name128
    program_long_name: str | None = None
    retailer_name: str | None = None
    retailer_long_name: str | None = None
    program_type: str | None = None
    country: str | None = None
    principal_subdivision: str | None = None
    time_zone_offset: timedelta | None = None
    interval_period: IntervalPeriod | None = None
    program_descriptions: list[ProgramDescription] | None = None
    binding_events: bool | None = None
    local_price: bool | None = None
    payload_descriptors: list[EventPayloadDescriptor] | None = None
    targets: list[ValuesMap] | None = None


class EventIn(_Model):
    """An event as a business-logic client posts it (one site's capacity limit)."""

    program_id: ObjectID = Field(alias="programID")
    event_name: str | None = None
    priority: int | None = Field(default=None, ge=0)
    targets: list[ValuesMap] | None = None
    payload_descriptors: list[EventPayloadDescriptor] | None = None
    interval_period: IntervalPeriod | None = None
    intervals: list[Interval] = Field(min_length=1)


class Event(_Stored):
    object_type: Literal["EVENT"] = "EVENT"
    program_id: ObjectID = Field(alias="programID")
    event_name: str | None = None
    priority: int | None = Field(default=None, ge=0)
    targets: list[ValuesMap] | None = None
    report_descriptors: list[ReportDescriptor] | None = None
    payload_descriptors: list[EventPayloadDescriptor] | None = None
    interval_period: IntervalPeriod | None = None
    intervals: list[Interval]


class Resource(_Stored):
    object_type: Literal["RESOURCE"] = "RESOURCE"
    resource_name: Name128
    ven_id: ObjectID = Field(alias="venID")
    attributes: list[ValuesMap] | None = None
    targets: list[ValuesMap] | None = None


class Ven(_Stored):
    object_type: Literal["VEN"] = "VEN"
    ven_name: Name128
    attributes: list[ValuesMap] | None = None
    targets: list[ValuesMap] | None = None
    resources: list[Resource] | None = None


class ReportResource(_Model):
    resource_name: Name128
    interval_period: IntervalPeriod | None = None
    intervals: list[Interval] = Field(min_length=1)


class ReportIn(_Model):
    """A report as a VEN posts it (VTN-provisioned fields, if sent, are ignored)."""

    program_id: ObjectID = Field(alias="programID")
    event_id: ObjectID = Field(alias="eventID")
    client_name: Name128
    report_name: str | None = None
    payload_descriptors: list[ReportPayloadDescriptor] | None = None
    resources: list[ReportResource] = Field(min_length=1)


class Report(_Stored, ReportIn):
    object_type: Literal["REPORT"] = "REPORT"


class ObjectOperation(_Model):
    objects: list[ObjectType] = Field(min_length=1)
    operations: list[Operation] = Field(min_length=1)
    callback_url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2048)] = \
        Field(alias="callbackUrl")
    bearer_token: str | None = None


class SubscriptionIn(_Model):
    client_name: Name128
    program_id: ObjectID = Field(alias="programID")
    object_operations: list[ObjectOperation] = Field(min_length=1)
    targets: list[ValuesMap] | None = None


class Subscription(_Stored, SubscriptionIn):
    object_type: Literal["SUBSCRIPTION"] = "SUBSCRIPTION"


class Notification(_Model):
    """Body the VTN posts to a subscription's ``callbackUrl``."""

    object_type: ObjectType
    operation: Operation
    object: dict[str, object]
    targets: list[ValuesMap] | None = None


class TokenResponse(BaseModel):
    """OAuth2 client-credentials response (snake case per RFC 6749)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str


class Problem(BaseModel):
    """RFC 7807 problem details, as the specification's ``problem`` schema."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


# ---------------------------------------------------------------- inputs shared by both versions
Target31 = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ProgramIn(_Model):
    """A program as a BL posts it (3.0.1 and 3.1.0; targets in the version's shape)."""

    program_name: Name128
    program_long_name: str | None = None
    retailer_name: str | None = None
    retailer_long_name: str | None = None
    program_type: str | None = None
    country: str | None = None
    principal_subdivision: str | None = None
    time_zone_offset: timedelta | None = None
    interval_period: IntervalPeriod | None = None
    program_descriptions: list[ProgramDescription] | None = None
    binding_events: bool | None = None
    local_price: bool | None = None
    payload_descriptors: list[dict[str, object]] | None = None
    attributes: list[ValuesMap] | None = None


class ProgramIn301(ProgramIn):
    targets: list[ValuesMap] | None = None


class ProgramIn31(ProgramIn):
    targets: list[Target31] | None = None


class EventInBase(_Model):
    program_id: ObjectID = Field(alias="programID")
    event_name: str | None = None
    priority: int | None = Field(default=None, ge=0, le=2_147_483_647)
    payload_descriptors: list[EventPayloadDescriptor] | None = None
    report_descriptors: list[dict[str, object]] | None = None
    interval_period: IntervalPeriod | None = None
    duration: timedelta | None = None
    intervals: list[Interval] = Field(min_length=1, max_length=10_000)


class EventIn301(EventInBase):
    targets: list[ValuesMap] | None = None


class EventIn31(EventInBase):
    targets: list[Target31] | None = None


class ReportIn31(_Model):
    """A 3.1.0 report: no programID (the VTN takes it from the event)."""

    program_id: ObjectID | None = Field(default=None, alias="programID")
    event_id: ObjectID = Field(alias="eventID")
    client_name: Name128
    report_name: str | None = None
    payload_descriptors: list[ReportPayloadDescriptor] | None = None
    resources: list[ReportResource] = Field(min_length=1)


class SubscriptionIn31(_Model):
    client_name: Name128
    program_id: ObjectID | None = Field(default=None, alias="programID")
    object_operations: list[ObjectOperation] = Field(min_length=1)
    targets: list[Target31] | None = None


class VenIn(_Model):
    """3.0.1 ``ven`` request or 3.1.0 ``VEN_VEN_REQUEST`` / ``BL_VEN_REQUEST``."""

    object_type: str | None = None
    client_id: str | None = Field(default=None, alias="clientID", min_length=1, max_length=128)
    ven_name: Name128
    attributes: list[ValuesMap] | None = None
    targets: list[object] | None = None
