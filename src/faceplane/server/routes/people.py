"""Editing people: change a person's details, move a face template to another person, merge two people.

Operators may do all three, as they may enroll and erase. Each change is audited with the ids and the
names of the fields changed, never their values (names and reasons are personal data); a refused change is
audited by the app's error handlers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from ..deps import MAX_INT64, Operator, ServicesDep, client_ip
from ..schemas import MergeIn, MergeOut, PersonOut, PersonPatchIn, TemplateMoveOut, TemplatePatchIn

router = APIRouter(tags=["gallery"])

PersonId = Annotated[int, Path(ge=1, le=MAX_INT64)]
TemplateId = Annotated[int, Path(ge=1, le=MAX_INT64)]


@router.patch(
    "/people/{person_id}",
    response_model=PersonOut,
    summary="Change a person's name, external id, metadata, consent, purpose or expiry",
)
def update_person(
    person_id: PersonId, body: PersonPatchIn, request: Request, who: Operator, services: ServicesDep
) -> PersonOut:
    person, changed = services.people_editor.update(person_id, body.changes())
    services.record(who, "person.update", target=str(person_id), ip=client_ip(request), fields=changed)
    return PersonOut.of(person)


@router.patch(
    "/templates/{template_id}",
    response_model=TemplateMoveOut,
    summary="Move a face template to another person (e.g. a photo enrolled under the wrong name)",
)
def move_template(
    template_id: TemplateId, body: TemplatePatchIn, request: Request, who: Operator, services: ServicesDep
) -> TemplateMoveOut:
    moved = services.people_editor.move_template(template_id, body.person_id)
    services.record(
        who,
        "template.move",
        target=str(template_id),
        ip=client_ip(request),
        from_person=moved.from_person_id,
        to_person=moved.person.id,
        looks_alike=moved.looks_alike,
    )
    return TemplateMoveOut.of(moved)


@router.post(
    "/people/{person_id}/merge",
    response_model=MergeOut,
    summary="Merge another person of the same collection into this one: templates and events move, they go",
)
def merge_people(
    person_id: PersonId, body: MergeIn, request: Request, who: Operator, services: ServicesDep
) -> MergeOut:
    report = services.people_editor.merge(person_id, body.merge_person_id)
    services.record(
        who,
        "person.merge",
        target=str(person_id),
        ip=client_ip(request),
        merged=report.merged_id,
        templates=report.templates,
        events=report.events,
    )
    return MergeOut.of(report)
