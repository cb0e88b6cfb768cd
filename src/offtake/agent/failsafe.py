"""Fail-safe logic, free of I/O and of the wall clock (times are passed in, seconds).

* :class:`LinkWatch`: the service counts as lost when nothing was heard from it for
  longer than ``timeout_s``; the site must then hold its safe draw.
* :class:`FrequencyGuard`: a meter frequency below ``threshold_hz`` trips the site at
  once; it stays tripped until frequency has been back at or above the threshold for
  ``hold_s`` (a recovering grid must not see every site return at the same instant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class LinkWatch:
    timeout_s: float
    last_contact: float

    def touch(self, now: float) -> None:
        self.last_contact = max(self.last_contact, now)

    def lost(self, now: float) -> bool:
        return now - self.last_contact > self.timeout_s

    def silent_for_s(self, now: float) -> float:
        return max(0.0, now - self.last_contact)


@dataclass
class FrequencyGuard:
    threshold_hz: float
    hold_s: float
    tripped: bool = False
    recovered_since: float | None = None
    lowest_hz: float = math.inf

    def observe(self, frequency_hz: float, now: float) -> str | None:
        """Feed one reading; returns ``"trip"`` or ``"clear"`` when the state changes."""
        if not math.isfinite(frequency_hz) or frequency_hz <= 0:
            return None  # a broken reading is ignored, not treated as a grid event
        if frequency_hz < self.threshold_hz:
            self.recovered_since = None
            self.lowest_hz = min(self.lowest_hz, frequency_hz)
            if not self.tripped:
                self.tripped = True
                return "trip"
            return None
        if self.tripped:
            if self.recovered_since is None:
                self.recovered_since = now
            if now - self.recovered_since >= self.hold_s:
                self.tripped = False
                self.recovered_since = None
                self.lowest_hz = math.inf
                return "clear"
        return None
