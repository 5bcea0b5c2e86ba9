"""Governance: erasure by a probe photo and an on-demand retention run (admins; both audited).

Erasing one known person is ``DELETE /people/{id}`` (gallery routes).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from ..deps import Admin, AuditTrailDep, GovernanceDep, UploadsDep
from ..schemas import ErasureOut, RetentionOut

router = APIRouter(tags=["governance"])


@router.post(
    "/erasure/by-photo",
    response_model=ErasureOut,
    summary="Erase everyone whose face matches the photo, everywhere (dry_run: only count)",
)
async def erase_by_photo(
    image: Annotated[UploadFile, File(description="a photo of the face to erase")],
    who: Admin,
    governance: GovernanceDep,
    uploads: UploadsDep,
    audit: AuditTrailDep,
    dry_run: Annotated[bool, Query(description="count what would be erased, delete nothing")] = False,
) -> ErasureOut:
    data = await uploads.image(image)
    report = await run_in_threadpool(governance.erase_face, data, dry_run=dry_run)
    audit.record("erase.by-photo", **vars(report))
    return ErasureOut.of(report)


@router.post("/retention/run", response_model=RetentionOut, summary="Apply the retention limits now")
async def run_retention(who: Admin, governance: GovernanceDep, audit: AuditTrailDep) -> RetentionOut:
    report = await run_in_threadpool(governance.run_retention)
    audit.record("retention.run")
    return RetentionOut.of(report)
