"""A minimal OpenADR 3.1.0 VEN for the certifier's tests (not Offtake code): a simulated load
that follows the IMPORT_CAPACITY_LIMIT of its site's events, drops to 0 when the VTN has not
answered for ``--link-timeout`` seconds, and reports USAGE (kWh) with DEMAND (peak kW) for every
``--interval`` seconds, queueing reports while the VTN is unreachable.

``python tests/sandbox/mini_ven.py URL CLIENT_ID CLIENT_SECRET SITE_ID --contracted-kw KW [--no-failsafe]``
(``--no-failsafe``: a faulty VEN that keeps drawing when the VTN is gone; test code, so the switch is here.)
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime

import httpx


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("url", "client_id", "secret", "site"):
        ap.add_argument(a)
    ap.add_argument("--contracted-kw", type=float, required=True)
    ap.add_argument("--link-timeout", type=float, default=2.0)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--no-failsafe", action="store_true", help="a faulty VEN: keeps its last limit when the VTN is gone")
    o = ap.parse_args()
    http = httpx.Client(base_url=o.url, timeout=1.0)
    token, registered = None, False
    last_ok = time.monotonic()
    limit_kw, event_id = 0.0, None
    draw_kw = o.contracted_kw                       # the load starts at full power
    queue: list[dict] = []
    start = math.floor(time.time())
    energy_kwh, peak_kw, t_prev = 0.0, 0.0, time.time()
    while True:
        try:
            if token is None:
                r = http.post("/auth/token", data={"grant_type": "client_credentials", "client_id": o.client_id,
                                                   "client_secret": o.secret,
                                                   "scope": "read_targets read_ven_objects write_reports write_vens"})
                r.raise_for_status()
                token = {"Authorization": f"Bearer {r.json()['access_token']}"}
            if not registered:
                r = http.post("/vens", headers=token, json={"objectType": "VEN_VEN_REQUEST", "venName": o.client_id})
                registered = r.status_code in (200, 201, 409)
            r = http.get("/events", headers=token, params={"targets": o.site, "limit": 50})
            r.raise_for_status()
            for ev in r.json():
                if ev["id"].startswith("setpoint-"):
                    event_id = ev["id"]
                    limit_kw = next(p["values"][0] for p in ev["intervals"][0]["payloads"]
                                    if p["type"] == "IMPORT_CAPACITY_LIMIT")
            last_ok = time.monotonic()
            while queue and event_id:
                rep = {**queue[0], "eventID": event_id}
                r = http.post("/reports", headers=token, json=rep)
                if r.status_code >= 500:
                    break
                queue.pop(0)
        except httpx.HTTPError:
            token = None if time.monotonic() - last_ok > o.link_timeout else token
        lost = time.monotonic() - last_ok > o.link_timeout and not o.no_failsafe
        now = time.time()
        while now >= start + o.interval:            # close every interval that ended, energy split exactly
            b = start + o.interval
            energy_kwh += draw_kw * (b - t_prev) / 3600.0
            queue.append(report(o, start, energy_kwh, peak_kw))
            start, t_prev, energy_kwh, peak_kw = b, b, 0.0, draw_kw
        energy_kwh += draw_kw * (now - t_prev) / 3600.0
        t_prev = now
        draw_kw = 0.0 if lost else min(limit_kw, o.contracted_kw)   # the load follows at once
        peak_kw = max(peak_kw, draw_kw)
        time.sleep(0.2)


def report(o: argparse.Namespace, start: float, energy_kwh: float, peak_kw: float) -> dict:
    return {"clientName": o.client_id, "payloadDescriptors": [
        {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "KWH"},
        {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "DEMAND", "units": "KW"}],
        "resources": [{"resourceName": o.site, "intervals": [{"id": 0, "intervalPeriod": {
            "start": datetime.fromtimestamp(start, UTC).isoformat(), "duration": f"PT{o.interval:g}S"},
            "payloads": [{"type": "USAGE", "values": [energy_kwh]}, {"type": "DEMAND", "values": [peak_kw]}]}]}]}


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
