"""Dispatch: site target -> per-machine actions, best J/TH first, never above target."""

from __future__ import annotations

from offtake.agent.dispatch import plan_dispatch
from offtake.agent.drivers.base import ActionKind, Machine, MachineState

R, S = MachineState.RUNNING, MachineState.SLEEPING


def miner(mid: str, j_per_th: float, state: MachineState = R, rated: float = 3000.0,
          steps: tuple[float, ...] | None = None, power: float | None = None) -> Machine:
    return Machine(mid, steps or (rated,), idle_w=10.0, order_key=j_per_th, state=state,
                   power_w=power if power is not None else (rated if state is R else 10.0))


def test_best_efficiency_keeps_running_worst_sleeps():
    ms = [miner("a", 21.5), miner("b", 13.5), miner("c", 17.5), miner("d", 15.0)]
    # floor 40 W; budget for two machines (2 * 2990 W) but not three
    plan = plan_dispatch(ms, 40 + 2 * 2990 + 100)
    assert set(plan.running) == {"b", "d"}
    assert set(plan.sleeping) == {"a", "c"}
    assert plan.planned_w == 40 + 2 * 2990
    assert plan.planned_w <= plan.target_w
    assert {a.machine_id for a in plan.actions} == {"a", "c"}
    assert all(a.kind is ActionKind.SLEEP for a in plan.actions)


def test_power_target_used_for_the_marginal_machine():
    steps = (1200.0, 1800.0, 2400.0, 3000.0)
    ms = [miner("good", 14.0, steps=steps), miner("bad", 20.0, steps=steps)]
    plan = plan_dispatch(ms, 20 + 2990 + 1900)   # room for good at full, bad at 1800 W
    assert plan.running == {"good": 3000.0, "bad": 1800.0}
    (act,) = plan.actions
    assert act.machine_id == "bad" and act.kind is ActionKind.SET_POWER and act.watts == 1800.0


def test_idempotent_when_already_in_the_planned_state():
    ms = [miner("a", 14.0), miner("b", 20.0, state=S)]
    plan = plan_dispatch(ms, 20 + 2990 + 5)
    assert plan.actions == ()


def test_resume_best_sleeping_machine_first():
    ms = [miner("a", 20.0, state=S), miner("b", 14.0, state=S)]
    plan = plan_dispatch(ms, 20 + 2990)
    (act,) = plan.actions
    assert act.machine_id == "b" and act.kind is ActionKind.RESUME and act.watts == 3000.0


def test_unreachable_and_firm_loads_count_at_worst_case():
    lost = Machine("lost", (3000.0,), 10.0, 1.0, MachineState.UNREACHABLE, power_w=None)
    firm = Machine("inference", (5000.0,), 500.0, 0.0, R, power_w=4000.0, firm=True)
    ms = [lost, firm, miner("a", 14.0), miner("b", 15.0)]
    plan = plan_dispatch(ms, 3000 + 5000 + 20 + 2990)
    assert plan.running == {"a": 3000.0}       # only one fits beside the fixed loads
    assert plan.planned_w <= plan.target_w
    assert all(a.machine_id not in ("lost", "inference") for a in plan.actions)


def test_target_below_floor_sleeps_everything_and_says_so():
    ms = [miner("a", 14.0), miner("b", 15.0)]
    plan = plan_dispatch(ms, 0.0)
    assert plan.below_floor and plan.running == {} and plan.planned_w == 20.0
    assert len(plan.actions) == 2


def test_lowering_actions_come_before_raising_ones():
    steps = (1500.0, 3000.0)
    ms = [miner("best", 10.0, state=S, steps=steps), miner("worst", 30.0, steps=steps)]
    plan = plan_dispatch(ms, 20 + 2990)
    kinds = [(a.machine_id, a.kind) for a in plan.actions]
    assert kinds == [("worst", ActionKind.SLEEP), ("best", ActionKind.RESUME)]
