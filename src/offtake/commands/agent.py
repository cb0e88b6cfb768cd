"""`offtake agent --config site.yaml`: run a site agent until interrupted."""

from __future__ import annotations

from pathlib import Path

import typer

from offtake.commands._common import console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command("agent")
    @handle_errors
    def agent(
        config: Path = typer.Option(..., "--config", "-c", help="site.yaml (see docs/agent.md)"),
        check: bool = typer.Option(False, "--check", help="validate the config and exit"),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="log every setpoint"),
    ) -> None:
        """Keep a site's draw at or below its setpoint; report telemetry; fail safe."""
        import asyncio
        import logging

        from offtake.agent.config import load_config

        cfg = load_config(config)
        if check:
            console.print(f"{config}: valid ({cfg.kind} site {cfg.site_id!r})")
            return
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")

        async def main() -> None:
            from offtake.agent.runtime import Agent, build_site

            site = await build_site(cfg)
            await Agent(cfg, site).run()

        asyncio.run(main())
