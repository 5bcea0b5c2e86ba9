"""Editing people: change a person's details, move a face template to another person, merge two people.

Operators may do all three, as they may enroll and erase. Each change is audited with the ids and the
names of the fields changed, never their values (names and reasons are personal data); a refused change is
audited by the app's error handlers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ..deps import MAX_INT64, AuditTrailDep, Operator, PeopleEditorDep
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
    person_id: PersonId, body: PersonPatchIn, who: Operator, people: PeopleEditorDep, audit: AuditTrailDep
) -> PersonOut:
    person, changed = people.update(person_id, body.changes())
    audit.record("person.update", target=str(person_id), fields=changed)
    return PersonOut.of(person)


@router.patch(
    "/templates/{template_id}",
    response_model=TemplateMoveOut,
    summary="Move a face template to another person (e.g. a photo enrolled under the wrong name)",
)
def move_template(
    template_id: TemplateId, body: TemplatePatchIn, who: Operator, people: PeopleEditorDep, audit: AuditTrailDep
) -> TemplateMoveOut:
    moved = people.move_template(template_id, body.person_id)
    audit.record(
        "template.move",
        target=str(template_id),
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
    person_id: PersonId, body: MergeIn, who: Operator, people: PeopleEditorDep, audit: AuditTrailDep
) -> MergeOut:
    report = people.merge(person_id, body.merge_person_id)
    audit.record(
        "person.merge", target=str(person_id), merged=report.merged_id, templates=report.templates, events=report.events
    )
    return MergeOut.of(report)
