"""Which refused requests the audit log keeps, and with what (the app's error handlers call ``audit_refusal``).

Audited: every 401 and 403, and every 4xx answer to a change (POST, PUT, PATCH, DELETE): validation errors,
policy refusals (e.g. a watchlist whose people lack a purpose), unknown ids, oversized uploads, rate limits.
Not audited: other refused reads (a GET of a missing person), a failed console login (the login route audits
it itself), the console asking whether it is signed in (``GET /auth/me`` with no credential at all), and
errors a service audited itself (``FaceplaneError.audited``: ``camera.refused``).

A row names the caller when the request carried a valid key or session (a 422 from a signed-in operator),
the client IP, method and path (never the query string, headers, cookies or body: no key, password or
session token reaches the log), the status and the reason. ``RefusalLog`` bounds how many are written.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import Request

from ..governance.refusals import Refusal
from .deps import SESSION_COOKIE, client_ip, find_principal

__all__ = ["audit_refusal"]

log = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SELF_AUDITED = ("/api/v1/auth/login",)  # routes that write their own audit row for their refusals


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _audited(request: Request, status: int) -> bool:
    if not 400 <= status < 500:
        return False
    if status == 401 and request.url.path in _SELF_AUDITED:
        return False
    if status == 401 and request.method == "GET" and request.url.path == "/api/v1/auth/me":
        headers = request.headers
        return bool(headers.get("x-api-key") or headers.get("authorization") or request.cookies.get(SESSION_COOKIE))
    return status in (401, 403) or request.method in MUTATING


def audit_refusal(request: Request, status: int, reason: str | None, detail: str) -> None:
    """Record a refused request in the audit log, if it is one that is audited and the rate limit allows.

    ``reason``: the error kind (e.g. ``InvalidArgumentError``); None: the status's phrase (``Forbidden``).
    """
    if not _audited(request, status):
        return
    services = request.app.state.services
    ip = client_ip(request)
    if not services.refusals.admit(ip, status):
        return
    principal = find_principal(request, services) if status != 401 else None
    refusal = Refusal(
        actor=principal.name if principal else "",
        role=principal.role if principal else "",
        ip=ip,
        method=request.method,
        path=request.url.path,
        status=status,
        reason=reason or _phrase(status),
        detail=detail,
    )
    try:
        services.refusals.write(refusal)
    except Exception:  # the refusal itself must still be answered
        log.exception("could not audit the refusal of %s %s", request.method, request.url.path)
