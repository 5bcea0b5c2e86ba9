"""Liveness sessions and trusted verification: face-pay (1:1) and door access (1:N) a photo cannot fool.

A kiosk or the console's capture page starts a session, shows each challenge, sends frames (or one
short clip) until the session is decided, then asks ``/verify-live`` or ``/identify-live``; each
decision is audited with its evidence frames. See :mod:`faceplane.services.access` and
:mod:`faceplane.liveness.sessions`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from ...governance.accounts import role_at_least
from ..deps import Admin, AuditTrailDep, LivenessDep, Operator, RateLimited, UploadsDep, client_ip
from ..schemas import IdentifyLiveIn, LiveDecisionOut, LivenessSessionOut, LivenessStartIn, VerifyLiveIn

router = APIRouter(tags=["liveness"])


@router.post(
    "/liveness/sessions", response_model=LivenessSessionOut, status_code=201, summary="Start a liveness session"
)
def start(body: LivenessStartIn, who: RateLimited, liveness: LivenessDep, audit: AuditTrailDep) -> LivenessSessionOut:
    if body.challenges is not None and not role_at_least(who.role, "admin"):
        raise HTTPException(403, "only admins may fix the challenges (a client that picks them defeats the check)")
    status, nonce = liveness.start(list(body.challenges) if body.challenges else None)
    if body.challenges:
        audit.record("liveness.start", target=status.session_id, fixed=body.challenges)
    return LivenessSessionOut.of(status, nonce)


@router.get("/liveness/sessions/{session_id}", response_model=LivenessSessionOut)
def status(session_id: str, who: Operator, liveness: LivenessDep) -> LivenessSessionOut:
    return LivenessSessionOut.of(liveness.status(session_id))


@router.post(
    "/liveness/sessions/{session_id}/frames",
    response_model=LivenessSessionOut,
    summary="One camera frame of the session (t_s: capture time in seconds on the client's clock)",
)
async def frame(
    session_id: str,
    image: Annotated[UploadFile, File()],
    nonce: Annotated[str, Form(max_length=100)],
    who: Operator,
    liveness: LivenessDep,
    uploads: UploadsDep,
    t_s: Annotated[float | None, Form(ge=0, le=3600)] = None,
) -> LivenessSessionOut:
    data = await uploads.image(image)
    return LivenessSessionOut.of(await run_in_threadpool(liveness.frame, session_id, nonce, data, t_s))


@router.post(
    "/liveness/sessions/{session_id}/clip",
    response_model=LivenessSessionOut,
    summary="A short video clip of the session, recorded after it started (mp4, webm, mov)",
)
async def clip(
    session_id: str,
    clip: Annotated[UploadFile, File()],
    nonce: Annotated[str, Form(max_length=100)],
    who: Operator,
    liveness: LivenessDep,
    uploads: UploadsDep,
) -> LivenessSessionOut:
    data = await uploads.clip(clip)
    return LivenessSessionOut.of(await run_in_threadpool(liveness.clip, session_id, nonce, data))


@router.post("/verify-live", response_model=LiveDecisionOut, summary="1:1 face-pay: is this live person the account?")
async def verify_live(body: VerifyLiveIn, request: Request, who: RateLimited, liveness: LivenessDep) -> LiveDecisionOut:
    decision = await run_in_threadpool(liveness.verify, who, body.session_id, body.person_id, ip=client_ip(request))
    return LiveDecisionOut.of(decision)


@router.post("/identify-live", response_model=LiveDecisionOut, summary="1:N door: who is it, may they pass?")
async def identify_live(
    body: IdentifyLiveIn, request: Request, who: RateLimited, liveness: LivenessDep
) -> LiveDecisionOut:
    decision = await run_in_threadpool(liveness.identify, who, body.session_id, body.collections, ip=client_ip(request))
    return LiveDecisionOut.of(decision)


@router.get("/liveness/evidence/{path:path}", response_class=FileResponse, summary="An evidence frame (admins)")
def evidence(path: str, who: Admin, liveness: LivenessDep) -> FileResponse:
    return FileResponse(liveness.evidence(path), media_type="image/jpeg")
