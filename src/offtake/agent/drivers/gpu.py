"""GPU clusters through power caps and job hooks, run as configured commands.

Templates (no shell; split with shlex, then placeholders filled per argument):
  ``power_cap_command``   e.g. ``nvidia-smi -i {gpus} -pl {watts}`` ({gpus}: 0,1,2)
  ``power_query_command`` e.g. ``nvidia-smi --query-gpu=index,power.draw,power.limit
                          --format=csv,noheader,nounits`` (lines ``index, W[, cap W]``)
  ``pause_command`` / ``resume_command`` e.g. ``scontrol suspend {job}``

A *machine* is one job: all its GPUs share one cap and are paused together.  Inference
jobs are firm (never capped or paused); training jobs are ordered by ``priority``
(lower keeps running longest) and capped in ``cap_step_w`` steps between the GPU's
minimum and maximum cap before being paused.
"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass

from offtake.agent.drivers.base import (
    Action,
    ActionKind,
    ActionResult,
    FleetReading,
    Machine,
    MachineState,
)


@dataclass(frozen=True)
class GpuJob:
    name: str
    kind: str                  # "training" | "inference"
    gpus: tuple[int, ...]
    priority: float = 0.0


class CommandError(RuntimeError):
    pass


def fill(template: str, **values: object) -> list[str]:
    """Split ``template`` like a shell would and fill ``{name}`` placeholders per argument."""
    return [part.format(**values) for part in shlex.split(template)]


async def run_command(argv: list[str], timeout_s: float) -> str:
    """Run one command, return its stdout; raise :class:`CommandError` with stderr on failure."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        raise CommandError(f"cannot run {argv[0]!r}: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise CommandError(f"{argv[0]} did not finish within {timeout_s} s") from None
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.kill()
            await asyncio.shield(proc.wait())
        raise
    if proc.returncode != 0:
        msg = err.decode(errors="replace").strip() or f"exit code {proc.returncode}"
        raise CommandError(f"{' '.join(argv[:3])}...: {msg}")
    return out.decode(errors="replace")


class GpuClusterDriver:
    """A GPU cluster (see module docstring); power in W."""

    def __init__(self, jobs: list[GpuJob], *, power_cap_command: str, power_query_command: str,
                 pause_command: str, resume_command: str, gpu_max_w: float = 700.0,
                 gpu_min_w: float = 200.0, gpu_idle_w: float = 70.0, cap_step_w: float = 50.0,
                 timeout_s: float = 30.0, concurrency: int = 16) -> None:
        self.jobs = {j.name: j for j in jobs}
        self.cap_cmd, self.query_cmd = power_cap_command, power_query_command
        self.pause_cmd, self.resume_cmd = pause_command, resume_command
        self.max_w, self.min_w, self.idle_w = gpu_max_w, gpu_min_w, gpu_idle_w
        caps: list[float] = []
        c = gpu_min_w
        while c < gpu_max_w - 1e-9:
            caps.append(c)
            c += cap_step_w
        caps.append(gpu_max_w)
        self.caps_w = tuple(caps)
        self.timeout_s = timeout_s
        self._sem = asyncio.Semaphore(concurrency)
        self._intent: dict[str, MachineState] = {}
        self._cap: dict[str, float] = {}

    async def _query(self) -> dict[int, tuple[float, float | None]]:
        text = await run_command(fill(self.query_cmd), self.timeout_s)
        rows: dict[int, tuple[float, float | None]] = {}
        for line in text.splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) < 2 or not parts[0].isdigit():
                continue
            try:
                cap = float(parts[2]) if len(parts) > 2 else None
                rows[int(parts[0])] = (float(parts[1]), cap)
            except ValueError:
                continue
        return rows

    async def machines(self) -> FleetReading:
        try:
            rows = await self._query()
            err = ""
        except CommandError as exc:
            rows, err = {}, f"power query failed: {exc}"
        out: list[Machine] = []
        for job in self.jobs.values():
            n = len(job.gpus)
            seen = [rows[g] for g in job.gpus if g in rows]
            power = sum(r[0] for r in seen) if len(seen) == n else None
            caps = [r[1] for r in seen if r[1] is not None]
            if caps and len(caps) == n:
                self._cap[job.name] = max(caps)
            firm = job.kind == "inference"
            if power is None:
                state = MachineState.UNREACHABLE
            elif job.name in self._intent:
                state = self._intent[job.name]
            else:
                state = (MachineState.SLEEPING if power < 1.5 * self.idle_w * n and not firm
                         else MachineState.RUNNING)
            cap = self._cap.get(job.name)
            out.append(Machine(
                machine_id=job.name, steps_w=tuple(c * n for c in self.caps_w),
                idle_w=self.idle_w * n, order_key=job.priority, state=state, power_w=power,
                target_w=None if cap is None else cap * n, firm=firm,
                detail=err if power is None else ""))
        return FleetReading(tuple(out), tuple(m.detail for m in out if m.detail))

    async def read_power_w(self) -> float:
        return (await self.machines()).power_w

    async def _apply_one(self, a: Action) -> ActionResult:
        job = self.jobs.get(a.machine_id)
        if job is None:
            return ActionResult(a, False, f"unknown job {a.machine_id!r}")
        if job.kind == "inference":
            return ActionResult(a, False, f"job {job.name} is inference and is kept whole")
        gpus = ",".join(str(g) for g in job.gpus)
        async with self._sem:
            try:
                if a.kind is ActionKind.SLEEP:
                    await run_command(fill(self.pause_cmd, job=job.name), self.timeout_s)
                    self._intent[job.name] = MachineState.SLEEPING
                    return ActionResult(a, True)
                if a.watts is not None:
                    per_gpu = max((c for c in self.caps_w if c * len(job.gpus) <= a.watts + 0.5),
                                  default=self.caps_w[0])
                    if self._cap.get(job.name) != per_gpu:
                        await run_command(fill(self.cap_cmd, gpus=gpus, watts=f"{per_gpu:g}"),
                                          self.timeout_s)
                        self._cap[job.name] = per_gpu
                if a.kind is ActionKind.RESUME:
                    await run_command(fill(self.resume_cmd, job=job.name), self.timeout_s)
                    self._intent[job.name] = MachineState.RUNNING
                return ActionResult(a, True)
            except (CommandError, KeyError, ValueError) as exc:
                return ActionResult(a, False, f"job {job.name}: {exc}")

    async def apply(self, actions: list[Action]) -> list[ActionResult]:
        return list(await asyncio.gather(*(self._apply_one(a) for a in actions)))

    async def close(self) -> None:
        return None
