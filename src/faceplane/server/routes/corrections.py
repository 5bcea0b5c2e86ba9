"""Corrections ("not this person" on an alert or an identification) and thresholds per collection and camera.

Changes are audited (``correction.add``, ``correction.delete``, ``threshold.set``); operators make them,
viewers see them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from ...gallery.thresholds import MatchThreshold
from ..deps import MAX_INT64, AuditTrail, AuditTrailDep, MatchingDep, Operator, RateLimited, UploadsDep, Viewer
from ..schemas import CorrectionIn, CorrectionOut, ThresholdIn, ThresholdOut

router = APIRouter(tags=["corrections and thresholds"])

PersonId = Annotated[int, Path(ge=1, le=MAX_INT64)]
CorrectionId = Annotated[int, Path(ge=1, le=MAX_INT64)]


@router.post(
    "/alerts/{event_id}/not-this-person",
    response_model=list[CorrectionOut],
    status_code=201,
    summary="Not this person: the face of this watchlist alert is not the person it named (one correction per "
    "snapshot of the alert's visit)",
)
async def correct_alert(
    event_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    who: Operator,
    matching: MatchingDep,
    audit: AuditTrailDep,
    body: CorrectionIn | None = None,
) -> list[CorrectionOut]:
    note = body.note if body else ""
    views = await run_in_threadpool(matching.correct_alert, event_id, note=note)
    made = [v.correction for v in views]
    _audit(audit, made[0].person_id, event=event_id, corrections=[c.id for c in made],
           templates=sorted({c.template_id for c in made if c.template_id is not None}))  # fmt: skip
    return [CorrectionOut.of(v) for v in views]


@router.post(
    "/people/{person_id}/not-this-person",
    response_model=CorrectionOut,
    status_code=201,
    summary="Not this person: a face of this photo (as /identify numbered it) is not this person",
)
async def correct_photo(
    person_id: PersonId,
    who: RateLimited,  # detects and embeds like /identify: an operator, rate limited
    matching: MatchingDep,
    uploads: UploadsDep,
    audit: AuditTrailDep,
    image: Annotated[UploadFile, File(description="the photo that was identified")],
    face_index: Annotated[int, Form(ge=0, le=1000, description="the face, as /identify numbered it")] = 0,
    note: Annotated[str, Form(max_length=500)] = "",
) -> CorrectionOut:
    data = await uploads.image(image)
    view = await run_in_threadpool(matching.correct_photo, person_id, data, face_index=face_index, note=note)
    _audit(audit, person_id, correction=view.correction.id, template=view.correction.template_id)
    return CorrectionOut.of(view)


def _audit(audit: AuditTrail, person_id: int, **detail: object) -> None:
    audit.record("correction.add", target=f"person:{person_id}", status=201, **detail)


@router.get("/people/{person_id}/corrections", response_model=list[CorrectionOut])
def list_corrections(person_id: PersonId, who: Viewer, matching: MatchingDep) -> list[CorrectionOut]:
    return [CorrectionOut.of(v) for v in matching.corrections(person_id)]


@router.delete("/corrections/{correction_id}", status_code=204, summary="Undo a correction")
def delete_correction(correction_id: CorrectionId, who: Operator, matching: MatchingDep, audit: AuditTrailDep) -> None:
    removed = matching.remove_correction(correction_id)
    audit.record("correction.delete", target=f"person:{removed.person_id}", status=204, correction=correction_id)


@router.get(
    "/corrections/{correction_id}/thumbnail.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 204: {"description": "no picture kept"}},
)
def correction_thumbnail(correction_id: CorrectionId, who: Viewer, matching: MatchingDep) -> Response:
    jpeg = matching.correction_thumbnail(correction_id)
    return Response(jpeg, media_type="image/jpeg") if jpeg else Response(status_code=204)


@router.get("/thresholds", response_model=list[ThresholdOut], summary="Thresholds in force and what they mean")
def list_thresholds(who: Viewer, matching: MatchingDep) -> list[ThresholdOut]:
    return [ThresholdOut.of_view(v) for v in matching.thresholds()]


@router.get("/thresholds/preview", response_model=ThresholdOut, summary="What a threshold would mean")
def preview_threshold(
    who: Viewer,
    matching: MatchingDep,
    fpir: Annotated[float | None, Query(gt=0, lt=1, description="a target share of strangers named")] = None,
    distance: Annotated[float | None, Query(gt=0, le=2, description="or an explicit distance")] = None,
    collection: Annotated[str | None, Query(max_length=64, description="for this collection's people")] = None,
    camera: Annotated[str | None, Query(max_length=64, description="for a camera (everyone)")] = None,
) -> ThresholdOut:
    info = matching.preview(MatchThreshold(fpir, distance), collection=collection, camera=camera)
    return ThresholdOut.of(info, "preview", collection or camera)


@router.put("/collections/{name}/threshold", response_model=ThresholdOut)
def set_collection_threshold(
    name: str, body: ThresholdIn, who: Operator, matching: MatchingDep, audit: AuditTrailDep
) -> ThresholdOut:
    info = matching.set_collection_threshold(name, body.setting())
    audit.record("threshold.set", target=f"collection:{name}", fpir=body.fpir, distance=body.distance)
    return ThresholdOut.of(info, "collection", name)
