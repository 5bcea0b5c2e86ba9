"""Records of the gallery: what the store holds and what a search returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Candidate",
    "Collection",
    "Consent",
    "EnrollReport",
    "Identification",
    "Person",
    "Rejection",
    "Template",
    "UnknownCluster",
    "UnknownFace",
    "UnknownFilter",
]


@dataclass(frozen=True)
class Consent:
    """Why we may hold this person's biometric data.

    Attributes:
        basis: the legal basis, e.g. "consent", "contract", "legitimate_interest".
        source: where the record came from, e.g. "kiosk signup form v3".
        date: ISO-8601 date the consent or basis was recorded.
        purpose: why the person is enrolled; required for watchlist entries (e.g. "banned after theft, case 4411").
    """

    basis: str
    source: str = ""
    date: str = ""
    purpose: str = ""


@dataclass(frozen=True)
class Collection:
    """A named set of people, e.g. "staff" or "watchlist"."""

    id: int
    name: str
    description: str
    created_at: float  # Unix seconds
    people: int = 0
    templates: int = 0


@dataclass(frozen=True)
class Person:
    """Someone enrolled in one collection."""

    id: int
    collection: str
    display_name: str
    external_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    consent: Consent | None = None
    expires_at: float | None = None  # Unix seconds; None = no expiry
    created_at: float = 0.0
    templates: int = 0


@dataclass(frozen=True)
class Template:
    """One stored face embedding of a person (the embedding itself stays in the store)."""

    id: int
    person_id: int
    quality: float | None  # None: enrolled from an embedding, no photo to judge
    image_sha256: str | None
    created_at: float


@dataclass(frozen=True)
class Candidate:
    """One person proposed by a 1:N search.

    Attributes:
        person_id, collection, display_name: who.
        distance: the smallest distance between the probe and any of the person's templates.
        template_id: the template at that distance.
        templates_matched: how many of the person's templates fell within the threshold.
        excluded_by: the "not this person" correction that rules this person out for the probe (it lies
            nearer to the probe than ``distance``; see :mod:`faceplane.gallery.negatives`), or None.
    """

    person_id: int
    collection: str
    display_name: str
    distance: float
    template_id: int
    templates_matched: int = 0
    excluded_by: int | None = None


@dataclass(frozen=True)
class Identification:
    """The answer for one probe face: the best candidates and the open-set decision.

    ``person`` is the nearest candidate that is within its threshold (``threshold``, or its
    collection's in ``collection_thresholds``) and not ruled out by a correction (``excluded_by``);
    otherwise the face is unknown (``person is None``) and ``candidates`` still lists the nearest people.
    """

    candidates: list[Candidate]
    threshold: float
    face_index: int = 0
    collection_thresholds: dict[str, float] = field(default_factory=dict)  # collection -> its own distance

    def threshold_for(self, collection: str) -> float:
        """The distance a candidate of ``collection`` must be within."""
        return self.collection_thresholds.get(collection, self.threshold)

    @property
    def person(self) -> Candidate | None:
        for c in self.candidates:  # nearest first
            if c.excluded_by is None and c.distance <= self.threshold_for(c.collection):
                return c
        return None

    @property
    def is_known(self) -> bool:
        return self.person is not None


@dataclass(frozen=True)
class Rejection:
    """A photo the quality gate refused, with the reasons."""

    source: str
    reasons: list[str]


@dataclass(frozen=True)
class EnrollReport:
    """What an enrollment did."""

    person: Person | None
    template_ids: list[int] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: list[Candidate] = field(default_factory=list)  # other people this face already matches


@dataclass(frozen=True)
class UnknownCluster:
    """Faces of one recurring stranger (matched nobody enrolled), for an operator to name or dismiss."""

    id: int  # issued once, never reused; kept across re-clusterings while the cluster holds the same faces
    face_ids: list[int]
    sources: list[str]
    first_seen: float  # Unix seconds
    last_seen: float

    @property
    def size(self) -> int:
        return len(self.face_ids)


@dataclass(frozen=True)
class UnknownFace:
    """A face that matched nobody enrolled, kept with its thumbnail for clustering until retention deletes it."""

    id: int
    source: str  # the camera id (or an upload's label) that saw it
    seen_at: float  # Unix seconds
    cluster_id: int | None  # None: not in a cluster (seen once, or not clustered yet)
    quality: float | None  # 0..1 face quality when seen; None: not recorded (faces kept before it was)


@dataclass(frozen=True)
class UnknownFilter:
    """Which unknown faces a listing takes (every field unset: all of them).

    Attributes:
        sources: only faces seen by these cameras (empty: any).
        since_s, until_s: only faces seen in [since_s, until_s) (Unix seconds).
        cluster_id: only the faces of this cluster.
        clustered: True: only faces in a cluster; False: only faces in none ("seen once"); None: both.
    """

    sources: tuple[str, ...] = ()
    since_s: float | None = None
    until_s: float | None = None
    cluster_id: int | None = None
    clustered: bool | None = None
