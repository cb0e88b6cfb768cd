"""Turn a site power target into per-machine actions (pure; no I/O).

Rule: machines that cannot be switched (firm inference jobs, unreachable miners,
miners refusing commands) are charged at their worst-case draw; every switchable
machine is charged its sleep draw; the remaining budget goes to switchable machines
in ``order_key`` order (best J/TH first), each at the largest power step whose extra
draw over sleep still fits.  So the best machines keep running at full power, one
machine may run at a reduced power target, and the rest sleep; the planned draw never
exceeds the target unless the target is below the site's floor (everything asleep),
which the plan reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from offtake.agent.drivers.base import Action, ActionKind, Machine, MachineState


@dataclass(frozen=True)
class Plan:
    """Desired state of every switchable machine and the actions that reach it."""

    target_w: float
    planned_w: float          # draw of the plan, fixed loads at worst case [W]
    floor_w: float            # lowest draw reachable (all switchable asleep) [W]
    running: dict[str, float]  # machine_id -> power target [W]
    sleeping: tuple[str, ...]
    actions: tuple[Action, ...]

    @property
    def below_floor(self) -> bool:
        return self.target_w < self.floor_w


def _action_for(m: Machine, want_w: float | None) -> Action | None:
    """The action that moves ``m`` to ``want_w`` (None = asleep); None when already there."""
    if want_w is None:
        return None if m.state is MachineState.SLEEPING else Action(m.machine_id, ActionKind.SLEEP)
    if m.state is MachineState.SLEEPING:
        return Action(m.machine_id, ActionKind.RESUME, want_w)
    current = m.target_w if m.target_w is not None else m.rated_w
    if abs(current - want_w) > 0.5:
        return Action(m.machine_id, ActionKind.SET_POWER, want_w)
    return None


def plan_dispatch(machines: list[Machine] | tuple[Machine, ...], target_w: float) -> Plan:
    """Plan the site for ``target_w`` [W]; decreasing actions come first in ``actions``."""
    fixed = [m for m in machines if not m.controllable]
    switchable = sorted((m for m in machines if m.controllable),
                        key=lambda m: (m.order_key, m.machine_id))
    fixed_w = sum(m.worst_case_w() for m in fixed)
    floor_w = fixed_w + sum(m.idle_w for m in switchable)
    budget_w = target_w - floor_w
    running: dict[str, float] = {}
    sleeping: list[str] = []
    planned_w = floor_w
    for m in switchable:
        fits = [s for s in m.steps_w if s - m.idle_w <= budget_w + 1e-9]
        if fits:
            step = max(fits)
            running[m.machine_id] = step
            budget_w -= step - m.idle_w
            planned_w += step - m.idle_w
        else:
            sleeping.append(m.machine_id)
    down: list[Action] = []
    up: list[Action] = []
    for m in switchable:
        want = running.get(m.machine_id)
        act = _action_for(m, want)
        if act is None:
            continue
        lowers = act.kind is ActionKind.SLEEP or (
            act.kind is ActionKind.SET_POWER and (act.watts or 0.0) < (m.target_w or m.rated_w))
        (down if lowers else up).append(act)
    return Plan(target_w=target_w, planned_w=planned_w, floor_w=floor_w, running=running,
                sleeping=tuple(sleeping), actions=tuple(down + up))


def split_actions(plan: Plan, machines: dict[str, Machine]) -> tuple[list[Action], list[Action]]:
    """(lowering, raising) actions: lowering ones run first so the site never overshoots."""
    down: list[Action] = []
    up: list[Action] = []
    for a in plan.actions:
        m = machines[a.machine_id]
        if a.kind is ActionKind.SLEEP or (
                a.kind is ActionKind.SET_POWER and (a.watts or 0.0) < (m.target_w or m.rated_w)):
            down.append(a)
        else:
            up.append(a)
    return down, up
