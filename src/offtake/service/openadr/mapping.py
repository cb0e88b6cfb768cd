"""Pure translations between Offtake's domain and OpenADR 3 objects.

* one **program** per region, named ``offtake-surplus-<region>``;
* one **VEN** per site-operator client (``venName`` = client id) whose **resources**
  are that operator's sites (``resourceName`` = site id);
* one **event** per site carrying its live setpoint as an ``IMPORT_CAPACITY_LIMIT``
  payload in kW (OpenADR has no MW unit), plus a private ``OFFTAKE_SETPOINT_SEQ``
  payload so a VEN can drop stale messages exactly like the native agent does;
* a VEN's **report** with ``USAGE`` payloads (energy per interval, kWh unless the
  descriptor says ``MWH``) becomes one meter reading per interval.

Nothing here touches the database or the network.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from offtake.errors import InputError
from offtake.service.openadr import schemas as oa

PROGRAM_PREFIX = "offtake-surplus-"
EVENT_PREFIX = "setpoint-"
CAPACITY_LIMIT = "IMPORT_CAPACITY_LIMIT"
SEQ_PAYLOAD = "OFFTAKE_SETPOINT_SEQ"
KW_PER_MW = 1000.0
#: namespace of the reading ids derived from reports (uuid5 of "site|start")
READING_NAMESPACE = uuid.UUID("5b0c8a43-52d2-4d7e-9a0e-0ad0c7d3f1a1")


_PLAIN = re.compile(r"^[A-Za-z0-9_-]+$")
_ENC = "enc-"


def to_object_id(text: str) -> str:
    """Make ``text`` fit the spec's objectID pattern, reversibly.

    Ids already made of letters, digits, ``_`` and ``-`` stay as they are; any other
    (e.g. with ``.`` or ``:``), or one starting with ``enc-``, becomes ``enc-<hex>``.
    """
    if _PLAIN.match(text) and not text.startswith(_ENC):
        return text
    return _ENC + text.encode().hex()


def from_object_id(object_id: str) -> str | None:
    """Inverse of :func:`to_object_id`; None for an id no text maps to."""
    if not object_id.startswith(_ENC):
        return object_id if _PLAIN.match(object_id) else None
    try:
        text = bytes.fromhex(object_id[len(_ENC):]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return text if to_object_id(text) == object_id else None


def program_id_for(region_id: str) -> str:
    return PROGRAM_PREFIX + to_object_id(region_id)


def region_from_program_id(program_id: str) -> str | None:
    """The region of a program id, None if it names no region."""
    if not program_id.startswith(PROGRAM_PREFIX):
        return None
    return from_object_id(program_id[len(PROGRAM_PREFIX):])


def event_id_for(site_id: str) -> str:
    return EVENT_PREFIX + to_object_id(site_id)


def site_from_event_id(event_id: str) -> str | None:
    """The site of an event id, None if it names no site."""
    if not event_id.startswith(EVENT_PREFIX):
        return None
    return from_object_id(event_id[len(EVENT_PREFIX):])


@dataclass(frozen=True)
class RegionView:
    region_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class SiteView:
    """What the OpenADR layer needs of a site and its live setpoint."""

    site_id: str
    name: str
    region_id: str
    owner_client_id: str
    contracted_mw: float
    created_at: datetime
    setpoint_mw: float
    setpoint_seq: int
    reason: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    issued_at: datetime | None


def program_for_region(region: RegionView) -> oa.Program:
    return oa.Program(
        id=program_id_for(region.region_id), created_date_time=region.created_at,
        modification_date_time=region.created_at,
        program_name=program_id_for(region.region_id),
        program_long_name=f"Offtake surplus-power programme, region {region.name}",
        program_type="SURPLUS_OFFTAKE", country="PK", binding_events=False, local_price=False,
        payload_descriptors=[oa.EventPayloadDescriptor(payload_type=CAPACITY_LIMIT, units="KW")],
        targets=[oa.ValuesMap(type="SERVICE_AREA", values=[region.region_id])])


def event_for_site(site: SiteView) -> oa.Event:
    """The site's live setpoint as an open-ended IMPORT_CAPACITY_LIMIT event."""
    start = site.valid_from or site.created_at
    duration = (site.valid_until - start) if site.valid_until is not None else timedelta(0)
    modified = site.issued_at or site.created_at
    return oa.Event(
        id=event_id_for(site.site_id), created_date_time=site.created_at,
        modification_date_time=modified, program_id=program_id_for(site.region_id),
        event_name=f"setpoint {site.site_id} #{site.setpoint_seq} ({site.reason or 'initial'})",
        priority=0 if site.reason == "emergency" else 1,
        targets=[oa.ValuesMap(type="RESOURCE_NAME", values=[site.site_id]),
                 oa.ValuesMap(type="VEN_NAME", values=[site.owner_client_id])],
        payload_descriptors=[oa.EventPayloadDescriptor(payload_type=CAPACITY_LIMIT, units="KW")],
        report_descriptors=[oa.ReportDescriptor(payload_type="USAGE", reading_type="DIRECT_READ",
                                                units="KWH")],
        interval_period=oa.IntervalPeriod(start=start, duration=duration),
        intervals=[oa.Interval(id=0, payloads=[
            oa.ValuesMap(type=CAPACITY_LIMIT, values=[round(site.setpoint_mw * KW_PER_MW, 6)]),
            oa.ValuesMap(type=SEQ_PAYLOAD, values=[site.setpoint_seq])])])


def resource_for_site(site: SiteView) -> oa.Resource:
    return oa.Resource(
        id=to_object_id(site.site_id), created_date_time=site.created_at,
        modification_date_time=site.created_at, resource_name=site.site_id,
        ven_id=to_object_id(site.owner_client_id),
        attributes=[oa.ValuesMap(type="MAX_POWER_CONSUMPTION",
                                 values=[round(site.contracted_mw * KW_PER_MW, 6)])],
        targets=[oa.ValuesMap(type="SERVICE_AREA", values=[site.region_id])])


def ven_for_client(client_id: str, created_at: datetime, sites: list[SiteView]) -> oa.Ven:
    return oa.Ven(id=to_object_id(client_id), created_date_time=created_at,
                  modification_date_time=created_at, ven_name=client_id,
                  resources=[resource_for_site(s) for s in sites])


@dataclass(frozen=True)
class UsageReading:
    """One interval of a USAGE report, in the core service's units."""

    reading_id: str
    site_id: str
    interval_start: datetime
    interval_end: datetime
    energy_mwh: float
    mean_mw: float
    max_mw: float


_ENERGY_TO_MWH = {None: 1 / KW_PER_MW, "KWH": 1 / KW_PER_MW, "MWH": 1.0, "WH": 1e-6}
_POWER_TO_MW = {None: 1 / KW_PER_MW, "KW": 1 / KW_PER_MW, "MW": 1.0, "W": 1e-6}


def usage_readings(report: oa.ReportIn) -> list[UsageReading]:
    """Meter readings from a report's USAGE intervals (other payload types are kept only
    in the stored report).  A ``DEMAND`` payload in the same interval, if any, is the
    peak power [kW]; otherwise the peak is taken as the mean.

    Every problem (missing interval period, unknown unit, negative energy) is gathered
    and raised once as :class:`InputError`.
    """
    units = {d.payload_type: (d.units or "").upper() or None
             for d in report.payload_descriptors or []}
    energy_factor = _ENERGY_TO_MWH.get(units.get("USAGE"))
    power_factor = _POWER_TO_MW.get(units.get("DEMAND"))
    problems: list[str] = []
    if energy_factor is None:
        problems.append(f"USAGE units {units.get('USAGE')!r} not one of KWH, MWH, WH")
    if power_factor is None:
        problems.append(f"DEMAND units {units.get('DEMAND')!r} not one of KW, MW, W")
    out: list[UsageReading] = []
    for r_idx, res in enumerate(report.resources):
        for interval in res.intervals:
            where = f"resources[{r_idx}] ({res.resource_name}) interval {interval.id}"
            by_type = {p.type: p.values for p in interval.payloads}
            if "USAGE" not in by_type:
                continue
            period = interval.interval_period or res.interval_period
            if period is None:
                problems.append(f"{where}: no intervalPeriod (on the interval or its resource)")
                continue
            if period.duration <= timedelta(0) or period.duration > timedelta(days=1):
                problems.append(f"{where}: duration must be > 0 and at most 1 day")
                continue
            energy = _single_number(by_type["USAGE"], where, "USAGE", problems)
            peak = _single_number(by_type["DEMAND"], where, "DEMAND", problems) \
                if "DEMAND" in by_type else None
            if energy is None or energy_factor is None or power_factor is None:
                continue
            energy_mwh = energy * energy_factor
            hours = period.duration.total_seconds() / 3600.0
            mean_mw = energy_mwh / hours
            max_mw = max(mean_mw, peak * power_factor) if peak is not None else mean_mw
            start = period.start
            try:
                end = start + period.duration
            except OverflowError:
                problems.append(f"{where}: interval ends after year 9999")
                continue
            rid = str(uuid.uuid5(READING_NAMESPACE, f"{res.resource_name}|{start.isoformat()}"))
            out.append(UsageReading(reading_id=rid, site_id=res.resource_name,
                                    interval_start=start, interval_end=end,
                                    energy_mwh=energy_mwh, mean_mw=mean_mw, max_mw=max_mw))
    if problems:
        raise InputError("report rejected, nothing stored:\n" + "\n".join(
            f"  - {p}" for p in problems))
    return out


def _single_number(values: list[oa.PayloadValue], where: str, kind: str,
                   problems: list[str]) -> float | None:
    if len(values) != 1 or isinstance(values[0], bool) or \
            not isinstance(values[0], (int, float)):
        problems.append(f"{where}: {kind} needs exactly one number (got {values!r})")
        return None
    value = float(values[0])
    if not value >= 0:
        problems.append(f"{where}: {kind} must be >= 0 (got {value})")
        return None
    return value
