"""The site configuration (site.yaml), validated with pydantic; errors name the field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from offtake.errors import InputError, Problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceConfig(_Strict):
    url: str = Field(description="base URL of the operations service, e.g. http://host:8000")
    client_id: str
    client_secret: str | None = None
    client_secret_env: str | None = Field(
        default=None, description="name of an environment variable holding the secret")
    use_websocket: bool = True
    poll_interval_s: float = Field(default=5.0, gt=0)
    request_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _secret(self) -> ServiceConfig:
        if self.client_secret is None and self.client_secret_env is None:
            raise ValueError("give client_secret or client_secret_env")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https:// (got {self.url!r})")
        return self

    def secret(self) -> str:
        if self.client_secret is not None:
            return self.client_secret
        value = os.environ.get(self.client_secret_env or "")
        if not value:
            raise InputError(f"environment variable {self.client_secret_env} (service."
                             "client_secret_env) is not set")
        return value


class FailsafeConfig(_Strict):
    link_timeout_s: float = Field(default=30.0, gt=0,
                                  description="service silent this long -> safe draw")
    safe_draw_mw: float | None = Field(
        default=None, ge=0, description="default: 0 for mining, the firm (inference) share for AI")
    underfrequency_hz: float = Field(default=49.7, gt=0)
    trip_hold_s: float = Field(default=300.0, ge=0,
                               description="stay curtailed this long after frequency recovers")


class ControlConfig(_Strict):
    interval_s: float = Field(default=1.0, gt=0)
    ramp_up_mw_per_min: float = Field(default=10.0, gt=0)
    confirm_timeout_s: float = Field(default=120.0, gt=0)
    tolerance_mw: float = Field(default=0.05, ge=0)
    max_clock_skew_s: float = Field(default=5.0, gt=0)


class TelemetryConfig(_Strict):
    interval_s: float = Field(default=5.0, gt=0)
    sample_s: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=500, gt=0)


class MeterConfig(_Strict):
    feed: Literal["none", "udp", "file"] = "none"
    udp_host: str = "127.0.0.1"
    udp_port: int = Field(default=9750, ge=0, le=65535)
    file: Path | None = None
    poll_s: float = Field(default=0.2, gt=0)

    @model_validator(mode="after")
    def _file(self) -> MeterConfig:
        if self.feed == "file" and self.file is None:
            raise ValueError("feed 'file' needs meter.file")
        return self


class SimulatedFleet(_Strict):
    count: int = Field(gt=0, le=20000)
    time_scale: float = Field(default=1.0, gt=0)
    ip_per_miner: bool = False
    # each simulated miner stands for this many identical machines (a container): its
    # power, hashrate and idle draw are multiplied; lets a sandbox site be sized like a real one
    units_per_miner: int = Field(default=1, ge=1, le=100000)


class MinersConfig(_Strict):
    addresses: list[str] = Field(default_factory=list)
    firmware: Literal["auto", "luxos"] = "auto"
    idle_w: float = Field(default=8.0, ge=0)
    timeout_s: float = Field(default=5.0, gt=0)
    concurrency: int = Field(default=256, gt=0)
    simulate: SimulatedFleet | None = None

    @model_validator(mode="after")
    def _some(self) -> MinersConfig:
        if not self.addresses and self.simulate is None:
            raise ValueError("list miner addresses, or set simulate")
        if self.addresses and self.simulate is not None:
            raise ValueError("give either addresses (real miners) or simulate (a simulated fleet), not both")
        return self


class GpuJobConfig(_Strict):
    name: str
    kind: Literal["training", "inference"]
    gpus: list[int] = Field(min_length=1)
    priority: float = 0.0


class SimulatedCluster(_Strict):
    state_file: Path
    time_scale: float = Field(default=1.0, gt=0)


class GpusConfig(_Strict):
    power_cap_command: str = "nvidia-smi -i {gpus} -pl {watts}"
    power_query_command: str = ("nvidia-smi --query-gpu=index,power.draw,power.limit "
                                "--format=csv,noheader,nounits")
    pause_command: str
    resume_command: str
    jobs: list[GpuJobConfig] = Field(min_length=1)
    gpu_max_w: float = Field(default=700.0, gt=0)
    gpu_min_w: float = Field(default=200.0, gt=0)
    gpu_idle_w: float = Field(default=70.0, ge=0)
    cap_step_w: float = Field(default=50.0, gt=0)
    timeout_s: float = Field(default=30.0, gt=0)
    simulate: SimulatedCluster | None = None

    @model_validator(mode="after")
    def _check(self) -> GpusConfig:
        if self.gpu_min_w > self.gpu_max_w:
            raise ValueError("gpu_min_w must not exceed gpu_max_w")
        seen: dict[int, str] = {}
        for job in self.jobs:
            for g in job.gpus:
                if g in seen:
                    raise ValueError(f"GPU {g} is in both job {seen[g]!r} and {job.name!r}")
                seen[g] = job.name
        return self


SITE_TYPES = {"bitcoin_mining": "mining", "ai_training": "ai", "ai_inference": "ai"}
DEPRECATED_KINDS = ("mining", "ai")


def _driver_family(v: object) -> object:
    if isinstance(v, str) and v in DEPRECATED_KINDS:
        import logging

        logging.getLogger("offtake.agent").warning(
            "kind: %r is deprecated; write bitcoin_mining, ai_training or ai_inference", v)
        return v
    if isinstance(v, str) and v in SITE_TYPES:
        return SITE_TYPES[v]
    return v


class SiteConfig(_Strict):
    site_id: str = Field(min_length=1)
    # the site's type in the one vocabulary of scenario and service (bitcoin_mining,
    # ai_training, ai_inference); kept here as the driver family it needs: 'mining' or 'ai'
    # (the old names 'mining' and 'ai' are still accepted, deprecated)
    kind: Annotated[Literal["mining", "ai"], BeforeValidator(_driver_family)]
    state_dir: Path = Path("agent-state")
    service: ServiceConfig
    failsafe: FailsafeConfig = FailsafeConfig()
    control: ControlConfig = ControlConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    meter: MeterConfig = MeterConfig()
    miners: MinersConfig | None = None
    gpus: GpusConfig | None = None

    @model_validator(mode="after")
    def _driver(self) -> SiteConfig:
        if self.kind == "mining" and self.miners is None:
            raise ValueError("a mining site needs a 'miners' section")
        if self.kind == "ai" and self.gpus is None:
            raise ValueError("an ai site needs a 'gpus' section")
        return self


def parse_config(data: object, source: str = "site.yaml") -> SiteConfig:
    """Validate a loaded YAML mapping; raise :class:`InputError` listing every bad field."""
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        # a YAML file has keys, not columns: name the dotted key path in the rule
        problems = [Problem(file=source, rule=(f"key '{'.'.join(str(p) for p in e['loc'])}': " if e["loc"] else "")
                            + e["msg"].removeprefix("Value error, "),
                            value=None if "input" not in e or isinstance(e["input"], dict) else str(e["input"])[:80])
                    for e in exc.errors()]
        raise InputError(f"{source}: invalid site configuration", problems) from None


def load_config(path: str | Path) -> SiteConfig:
    """Read and validate a site.yaml; relative paths inside are resolved against its folder."""
    from offtake.scenario.yamlsafe import load_yaml

    p = Path(path)
    if not p.is_file():
        raise InputError(f"cannot read site configuration {p}: {'a folder, not a file' if p.is_dir() else 'no such file'}")
    data = load_yaml(p, label=str(p))  # bounded: size, depth, no aliases, duplicate keys refused
    if not isinstance(data, dict):
        raise InputError(f"{p}: expected a mapping of settings at the top level")
    cfg = parse_config(data, str(p))
    if not cfg.state_dir.is_absolute():
        cfg = cfg.model_copy(update={"state_dir": p.parent / cfg.state_dir})
    return cfg
