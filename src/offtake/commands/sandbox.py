"""``offtake sandbox run``: the service and real agents on a scenario's surplus (docs/sandbox.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from offtake.commands._common import console, handle_errors


def register(app: typer.Typer) -> None:
    sandbox = typer.Typer(help="Run the programme end to end on a compressed clock.",
                          no_args_is_help=True)
    app.add_typer(sandbox, name="sandbox")

    @sandbox.command("run")
    @handle_errors
    def run_cmd(
        out: Path = typer.Option(..., "--out", help="Folder for the database, logs and report."),  # noqa: B008
        scenario: str = typer.Option("pakistan-2025", "--scenario", help="Scenario name or folder (default: pakistan-2025)."),
        start: str | None = typer.Option(None, "--from", help="First scenario day, YYYY-MM-DD (default: the window "
                                         "with the least hostable surplus)."),
        days: float = typer.Option(2.0, "--days", help="Simulated days (default: 2)."),
        hours: int | None = typer.Option(None, "--hours", help="Simulated hours (overrides --days)."),
        speed: float = typer.Option(900.0, "--speed", help="Simulated seconds per wall second (default: 900; "
                                    "above 1440 an hour is too short for the households-first check)."),
        design: str = typer.Option("surplus_indexed", "--design", help="Tariff design: surplus_indexed or flat."),
        level: float = typer.Option(2.0, "--level", help="Design level: Rs/kWh over the hourly marginal cost "
                                    "(surplus_indexed) or Rs/kWh (flat). Default 2.0 (covers the network charge)."),
        floor: float | None = typer.Option(None, "--floor", help="surplus_indexed floor, Rs/kWh (default: none)."),
        regions: int = typer.Option(2, "--regions", help="Regions with sites: those with the most MW (default: 2)."),
        sites: int = typer.Option(2, "--sites-per-region", help="Mining sites per region (default: 2; AI: one)."),
        miners: int = typer.Option(10, "--miners-per-site", help="Simulated miners per mining site (default: 10; each stands for a container of machines)."),
        pods: int = typer.Option(8, "--pods-per-site", help="Simulated GPU pods per AI site (default: 8)."),
        seed: int = typer.Option(20251125, "--seed", help="Forecast-error seed (default: 20251125)."),
    ) -> None:
        """Real service + one real agent per site, scenario surplus replayed, faults injected."""
        import math

        from offtake.economics.designs import Design
        from offtake.errors import InputError
        from offtake.sandbox.programme import check_counts
        from offtake.sandbox.run import Options, Sandbox

        if not math.isfinite(days) or (hours is None and days <= 0):
            raise InputError("--days: must be a positive number")
        n = hours if hours is not None else round(days * 24)
        if n < 5:
            raise InputError("--hours/--days: at least 5 simulated hours (one per injected fault)")
        if not math.isfinite(speed) or not 0 < speed <= 7200:
            raise InputError("--speed: must be in (0, 7200]")
        if n * 3600 / speed < 40:
            raise InputError(f"--hours/--days x 3600/--speed: the replay lasts {n * 3600 / speed:.0f} s of wall time; "
                             "it needs at least 40 s so the last injected fault (at 4/5 of the run, 5 s long) has "
                             "time to recover before the end")
        if not 1 <= regions <= 7:
            raise InputError("--regions: must be between 1 and 7")
        check_counts(sites, miners, pods)
        Design(design, level, floor)  # validates design, level and floor (clear errors)
        opt = Options(scenario=scenario, start=start, hours=n, speed=speed, regions=regions,
                      sites_per_region=sites, miners_per_site=miners, pods_per_site=pods,
                      design=design, level=level, floor=floor, seed=seed)
        from rich.progress import Progress

        console.print(f"sandbox: planning sites under {opt.design} {opt.level:g}, then the service and one "
                      f"agent per site, then {n} simulated hours at {3600 / speed:g} s each",
                      highlight=False)
        with Progress(console=console) as bar:
            task = bar.add_task("simulated clock", total=n)

            def tick(i: int, total: int, sim: str) -> None:
                bar.update(task, completed=i, description=f"simulated {sim}")
            s = Sandbox(out, opt).run(progress=tick)
        hf = s["households_first"]
        if not hf["checkable"]:
            console.print(f"[red]households first NOT CHECKED[/red]: {hf['why_not_checkable']}")
        console.print(f"households first: {'passed' if hf['passed'] else 'FAILED'} "
                      f"({len(hf['violations'])} violations); faults recovered: "
                      f"{s['all_faults_recovered']}; telemetry exactly once: {s['exactly_once']}; "
                      f"report {out / 'sandbox.html'}", highlight=False)
        if not (hf["passed"] and s["all_faults_recovered"] and s["exactly_once"]):
            raise typer.Exit(1)

    # ------------------------------------------------------------ certify (docs/certify.md)
    @sandbox.command("certify")
    @handle_errors
    def certify_cmd(
        out: Path = typer.Option(..., "--out", help="Folder for certificate.json, certificate.html and run/."),  # noqa: B008
        agent_config: Path | None = typer.Option(None, "--agent-config", help="The operator's site config (site.yaml) "  # noqa: B008
                                                 "of an agent speaking Offtake's site API."),
        ven: Path | None = typer.Option(None, "--ven", help="Instead: the declaration (YAML) of an OpenADR 3.1 VEN; "  # noqa: B008
                                        "the certifier prints the VTN URL and credentials to give it."),
        agent_command: str | None = typer.Option(None, "--agent-command", help="Command that starts the agent; "
                                                 "{config} (agent) or {url} {client_id} {client_secret} {site_id} "
                                                 "(VEN) are filled in. Default: offtake agent / a VEN started by hand."),
        thresholds: Path | None = typer.Option(None, "--thresholds", help="YAML/JSON file overriding thresholds."),  # noqa: B008
        contracted_mw: float | None = typer.Option(None, "--contracted-mw", help="Site size in MW (needed for real "
                                                   "miners; default: the simulated fleet's nameplate)."),
        wait_s: float = typer.Option(600.0, "--wait-s", help="VEN mode: seconds to wait for its first report."),
    ) -> None:
        """Qualify a site agent: setpoint steps, emergency, link loss, under-frequency, telemetry."""
        from offtake.errors import InputError, OutputError
        from offtake.sandbox.certify import Certifier, prepare, prepare_ven
        from offtake.sandbox.certify_report import NAMES, write

        if (agent_config is None) == (ven is None):
            raise InputError("give exactly one of --agent-config (an agent on Offtake's site API) and --ven "
                             "(an OpenADR 3.1 VEN's declaration)")
        if ven is not None:
            if contracted_mw is not None:
                raise InputError("--contracted-mw is for --agent-config; a VEN declares contracted_mw in its file")
            plan = prepare_ven(ven, agent_command, thresholds, wait_s)
        else:
            plan = prepare(agent_config, agent_command, thresholds, contracted_mw)
        if out.exists() and not out.is_dir():
            raise OutputError(f"--out {out}: a file of that name is in the way")
        out.mkdir(parents=True, exist_ok=True)
        from rich.progress import Progress

        def announce(info: dict) -> None:
            console.print("Give the VEN these (also in " + str(out / "run" / "agent" / "ven.json") + "):\n"
                          + "\n".join(f"  {k}: {v}" for k, v in info.items()), highlight=False)

        steps = list(NAMES.values())
        with Progress(console=console) as bar:
            task = bar.add_task("starting the service", total=len(steps) - 1)

            def tick(name: str, i: int) -> None:
                bar.update(task, completed=i, description=name)
            cert = Certifier(plan, out).run(progress=tick, announce=announce)
            bar.update(task, completed=len(steps) - 1, description="done")
        write(out, cert)
        for t in cert["tests"]:
            word = {True: "[green]pass[/]", False: "[bold red]FAIL[/]", None: "[yellow]n/a[/] "}[t["passed"]]
            console.print(f"  {word}  {t['name']}", highlight=False)
        console.print(f"certificate: {cert['verdict']}, scope {cert['scope']} ({out / 'certificate.html'})",
                      highlight=False)
        if not cert["passed"]:
            raise typer.Exit(1)
