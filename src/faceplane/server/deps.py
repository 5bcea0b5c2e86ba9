"""Request dependencies: the caller and their role, rate limits, the one domain service a route serves, the audit
trail of the request and uploads with their limit.

A route declares what it touches: ``faces: FacesDep`` hands it ``Services.faces``, ``audit: AuditTrailDep`` writes
its audit rows as the caller from the caller's address, ``uploads: UploadsDep`` reads its files within
``max_upload_mb``. ``ServicesDep``, the whole container, is for the few routes that need several of its parts at
once (the console login, the live event stream, the models in use).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, UploadFile

from ..governance.accounts import AccountStore, Principal, role_at_least
from ..governance.audit import AuditLog
from ..services import (
    CameraService,
    EventsService,
    FacesService,
    GalleryService,
    GovernanceService,
    ImportService,
    LivenessService,
    MatchingService,
    PeopleEditor,
    Services,
    UnknownFaces,
)

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
VIDEO_TYPES = ("video/mp4", "video/webm", "video/quicktime", "video/x-matroska", "application/octet-stream")
T = TypeVar("T")


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


# -- the one domain service a route serves (see Services for what each one does) ------------------------------
def _part(get: Callable[[Services], T]) -> Callable[[Services], T]:
    """A dependency that hands a route one part of the services (``get`` says which)."""

    def part(services: ServicesDep) -> T:
        return get(services)

    return part


FacesDep = Annotated[FacesService, Depends(_part(lambda s: s.faces))]
LibraryDep = Annotated[GalleryService, Depends(_part(lambda s: s.library))]
HistoryDep = Annotated[EventsService, Depends(_part(lambda s: s.history))]
CamerasDep = Annotated[CameraService, Depends(_part(lambda s: s.cameras))]
LivenessDep = Annotated[LivenessService, Depends(_part(lambda s: s.liveness))]
GovernanceDep = Annotated[GovernanceService, Depends(_part(lambda s: s.governance))]
MatchingDep = Annotated[MatchingService, Depends(_part(lambda s: s.matching))]
UnknownDep = Annotated[UnknownFaces, Depends(_part(lambda s: s.unknown))]
PeopleEditorDep = Annotated[PeopleEditor, Depends(_part(lambda s: s.people_editor))]
ImportsDep = Annotated[ImportService, Depends(_part(lambda s: s.imports))]
# users, API keys, sessions (routes/admin.py); the audit log to read it (GET /audit; rows are written by AuditTrail)
AccountsDep = Annotated[AccountStore, Depends(_part(lambda s: s.accounts))]
AuditLogDep = Annotated[AuditLog, Depends(_part(lambda s: s.audit))]


# -- the audit rows of a request --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditTrail:
    """Writes the audit rows of one request: the caller (``who``) and their address (``ip``) are the request's,
    a route names what it did, on what, with which status and details."""

    log: AuditLog
    who: Principal
    ip: str

    def record(self, action: str, *, target: str = "", status: int = 200, **detail: object) -> None:
        self.log.record(
            actor=self.who.name,
            role=self.who.role,
            action=action,
            target=target,
            ip=self.ip,
            status=status,
            detail=detail or None,
        )


def audit_trail(request: Request, who: Annotated[Principal, Depends(get_principal)], log: AuditLogDep) -> AuditTrail:
    """The request's audit trail; the caller is the one the route's role check let through (FastAPI resolves
    ``get_principal`` once a request)."""
    return AuditTrail(log, who, client_ip(request))


AuditTrailDep = Annotated[AuditTrail, Depends(audit_trail)]


# -- uploads ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Uploads:
    """Reads uploaded files whole, refusing wrong content types (415), empty files (400) and files over
    ``limit_mb`` (413)."""

    limit_mb: float

    async def image(self, upload: UploadFile) -> bytes:
        """The bytes of an uploaded image."""
        return await self._read(upload, IMAGE_TYPES, "an image")

    async def clip(self, upload: UploadFile) -> bytes:
        """The bytes of an uploaded short video clip (same size limit as images)."""
        return await self._read(upload, VIDEO_TYPES, "a video clip")

    async def _read(self, upload: UploadFile, types: tuple[str, ...], what: str) -> bytes:
        if upload.content_type and upload.content_type.split(";")[0].strip() not in types:
            raise HTTPException(415, f"{upload.filename or 'upload'}: expected {what}, got {upload.content_type}")
        limit = int(self.limit_mb * 1024 * 1024)
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"{upload.filename or 'upload'}: larger than {self.limit_mb:g} MB")
        if not data:
            raise HTTPException(400, f"{upload.filename or 'upload'}: empty file")
        return data


def uploads(services: ServicesDep) -> Uploads:
    return Uploads(services.settings.max_upload_mb)


UploadsDep = Annotated[Uploads, Depends(uploads)]
