"""Drive the service as a BL and as a VEN with the third-party ``openadr3-client`` (PyPI).

Runs under the Python >= 3.12 venv made by scripts/make_venv312.sh, never under the
project's interpreter.  Usage::

    python openadr_client_script.py CONFIG_JSON

CONFIG_JSON: {"version": "3.1.0"|"3.0.1", "base": URL, "bl": [id, secret],
"ven": [id, secret], "other_ven": [id, secret], "site": ..., "other_site": ...,
"program": region program id, "webhook": URL, "mqtt": true|false}.

Every step uses the library's own models and HTTP interfaces (and, for the form-body
token and raw negative cases, requests-oauthlib and the library's authenticated
``requests`` session).  It prints one JSON summary on stdout for the test to check.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

# plain HTTP on loopback only: oauthlib refuses non-TLS token URLs without this
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

import requests
from oauthlib.oauth2 import BackendApplicationClient
from openadr3_client._models.common.interval import Interval
from openadr3_client._models.common.interval_period import IntervalPeriod
from openadr3_client.bl.http_factory import BusinessLogicHttpClientFactory
from openadr3_client.ven.http_factory import VirtualEndNodeHttpClientFactory
from openadr3_client.version import OADRVersion
from requests_oauthlib import OAuth2Session


def _status(fn) -> int:  # type: ignore[no-untyped-def]
    """HTTP status of a failing library call (0 if it did not fail)."""
    try:
        fn()
    except requests.HTTPError as exc:
        return exc.response.status_code
    return 0


def _problem(fn) -> dict:  # type: ignore[no-untyped-def,type-arg]
    try:
        fn()
    except requests.HTTPError as exc:
        return {"status": exc.response.status_code, "body": exc.response.json()}
    return {"status": 0}


def run(cfg: dict) -> dict:  # type: ignore[type-arg]
    v31 = cfg["version"] == "3.1.0"
    if v31:
        from openadr3_client.oadr310.models.event.event import EventUpdate, NewEvent
        from openadr3_client.oadr310.models.event.event_payload import (
            EventPayload,
            EventPayloadDescriptor,
            EventPayloadType,
        )
        from openadr3_client.oadr310.models.program.program import NewProgram, ProgramUpdate
        from openadr3_client.oadr310.models.report.report import NewReport, ReportResource
        from openadr3_client.oadr310.models.report.report_payload import (
            ReportPayload,
            ReportPayloadType,
        )
        from openadr3_client.oadr310.models.unit import Unit
        version = OADRVersion.OADR_310
    else:
        from openadr3_client.oadr301.models.event.event import EventUpdate, NewEvent
        from openadr3_client.oadr301.models.event.event_payload import (
            EventPayload,
            EventPayloadDescriptor,
            EventPayloadType,
        )
        from openadr3_client.oadr301.models.program.program import NewProgram, ProgramUpdate
        from openadr3_client.oadr301.models.report.report import NewReport, ReportResource
        from openadr3_client.oadr301.models.report.report_payload import (
            ReportPayload,
            ReportPayloadType,
        )
        from openadr3_client.oadr301.models.unit import Unit
        version = OADRVersion.OADR_301
    base = cfg["base"]
    out: dict = {"version": cfg["version"]}  # type: ignore[type-arg]
    bl_id, bl_secret = cfg["bl"]
    ven_id, ven_secret = cfg["ven"]
    # token URL: discovered through /auth/server in 3.1.0, given in 3.0.1
    token_url = None if v31 else f"{base}/auth/token"
    bl = BusinessLogicHttpClientFactory.create_http_bl_client(
        vtn_base_url=base, client_id=bl_id, client_secret=bl_secret, token_url=token_url,
        scopes=(["read_all", "write_programs", "write_events", "write_vens", "read_bl"]
                if v31 else ["read_all", "write_programs", "write_events"]),
        allow_insecure_http=True, version=version)
    ven_scopes = (["read_targets", "read_ven_objects", "write_reports", "write_subscriptions",
                   "write_vens"] if v31 else ["read_all", "write_reports", "write_subscriptions", "write_vens"])
    ven = VirtualEndNodeHttpClientFactory.create_http_ven_client(
        vtn_base_url=base, client_id=ven_id, client_secret=ven_secret, token_url=token_url,
        scopes=ven_scopes, allow_insecure_http=True, version=version)
    if v31:
        out["token_url"] = bl.auth.get_auth_server().token_url if hasattr(
            bl.auth.get_auth_server(), "token_url") else None

    # token with the credentials in the form body (the library uses HTTP Basic)
    form = OAuth2Session(client=BackendApplicationClient(client_id=ven_id))
    tok = form.fetch_token(token_url=f"{base}/auth/token", client_id=ven_id,
                           client_secret=ven_secret, include_client_id=True,
                           scope=ven_scopes)
    out["form_token_scope"] = sorted(tok.get("scope", []))

    # ---- BL: program CRUD
    prog_name = f"interop-{cfg['version']}-{int(time.time() * 1000)}"
    pd = EventPayloadDescriptor(payload_type=EventPayloadType.IMPORT_CAPACITY_LIMIT, units=Unit.KW)
    created = bl.programs.create_program(NewProgram(program_name=prog_name,
                                                    payload_descriptors=(pd,)))
    change = ProgramUpdate(program_name=prog_name + "-2", payload_descriptors=(pd,))
    # 3.1.0 mode PUTs the update itself, 3.0.1 mode the existing object with it applied
    updated = bl.programs.update_program_by_id(created.id, change if v31 else created.update(change))
    out["program_updated_name"] = updated.program_name
    out["program_seen"] = bl.programs.get_program_by_id(created.id).program_name
    deleted = bl.programs.delete_program_by_id(created.id)
    out["program_deleted"] = deleted.id == created.id
    out["program_after_delete"] = _status(lambda: bl.programs.get_program_by_id(created.id))
    out["region_program_delete"] = _problem(
        lambda: bl.programs.delete_program_by_id(cfg["program"]))

    # ---- BL: a future-dated three-interval limit for the VEN's site, then CRUD
    def targets(site: str):  # type: ignore[no-untyped-def]
        if v31:
            return (site,)
        from openadr3_client.oadr301.models.target import Target
        return (Target(type="RESOURCE_NAME", values=(site,)),)

    start = datetime.now(UTC) + timedelta(seconds=cfg.get("lead_s", 4))
    step = timedelta(seconds=cfg.get("step_s", 2))
    kw = (3000.0, 2000.0, 1000.0)
    schedule = NewEvent(
        program_id=cfg["program"], event_name="interop schedule", priority=1,
        targets=targets(cfg["site"]), payload_descriptors=(pd,),
        interval_period=IntervalPeriod(start=start, duration=step),
        intervals=tuple(Interval(id=i, payloads=(EventPayload(
            type=EventPayloadType.IMPORT_CAPACITY_LIMIT, values=(v,)),)) for i, v in enumerate(kw)))
    ev = bl.events.create_event(schedule)
    out["event_id"], out["event_start"] = ev.id, start.isoformat()
    out["event_step_s"] = step.total_seconds()
    out["event_kw"] = list(kw)
    spare = bl.events.create_event(NewEvent(
        program_id=cfg["program"], event_name="spare", targets=targets(cfg["other_site"]),
        payload_descriptors=(pd,), interval_period=IntervalPeriod(
            start=start + timedelta(hours=5), duration=timedelta(hours=1)),
        intervals=(Interval(id=0, payloads=(EventPayload(
            type=EventPayloadType.IMPORT_CAPACITY_LIMIT, values=(500.0,)),)),)))
    upd_body = EventUpdate(
        program_id=cfg["program"], event_name="spare v2", targets=targets(cfg["other_site"]),
        payload_descriptors=(pd,), interval_period=IntervalPeriod(
            start=start + timedelta(hours=5), duration=timedelta(hours=1)),
        intervals=(Interval(id=0, payloads=(EventPayload(
            type=EventPayloadType.IMPORT_CAPACITY_LIMIT, values=(400.0,)),)),))
    upd = bl.events.update_event_by_id(spare.id, upd_body if v31 else spare.update(upd_body))
    out["event_updated_name"] = upd.event_name
    bl.events.delete_event_by_id(spare.id)
    out["event_after_delete"] = _problem(lambda: bl.events.get_event_by_id(spare.id))

    # ---- VEN: registration (3.1.0), reads with filters and pagination
    if v31:
        from openadr3_client.oadr310.models.ven.ven import NewVenVenRequest
        reg = ven.vens.create_ven(NewVenVenRequest(ven_name=ven_id))
        out["ven_registered"] = [reg.ven_name, reg.client_id]
    vens = ven.vens.get_vens(ven_name=ven_id, target=None, pagination=None)
    out["ven_names"] = [v.ven_name for v in vens]
    if v31:
        from openadr3_client.oadr310._vtn.interfaces.filters import PaginationFilter, TargetFilter
        res = ven.resources.get_resources(resource_name=None, ven_id=vens[0].id, target=None,
                                          pagination=None) if hasattr(ven.resources,
                                                                      "get_resources") else []
        out["resources"] = [r.resource_name for r in res]
        mine = ven.events.get_events(target=TargetFilter(targets=[cfg["site"]]),
                                     pagination=None, program_id=cfg["program"])
        page1 = ven.events.get_events(target=TargetFilter(targets=[cfg["site"]]),
                                      pagination=PaginationFilter(skip=0, limit=1), program_id=None)
        page2 = ven.events.get_events(target=TargetFilter(targets=[cfg["site"]]),
                                      pagination=PaginationFilter(skip=1, limit=1), program_id=None)
    else:
        from openadr3_client.oadr301._vtn.interfaces.filters import PaginationFilter, TargetFilter
        tf = TargetFilter(target_type="RESOURCE_NAME", target_values=[cfg["site"]])
        mine = ven.events.get_events(target=tf, pagination=None, program_id=cfg["program"])
        page1 = ven.events.get_events(target=tf, pagination=PaginationFilter(skip=0, limit=1),
                                      program_id=None)
        page2 = ven.events.get_events(target=tf, pagination=PaginationFilter(skip=1, limit=1),
                                      program_id=None)
    out["ven_event_ids"] = sorted(e.id for e in mine)
    out["pages"] = [[e.id for e in page1], [e.id for e in page2]]
    seen = next(e for e in mine if e.id == ev.id)
    out["ven_saw_intervals"] = [float(iv.payloads[0].values[0]) for iv in seen.intervals]
    out["ven_saw_start"] = seen.interval_period.start.isoformat()
    out["seen_before_start_s"] = (start - datetime.now(UTC)).total_seconds()
    setpoint_ev = next(e for e in mine if e.id != ev.id)
    out["setpoint_event_id"] = setpoint_ev.id

    # ---- subscriptions: webhook (and MQTT in 3.1.0) hear a change
    if v31:
        from openadr3_client.oadr310.models.subscriptions.subscription import (
            NewSubscription,
            Object,
            ObjectOperation,
            Operation,
        )
        ops = (Operation.POST, Operation.PUT)  # the library's spelling in both modes
    else:
        from openadr3_client.oadr301.models.subscriptions.subscription import (
            NewSubscription,
            Object,
            ObjectOperation,
            Operation,
        )
        ops = (Operation.POST, Operation.PUT)
    if cfg.get("webhook"):
        sub = ven._subscriptions.create_subscription(NewSubscription(
            client_name=ven_id, program_id=cfg["program"], object_operations=(ObjectOperation(
                objects=(Object.EVENT,), operations=ops, callback_url=cfg["webhook"],
                bearer_token="interop-hook"),)))
        out["subscription_id"] = sub.id
    mqtt_got: list = []  # type: ignore[type-arg]
    mqtt_client = None
    if v31 and cfg.get("mqtt"):
        from openadr3_client.oadr310._vtn.mqtt.client import MQTTClient

        notifiers = ven.notifiers.get_notifiers()
        out["notifiers_mqtt_uris"] = [str(u) for u in notifiers.mqtt.uris]
        topics = ven.notifiers.get_event_topics_for_ven(vens[0].id) if hasattr(
            ven.notifiers, "get_event_topics_for_ven") else None
        topic = (topics.topics.all if topics is not None else None)
        out["mqtt_topic"] = topic
        mqtt_client = MQTTClient(mqtt_notifier_binding=notifiers.mqtt)
        ready = threading.Event()
        mqtt_client.on_message = lambda _c, _u, m: mqtt_got.append(
            (m.topic, json.loads(m.payload)))
        mqtt_client.on_subscribe = lambda *_a: ready.set()
        uri = notifiers.mqtt.uris[0]
        mqtt_client.connect(uri.host, uri.port or 1883)
        mqtt_client.loop_start()
        mqtt_client.subscribe(topic, qos=1)
        ready.wait(5)
    # the change: the BL publishes one more event aimed at the VEN's site
    note_ev = bl.events.create_event(NewEvent(
        program_id=cfg["program"], event_name="notify me", targets=targets(cfg["site"]),
        payload_descriptors=(pd,), interval_period=IntervalPeriod(
            start=start + timedelta(hours=6), duration=timedelta(hours=1)),
        intervals=(Interval(id=0, payloads=(EventPayload(
            type=EventPayloadType.IMPORT_CAPACITY_LIMIT, values=(700.0,)),)),)))
    out["notify_event_id"] = note_ev.id
    if mqtt_client is not None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                n["object"]["id"] == note_ev.id for _t, n in mqtt_got):
            time.sleep(0.05)
        mqtt_client.loop_stop()
        mqtt_client.disconnect()
        out["mqtt_received"] = [[t, n["operation"], n["object"]["id"]] for t, n in mqtt_got]

    # ---- USAGE report for the site's setpoint event -> meter readings
    rstart = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    usage = (1200.0, 800.0)
    # openadr3-client 2.x types report descriptors as EVENT_PAYLOAD_DESCRIPTOR (both modes);
    # the VTN accepts that and stores them as REPORT_PAYLOAD_DESCRIPTOR
    rd = EventPayloadDescriptor(payload_type="USAGE", units=Unit.KWH)
    kwargs = {} if v31 else {"program_id": cfg["program"]}
    rep = ven.reports.create_report(NewReport(
        event_id=setpoint_ev.id, client_name=ven_id, report_name="interop usage",
        payload_descriptors=(rd,), resources=(ReportResource(resource_name=cfg["site"], intervals=tuple(
            Interval(id=i, interval_period=IntervalPeriod(start=rstart + timedelta(minutes=15 * i),
                                                          duration=timedelta(minutes=15)),
                     payloads=(ReportPayload(type=ReportPayloadType.USAGE, values=(u,)),))
            for i, u in enumerate(usage))),), **kwargs))
    out["report_id"] = rep.id
    out["report_client_id"] = getattr(rep, "client_id", None)
    out["usage_kwh"], out["usage_start"] = list(usage), rstart.isoformat()

    # ---- negative cases
    anon = VirtualEndNodeHttpClientFactory.create_anonymous_http_ven_client(
        vtn_base_url=base, allow_insecure_http=True, version=version)
    out["no_token"] = _problem(lambda: anon.programs.get_programs(target=None, pagination=None))
    forged = requests.get(f"{base}/events", timeout=10, headers={
        "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJncmlkIn0.Zm9yZ2Vk"})
    out["forged_token"] = {"status": forged.status_code, "body": forged.json()}
    ven_as_bl = BusinessLogicHttpClientFactory.create_http_bl_client(
        vtn_base_url=base, client_id=ven_id, client_secret=ven_secret,
        token_url=f"{base}/auth/token", scopes=ven_scopes, allow_insecure_http=True,
        version=version)
    out["ven_writes_program"] = _problem(lambda: ven_as_bl.programs.create_program(
        NewProgram(program_name=prog_name + "-ven")))
    out["ven_writes_event"] = _problem(lambda: ven_as_bl.events.create_event(NewEvent(
        program_id=cfg["program"], targets=targets(cfg["site"]), payload_descriptors=(pd,),
        intervals=(Interval(id=0, payloads=(EventPayload(
            type=EventPayloadType.IMPORT_CAPACITY_LIMIT, values=(1.0,)),)),))))
    session = bl._events.session
    bad = session.post(f"{base}/events", json={"programID": cfg["program"],
                                                "intervals": [{"id": "x"}]}, timeout=10)
    out["invalid_body"] = {"status": bad.status_code, "body": bad.json()}
    out["unknown_event"] = _problem(lambda: ven.events.get_event_by_id("evt-does-not-exist"))
    out["unknown_program"] = _problem(lambda: ven.programs.get_program_by_id("prog-nope"))

    # ---- the schedule on time: wait past its end (the test reads the setpoint history)
    end = start + step * len(kw)
    wait_s = (end - datetime.now(UTC)).total_seconds() + 0.5
    if wait_s > 0:
        time.sleep(wait_s)
    return out


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
