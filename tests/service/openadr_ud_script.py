"""Drive the 3.0.1 mount with the third-party VEN ``oadr30-ven-ud`` (PyPI, MIT).

Runs under .venv312 (the package is installed there by scripts/make_venv312.sh).
Usage: python openadr_ud_script.py CONFIG_JSON with {"base", "client_id", "secret",
"program_id", "event_id", "until"}.  The library fetches its token (form body, scope read_all),
reads programs and events, turns the events' intervals into its own time series and
runs its EventScheduler, whose callback fires when each interval starts.  Prints one
JSON summary: what it read and when (its wall clock) each interval's callback fired.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import datetime

os.chdir(tempfile.mkdtemp())  # the library saves its VEN registration in the cwd

from oadr30.scheduler import EventScheduler
from oadr30.vtn import VTNOps


def main(cfg: dict) -> dict:  # type: ignore[type-arg]
    vtn = VTNOps(base_url=cfg["base"], auth_url=cfg["base"] + "/auth/token",
                 client_id=cfg["client_id"], client_secret=cfg["secret"])
    programs = vtn.get_programs()
    # the program's events only: the library refuses payload types outside its own
    # registry (Offtake's setpoint events carry the private OFFTAKE_SETPOINT_SEQ, which
    # the spec allows), so it reads the BL's own program
    events = vtn.get_events(program_id=cfg["program_id"])
    mine = [e for e in events if e.getId() == cfg["event_id"]]
    fired: list[tuple[float, str, list[object]]] = []

    def on_start(segment) -> None:  # type: ignore[no-untyped-def]
        fired.append((time.time(), str(segment.getStartTime()), list(segment.values)))

    series = [s for s in events.getTimeSeries()
              if s.getStartTime().timestamp() >= time.time()]  # future intervals only
    scheduler = EventScheduler()
    scheduler.daemon = True  # never keep the process alive
    scheduler.registerCallback(on_start)
    scheduler.setTimeSeries(series)
    while time.time() < cfg["until"]:
        time.sleep(0.1)
    scheduler.stop()
    return {"programs": [p.getId() for p in programs] if programs else [],
            "event_ids": [e.getId() for e in events], "found": len(mine),
            "future_segments": len(series),
            "fired": [{"at": t, "start": s, "values": v} for t, s, v in fired],
            "now": datetime.now().isoformat()}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1])), default=str), flush=True)
    os._exit(0)  # the library's scheduler thread does not always stop
