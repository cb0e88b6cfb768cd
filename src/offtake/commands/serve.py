"""`offtake serve`: run the operations web service (API, push, dashboard)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from offtake.commands._common import console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command("serve")
    @handle_errors
    def serve(
        host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
        workers: Annotated[int, typer.Option(min=1, max=64,
                                             help="uvicorn worker processes")] = 1,
        database_url: Annotated[str | None, typer.Option(
            help="SQLAlchemy URL (default: $OFFTAKE_DATABASE_URL, else a SQLite file)")] = None,
        log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    ) -> None:
        """Serve the operations API on HOST:PORT (OpenAPI docs at /docs).

        On first start an admin client is created and its secret printed once.
        """
        import os

        import uvicorn
        from sqlalchemy.exc import SQLAlchemyError

        from offtake.errors import InputError
        from offtake.service.app import build_state, create_app
        from offtake.service.domain.clients import ensure_admin
        from offtake.service.settings import Settings

        if database_url:
            os.environ["OFFTAKE_DATABASE_URL"] = database_url
        from pydantic import ValidationError

        try:
            settings = Settings()
        except ValidationError as exc:  # values are not echoed: one may be a secret
            listed = "; ".join(f"OFFTAKE_{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                               for e in exc.errors())
            raise InputError(f"bad setting: {listed}") from None
        if workers > 1 and settings.database_url.startswith("sqlite"):
            raise InputError("several workers need PostgreSQL: set OFFTAKE_DATABASE_URL "
                             "(SQLite serialises writers and has no cross-process push)")
        try:
            state = build_state(settings)  # migrate + seed once, before any worker starts
        except SQLAlchemyError as exc:
            raise InputError(f"cannot use the database {_safe(settings.database_url)}: "
                             f"{str(exc).splitlines()[0]}") from None
        with state.sessions() as session:
            created = ensure_admin(session)
        state.engine.dispose()
        base = f"http://{host}:{port}"
        if created:
            cid, secret = created
            console.print("[bold green]First start: admin client created.[/] "
                          "The secret is shown only now; store it safely.")
            console.print(f"  client_id:     {cid}\n  client_secret: {secret}", highlight=False, soft_wrap=True)
            console.print(
                "Get a token:\n"
                f"  curl -s -X POST {base}/auth/token -d grant_type=client_credentials "
                f"-d client_id={cid} -d client_secret=<secret>\n"
                "then send 'Authorization: Bearer <access_token>'. Create clients with "
                f"POST {base}/api/v1/clients (see {base}/docs).", highlight=False, soft_wrap=True)
        console.print(f"dashboard: {base}/dashboard/  (log in with a client id and secret)", highlight=False, soft_wrap=True)
        console.print(f"database: {_safe(settings.database_url)}  docs: {base}/docs",
                      highlight=False, soft_wrap=True)
        from offtake.service.logredact import uvicorn_log_config

        if workers == 1:
            uvicorn.run(create_app(settings.model_copy(update={"migrate_on_start": False})),
                        host=host, port=port, log_level=log_level,
                        log_config=uvicorn_log_config())
        else:
            os.environ["OFFTAKE_DATABASE_URL"] = settings.database_url
            os.environ[SUPERVISOR_ENV] = str(os.getpid())
            uvicorn.run("offtake.commands.serve:worker_app", factory=True, host=host, port=port,
                        workers=workers, log_level=log_level, log_config=uvicorn_log_config())


SUPERVISOR_ENV = "OFFTAKE_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
#: a worker whose parent died gets SIGTERM, then this long to finish before it exits [s]
ORPHAN_GRACE_S = 5.0


def die_with_parent(parent_pid: int, *, poll_s: float = 1.0) -> None:
    """Make this worker process end when ``parent_pid`` (the supervisor) dies, even by
    kill -9, so no orphan keeps serving and holding the port.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGTERM)``, the kernel signals us when the parent
    exits.  Everywhere (and as a backstop): a daemon thread checks ``getppid()`` every
    ``poll_s``; once the parent is gone it sends SIGTERM to this process (uvicorn shuts
    down) and, if that has not ended it within :data:`ORPHAN_GRACE_S`, exits hard.
    """
    import ctypes
    import signal
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass

    def orphaned() -> bool:
        return os.getppid() != parent_pid

    if orphaned():  # the parent died before the death signal was armed
        os._exit(1)

    def watch() -> None:
        while not orphaned():
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_GRACE_S)
        os._exit(1)

    threading.Thread(target=watch, name="offtake-parent-watch", daemon=True).start()


def worker_app():  # type: ignore[no-untyped-def]
    """uvicorn factory for ``--workers N``: tie the worker to its supervisor, build the app."""
    from offtake.service.app import create_app

    parent = os.environ.get(SUPERVISOR_ENV)
    if parent and parent.isdigit():
        die_with_parent(int(parent))
    return create_app()


def _safe(url: str) -> str:
    """The URL without credentials, for messages."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.split('@')[-1]}" if sep else url
