"""The MQTT notifier binding of OpenADR 3.1.0 (``/notifiers``), on a local broker.

Every change the VTN announces (programs, events, reports; setpoint events included)
is published as a 3.1.0 ``notification`` (JSON, QoS 1) to the topics the spec's topic
lists name, in the form of its examples (``{objectType}s/{operation}``):

=====================================  ===============================================
``programs/{create,update,delete}``    every program change
``programs/{programID}/{update,delete}`` one program
``events/{create,update,delete}``      every event change (BL topic)
``programs/{programID}/events/{op}``   events of one program
``vens/{venID}/events/{op}``           events aimed at one VEN (its sites, its name,
                                       their regions, or a setpoint event of its site)
``reports/{create,update,delete}``     every report (BL topic)
=====================================  ===============================================

``ALL`` is the ``+`` wildcard of each.  Topics carry an optional prefix
(``OFFTAKE_OPENADR_MQTT_PREFIX``, default none).  The broker is
``OFFTAKE_OPENADR_MQTT_URL`` (default ``mqtt://127.0.0.1:1883``; ``off`` disables the
binding).  Authentication is ``ANONYMOUS``: the broker on the machine has no ACLs, so
any local client can read any topic; a deployment that needs per-VEN privacy must set
broker ACLs (or use the webhook binding, which checks what each subscriber may read).
"""


import json
import logging
import os
import threading
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter

from offtake.errors import NotFoundError
from offtake.service.deps import SessionDep
from offtake.service.openadr import core, mapping
from offtake.service.openadr import schemas as oa
from offtake.service.openadr.auth import Scope, require_scope
from offtake.service.openadr.notify import Change
from offtake.service.security import Principal

log = logging.getLogger(__name__)
ENV_URL = "OFFTAKE_OPENADR_MQTT_URL"
ENV_PREFIX = "OFFTAKE_OPENADR_MQTT_PREFIX"
DEFAULT_URL = "mqtt://127.0.0.1:1883"


def broker_url() -> str | None:
    url = os.environ.get(ENV_URL, DEFAULT_URL).strip()
    return None if url.lower() in ("", "off", "none", "0") else url


def prefix() -> str:
    return os.environ.get(ENV_PREFIX, "").strip("/") + "/" if os.environ.get(ENV_PREFIX) else ""


def _ops(base: str, create: bool = True) -> dict[str, str]:
    p = prefix() + base
    out = {"UPDATE": f"{p}/update", "DELETE": f"{p}/delete", "ALL": f"{p}/+"}
    if create:
        out["CREATE"] = f"{p}/create"
    return out


def topics_for(change: Change) -> list[str]:
    """The topics one change is published to."""
    op = str(oa.CANONICAL_OPERATION_31.get(change.operation, change.operation)).lower()
    p = prefix()
    kind = change.object_type
    out: list[str] = []
    if kind == oa.ObjectType.PROGRAM:
        out = [f"{p}programs/{op}"]
        if op != "create":
            out.append(f"{p}programs/{change.program_id}/{op}")
    elif kind == oa.ObjectType.EVENT:
        out = [f"{p}events/{op}", f"{p}programs/{change.program_id}/events/{op}"]
        vens = set(change.audience or ()) | {change.owner_client_id}
        if change.audience is None:
            vens = set()  # untargeted: the program's events topic carries it
        out += [f"{p}vens/{mapping.to_object_id(v)}/events/{op}" for v in sorted(vens)
                if v and not v.startswith("openadr-")]
    elif kind == oa.ObjectType.REPORT:
        out = [f"{p}reports/{op}"]
    return out


class MqttPublisher:
    """One paho client per worker, connected in the background, QoS 1 publishes."""

    def __init__(self, url: str) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        parts = urlsplit(url)
        self.url = url
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.connected = threading.Event()
        self.client.on_connect = lambda *_a: self.connected.set()
        self.client.on_disconnect = lambda *_a: self.connected.clear()
        self.client.max_queued_messages_set(100_000)
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def publish(self, changes: list[Change]) -> int:
        n = 0
        for change in changes:
            payload = json.dumps(change.payload("3.1.0"), separators=(",", ":"))
            for topic in topics_for(change):
                self.client.publish(topic, payload, qos=1)
                n += 1
        return n

    def close(self) -> None:
        # disconnect first: it wakes the network thread, which sends what is queued, then
        # DISCONNECT, and ends; loop_stop() alone waits out the thread's 1 s select timeout
        self.client.disconnect()
        self.client.loop_stop()


def add_routes(router: APIRouter, read_t: Any, read_v: Any) -> None:
    """``/notifiers`` and the MQTT topic lists of the 3.1.0 mount."""
    READ = require_scope(Scope.READ_ALL, Scope.READ_TARGETS, Scope.READ_VEN_OBJECTS)
    READ_BL = require_scope(Scope.READ_BL)

    def enabled() -> None:
        if broker_url() is None:
            raise NotFoundError("this VTN has no MQTT notifier binding")

    def topics(d: dict[str, str]) -> dict[str, Any]:
        return {"topics": d}

    @router.get("/notifiers", summary="listAllNotifiers (public: it documents only 200)")
    def notifiers() -> dict[str, Any]:
        url = broker_url()
        out: dict[str, Any] = {"WEBHOOK": True}
        if url is not None:
            out["MQTT"] = {"URIS": [url], "serialization": "JSON",
                           "authentication": {"method": "ANONYMOUS"}}
        return out

    @router.get("/notifiers/mqtt/topics/programs", summary="listAllMqttNotifierTopicsPrograms")
    def t_programs(actor: Annotated[Principal, READ]) -> dict[str, Any]:
        enabled()
        return topics(_ops("programs"))

    @router.get("/notifiers/mqtt/topics/programs/{programID}",
                summary="listAllMqttNotifierTopicsProgram")
    def t_program(programID: str, session: SessionDep,
                  actor: Annotated[Principal, READ]) -> dict[str, Any]:
        enabled()
        core.program(session, programID)
        return topics(_ops(f"programs/{programID}", create=False))

    @router.get("/notifiers/mqtt/topics/programs/{programID}/events",
                summary="listAllMqttNotifierTopicsProgramEvents")
    def t_program_events(programID: str, session: SessionDep,
                         actor: Annotated[Principal, READ]) -> dict[str, Any]:
        enabled()
        core.program(session, programID)
        return topics(_ops(f"programs/{programID}/events"))

    @router.get("/notifiers/mqtt/topics/events", summary="listAllMqttNotifierTopicsEvents")
    def t_events(actor: Annotated[Principal, READ_BL]) -> dict[str, Any]:
        enabled()
        return topics(_ops("events"))

    @router.get("/notifiers/mqtt/topics/reports", summary="listAllMqttNotifierTopicsReports")
    def t_reports(actor: Annotated[Principal, READ_BL]) -> dict[str, Any]:
        enabled()
        return topics(_ops("reports"))

    @router.get("/notifiers/mqtt/topics/subscriptions",
                summary="listAllMqttNotifierTopicsSubscriptions")
    def t_subs(actor: Annotated[Principal, READ_BL]) -> dict[str, Any]:
        enabled()
        return topics(_ops("subscriptions"))

    @router.get("/notifiers/mqtt/topics/vens", summary="listAllMqttNotifierTopicsVens")
    def t_vens(actor: Annotated[Principal, READ_BL]) -> dict[str, Any]:
        enabled()
        return topics(_ops("vens"))

    @router.get("/notifiers/mqtt/topics/resources", summary="listAllMqttNotifierTopicsResources")
    def t_resources(actor: Annotated[Principal, READ_BL]) -> dict[str, Any]:
        enabled()
        return topics(_ops("resources"))

    def _ven(session: Any, actor: Principal, ven_id: str) -> None:
        enabled()
        core.ven(session, actor=actor, ven_id=ven_id)  # 404 for a VEN the caller cannot see

    @router.get("/notifiers/mqtt/topics/vens/{venID}", summary="listAllMqttNotifierTopicsVen")
    def t_ven(venID: str, session: SessionDep, actor: Annotated[Principal, read_v]) -> dict[str, Any]:
        _ven(session, actor, venID)
        return topics(_ops(f"vens/{venID}", create=False))

    @router.get("/notifiers/mqtt/topics/vens/{venID}/events",
                summary="listAllMqttNotifierTopicsVenEvents")
    def t_ven_events(venID: str, session: SessionDep,
                     actor: Annotated[Principal, read_v]) -> dict[str, Any]:
        _ven(session, actor, venID)
        return topics(_ops(f"vens/{venID}/events"))

    @router.get("/notifiers/mqtt/topics/vens/{venID}/programs",
                summary="listAllMqttNotifierTopicsVenPrograms")
    def t_ven_programs(venID: str, session: SessionDep,
                       actor: Annotated[Principal, read_v]) -> dict[str, Any]:
        _ven(session, actor, venID)
        return topics(_ops(f"vens/{venID}/programs"))

    @router.get("/notifiers/mqtt/topics/vens/{venID}/resources",
                summary="listAllMqttNotifierTopicsVenResources")
    def t_ven_resources(venID: str, session: SessionDep,
                        actor: Annotated[Principal, read_v]) -> dict[str, Any]:
        _ven(session, actor, venID)
        return topics(_ops(f"vens/{venID}/resources"))
