"""Governance: erasure by a probe photo and an on-demand retention run (admins; both audited).

Erasing one known person is ``DELETE /people/{id}`` (gallery routes).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from ..deps import Admin, ServicesDep, client_ip, read_image
from ..schemas import ErasureOut, RetentionOut

router = APIRouter(tags=["governance"])


@router.post(
    "/erasure/by-photo",
    response_model=ErasureOut,
    summary="Erase everyone whose face matches the photo, everywhere (dry_run: only count)",
)
async def erase_by_photo(
    image: Annotated[UploadFile, File(description="a photo of the face to erase")],
    request: Request,
    who: Admin,
    services: ServicesDep,
    dry_run: Annotated[bool, Query(description="count what would be erased, delete nothing")] = False,
) -> ErasureOut:
    data = await read_image(image, services)
    report = await run_in_threadpool(services.governance.erase_face, data, dry_run=dry_run)
    services.record(who, "erase.by-photo", ip=client_ip(request), **vars(report))
    return ErasureOut.of(report)


@router.post("/retention/run", response_model=RetentionOut, summary="Apply the retention limits now")
async def run_retention(request: Request, who: Admin, services: ServicesDep) -> RetentionOut:
    report = await run_in_threadpool(services.governance.run_retention)
    services.record(who, "retention.run", ip=client_ip(request))
    return RetentionOut.of(report)
