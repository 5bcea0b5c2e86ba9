"""The unknown-face library: faces that matched nobody, their clusters (recurring strangers), and what an operator
does with them: name a cluster (a new person), add clusters or faces to a person, dismiss them.

Viewers may look (as they may look at people and events); operators act, as they may enroll and erase, and
send photos as sightings (rate limited, as identification). Every listing and action is audited with ids and
counts, never names or pictures; thumbnails are fetched by URL like templates' and snapshots', within the
listing's audited view.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from ...gallery.records import UnknownFilter
from ..deps import MAX_INT64, AuditTrailDep, Operator, RateLimited, UnknownDep, UploadsDep, Viewer
from ..schemas import (
    AssignIn,
    DismissOut,
    EnrollOut,
    NameClusterIn,
    SelectionIn,
    SightingsOut,
    UnknownClusterOut,
    UnknownFaceOut,
)

router = APIRouter(tags=["unknown faces"])

FaceId = Annotated[int, Path(ge=1, le=MAX_INT64)]
ClusterId = Annotated[int, Path(ge=1, le=MAX_INT64)]
Cameras = Annotated[list[str] | None, Query(description="only faces seen by these cameras (any of)")]
Since = Annotated[float | None, Query(description="seen at or after, Unix s")]
Until = Annotated[float | None, Query(description="seen before, Unix s")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT64)]


def _filters(**found: object) -> dict[str, object]:
    """The filters a listing was asked with, for its audit entry."""
    return {k: v for k, v in found.items() if v not in (None, [], ())}


@router.get("/unknown-faces", response_model=list[UnknownFaceOut], summary="Faces that matched nobody, newest first")
def list_unknown_faces(
    who: Viewer,
    unknown: UnknownDep,
    audit: AuditTrailDep,
    camera: Cameras = None,
    since_s: Since = None,
    until_s: Until = None,
    cluster_id: Annotated[int | None, Query(ge=1, le=MAX_INT64, description="only this cluster's faces")] = None,
    clustered: Annotated[bool | None, Query(description="true: only faces in a cluster; false: only in none")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[UnknownFaceOut]:
    where = UnknownFilter(tuple(camera or ()), since_s, until_s, cluster_id, clustered)
    faces = unknown.faces(where, limit=limit, offset=offset)
    filters = _filters(camera=camera, since_s=since_s, until_s=until_s, cluster=cluster_id, clustered=clustered)
    audit.record("unknown.list", faces=len(faces), offset=offset, filters=filters)
    return [UnknownFaceOut.of(f) for f in faces]


@router.post(
    "/unknown-faces",
    response_model=SightingsOut,
    summary="Send a photo as a sighting: each face is identified; those matching nobody join the unknown pool",
)
async def record_sighting(
    who: RateLimited,
    unknown: UnknownDep,
    uploads: UploadsDep,
    audit: AuditTrailDep,
    image: Annotated[UploadFile, File()],
    camera: Annotated[str, Form(pattern=r"^[\w.-]{1,64}$", description="where it was seen")] = "upload",
) -> SightingsOut:
    data = await uploads.image(image)
    seen = await run_in_threadpool(unknown.record, data, camera)
    kept = [f for f in seen.kept if f is not None]
    matched = [r.person.person_id for r in seen.found if r.person]
    audit.record("unknown.record", target=camera, kept=kept, matched=matched)
    return SightingsOut.of(seen)


@router.get(
    "/unknown-faces/{face_id}/thumbnail.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 204: {"description": "kept without a picture"}},
)
def unknown_thumbnail(face_id: FaceId, who: Viewer, unknown: UnknownDep) -> Response:
    jpeg = unknown.thumbnail(face_id)
    return Response(jpeg, media_type="image/jpeg") if jpeg else Response(status_code=204)


@router.get(
    "/unknown-clusters",
    response_model=list[UnknownClusterOut],
    summary="Recurring strangers: clusters of unknown faces with their cameras, times and best shots",
)
def list_unknown_clusters(
    who: Viewer,
    unknown: UnknownDep,
    audit: AuditTrailDep,
    camera: Cameras = None,
    since_s: Since = None,
    until_s: Until = None,
    order: Annotated[Literal["size", "last_seen"], Query(description="most sightings or most recent first")] = "size",
    best: Annotated[int, Query(ge=1, le=12, description="best shots per cluster")] = 4,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[UnknownClusterOut]:
    where = UnknownFilter(tuple(camera or ()), since_s, until_s)
    found = unknown.clusters(where, order=order, limit=limit, offset=offset, best=best)
    filters = _filters(camera=camera, since_s=since_s, until_s=until_s)
    audit.record("unknown.clusters", clusters=len(found), offset=offset, filters=filters)
    return [UnknownClusterOut.of(c) for c in found]


@router.post(
    "/unknown-clusters/{cluster_id}/name",
    response_model=EnrollOut,
    status_code=201,
    summary="Name a cluster: enroll its faces as a new person (consent and watchlist rules as enrollment)",
)
async def name_cluster(
    cluster_id: ClusterId, body: NameClusterIn, who: Operator, unknown: UnknownDep, audit: AuditTrailDep
) -> EnrollOut:
    report = await run_in_threadpool(
        unknown.name_cluster, cluster_id, body.collection, body.new_person(), face_ids=body.face_ids
    )
    target = f"{body.collection}/{report.person.id}" if report.person else body.collection
    audit.record(
        "unknown.name",
        target=target,
        status=201,
        cluster=cluster_id,
        templates=len(report.template_ids),
        refused=len(report.rejected),
    )
    return EnrollOut.of(report)


@router.post(
    "/unknown-faces/assign",
    response_model=EnrollOut,
    summary="Add clusters and single unknown faces to an existing person",
)
async def assign_unknown(body: AssignIn, who: Operator, unknown: UnknownDep, audit: AuditTrailDep) -> EnrollOut:
    report = await run_in_threadpool(
        unknown.add_to_person, body.person_id, cluster_ids=body.cluster_ids, face_ids=body.face_ids
    )
    audit.record(
        "unknown.assign",
        target=str(body.person_id),
        clusters=body.cluster_ids,
        faces=body.face_ids,
        templates=len(report.template_ids),
        refused=len(report.rejected),
    )
    return EnrollOut.of(report)


@router.post(
    "/unknown-faces/dismiss",
    response_model=DismissOut,
    summary="Dismiss clusters and single unknown faces: deleted, enrolled as nobody",
)
def dismiss_unknown(body: SelectionIn, who: Operator, unknown: UnknownDep, audit: AuditTrailDep) -> DismissOut:
    deleted = unknown.dismiss(cluster_ids=body.cluster_ids, face_ids=body.face_ids)
    audit.record("unknown.dismiss", clusters=body.cluster_ids, faces=len(deleted))
    return DismissOut(face_ids=deleted)
