"""Console login, API keys and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from ..deps import (
    MAX_INT64,
    SESSION_COOKIE,
    AccountsDep,
    Admin,
    AuditLogDep,
    AuditTrailDep,
    GovernanceDep,
    ServicesDep,
    Viewer,
    client_ip,
)
from ..schemas import AuditOut, KeyIn, KeyOut, LoginIn, MeOut, NewKeyOut, UserIn, UserOut

router = APIRouter(tags=["accounts"])


@router.post("/auth/login", response_model=MeOut, summary="Console login: sets a session cookie")
def login(body: LoginIn, request: Request, response: Response, services: ServicesDep) -> MeOut:
    lifetime_s = services.settings.session_hours * 3600
    token = services.accounts.login(body.username, body.password, lifetime_s=lifetime_s)
    status = 200 if token else 401
    services.audit.record(actor=body.username, role="", action="login", target="", ip=client_ip(request), status=status)
    if token is None:
        raise HTTPException(401, "wrong user name or password")
    # Secure outside development, and on HTTPS in any case (directly or from a trusted TLS-terminating proxy)
    secure = services.settings.environment != "development" or request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, token, max_age=int(lifetime_s), httponly=True, samesite="strict", secure=secure)
    principal = services.accounts.session(token)
    assert principal is not None  # just created
    return MeOut(name=principal.name, role=principal.role, kind=principal.kind)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, accounts: AccountsDep) -> None:
    if token := request.cookies.get(SESSION_COOKIE):
        accounts.logout(token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/auth/me", response_model=MeOut)
def me(who: Viewer) -> MeOut:
    return MeOut(name=who.name, role=who.role, kind=who.kind)


@router.get("/users", response_model=list[UserOut])
def list_users(who: Admin, accounts: AccountsDep) -> list[UserOut]:
    return [UserOut(username=u, role=r, created_at=t) for u, r, t in accounts.list_users()]


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a console user or reset one")
def set_user(body: UserIn, who: Admin, accounts: AccountsDep, audit: AuditTrailDep) -> UserOut:
    accounts.set_user(body.username, body.password, body.role)
    audit.record("user.set", target=body.username, status=201, role=body.role)
    (user,) = [UserOut(username=u, role=r, created_at=t) for u, r, t in accounts.list_users() if u == body.username]
    return user


@router.delete("/users/{username}", status_code=204)
def delete_user(username: str, who: Admin, accounts: AccountsDep, audit: AuditTrailDep) -> None:
    accounts.delete_user(username)
    audit.record("user.delete", target=username, status=204)


@router.get("/keys", response_model=list[KeyOut])
def list_keys(who: Admin, accounts: AccountsDep) -> list[KeyOut]:
    return [
        KeyOut(
            id=k.id,
            name=k.name,
            role=k.role,
            prefix=k.prefix,
            created_at=k.created_at,
            revoked=k.revoked_at is not None,
        )
        for k in accounts.list_keys()
    ]


@router.post("/keys", response_model=NewKeyOut, status_code=201)
def create_key(body: KeyIn, who: Admin, accounts: AccountsDep, audit: AuditTrailDep) -> NewKeyOut:
    key = accounts.create_key(body.name, body.role)
    audit.record("key.create", target=body.name, status=201, role=body.role)
    return NewKeyOut(key=key, name=body.name, role=body.role)


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=MAX_INT64)], who: Admin, accounts: AccountsDep, audit: AuditTrailDep
) -> None:
    accounts.revoke_key(key_id)
    audit.record("key.revoke", target=str(key_id), status=204)


@router.get("/audit", response_model=list[AuditOut])
def audit(
    who: Admin,
    log: AuditLogDep,
    actor: Annotated[str | None, Query()] = None,
    action: Annotated[str | None, Query()] = None,
    since_s: Annotated[float | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
) -> list[AuditOut]:
    entries = log.query(actor=actor, action=action, since_s=since_s, limit=limit, offset=offset)
    return [AuditOut(**e.__dict__) for e in entries]


@router.get(
    "/report.html",
    response_class=HTMLResponse,
    summary="Compliance report: what is stored, for how long, who searched (printable HTML)",
)
def report(who: Admin, governance: GovernanceDep) -> HTMLResponse:
    return HTMLResponse(governance.report(), headers={"Cache-Control": "no-store"})
