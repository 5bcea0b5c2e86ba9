"""Bulk imports: a zip of photos, one folder per person (``Person_Name/photo.jpg``), enrolled in the background
through the enrollment quality gate and policy, with a report of what was refused and why
(:mod:`faceplane.services.imports`).

Operators may import, as they may enroll; the reports name people and files, so they are the operators' too.
The audit log gets one row when a job starts or is resumed (here) and one when it ends (the service's), never
one per file. A too-large upload or archive is a 413, an archive that is not a safe zip of photos a 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from ..deps import MAX_INT64, AuditTrailDep, ImportsDep, Operator
from ..schemas import ImportJobOut, ImportReportOut, consent_of, utc_seconds

router = APIRouter(tags=["imports"])

ImportId = Annotated[int, Path(ge=1, le=MAX_INT64)]
Outcome = Literal["pending", "enrolled", "refused", "duplicate", "skipped"]
_NOT_ENROLLED: tuple[Outcome, ...] = ("refused", "duplicate", "skipped")


@router.post(
    "/imports",
    response_model=ImportJobOut,
    status_code=201,
    summary="Import a zip of photos (Person_Name/photo.jpg) into a collection, in the background",
    responses={200: {"model": ImportJobOut, "description": "this archive's import into this collection, not done"}},
)
async def create_import(
    response: Response,
    who: Operator,
    imports: ImportsDep,
    audit: AuditTrailDep,
    archive: Annotated[UploadFile, File(description="a zip: one folder per person, named after them")],
    collection: Annotated[str, Form(min_length=1, max_length=64, description="an existing collection")],
    consent_basis: Annotated[str | None, Form(max_length=100, description="legal basis, for every new person")] = None,
    consent_source: Annotated[str | None, Form(max_length=200, description="where it was given")] = None,
    consent_date: Annotated[str | None, Form(max_length=40, description="ISO-8601 date")] = None,
    purpose: Annotated[str | None, Form(max_length=500, description="why enrolled (watchlists: required)")] = None,
    expires_at: Annotated[
        datetime | None, Form(description="ISO-8601; new people are deleted then (watchlists: required)")
    ] = None,
) -> ImportJobOut:
    consent = consent_of(consent_basis, consent_source, consent_date, purpose)
    expiry = utc_seconds(expires_at)
    job, created = await run_in_threadpool(
        imports.create, archive.file, filename=archive.filename or "upload.zip", collection=collection,
        consent=consent, expires_at=expiry, actor=who.name, role=who.role,
    )  # fmt: skip
    response.status_code = 201 if created else 200
    audit.record(
        "import.start" if created else "import.resume", target=collection, status=response.status_code,
        job=job.id, files=job.counts.total, pending=job.counts.pending,
    )  # fmt: skip
    return ImportJobOut.of(job)


@router.get("/imports", response_model=list[ImportJobOut], summary="Imports, newest first")
def list_imports(
    who: Operator,
    imports: ImportsDep,
    collection: Annotated[str | None, Query(max_length=64, description="only imports into this collection")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
) -> list[ImportJobOut]:
    return [ImportJobOut.of(j) for j in imports.jobs(collection=collection, limit=limit, offset=offset)]


@router.get(
    "/imports/{import_id}",
    response_model=ImportReportOut,
    summary="An import's progress and report: each file enrolled as whom, or refused and why",
)
def get_import(
    import_id: ImportId,
    who: Operator,
    imports: ImportsDep,
    outcome: Annotated[list[Outcome] | None, Query(description="only files with these outcomes")] = None,
    limit: Annotated[int, Query(ge=0, le=10_000, description="files listed at most")] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
) -> ImportReportOut:
    job = imports.job(import_id)
    wanted: list[Literal["pending", "enrolling", "enrolled", "refused", "duplicate", "skipped"]] = list(outcome or [])
    if "pending" in wanted:
        wanted.append("enrolling")  # shown as pending
    files = imports.files(import_id, outcomes=wanted, limit=limit, offset=offset) if limit else []
    refusals = imports.files(import_id, outcomes=_NOT_ENROLLED)
    warned = imports.files(import_id, outcomes=["enrolled"], with_reasons=True, limit=limit)
    return ImportReportOut.report(job, files, refusals, warned)


@router.post(
    "/imports/{import_id}/resume",
    response_model=ImportJobOut,
    summary="Carry on with a failed import where it stopped (a queued, running or done one is left as it is)",
)
def resume_import(import_id: ImportId, who: Operator, imports: ImportsDep, audit: AuditTrailDep) -> ImportJobOut:
    before = imports.job(import_id).status
    job = imports.resume(import_id)
    audit.record("import.resume", target=job.collection, job=job.id, was=before, pending=job.counts.pending)
    return ImportJobOut.of(job)
