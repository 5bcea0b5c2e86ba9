"""Collections, people, enrollment by upload, watchlists (changes are audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from ..deps import (
    MAX_INT64,
    Admin,
    AuditTrailDep,
    CamerasDep,
    GovernanceDep,
    LibraryDep,
    Operator,
    UploadsDep,
    Viewer,
)
from ..schemas import (
    CollectionIn,
    CollectionOut,
    EnrollOut,
    ErasureOut,
    PersonOut,
    TemplateOut,
    WatchlistIn,
    consent_of,
    utc_seconds,
)

router = APIRouter(tags=["gallery"])


@router.get("/collections", response_model=list[CollectionOut])
def list_collections(who: Viewer, library: LibraryDep, cameras: CamerasDep) -> list[CollectionOut]:
    watch = cameras.watchlists()
    return [CollectionOut.of(c, watch) for c in library.collections()]


@router.post("/collections", response_model=CollectionOut, status_code=201)
def create_collection(
    body: CollectionIn, who: Operator, library: LibraryDep, cameras: CamerasDep, audit: AuditTrailDep
) -> CollectionOut:
    collection = library.create_collection(body.name, body.description)
    audit.record("collection.create", target=body.name, status=201)
    return CollectionOut.of(collection, cameras.watchlists())


@router.delete("/collections/{name}", status_code=204)
def delete_collection(name: str, who: Admin, library: LibraryDep, audit: AuditTrailDep) -> None:
    removed = library.delete_collection(name)
    audit.record("collection.delete", target=name, status=204, people=removed)


@router.put("/collections/{name}/watchlist", response_model=CollectionOut)
def set_watchlist(
    name: str, body: WatchlistIn, who: Operator, library: LibraryDep, cameras: CamerasDep, audit: AuditTrailDep
) -> CollectionOut:
    cameras.set_watchlist(name, body.watchlist)
    audit.record("watchlist.set", target=name, on=body.watchlist)
    (collection,) = [c for c in library.collections() if c.name == name]
    return CollectionOut.of(collection, cameras.watchlists())


@router.get("/collections/{name}/people", response_model=list[PersonOut])
def list_people(
    name: str,
    who: Viewer,
    library: LibraryDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
) -> list[PersonOut]:
    return [PersonOut.of(p) for p in library.people(name, limit, offset)]


@router.post("/collections/{name}/people", response_model=EnrollOut, status_code=201)
async def enroll(
    name: str,
    who: Operator,
    library: LibraryDep,
    uploads: UploadsDep,
    audit: AuditTrailDep,
    images: Annotated[list[UploadFile], File(description="one or more photos of the person")],
    display_name: Annotated[str | None, Form(max_length=200)] = None,
    person_id: Annotated[int | None, Form(ge=1, le=MAX_INT64)] = None,
    consent_basis: Annotated[str | None, Form(max_length=100, description="legal basis, e.g. consent")] = None,
    consent_source: Annotated[str | None, Form(max_length=200, description="where it was given")] = None,
    consent_date: Annotated[str | None, Form(max_length=40, description="ISO-8601 date")] = None,
    purpose: Annotated[str | None, Form(max_length=500, description="why enrolled (watchlists: required)")] = None,
    expires_at: Annotated[
        datetime | None, Form(description="ISO-8601; the entry is deleted then (watchlists: required)")
    ] = None,
) -> EnrollOut:
    data = [await uploads.image(img) for img in images]
    consent = consent_of(consent_basis, consent_source, consent_date, purpose)
    expiry = utc_seconds(expires_at)
    report = await run_in_threadpool(
        library.enroll, name, data, name=display_name, person_id=person_id, consent=consent, expires_at=expiry
    )
    target = f"{name}/{report.person.id}" if report.person else name
    audit.record("person.enroll", target=target, status=201, templates=len(report.template_ids))
    return EnrollOut.of(report)


@router.get("/people/{person_id}", response_model=PersonOut)
def get_person(person_id: Annotated[int, Path(ge=1, le=MAX_INT64)], who: Viewer, library: LibraryDep) -> PersonOut:
    return PersonOut.of(library.person(person_id))


@router.delete(
    "/people/{person_id}",
    response_model=ErasureOut,
    summary="Erase a person everywhere: templates, index, unknown faces, events, snapshots, evidence",
)
def delete_person(
    person_id: Annotated[int, Path(ge=1, le=MAX_INT64)], who: Operator, governance: GovernanceDep, audit: AuditTrailDep
) -> ErasureOut:
    report = governance.erase_person(person_id)
    audit.record("person.erase", target=str(person_id), **vars(report))
    return ErasureOut.of(report)


TemplateId = Annotated[int, Path(ge=1, le=MAX_INT64)]


@router.get("/people/{person_id}/templates", response_model=list[TemplateOut])
def list_templates(
    person_id: Annotated[int, Path(ge=1, le=MAX_INT64)], who: Viewer, library: LibraryDep
) -> list[TemplateOut]:
    return [
        TemplateOut(
            id=t.id,
            quality=t.quality,
            created_at=t.created_at,
            thumbnail_url=f"/api/v1/templates/{t.id}/thumbnail.jpg",
        )
        for t in library.templates(person_id)
    ]


@router.get(
    "/templates/{template_id}/thumbnail.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 204: {"description": "enrolled from an embedding: no picture"}},
)
def template_thumbnail(template_id: TemplateId, who: Viewer, library: LibraryDep) -> Response:
    jpeg = library.template_thumbnail(template_id)
    return Response(jpeg, media_type="image/jpeg") if jpeg else Response(status_code=204)


@router.delete("/templates/{template_id}", status_code=204, summary="Remove one face template, keep the person")
def delete_template(template_id: TemplateId, who: Operator, library: LibraryDep, audit: AuditTrailDep) -> None:
    library.remove_template(template_id)
    audit.record("template.delete", target=str(template_id), status=204)
