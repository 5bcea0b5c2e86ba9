"""Bodies of the gallery routes (``routes/gallery.py``): collections, people, templates and enrollment."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ...gallery.records import Collection, EnrollReport, Person
from .faces import CandidateOut

__all__ = ["CollectionIn", "CollectionOut", "EnrollOut", "PersonOut", "RejectionOut", "TemplateOut", "WatchlistIn"]


class CollectionIn(BaseModel):
    name: str = Field(pattern=r"^[\w.-]{1,64}$")
    description: str = Field("", max_length=500)


class CollectionOut(BaseModel):
    name: str
    description: str
    people: int
    templates: int
    watchlist: bool

    @classmethod
    def of(cls, c: Collection, watchlists: list[str]) -> CollectionOut:
        return cls(
            name=c.name,
            description=c.description,
            people=c.people,
            templates=c.templates,
            watchlist=c.name in watchlists,
        )


class PersonOut(BaseModel):
    id: int
    collection: str
    name: str
    external_id: str | None
    templates: int
    consent_basis: str | None = Field(description="legal basis of holding the data")
    consent_source: str | None
    consent_date: str | None = Field(default=None, description="when the consent or basis was recorded (ISO-8601)")
    purpose: str | None = Field(description="why the person is enrolled (watchlists)")
    expires_at: float | None = Field(description="Unix s when the entry is deleted (null: never)")
    metadata: dict[str, Any] = Field(default_factory=dict, description="free JSON object kept with the person")
    created_at: float | None = Field(default=None, description="Unix s of enrollment")

    @classmethod
    def of(cls, p: Person) -> PersonOut:
        c = p.consent
        return cls(
            id=p.id,
            collection=p.collection,
            name=p.display_name,
            external_id=p.external_id,
            templates=p.templates,
            consent_basis=(c.basis or None) if c else None,
            consent_source=(c.source or None) if c else None,
            consent_date=(c.date or None) if c else None,
            purpose=(c.purpose or None) if c else None,
            expires_at=p.expires_at,
            metadata=p.metadata,
            created_at=p.created_at,
        )


class TemplateOut(BaseModel):
    id: int
    quality: float | None = Field(description="0..1 at enrollment; null when enrolled from an embedding")
    created_at: float
    thumbnail_url: str


class RejectionOut(BaseModel):
    source: str
    reasons: list[str]


class EnrollOut(BaseModel):
    person: PersonOut | None
    template_ids: list[int]
    rejected: list[RejectionOut]
    duplicates: list[CandidateOut]

    @classmethod
    def of(cls, r: EnrollReport) -> EnrollOut:
        return cls(
            person=PersonOut.of(r.person) if r.person else None,
            template_ids=r.template_ids,
            rejected=[RejectionOut(source=x.source, reasons=x.reasons) for x in r.rejected],
            duplicates=[CandidateOut.of(d) for d in r.duplicates],
        )


class WatchlistIn(BaseModel):
    watchlist: bool = Field(description="alert when people of this collection are seen on a camera")
