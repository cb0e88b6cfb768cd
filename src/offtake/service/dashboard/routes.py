"""Routes of the dashboard: the page, its local static files, and its summary JSON.

The page itself needs no token (it holds no data); it logs in with client credentials
at ``/auth/token``, keeps the token in memory only, and calls the API with it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from offtake.errors import NotFoundError
from offtake.service.dashboard.summary import Summary, build_summary
from offtake.service.deps import ActorDep, SessionDep

router = APIRouter(tags=["dashboard"])
_STATIC = resources.files("offtake.service.dashboard") / "static"
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
_FILES = ("app.js", "style.css")
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


@router.get("/api/v1/dashboard/summary", response_model=Summary, tags=["dashboard"],
            summary="Regions (surplus, allocated, drawn MW), sites and curtailments now")
def dashboard_summary(session: SessionDep, actor: ActorDep) -> Summary:
    return build_summary(session, actor=actor)
