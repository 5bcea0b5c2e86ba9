"""Cameras: add, list with live status, remove; the latest annotated frame for the live view."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ...config import CameraConfig
from ..deps import AuditTrailDep, CamerasDep, Operator, Viewer, client_ip
from ..schemas import CameraIn, CameraOut

router = APIRouter(tags=["cameras"])


@router.get("/cameras", response_model=list[CameraOut])
def list_cameras(who: Viewer, cameras: CamerasDep) -> list[CameraOut]:
    return [CameraOut.of(v) for v in cameras.views()]


@router.post("/cameras", response_model=CameraOut, status_code=201)
def add_camera(body: CameraIn, request: Request, who: Operator, cameras: CamerasDep, audit: AuditTrailDep) -> CameraOut:
    # the source policy is checked for this caller; a refusal is audited there (403 or 422)
    view = cameras.add(CameraConfig(**body.model_dump()), who=who, ip=client_ip(request))
    audit.record("camera.add", target=body.id, status=201)
    return CameraOut.of(view)


@router.get("/cameras/{camera_id}", response_model=CameraOut)
def get_camera(camera_id: str, who: Viewer, cameras: CamerasDep) -> CameraOut:
    return CameraOut.of(cameras.view(camera_id))


@router.delete("/cameras/{camera_id}", status_code=204)
def delete_camera(camera_id: str, who: Operator, cameras: CamerasDep, audit: AuditTrailDep) -> None:
    cameras.remove(camera_id)
    audit.record("camera.delete", target=camera_id, status=204)


@router.get(
    "/cameras/{camera_id}/frame.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 204: {"description": "no frame yet"}},
)
def live_frame(camera_id: str, who: Viewer, cameras: CamerasDep) -> Response:
    jpeg = cameras.live_frame(camera_id)
    if not jpeg:
        return Response(status_code=204)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
