"""Detect, verify and identify faces in uploaded photos (audited, rate limited)."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from ..deps import AuditTrailDep, FacesDep, RateLimited, UploadsDep
from ..schemas import AnalyzeOut, DetectOut, IdentifyOut, MatchOut, analyzed_out, faces_out, identified

router = APIRouter(tags=["faces"])


class Landmarks(IntEnum):
    """Landmark counts of /analyze (an enum: a query string is text, and ``Literal[5, 68]`` refuses "68")."""

    FIVE = 5
    SIXTY_EIGHT = 68


@router.post("/detect", response_model=DetectOut, summary="Find faces: boxes, 5-point landmarks, quality")
async def detect(
    image: Annotated[UploadFile, File()], who: RateLimited, faces: FacesDep, uploads: UploadsDep
) -> DetectOut:
    found = await run_in_threadpool(faces.detect, await uploads.image(image))
    return DetectOut(faces=faces_out(found))


@router.post(
    "/analyze", response_model=AnalyzeOut, summary="Faces with embeddings; landmarks=68 adds 68 points and head pose"
)
async def analyze(
    image: Annotated[UploadFile, File()],
    who: RateLimited,
    faces: FacesDep,
    uploads: UploadsDep,
    landmarks: Annotated[Landmarks, Query(description="5 or 68 (iBUG terms: non-commercial)")] = Landmarks.FIVE,
) -> AnalyzeOut:
    data = await uploads.image(image)
    found, pose = await run_in_threadpool(faces.analyze, data, landmarks=int(landmarks))
    return AnalyzeOut(faces=analyzed_out(found, pose))


@router.post("/verify", response_model=MatchOut, summary="1:1: are the largest faces of two photos the same person?")
async def verify(
    image_a: Annotated[UploadFile, File()],
    image_b: Annotated[UploadFile, File()],
    who: RateLimited,
    faces: FacesDep,
    uploads: UploadsDep,
    audit: AuditTrailDep,
) -> MatchOut:
    a, b = await uploads.image(image_a), await uploads.image(image_b)
    match = await run_in_threadpool(faces.verify, a, b)
    audit.record("verify", same=match.is_match, distance=round(match.distance, 4))
    return MatchOut.of(match)


@router.post("/identify", response_model=IdentifyOut, summary="1:N: who is each face of a photo? (open-set)")
async def identify(
    image: Annotated[UploadFile, File()],
    who: RateLimited,
    faces: FacesDep,
    uploads: UploadsDep,
    audit: AuditTrailDep,
    collection: Annotated[list[str] | None, Query(description="search only these collections")] = None,
    k: Annotated[int, Query(ge=1, le=50)] = 3,
) -> IdentifyOut:
    # detection + embedding take 0.3-1 s of CPU: off the event loop, or every other request (health, console,
    # SSE) waits behind it
    found, results = await run_in_threadpool(faces.identify, await uploads.image(image), collection, k)
    matched = [r.person.person_id for r in results if r.person]
    audit.record("identify", target=",".join(collection or []), faces=len(found), matched=matched)
    return IdentifyOut(faces=identified(found, results))
