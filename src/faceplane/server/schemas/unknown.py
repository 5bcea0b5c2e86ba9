"""Bodies of the unknown-face library's routes (``routes/unknown.py``): faces, clusters, sightings, actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ...gallery.records import UnknownFace
from ...gallery.unknown import ClusterView
from ...services.unknown import NewPerson, Sightings
from ..deps import MAX_INT64
from .common import consent_of, utc_seconds
from .faces import CandidateOut, FaceOut, faces_out

__all__ = [
    "AssignIn",
    "DismissOut",
    "NameClusterIn",
    "SelectionIn",
    "SightingOut",
    "SightingsOut",
    "UnknownClusterOut",
    "UnknownFaceOut",
]

Id = Annotated[int, Field(ge=1, le=MAX_INT64)]


class UnknownFaceOut(BaseModel):
    id: int
    camera: str = Field(description="the camera id (or an uploaded sighting's label) that saw the face")
    seen_at: float = Field(description="Unix s")
    cluster_id: int | None = Field(description="the stranger's cluster; null: seen once, or not clustered yet")
    quality: float | None = Field(description="0..1 when seen; null: not recorded")
    thumbnail_url: str = Field(description="the aligned face chip (JPEG)")

    @classmethod
    def of(cls, f: UnknownFace) -> UnknownFaceOut:
        return cls(
            id=f.id,
            camera=f.source,
            seen_at=f.seen_at,
            cluster_id=f.cluster_id,
            quality=None if f.quality is None else round(f.quality, 4),
            thumbnail_url=f"/api/v1/unknown-faces/{f.id}/thumbnail.jpg",
        )


class UnknownClusterOut(BaseModel):
    id: int = Field(description="issued once, never reused; kept while the cluster holds the same faces (plus new)")
    size: int = Field(description="faces (sightings) in the cluster")
    cameras: list[str]
    first_seen: float = Field(description="Unix s")
    last_seen: float = Field(description="Unix s")
    best: list[UnknownFaceOut] = Field(description="the best shots, highest quality first")

    @classmethod
    def of(cls, v: ClusterView) -> UnknownClusterOut:
        c = v.cluster
        return cls(
            id=c.id,
            size=c.size,
            cameras=c.sources,
            first_seen=c.first_seen,
            last_seen=c.last_seen,
            best=[UnknownFaceOut.of(f) for f in v.best],
        )


class NameClusterIn(BaseModel):
    """A new person made of a cluster's faces: the fields of an enrollment (same limits, same policy)."""

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(pattern=r"^[\w.-]{1,64}$")
    display_name: str = Field(min_length=1, max_length=200)
    external_id: str | None = Field(None, min_length=1, max_length=200)
    consent_basis: str | None = Field(None, max_length=100, description="legal basis, e.g. consent")
    consent_source: str | None = Field(None, max_length=200, description="where it was given")
    consent_date: str | None = Field(None, max_length=40, description="ISO-8601 date")
    purpose: str | None = Field(None, max_length=500, description="why enrolled (watchlists: required)")
    expires_at: datetime | None = Field(None, description="ISO-8601; the entry is deleted then (watchlists: required)")
    face_ids: list[Id] | None = Field(
        None, min_length=1, max_length=900, description="only these faces of the cluster (default: all of them)"
    )

    def new_person(self) -> NewPerson:
        consent = consent_of(self.consent_basis, self.consent_source, self.consent_date, self.purpose)
        expiry = utc_seconds(self.expires_at)  # a time without a zone is UTC, as enrollment's form
        return NewPerson(self.display_name, self.external_id, consent, expiry)


class SelectionIn(BaseModel):
    """Clusters and single faces of the unknown pool (at least one of them)."""

    model_config = ConfigDict(extra="forbid")

    cluster_ids: list[Id] = Field(default_factory=list, max_length=100)
    face_ids: list[Id] = Field(default_factory=list, max_length=900)


class AssignIn(SelectionIn):
    person_id: Id = Field(description="the existing person the faces are added to")


class DismissOut(BaseModel):
    face_ids: list[int] = Field(description="the unknown faces deleted (enrolled as nobody)")


class SightingOut(BaseModel):
    face: FaceOut
    person: CandidateOut | None = Field(description="who it is (within the open-set threshold), or null")
    unknown_face_id: int | None = Field(description="the id it is kept under in the unknown pool (null: recognised)")


class SightingsOut(BaseModel):
    faces: list[SightingOut]

    @classmethod
    def of(cls, s: Sightings) -> SightingsOut:
        boxes = faces_out(s.faces)
        return cls(
            faces=[
                SightingOut(
                    face=boxes[i],
                    person=CandidateOut.of(r.person) if r.person else None,
                    unknown_face_id=s.kept[i],
                )
                for i, r in enumerate(s.found)
            ]
        )
