"""Routes of the dashboard: the page, its local static files, and its summary JSON.

The page itself needs no token (it holds no data); it logs in with client credentials
at ``/auth/token``, keeps the token in memory only, and calls the API with it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from offtake.errors import NotFoundError
from offtake.service.dashboard.history import History, build_history
from offtake.service.dashboard.summary import Summary, build_summary
from offtake.service.deps import ActorDep, SessionDep

router = APIRouter(tags=["dashboard"])
_STATIC = resources.files("offtake.service.dashboard") / "static"
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
_FILES = ("app.js", "style.css", "favicon.svg")
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; "
                               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@router.get("/dashboard", include_in_schema=False)
def dashboard_redirect() -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=307)


@router.get("/dashboard/", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page() -> HTMLResponse:
    html = (_STATIC / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers=_SECURITY_HEADERS)


@router.get("/dashboard/static/{name}", include_in_schema=False)
def dashboard_static(name: str) -> FileResponse:
    """The page's own files and plotly.min.js from the installed plotly package."""
    if name == "plotly.min.js":
        path = _plotly_js()
    elif name in _FILES:
        path = Path(str(_STATIC / name))
    else:
        raise NotFoundError(f"no dashboard file '{name}'")
    return FileResponse(path, media_type=_MEDIA[path.suffix],
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "max-age=300"})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """The dashboard's icon (SVG), so browsers asking for /favicon.ico get no 404."""
    return Response((_STATIC / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                    headers={"Cache-Control": "max-age=86400", "X-Content-Type-Options": "nosniff"})


@router.get("/api/v1/dashboard/history", response_model=History, tags=["dashboard"],
            summary="Last hours per region: surplus, allocated and drawn MW, hourly")
def dashboard_history(session: SessionDep, actor: ActorDep,
                      hours: Annotated[int, Query(ge=1, le=168)] = 24) -> History:
    return build_history(session, actor=actor, hours=hours)


@router.get("/api/v1/dashboard/summary", response_model=Summary, tags=["dashboard"],
            summary="Regions (surplus, allocated, drawn MW), sites and curtailments now")
def dashboard_summary(session: SessionDep, actor: ActorDep) -> Summary:
    return build_summary(session, actor=actor)
