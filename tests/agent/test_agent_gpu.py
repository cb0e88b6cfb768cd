"""The GPU driver against the simulated cluster (real subprocesses of its command line)."""

from __future__ import annotations

import asyncio
import shlex
import sys

from offtake.agent.dispatch import plan_dispatch
from offtake.agent.drivers.base import ActionKind, MachineState
from offtake.agent.drivers.gpu import GpuClusterDriver, GpuJob
from offtake.agent.sim.gpu_cluster import cluster_power_w, init_state


def driver(state, cap_cmd=None):
    sim = f"{shlex.quote(sys.executable)} -m offtake.agent.sim.gpu_cluster {shlex.quote(str(state))}"
    jobs = [GpuJob("serve", "inference", (0, 1)), GpuJob("train", "training", (2, 3, 4, 5), 1.0)]
    init_state(state, {"serve": ("inference", 2), "train": ("training", 4)}, time_scale=0.01)
    return GpuClusterDriver(
        jobs, power_cap_command=cap_cmd or f"{sim} -i {{gpus}} -pl {{watts}}",
        power_query_command=f"{sim} --query-gpu=index,power.draw,power.limit "
                            "--format=csv,noheader,nounits",
        pause_command=f"{sim} suspend {{job}}", resume_command=f"{sim} resume {{job}}")


def test_training_capped_then_paused_inference_kept_whole(tmp_path):
    state = tmp_path / "gpus.json"
    drv = driver(state)

    async def main():
        ms = (await drv.machines()).machines
        serve, train = ms
        assert serve.firm and serve.power_w == 2 * 450 and not train.firm
        # 2 x 700 W firm + 4 GPUs at 400 W fits 3,000 W
        plan = plan_dispatch(ms, 3000)
        (act,) = plan.actions
        assert act.machine_id == "train" and act.kind is ActionKind.SET_POWER
        assert act.watts == 4 * 400
        assert all(r.ok for r in await drv.apply(list(plan.actions)))
        await asyncio.sleep(0.05)
        assert cluster_power_w(state) <= 3000
        # below the firm share: training paused, inference untouched
        ms = (await drv.machines()).machines
        plan = plan_dispatch(ms, 1400)
        assert [a.kind for a in plan.actions] == [ActionKind.SLEEP]
        assert all(r.ok for r in await drv.apply(list(plan.actions)))
        await asyncio.sleep(0.1)
        assert cluster_power_w(state) == 2 * 450 + 4 * 70
        again = {m.machine_id: m for m in (await drv.machines()).machines}
        assert again["train"].state is MachineState.SLEEPING
        assert again["serve"].power_w == 900

    asyncio.run(main())


def test_a_failing_command_is_reported_with_its_message(tmp_path):
    state = tmp_path / "gpus.json"
    drv = driver(state, cap_cmd=f"{sys.executable} -c \"import sys; sys.exit('denied: not root')\"")

    async def main():
        ms = (await drv.machines()).machines
        (res,) = await drv.apply(list(plan_dispatch(ms, 3000).actions))
        assert not res.ok and "denied: not root" in res.error

    asyncio.run(main())
