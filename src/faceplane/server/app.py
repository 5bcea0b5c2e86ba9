"""The FastAPI application: the REST API under ``/api/v1``, OpenAPI at ``/docs``, the console at ``/``.

Errors are JSON problem details (RFC 9457: ``type``, ``title``, ``status``, ``detail``), mapped
from the library's exception tree in one place.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from types import UnionType
from typing import Union, get_args, get_origin

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import (
    FaceplaneError,
    ImageError,
    ImageTooLargeError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    SourceError,
)
from ..pipeline import NoFaceError
from ..services import Services
from .metrics import install_metrics
from .refused import audit_refusal
from .routes import (
    admin,
    cameras,
    corrections,
    events,
    faces,
    gallery,
    governance,
    imports,
    liveness,
    models,
    people,
    unknown,
)
from .security import VERIFY_PAGE, SecurityHeaders, fixed_headers

__all__ = ["create_app"]

log = logging.getLogger(__name__)
CONSOLE = Path(__file__).parent / "console"

_STATUS = (  # most specific first
    (ImageTooLargeError, 413),
    (NotFoundError, 404),
    (PermissionDeniedError, 403),  # a higher role may (a local file camera needs an admin)
    (NoFaceError, 422),
    (ImageError, 422),
    (SourceError, 422),
    (InvalidArgumentError, 400),
)


_PROBLEM = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string", "description": "the kind of error, e.g. NotFoundError"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
# what the handlers below send for every 4xx, in the OpenAPI document (it also replaces FastAPI's default
# 422 body, {"detail": [...]} as application/json, which this app never sends)
_PROBLEMS: dict[int | str, dict[str, object]] = {
    "4XX": {
        "description": "Problem details (RFC 9457)",
        "content": {"application/problem+json": {"schema": _PROBLEM}},
    }
}


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _is_list(annotation: object) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in get_args(annotation)) if get_origin(annotation) in (Union, UnionType) else False


def _single_valued_query(request: Request) -> None:
    """Refuse ``?x=1&x=2`` for a parameter that takes one value (FastAPI would silently keep the last)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    lists = {f.alias for f in dependant.query_params if _is_list(f.field_info.annotation)}
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = sorted(k for k, n in counts.items() if n > 1 and k not in lists)
    if repeated:
        raise HTTPException(422, f"query parameter(s) {', '.join(repeated)} given more than once")


def create_app(services: Services) -> FastAPI:
    """The app for these services (started and closed by the caller, e.g. ``faceplane serve``)."""
    app = FastAPI(
        title="faceplane",
        version=__version__,
        description="Self-hosted face recognition: faces, galleries, cameras, events. "
        "Authenticate with `X-API-Key` (or `Authorization: Bearer`) or a console login.",
        docs_url="/docs",
        redoc_url=None,  # ReDoc needs a CDN, Google Fonts and blob: workers; /docs is the one CDN page
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(_single_valued_query)],
    )
    app.state.services = services
    app.add_middleware(SecurityHeaders)  # CSP, nosniff, framing, permissions (camera only on /verify)
    routers = (faces, gallery, people, cameras, events, admin, liveness, governance, models, unknown, corrections)
    for module in (*routers, imports):
        app.include_router(module.router, prefix="/api/v1", responses=_PROBLEMS)
    install_metrics(app, services)  # GET /metrics (Prometheus) and the HTTP latency middleware

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.exception_handler(FaceplaneError)
    async def faceplane_error(request: Request, exc: FaceplaneError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
        if not exc.audited:  # a service that audited its refusal itself (camera.refused) said so
            audit_refusal(request, status, type(exc).__name__, str(exc))
        return _problem(status, type(exc).__name__, str(exc))

    @app.exception_handler(StarletteHTTPException)  # also the router's 404 and 405, not only ours
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        audit_refusal(request, exc.status_code, None, str(exc.detail))
        return _problem(exc.status_code, "HTTPException", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        audit_refusal(request, 422, "ValidationError", problems)
        return _problem(422, "ValidationError", problems)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        detail = str(exc) if services.settings.environment == "development" else "see the server log"
        response = _problem(500, "InternalError", detail)
        response.headers.update(fixed_headers())  # sent outside the middlewares
        return response

    @app.get("/", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(CONSOLE / "index.html")

    @app.get(VERIFY_PAGE, include_in_schema=False)
    def verify_page() -> FileResponse:  # the console again, in a document that may use the camera
        return FileResponse(CONSOLE / "index.html")

    app.mount("/console", StaticFiles(directory=CONSOLE), name="console")
    return app
