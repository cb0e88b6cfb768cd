"""Drive the service as a VEN with the third-party ``openadr3-client`` (PyPI).

Runs under the Python >= 3.12 venv made by scripts/make_venv312.sh, never under the
project's interpreter.  Usage::

    python openadr_client_script.py BASE_URL CLIENT_ID CLIENT_SECRET SITE_ID

It fetches a token, reads programs, events and its VEN, finds the
IMPORT_CAPACITY_LIMIT for SITE_ID, posts a USAGE report for that site (the limit drawn
for the first minute it was in force, in kWh) and prints a JSON summary on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta

# plain HTTP on loopback only: oauthlib refuses non-TLS token URLs without this
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

from openadr3_client._models.common.interval import Interval
from openadr3_client._models.common.interval_period import IntervalPeriod
from openadr3_client.oadr301.models.event.event_payload import (
    EventPayloadDescriptor,
    EventPayloadType,
)
from openadr3_client.oadr301.models.report.report import NewReport, ReportResource
from openadr3_client.oadr301.models.report.report_payload import ReportPayload, ReportPayloadType
from openadr3_client.oadr301.models.unit import Unit
from openadr3_client.ven.http_factory import VirtualEndNodeHttpClientFactory
from openadr3_client.version import OADRVersion


def main(base_url: str, client_id: str, client_secret: str, site_id: str) -> dict[str, object]:
    ven = VirtualEndNodeHttpClientFactory.create_http_ven_client(
        vtn_base_url=base_url, client_id=client_id, client_secret=client_secret,
        token_url=f"{base_url}/auth/token", scopes=["read_all", "write_reports"],
        version=OADRVersion.OADR_301)
    programs = ven.programs.get_programs(target=None, pagination=None)
    events = ven.events.get_events(target=None, pagination=None, program_id=None)
    mine = [e for e in events
            if any(t.type == "RESOURCE_NAME" and site_id in t.values for t in e.targets or ())]
    if len(mine) != 1:
        raise SystemExit(f"expected one event for {site_id}, got {[e.id for e in events]}")
    event = mine[0]
    limit_kw = next(p.values[0] for p in event.intervals[0].payloads
                    if p.type == EventPayloadType.IMPORT_CAPACITY_LIMIT)
    vens = ven.vens.get_vens(ven_name=client_id, target=None, pagination=None)

    # one minute of metering from the moment the limit took effect, drawing exactly it
    start = event.interval_period.start if event.interval_period else datetime.now(UTC)
    usage_kwh = float(limit_kw) / 60.0
    report = NewReport(
        program_id=event.program_id, event_id=event.id, client_name=client_id,
        report_name=f"usage {site_id} {start.isoformat()}",
        payload_descriptors=(EventPayloadDescriptor(payload_type="USAGE", units=Unit.KWH),),
        resources=(ReportResource(resource_name=site_id, intervals=(Interval(
            id=0, interval_period=IntervalPeriod(start=start, duration=timedelta(minutes=1)),
            payloads=(ReportPayload(type=ReportPayloadType.USAGE, values=(usage_kwh,)),)),)),))
    created = ven.reports.create_report(report)
    listed = ven.reports.get_reports(pagination=None, program_id=event.program_id,
                                     event_id=None, client_name=client_id)
    return {
        "programs": sorted(p.program_name for p in programs),
        "event_id": event.id,
        "event_program_id": event.program_id,
        "limit_kw": float(limit_kw),
        "ven_names": [v.ven_name for v in vens],
        "ven_resources": [r.resource_name for v in vens for r in v.resources or ()],
        "report_id": created.id,
        "report_ids_listed": [r.id for r in listed],
        "usage_kwh": usage_kwh,
        "interval_start": start.isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
