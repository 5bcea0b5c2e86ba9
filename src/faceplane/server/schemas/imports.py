"""Bodies of the bulk-import routes (``routes/imports.py``): jobs, their counts and each file's outcome."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from ...gallery.imports import ImportFile, ImportJob

__all__ = ["ImportCountsOut", "ImportFileOut", "ImportJobOut", "ImportReportOut"]

Status = Literal["queued", "running", "done", "failed"]


class ImportCountsOut(BaseModel):
    total: int = Field(description="files in the archive (operating-system clutter aside)")
    pending: int = Field(description="photos not processed yet")
    enrolled: int = Field(description="photos that became a template")
    refused: int = Field(description="photos the quality gate or the policy refused")
    duplicate: int = Field(description="photos already enrolled, or the same file twice in the archive")
    skipped: int = Field(description="files that are not photos in a person's folder")
    people: int = Field(description="people who got a template from this import (new or existing)")


class ImportJobOut(BaseModel):
    id: int
    collection: str
    archive_name: str
    status: Status = Field(description="queued, running, done, or failed (see error; POST .../resume)")
    error: str = Field(description="why it failed; empty otherwise")
    created_by: str
    created_at: float = Field(description="Unix s")
    updated_at: float = Field(description="Unix s")
    finished_at: float | None = Field(description="Unix s; null until done")
    counts: ImportCountsOut
    url: str = Field(description="the report")

    @classmethod
    def of(cls, job: ImportJob) -> ImportJobOut:
        return cls(
            id=job.id,
            collection=job.collection,
            archive_name=job.archive_name,
            status=job.status,
            error=job.error,
            created_by=job.actor,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
            counts=ImportCountsOut(**vars(job.counts)),
            url=f"/api/v1/imports/{job.id}",
        )


class ImportFileOut(BaseModel):
    file: str = Field(description="its path in the archive")
    person: str = Field(description="the person its folder names")
    outcome: Literal["pending", "enrolled", "refused", "duplicate", "skipped"]
    reasons: list[str] = Field(description="why refused, duplicate or skipped; warnings when enrolled")
    person_id: int | None = Field(description="enrolled as (or, a duplicate: already held by) this person")
    template_id: int | None

    @classmethod
    def of(cls, f: ImportFile) -> ImportFileOut:
        return cls(
            file=f.member,
            person=f.person,
            outcome="pending" if f.outcome == "enrolling" else f.outcome,
            reasons=f.reasons,
            person_id=f.person_id,
            template_id=f.template_id,
        )


class ImportReportOut(ImportJobOut):
    reasons: dict[str, int] = Field(
        description="files per kind of reason (refused, duplicate, skipped; details cut), most frequent first"
    )
    files: list[ImportFileOut] = Field(description="the files asked for (outcome, limit, offset), in archive order")
    warnings: list[ImportFileOut] = Field(
        description="enrolled files with a warning: the face looks like someone already enrolled (at most limit)"
    )

    @classmethod
    def report(
        cls, job: ImportJob, files: list[ImportFile], refusals: list[ImportFile], warned: list[ImportFile]
    ) -> ImportReportOut:
        reasons = Counter(_kind(r) for f in refusals for r in f.reasons)
        return cls(
            **ImportJobOut.of(job).model_dump(),
            reasons=dict(reasons.most_common()),
            files=[ImportFileOut.of(f) for f in files],
            warnings=[ImportFileOut.of(f) for f in warned],
        )


_KINDS = {  # reasons whose details name files or people: their kind, in a few words
    "the same file as": "same file twice in the zip",
    "this photo is already enrolled": "already enrolled",
    "not a photo": "not a photo",
    "larger than a photo": "photo too large",
}


def _kind(reason: str) -> str:
    """A reason without its details: ``face too small (41 px wide, minimum 60)`` -> ``face too small``."""
    kind = next((k for prefix, k in _KINDS.items() if reason.startswith(prefix)), None)
    return kind or reason.split(" (")[0].split(";")[0]
