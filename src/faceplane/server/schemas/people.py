"""Bodies of the people-editing routes (``routes/people.py``): PATCH /people/{id}, PATCH /templates/{id},
POST /people/{id}/merge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ...gallery.editing import PersonChanges
from ...services.people import MergeReport, TemplateMove
from .common import utc_seconds
from .gallery import PersonOut

__all__ = ["MergeIn", "MergeOut", "PersonPatchIn", "TemplateMoveOut", "TemplatePatchIn"]


class PersonPatchIn(BaseModel):
    """The fields to change; a field left out stays as it is, an optional one set to null is cleared."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, description="display name (not null)")
    external_id: str | None = Field(
        default=None, max_length=200, description="your system's id (unique per collection)"
    )
    metadata: dict[str, Any] | None = Field(
        default=None, description="replaces the whole object (at most 16 KB as JSON; not null: {} clears it)"
    )
    consent_basis: str | None = Field(default=None, max_length=100, description="legal basis, e.g. consent")
    consent_source: str | None = Field(default=None, max_length=200, description="where it was given")
    consent_date: str | None = Field(default=None, max_length=40, description="ISO-8601 date")
    purpose: str | None = Field(default=None, max_length=500, description="why enrolled (watchlists: required)")
    expires_at: datetime | None = Field(
        default=None, description="ISO-8601 (no zone: UTC) or Unix s; the entry is deleted then (watchlists: required)"
    )

    @field_validator("name", "metadata", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null")
        return value

    def changes(self) -> PersonChanges:
        """The fields the request set, as the gallery takes them (times as Unix seconds)."""
        given: dict[str, Any] = {k: getattr(self, k) for k in self.model_fields_set}
        if "name" in given:
            given["display_name"] = given.pop("name")
        if "expires_at" in given:
            given["expires_at"] = utc_seconds(given["expires_at"])
        return PersonChanges(**given)


class TemplatePatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: int = Field(ge=1, le=2**63 - 1, description="the person the template now belongs to")


class TemplateMoveOut(BaseModel):
    id: int = Field(description="the template")
    person_id: int = Field(description="its owner now")
    from_person_id: int = Field(description="its owner before")
    person: PersonOut
    distance: float | None = Field(description="nearest distance to the new owner's other templates (null: none)")
    threshold: float = Field(description="the same-person distance (calibrated FAR 1e-3) it is compared with")
    looks_alike: bool | None = Field(description="distance <= threshold; false: check that the move is right")

    @classmethod
    def of(cls, m: TemplateMove) -> TemplateMoveOut:
        return cls(
            id=m.template_id,
            person_id=m.person.id,
            from_person_id=m.from_person_id,
            person=PersonOut.of(m.person),
            distance=None if m.distance is None else round(m.distance, 4),
            threshold=round(m.threshold, 4),
            looks_alike=m.looks_alike,
        )


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merge_person_id: int = Field(
        ge=1, le=2**63 - 1, description="the person merged into this one: deleted once their templates and events moved"
    )


class MergeOut(BaseModel):
    person: PersonOut = Field(description="the kept person, after the merge")
    merged_person_id: int
    templates: int = Field(description="templates moved to the kept person")
    events: int = Field(description="events re-pointed to the kept person")

    @classmethod
    def of(cls, r: MergeReport) -> MergeOut:
        return cls(person=PersonOut.of(r.person), merged_person_id=r.merged_id, templates=r.templates, events=r.events)
