"""`offtake agent --config site.yaml`: run a site agent until interrupted."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer

from offtake.commands._common import console, handle_errors


def describe(cfg: Any) -> str:
    """What --check prints: the site, where its power goes, and where the fleet comes from."""
    family = "Bitcoin mining" if cfg.kind == "mining" else "AI data-centre"
    lines = [f"{family} site {cfg.site_id!r}; service {cfg.service.url} as client {cfg.service.client_id!r} "
             f"({'WebSocket push + poll' if cfg.service.use_websocket else 'poll only'} every {cfg.service.poll_interval_s:g} s)"]
    if cfg.miners is not None:
        m = cfg.miners
        if m.simulate is not None:
            lines.append(f"miners: a SIMULATED fleet of {m.simulate.count} (simulate:), no real hardware")
        else:
            lines.append(f"miners: {len(m.addresses)} real address(es) (addresses:), firmware {m.firmware}")
    if cfg.gpus is not None:
        g = cfg.gpus
        lines.append("GPUs: a SIMULATED cluster (simulate:)" if g.simulate is not None
                     else f"GPUs: {sum(len(j.gpus) for j in g.jobs)} real GPU(s) in {len(g.jobs)} job(s)")
    safe = cfg.failsafe.safe_draw_mw
    default_safe = "0 MW" if cfg.kind == "mining" else "the inference jobs' rated power"
    lines.append(f"fail-safe: after {cfg.failsafe.link_timeout_s:g} s without the service, hold "
                 + (default_safe if safe is None else f"{safe:g} MW"))
    return "\n  ".join(lines)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (tests and redirections swap it)."""

    _offtake = True

    @property  # type: ignore[override]
    def stream(self) -> Any:
        import sys

        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _agent_logging(verbose: bool) -> None:
    """Agent log lines (connected, setpoints, fail-safe) on stderr; their own handler so
    a library that configures the root logger (pyasic, asyncio) cannot silence them."""
    log = logging.getLogger("offtake.agent")
    log.setLevel(logging.INFO if verbose else logging.WARNING)
    if not any(getattr(h, "_offtake", False) for h in log.handlers):
        h = _Stderr()
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        log.addHandler(h)
    log.propagate = False


def register(app: typer.Typer) -> None:
    @app.command("agent")
    @handle_errors
    def agent(
        config: Path = typer.Option(..., "--config", "-c", help="site.yaml (see docs/agent.md)."),
        check: bool = typer.Option(False, "--check", help="Validate the config, say what the agent would drive, and exit."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log connection, every setpoint and fail-safe changes (stderr)."),
    ) -> None:
        """Keep a site's draw at or below its setpoint; report telemetry; fail safe."""
        import asyncio

        from offtake.agent.config import load_config

        cfg = load_config(config)
        if check:
            console.print(f"{config}: valid\n  {describe(cfg)}", highlight=False)
            return
        _agent_logging(verbose)
        log = logging.getLogger("offtake.agent")
        log.info("starting: %s", describe(cfg).replace("\n  ", "; "))

        async def main() -> None:
            from offtake.agent.runtime import Agent, build_site

            site = await build_site(cfg)
            await Agent(cfg, site).run()

        try:
            asyncio.run(main())
        finally:
            log.info("stopped")
