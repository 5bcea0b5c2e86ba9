"""Request dependencies: the services, the caller and their role, uploads with limits, rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, UploadFile

from ..governance.accounts import Principal, role_at_least
from ..services import Services

SESSION_COOKIE = "fp_session"
MAX_INT64 = 2**63 - 1  # the largest SQLite INTEGER: ids and offsets beyond it are a 422, not an OverflowError
IMAGE_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/bmp",
    "image/gif",
    "image/tiff",
    "application/octet-stream",
)


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def find_principal(request: Request, services: Services) -> Principal | None:
    """The caller, from ``X-API-Key``, ``Authorization: Bearer <key>`` or the console session cookie; None
    when the request has none of them or they are not valid."""
    key = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    principal = services.accounts.authenticate_key(key) if key else None
    if principal is None and (token := request.cookies.get(SESSION_COOKIE)):
        principal = services.accounts.session(token)
    return principal


def get_principal(request: Request, services: ServicesDep) -> Principal:
    """The caller (see ``find_principal``); 401 without a valid one."""
    principal = find_principal(request, services)
    if principal is None:
        raise HTTPException(401, "a valid API key (X-API-Key) or a console login is required")
    return principal


def require(role: str) -> Callable[..., Principal]:
    """A dependency that lets through callers with at least ``role``."""

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not role_at_least(principal.role, role):
            raise HTTPException(403, f"this needs the {role} role; {principal.name!r} is {principal.role}")
        return principal

    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def rate_limited(principal: Operator, services: ServicesDep) -> Principal:
    """Recognition endpoints: at most ``rate_limit_per_minute`` calls per caller."""
    if not services.rate_limiter.allow(principal.name):
        raise HTTPException(429, f"more than {services.settings.rate_limit_per_minute} recognition calls a minute")
    return principal


RateLimited = Annotated[Principal, Depends(rate_limited)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


VIDEO_TYPES = ("video/mp4", "video/webm", "video/quicktime", "video/x-matroska", "application/octet-stream")


async def read_image(upload: UploadFile, services: Services) -> bytes:
    """The bytes of an uploaded image, refusing wrong content types and oversized files (413)."""
    return await _read_upload(upload, services, IMAGE_TYPES, "an image")


async def read_clip(upload: UploadFile, services: Services) -> bytes:
    """The bytes of an uploaded short video clip (same size limit as images)."""
    return await _read_upload(upload, services, VIDEO_TYPES, "a video clip")


async def _read_upload(upload: UploadFile, services: Services, types: tuple[str, ...], what: str) -> bytes:
    if upload.content_type and upload.content_type.split(";")[0].strip() not in types:
        raise HTTPException(415, f"{upload.filename or 'upload'}: expected {what}, got {upload.content_type}")
    limit = int(services.settings.max_upload_mb * 1024 * 1024)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"{upload.filename or 'upload'}: larger than {services.settings.max_upload_mb:g} MB")
    if not data:
        raise HTTPException(400, f"{upload.filename or 'upload'}: empty file")
    return data
