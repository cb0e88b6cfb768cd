"""A small in-memory stand-in for the operations service (contract v1), for unit tests.

The end-to-end test uses the real service; this one lets a test switch the link off,
lose a response after the service stored the request, and count what arrived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx


@dataclass
class FakeService:
    site_id: str = "s1"
    online: bool = True
    drop_next_response: bool = False     # store the request, then fail the reply
    secret: str = "right"
    setpoint: dict = field(default_factory=dict)
    readings: dict = field(default_factory=dict)      # reading_id -> reading
    by_interval: set = field(default_factory=set)
    posts: int = 0
    events: dict = field(default_factory=dict)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.online:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if path == "/auth/token":
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            if form.get("client_secret") != self.secret:
                return httpx.Response(401, json={"title": "bad credentials"})
            return httpx.Response(200, json={"access_token": "tok", "token_type": "bearer",
                                             "expires_in": 3600})
        if request.headers.get("authorization") != "Bearer tok":
            return httpx.Response(401, json={})
        if path.endswith("/setpoint"):
            if isinstance(self.setpoint, str):      # raw body, e.g. with a NaN in it
                return httpx.Response(200, content=self.setpoint.encode(),
                                      headers={"content-type": "application/json"})
            return httpx.Response(200, json=self.setpoint)
        if path == "/api/v1/meter-readings":
            self.posts += 1
            acc = dup = 0
            for r in json.loads(request.content)["readings"]:
                key = (r["site_id"], r["interval_start"])
                if r["reading_id"] in self.readings or key in self.by_interval:
                    dup += 1
                else:
                    self.readings[r["reading_id"]] = r
                    self.by_interval.add(key)
                    acc += 1
            resp = httpx.Response(200, json={"accepted": acc, "duplicates": dup})
        elif path.endswith("/events"):
            ev = json.loads(request.content)
            self.events.setdefault(ev["event_id"], ev)
            resp = httpx.Response(201, json={})
        else:
            return httpx.Response(404, json={})
        if self.drop_next_response:
            self.drop_next_response = False
            raise httpx.ReadError("connection reset after the request was stored",
                                  request=request)
        return resp

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def site_config(tmp_path, **over):
    from offtake.agent.config import parse_config

    data = {"site_id": "s1", "kind": "mining", "state_dir": str(tmp_path / "state"),
            "service": {"url": "http://service.test", "client_id": "site-1",
                        "client_secret": "right", "use_websocket": False,
                        "poll_interval_s": 0.05},
            "failsafe": {"link_timeout_s": 0.5, "trip_hold_s": 0.3},
            "control": {"interval_s": 0.05, "ramp_up_mw_per_min": 6000.0,
                        "tolerance_mw": 0.0002, "confirm_timeout_s": 2.0},
            "telemetry": {"interval_s": 0.2, "sample_s": 0.02},
            "miners": {"simulate": {"count": 6, "time_scale": 0.001}, "timeout_s": 2.0}}
    for k, v in over.items():
        data[k] = {**data.get(k, {}), **v} if isinstance(v, dict) else v
    return parse_config(data)
