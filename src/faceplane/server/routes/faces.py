"""Detect, verify and identify faces in uploaded photos (audited, rate limited)."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from ..deps import RateLimited, ServicesDep, client_ip, read_image
from ..schemas import AnalyzeOut, DetectOut, IdentifyOut, MatchOut, analyzed_out, faces_out, identified

router = APIRouter(tags=["faces"])


class Landmarks(IntEnum):
    """Landmark counts of /analyze (an enum: a query string is text, and ``Literal[5, 68]`` refuses "68")."""

    FIVE = 5
    SIXTY_EIGHT = 68


@router.post("/detect", response_model=DetectOut, summary="Find faces: boxes, 5-point landmarks, quality")
async def detect(image: Annotated[UploadFile, File()], who: RateLimited, services: ServicesDep) -> DetectOut:
    faces = await run_in_threadpool(services.faces.detect, await read_image(image, services))
    return DetectOut(faces=faces_out(faces))


@router.post(
    "/analyze", response_model=AnalyzeOut, summary="Faces with embeddings; landmarks=68 adds 68 points and head pose"
)
async def analyze(
    image: Annotated[UploadFile, File()],
    who: RateLimited,
    services: ServicesDep,
    landmarks: Annotated[Landmarks, Query(description="5 or 68 (iBUG terms: non-commercial)")] = Landmarks.FIVE,
) -> AnalyzeOut:
    data = await read_image(image, services)
    faces, pose = await run_in_threadpool(services.faces.analyze, data, landmarks=int(landmarks))
    return AnalyzeOut(faces=analyzed_out(faces, pose))


@router.post("/verify", response_model=MatchOut, summary="1:1: are the largest faces of two photos the same person?")
async def verify(
    request: Request,
    image_a: Annotated[UploadFile, File()],
    image_b: Annotated[UploadFile, File()],
    who: RateLimited,
    services: ServicesDep,
) -> MatchOut:
    a, b = await read_image(image_a, services), await read_image(image_b, services)
    match = await run_in_threadpool(services.faces.verify, a, b)
    services.record(who, "verify", ip=client_ip(request), same=match.is_match, distance=round(match.distance, 4))
    return MatchOut.of(match)


@router.post("/identify", response_model=IdentifyOut, summary="1:N: who is each face of a photo? (open-set)")
async def identify(
    request: Request,
    image: Annotated[UploadFile, File()],
    who: RateLimited,
    services: ServicesDep,
    collection: Annotated[list[str] | None, Query(description="search only these collections")] = None,
    k: Annotated[int, Query(ge=1, le=50)] = 3,
) -> IdentifyOut:
    # detection + embedding take 0.3-1 s of CPU: off the event loop, or every other request (health, console,
    # SSE) waits behind it
    faces, results = await run_in_threadpool(services.faces.identify, await read_image(image, services), collection, k)
    matched = [r.person.person_id for r in results if r.person]
    services.record(
        who, "identify", target=",".join(collection or []), ip=client_ip(request), faces=len(faces), matched=matched
    )
    return IdentifyOut(faces=identified(faces, results))
