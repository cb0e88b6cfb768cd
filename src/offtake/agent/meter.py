"""Meter feeds: grid frequency (and optionally site draw) pushed by the site meter.

Formats, one reading per UDP datagram or per line of a file: a JSON object
``{"frequency_hz": 49.62, "site_mw": 12.3, "energy_mwh": 81234.567}`` (``site_mw``, the
site's draw, and ``energy_mwh``, the meter's cumulative import register, optional) or a
bare number (frequency in Hz).  The register lets a restarted agent meter exactly what
the site drew while it was down.  The UDP feed is the fast path: a trip acts on the datagram itself.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MeterSample:
    frequency_hz: float
    site_mw: float | None = None
    energy_mwh: float | None = None  # cumulative import register [MWh]


def parse_sample(text: str) -> MeterSample | None:
    """One feed line -> sample; None for anything malformed (logged by the caller)."""
    text = text.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        obj = {"frequency_hz": obj}
    if not isinstance(obj, dict):
        return None
    f = obj.get("frequency_hz")
    mw = obj.get("site_mw")
    if not isinstance(f, (int, float)) or isinstance(f, bool) or not math.isfinite(f):
        return None
    if mw is not None and (not isinstance(mw, (int, float)) or not math.isfinite(mw) or mw < 0):
        mw = None
    reg = obj.get("energy_mwh")
    if reg is not None and (not isinstance(reg, (int, float)) or isinstance(reg, bool)
                            or not math.isfinite(reg) or reg < 0):
        reg = None
    return MeterSample(float(f), None if mw is None else float(mw),
                       None if reg is None else float(reg))


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, on_sample: Callable[[MeterSample | None, str], None]) -> None:
        self.on_sample = on_sample

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        text = data.decode("utf-8", errors="replace")
        self.on_sample(parse_sample(text), text)


async def start_udp_feed(host: str, port: int,
                         on_sample: Callable[[MeterSample | None, str], None]
                         ) -> asyncio.DatagramTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(on_sample),
                                                       local_addr=(host, port))
    return transport


async def follow_file(path: Path, poll_s: float,
                      on_sample: Callable[[MeterSample | None, str], None]) -> None:
    """Read lines appended to ``path`` (starting at its current end) until cancelled."""
    pos = path.stat().st_size if path.exists() else 0
    while True:
        try:
            size = path.stat().st_size
            if size < pos:
                pos = 0  # file was rotated/truncated
            if size > pos:
                with open(path, "rb") as fh:
                    fh.seek(pos)
                    chunk = fh.read(size - pos)
                last_nl = chunk.rfind(b"\n")
                if last_nl >= 0:
                    pos += last_nl + 1
                    for line in chunk[:last_nl].decode("utf-8", errors="replace").splitlines():
                        on_sample(parse_sample(line), line)
        except OSError:
            pass
        await asyncio.sleep(poll_s)
