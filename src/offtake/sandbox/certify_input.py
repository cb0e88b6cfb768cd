"""What ``offtake sandbox certify`` checks before it starts anything (bad input -> exit 2,
nothing written): the thresholds, the operator's site config or a VEN's declaration, the
command that starts the agent, and the site's size."""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from offtake.errors import InputError, Problem


class Thresholds(BaseModel):
    """Pass/fail limits; every one is explained in docs/certify.md. Times in s, shares of the
    site's contracted MW unitless."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    commissioning_s: float = Field(default=60.0, gt=0)
    step_down_s: float = Field(default=10.0, gt=0)
    step_up_allowance_s: float = Field(default=240.0, gt=0)
    under_tolerance_rel: float = Field(default=0.10, ge=0, lt=1)
    over_tolerance_rel: float = Field(default=0.025, ge=0, lt=1)
    over_tolerance_mw: float = Field(default=0.0, ge=0)
    safe_band_rel: float = Field(default=0.02, ge=0, lt=1)
    emergency_safe_s: float = Field(default=10.0, gt=0)
    link_allowance_s: float = Field(default=5.0, gt=0)
    ufr_allowance_s: float = Field(default=5.0, gt=0)
    telemetry_interval_max_s: float = Field(default=10.0, gt=0)
    cadence_median_factor_max: float = Field(default=1.5, ge=1)
    cadence_p95_factor_max: float = Field(default=3.0, ge=1)
    clock_tolerance_s: float = Field(default=1.0, ge=0, le=60)
    coverage_min: float = Field(default=0.95, gt=0, le=1)
    hold_readings: int = Field(default=2, ge=1, le=100,
                               description="in-band readings the certifier waits for before the next step")


def load_thresholds(path: Path | None) -> tuple[Thresholds, str]:
    """Defaults, or the YAML/JSON mapping in ``path`` over them; InputError names each bad key."""
    if path is None:
        return Thresholds(), "defaults (docs/certify.md)"
    from offtake.scenario.yamlsafe import load_yaml

    if not Path(path).is_file():
        raise InputError(f"--thresholds {path}: no such file")
    data = load_yaml(path, label=str(path))
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of threshold names to values")
    try:
        return Thresholds.model_validate(data), str(path)
    except ValidationError as exc:
        raise InputError(f"{path}: invalid thresholds", [
            Problem(file=str(path), rule=f"key '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}",
                    value=None if isinstance(e.get("input"), dict) else str(e.get("input"))[:80])
            for e in exc.errors()]) from None


@dataclass(frozen=True)
class Plan:
    """Everything validated before anything starts (bad input -> exit 2, nothing written)."""

    config_path: Path             # the operator's site config, or the VEN's declaration
    raw: dict[str, Any]
    cfg: Any                      # offtake.agent.config.SiteConfig (None for a VEN)
    command: list[str] | None     # None: Offtake's own agent (agent mode) or a VEN started by hand
    thresholds: Thresholds
    thresholds_source: str
    contracted_mw: float
    sized_from: str
    safe_mw: float
    idle_floor_mw: float
    site_type: str
    site_id: str
    declared: dict[str, Any]
    mode: str = "agent"           # "agent" (Offtake's native site API) or "ven" (OpenADR 3.1.0)
    wait_s: float = 600.0         # VEN mode: how long to wait for its first report


class VenDeclaration(BaseModel):
    """What an OpenADR VEN's operator declares (a VEN has no Offtake site config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    site_type: str = Field(default="bitcoin_mining", pattern=r"^(bitcoin_mining|ai_training|ai_inference)$")
    contracted_mw: float = Field(gt=0, le=10_000)
    safe_draw_mw: float = Field(default=0.0, ge=0)
    idle_floor_mw: float = Field(default=0.0, ge=0)
    link_timeout_s: float = Field(gt=0)
    report_interval_s: float = Field(gt=0)
    ramp_up_mw_per_min: float = Field(default=1e6, gt=0)
    poll_interval_s: float = Field(default=0.0, ge=0)


def prepare_ven(declaration: Path, agent_command: str | None, thresholds: Path | None,
                wait_s: float = 600.0) -> Plan:
    """Validate a VEN's declaration, the command that starts it (optional) and the thresholds."""
    from offtake.scenario.yamlsafe import load_yaml

    if not Path(declaration).is_file():
        raise InputError(f"--ven {declaration}: no such file")
    raw = load_yaml(declaration, label=str(declaration))
    if not isinstance(raw, dict):
        raise InputError(f"{declaration}: expected a mapping (site_id, contracted_mw, link_timeout_s, ...)")
    try:
        v = VenDeclaration.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"{declaration}: invalid VEN declaration", [
            Problem(file=str(declaration), rule=f"key '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}",
                    value=None if isinstance(e.get("input"), dict) else str(e.get("input"))[:80])
            for e in exc.errors()]) from None
    if v.safe_draw_mw >= v.contracted_mw:
        raise InputError(f"{declaration}: safe_draw_mw ({v.safe_draw_mw:g}) is not below contracted_mw")
    if not 0 < wait_s <= 86_400:
        raise InputError(f"--wait-s must be in (0, 86400] (got {wait_s:g})")
    th, th_src = load_thresholds(thresholds)
    cmd = _command(agent_command, ("{url}",))
    declared = {"link_timeout_s": v.link_timeout_s, "telemetry_interval_s": v.report_interval_s,
                "ramp_up_mw_per_min": v.ramp_up_mw_per_min, "poll_interval_s": v.poll_interval_s,
                "safe_draw_mw": v.safe_draw_mw}
    return Plan(Path(declaration), raw, None, cmd, th, th_src, v.contracted_mw, "declared (contracted_mw)",
                v.safe_draw_mw, v.idle_floor_mw, v.site_type, v.site_id, declared, "ven", wait_s)


def _command(text: str | None, needs: tuple[str, ...]) -> list[str] | None:
    if text is None:
        return None
    try:
        cmd = shlex.split(text)
    except ValueError as exc:
        raise InputError(f"--agent-command: cannot parse {text!r}: {exc}") from None
    if not cmd:
        raise InputError("--agent-command is empty")
    for n in needs:
        if not any(n in part for part in cmd):
            raise InputError(f"--agent-command must contain {n} (the certifier fills it in), e.g. "
                             f"\"my-agent --config {n}\"; got {text!r}")
    if shutil.which(cmd[0]) is None:
        raise InputError(f"--agent-command: {cmd[0]!r} is not an executable on PATH or a path to one")
    return cmd


def prepare(config: Path, agent_command: str | None, thresholds: Path | None,
            contracted_mw: float | None = None) -> Plan:
    """Validate the operator's config, the command and the thresholds; size the site."""
    from offtake.agent.config import load_config
    from offtake.scenario.yamlsafe import load_yaml

    cfg = load_config(config)
    raw = load_yaml(config, label=str(config))
    th, th_src = load_thresholds(thresholds)
    cmd = _command(agent_command, ("{config}",))
    kind = str(raw.get("kind"))
    if cfg.kind == "mining":
        mc = cfg.miners
        units = getattr(mc.simulate, "units_per_miner", 1) if mc.simulate is not None else 1
        n = mc.simulate.count if mc.simulate is not None else len(mc.addresses)
        idle = n * units * mc.idle_w / 1e6
        site_type = "bitcoin_mining"
        if mc.simulate is not None:
            from offtake.agent.sim.luxos_fleet import build_fleet

            fleet = build_fleet(n, **({"units_per_miner": units} if units > 1 else {}))
            fleet_mw = sum(m.nameplate_w for m in fleet.miners) / 1e6
            sized = f"{n} simulated LuxOS miners" + (f" x {units} units" if units > 1 else "") + ", nameplate sum"
        else:
            fleet_mw, sized = None, f"{n} real miner address(es)"
        firm = 0.0
    else:
        gc = cfg.gpus
        fleet_mw = sum(len(j.gpus) for j in gc.jobs) * gc.gpu_max_w / 1e6
        firm = sum(len(j.gpus) for j in gc.jobs if j.kind == "inference") * gc.gpu_max_w / 1e6
        idle = sum(len(j.gpus) for j in gc.jobs if j.kind == "training") * gc.gpu_idle_w / 1e6
        site_type = kind if kind in ("ai_training", "ai_inference") else "ai_training"
        sized = f"{sum(len(j.gpus) for j in gc.jobs)} GPU(s) x gpu_max_w {gc.gpu_max_w:g} W"
    if contracted_mw is not None:
        if not 0 < contracted_mw <= 10_000:
            raise InputError(f"--contracted-mw must be in (0, 10000] MW (got {contracted_mw:g})")
        fleet_mw, sized = contracted_mw, "--contracted-mw"
    if fleet_mw is None:
        raise InputError(f"{config}: real miners (miners.addresses) have no nameplate the certifier can "
                         "read; give the site's contracted MW with --contracted-mw")
    safe = cfg.failsafe.safe_draw_mw if cfg.failsafe.safe_draw_mw is not None else firm
    if safe >= fleet_mw:
        raise InputError(f"{config}: the safe draw ({safe:g} MW) is not below the site's contracted "
                         f"{fleet_mw:g} MW, so there is nothing to curtail")
    declared = {"link_timeout_s": cfg.failsafe.link_timeout_s, "underfrequency_hz": cfg.failsafe.underfrequency_hz,
                "trip_delay_s": 0.0, "trip_hold_s": cfg.failsafe.trip_hold_s,
                "telemetry_interval_s": cfg.telemetry.interval_s, "ramp_up_mw_per_min": cfg.control.ramp_up_mw_per_min,
                "poll_interval_s": cfg.service.poll_interval_s, "safe_draw_mw": float(safe)}
    return Plan(Path(config), raw, cfg, cmd, th, th_src, float(fleet_mw), sized, float(safe), float(idle),
                site_type, cfg.site_id, declared)
