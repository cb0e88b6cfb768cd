"""The one small interface every site driver implements, and the records it returns.

A *machine* is the unit the dispatcher switches: one miner, or one GPU job (all GPUs
of a training or inference job, capped and paused together).  Power is in watts here
because machines are small; the controller converts to MW at the site boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from offtake.errors import OfftakeError


class DriverError(OfftakeError):
    """A machine could not be read or commanded (unreachable, refused logon, bad reply)."""

    exit_code = 5


class MachineState(StrEnum):
    RUNNING = "running"
    SLEEPING = "sleeping"      # stopped / paused: draws ``idle_w``
    UNREACHABLE = "unreachable"  # no answer: assumed at ``rated_w`` (worst case)
    REFUSED = "refused"        # answers but refuses commands (credentials): worst case too


class ActionKind(StrEnum):
    SLEEP = "sleep"
    RESUME = "resume"
    SET_POWER = "set_power"


@dataclass(frozen=True)
class Machine:
    """What the dispatcher needs to know about one switchable load.

    ``steps_w`` are the power targets the machine can run at [W], ascending; the last is
    full power.  ``order_key`` ranks machines: lower runs first (J/TH for miners, the
    configured priority for GPU jobs).  ``firm`` machines (inference) are never touched.
    """

    machine_id: str
    steps_w: tuple[float, ...]
    idle_w: float
    order_key: float
    state: MachineState
    power_w: float | None = None      # measured draw, None when unknown
    target_w: float | None = None     # power target in force while running
    firm: bool = False
    detail: str = ""

    @property
    def rated_w(self) -> float:
        return self.steps_w[-1]

    @property
    def controllable(self) -> bool:
        return not self.firm and self.state in (MachineState.RUNNING, MachineState.SLEEPING)

    def worst_case_w(self) -> float:
        """Draw to assume when planning if this machine is not switched [W]."""
        if self.state in (MachineState.UNREACHABLE, MachineState.REFUSED):
            return max(self.rated_w, self.power_w or 0.0)
        if self.state is MachineState.SLEEPING:
            return max(self.idle_w, self.power_w or 0.0)
        return max(self.target_w or self.rated_w, self.power_w or 0.0)


@dataclass(frozen=True)
class Action:
    machine_id: str
    kind: ActionKind
    watts: float | None = None   # for SET_POWER and RESUME (the target to resume at)


@dataclass(frozen=True)
class ActionResult:
    action: Action
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class FleetReading:
    """One sweep over the site: machines and total measured draw [W]."""

    machines: tuple[Machine, ...]
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def power_w(self) -> float:
        return sum(m.power_w if m.power_w is not None else m.worst_case_w()
                   for m in self.machines)


@runtime_checkable
class Driver(Protocol):
    """A site's machines.  Every method is idempotent: applying a state twice is harmless."""

    async def machines(self) -> FleetReading:
        """Read every machine's state and draw (one sweep)."""
        ...

    async def read_power_w(self) -> float:
        """Measured draw of all machines [W]; unknown machines count at worst case."""
        ...

    async def apply(self, actions: list[Action]) -> list[ActionResult]:
        """Carry out actions (concurrently where the driver can); never raises per machine."""
        ...

    async def close(self) -> None:
        ...
