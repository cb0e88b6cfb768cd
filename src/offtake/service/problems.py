"""RFC 7807 problem-details responses for every error, and an OpenAPI that says so."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from offtake.errors import OfftakeError
from offtake.service.schemas import Problem

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
_DOCUMENTED = (400, 401, 403, 404, 409, 422)


def problem(status: int, detail: str, *, title: str | None = None,
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {"type": "about:blank", "title": title or phrase, "status": status,
                            "detail": detail}
    if errors is not None:
        body["errors"] = errors
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="offtake"', **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def _offtake_error(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OfftakeError)
    status = exc.http_status
    if status >= 500:
        log.error("internal error: %s", exc.message)
        return problem(status, "internal error; see the service log")
    return problem(status, exc.message, title=type(exc).__name__)


async def _validation_error(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in exc.errors()]
    first = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:3])
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return problem(422, f"invalid request: {first}{more}", errors=errors)


async def _http_error(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))


async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal error; see the service log")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OfftakeError, _offtake_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def install_openapi(app: FastAPI) -> None:
    """Document problem-details bodies for every 4xx an operation can answer."""

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes,
                             description=app.description)
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        comps["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        ref = {"$ref": "#/components/schemas/Problem"}
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                for status in _DOCUMENTED:
                    op["responses"][str(status)] = {
                        "description": HTTPStatus(status).phrase,
                        "content": {MEDIA_TYPE: {"schema": ref}}}
        comps.pop("HTTPValidationError", None)
        comps.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
