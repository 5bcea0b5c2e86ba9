"""Response and request bodies of the REST API (what the OpenAPI document shows)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ..analytics import ClassHour
from ..analytics import HourCount as HourlyCount
from ..config import CameraConfig
from ..errors import InvalidArgumentError
from ..events import Event
from ..gallery.editing import PersonChanges
from ..gallery.records import Candidate, Collection, Consent, EnrollReport, Identification, Person
from ..governance import ErasureReport
from ..liveness.challenge import LOOK_AT_CAMERA, PROMPTS
from ..liveness.sessions import LivenessStatus
from ..models.store import ModelInfo
from ..retention import RetentionReport
from ..services import ModelsInUse
from ..services.access import LiveDecision
from ..services.cameras import CameraView
from ..services.people import MergeReport, TemplateMove
from ..types import Faces, Match


def utc_seconds(at: datetime | None) -> float | None:
    """Unix seconds of a request's time (None stays None); a time without a zone is UTC."""
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def consent_of(basis: str | None, source: str | None, date: str | None, purpose: str | None) -> Consent | None:
    """The enrollment consent fields of a request as a :class:`Consent` (None when neither a legal basis nor a
    purpose is given)."""
    if not (basis or purpose):
        return None
    return Consent(basis=basis or "", source=source or "", date=date or "", purpose=purpose or "")


class FaceOut(BaseModel):
    box: list[float] = Field(description="x1, y1, x2, y2 pixels")
    score: float = Field(description="detector confidence (its own scale)")
    quality: float = Field(description="0..1, size x sharpness x pose x confidence")
    landmarks: list[list[float]] = Field(description="5 or 68 points, x, y pixels")


def faces_out(faces: Faces) -> list[FaceOut]:
    return [
        FaceOut(
            box=[round(float(v), 1) for v in faces.xyxy[i]],
            score=round(float(faces.score[i]), 4),
            quality=round(float(faces.quality[i]), 4) if faces.quality.size else 0.0,
            landmarks=[[round(float(x), 1), round(float(y), 1)] for x, y in faces.landmarks[i]],
        )
        for i in range(len(faces))
    ]


class AnalyzedFace(FaceOut):
    embedding: list[float] = Field(description="128-D descriptor")
    head_pose: list[float] | None = Field(description="yaw, pitch, roll in degrees (landmarks=68 only)")


def analyzed_out(faces: Faces, pose: npt.NDArray[np.float32] | None) -> list[AnalyzedFace]:
    return [
        AnalyzedFace(
            **f.model_dump(),
            embedding=[round(float(v), 6) for v in faces.embedding[i]],
            head_pose=None if pose is None else [round(float(v), 1) for v in pose[i]],
        )
        for i, f in enumerate(faces_out(faces))
    ]


class AnalyzeOut(BaseModel):
    faces: list[AnalyzedFace]


class DetectOut(BaseModel):
    faces: list[FaceOut]


class MatchOut(BaseModel):
    same_person: bool
    distance: float = Field(
        description="Euclidean distance of the unit-length embeddings, sqrt(2 - 2 cos) (smaller = more alike)"
    )
    threshold: float = Field(description="calibrated threshold the distance was compared with")
    similarity: float = Field(description="1 - distance / 2, clipped to 0..1 (for display)")

    @classmethod
    def of(cls, m: Match) -> MatchOut:
        return cls(
            same_person=m.is_match, distance=round(m.distance, 4), threshold=m.threshold, similarity=m.similarity
        )


class CandidateOut(BaseModel):
    person_id: int
    name: str
    collection: str
    distance: float
    template_id: int | None = Field(None, description="the person's template nearest to the face (the match)")
    excluded_by: int | None = Field(None, description="a 'not this person' correction that rules this person out")

    @classmethod
    def of(cls, c: Candidate) -> CandidateOut:
        return cls(
            person_id=c.person_id,
            name=c.display_name,
            collection=c.collection,
            distance=round(c.distance, 4),
            template_id=c.template_id,
            excluded_by=c.excluded_by,
        )


class IdentifiedFace(BaseModel):
    face: FaceOut
    person: CandidateOut | None = Field(description="the match within the open-set threshold, or null (unknown)")
    candidates: list[CandidateOut]
    threshold: float


def identified(faces: Faces, results: list[Identification]) -> list[IdentifiedFace]:
    out = faces_out(faces)
    return [
        IdentifiedFace(
            face=out[i],
            person=CandidateOut.of(r.person) if r.person else None,
            candidates=[CandidateOut.of(c) for c in r.candidates],
            threshold=round(r.threshold, 4),
        )
        for i, r in enumerate(results)
    ]


class IdentifyOut(BaseModel):
    faces: list[IdentifiedFace]


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


class ErasureOut(BaseModel):
    people: list[int] = Field(description="ids of the people erased")
    templates: int
    unknown_faces: int
    events: int = Field(description="events naming them, with their snapshots")
    evidence_frames: int
    dry_run: bool = Field(description="true: nothing was deleted, these are what would be")
    corrections: int = Field(0, description="'not this person' corrections that kept the face (erasure by photo)")

    @classmethod
    def of(cls, r: ErasureReport) -> ErasureOut:
        return cls(**vars(r))


class RetentionOut(BaseModel):
    ran_at: float
    events: int
    unknown_faces: int
    expired_people: int
    evidence_sessions: int
    orphan_files: int

    @classmethod
    def of(cls, r: RetentionReport) -> RetentionOut:
        return cls(**vars(r))


class TemplateOut(BaseModel):
    id: int
    quality: float | None = Field(description="0..1 at enrollment; null when enrolled from an embedding")
    created_at: float
    thumbnail_url: str


# -- editing people (issue 17): PATCH /people/{id}, PATCH /templates/{id}, POST /people/{id}/merge --------------


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


class DwellOut(BaseModel):
    camera: str
    zone: str
    visits: int
    mean_dwell_s: float
    max_dwell_s: float


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


class CameraIn(BaseModel):
    id: str = Field(pattern=r"^[\w.-]{1,64}$", description="camera id")
    source: str = Field(
        min_length=1,
        max_length=2000,
        description="rtsp://..., http(s)://..., a file below a media root (admins) or webcam:N, as the camera "
        "source policy (settings: camera_sources) allows",
    )
    fps: float = Field(5.0, gt=0, le=30)
    lines: list[str] = Field(default_factory=list, description="'[name=]x1,y1,x2,y2[;classes=car,bus]' (px or 0..1)")
    zones: list[str] = Field(
        default_factory=list, description="'[name=]x1,y1,x2,y2,x3,y3,...[;classes=car][;dwell=600]'"
    )
    people: bool = False
    objects: list[str] = Field(default_factory=list, description="COCO classes to detect, track and count")
    object_detector: Literal["nanodet", "centernet", "hog"] = "nanodet"
    object_input_size: int | None = Field(None, ge=64, le=2048, description="a multiple of 32; null: the model's")
    fixed: bool = True
    loop: bool = False
    realtime: bool = True
    match_fpir: float | None = Field(
        None, gt=0, lt=1, description="this camera's threshold as a target share of strangers named (0.01: 1 in 100)"
    )
    match_distance: float | None = Field(None, gt=0, le=2, description="or an explicit distance (not both)")

    @field_validator("lines", "zones")
    @classmethod
    def _parse_rules(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # the same check as CameraConfig, here so that a bad line is a 422 on the body, not a 500 in the route
        return CameraConfig._parse_rules(value, info)

    @model_validator(mode="after")
    def _check_objects(self) -> CameraIn:
        try:  # as CameraConfig's check: an unknown class, HOG for cars, a bad size are a 422 on the body
            CameraConfig.model_construct(**self.model_dump()).object_settings()
        except InvalidArgumentError as exc:
            raise ValueError(str(exc)) from None
        if self.match_fpir is not None and self.match_distance is not None:
            raise ValueError("set match_fpir or match_distance, not both")
        return self


class CameraOut(BaseModel):
    id: str
    source: str = Field(description="the source with any password masked")
    state: str = Field(
        description="connecting | live | stalled | ended | failed | stopped | refused (by the camera source "
        "policy at start: not running; the reason says why)"
    )
    reason: str
    frames: int
    faces: int
    face_tracks: int
    people: int
    dropped: int
    reconnects: int
    line_counts: dict[str, dict[str, int]]
    lines: list[str]
    zones: list[str]
    objects: list[str] = Field(default_factory=list, description="object classes tracked (person, car...)")
    object_tracks: dict[str, int] = Field(default_factory=dict, description="object tracks so far, per class")
    class_counts: dict[str, dict[str, dict[str, int]]] = Field(
        default_factory=dict, description="per line, per class: {'in': n, 'out': n}"
    )
    match_fpir: float | None = Field(None, description="the camera's own threshold as a target FPIR, if set so")
    match_distance: float | None = Field(None, description="the camera's own explicit distance, if set so")

    @classmethod
    def of(cls, v: CameraView) -> CameraOut:
        st, su = v.status, v.summary
        return cls(
            id=v.config.id,
            source=st.url if st else "",
            state=st.state.value if st else "stopped",
            reason=st.reason if st else "",
            frames=su.frames if su else 0,
            faces=su.faces if su else 0,
            face_tracks=su.face_tracks if su else 0,
            people=su.people_tracks if su else 0,
            dropped=st.frames_dropped if st else 0,
            reconnects=st.reconnects if st else 0,
            line_counts=su.line_counts if su else {},
            lines=v.config.lines,
            zones=v.config.zones,
            objects=list(objects.classes) if (objects := v.config.object_settings()) else [],
            object_tracks=su.object_tracks if su else {},
            class_counts=su.class_counts if su else {},
            match_fpir=v.config.match_fpir,
            match_distance=v.config.match_distance,
        )


class EventOut(BaseModel):
    # "class" is a Python keyword: the field is object_class, its JSON name "class" (also in SSE: by alias)
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    id: str
    kind: str
    camera: str
    t_s: float
    wall_s: float
    track_id: int
    rule: str
    person_id: int | None
    person_name: str | None
    collection: str | None
    distance: float | None
    direction: str | None
    dwell_s: float | None
    box: list[float] | None
    snapshot_url: str | None
    object_class: str | None = Field(
        default=None, alias="class", description="COCO class of an object track (person, car...); null for faces"
    )

    @classmethod
    def of(cls, e: Event) -> EventOut:
        return cls(
            id=e.id,
            kind=e.kind,
            camera=e.camera,
            t_s=e.t_s,
            wall_s=e.wall_s,
            track_id=e.track_id,
            rule=e.rule,
            person_id=e.person_id,
            person_name=e.person_name,
            collection=e.collection,
            distance=e.distance,
            direction=e.direction,
            dwell_s=e.dwell_s,
            box=list(e.box) if e.box else None,
            snapshot_url=f"/api/v1/{e.snapshot}" if e.snapshot else None,  # "snapshots/<camera>/<day>/<id>.jpg"
            **{"class": e.object_class},  # the alias: mypy knows the field by its JSON name
        )


class HourCount(BaseModel):
    hour_s: float = Field(description="start of the hour, Unix seconds")
    count: int = Field(description="events of the kind in the hour, of every class and of faces")
    by_class: dict[str, int] = Field(
        default_factory=dict, description="events of object tracks per class ({'car': 3}); face events not included"
    )

    @classmethod
    def of(cls, c: HourlyCount) -> HourCount:
        return cls(hour_s=c.hour_s, count=c.count, by_class=dict(c.by_class))


class ClassHourOut(BaseModel):
    # "class" is a Python keyword: the field is object_class, its JSON name "class" (as in EventOut)
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    hour_s: float = Field(description="start of the hour, Unix seconds")
    object_class: str = Field(alias="class", description="COCO class of the tracks: person, car...")
    line_in: int = Field(description="line crossings in the 'in' direction, all lines")
    line_out: int = Field(description="line crossings in the 'out' direction, all lines")
    zone_enter: int = Field(description="zone entries, all zones")
    zone_exit: int = Field(description="zone exits, all zones")
    zone_dwell: int = Field(description="dwell alerts: a track in a zone longer than the zone's threshold")

    @classmethod
    def of(cls, c: ClassHour) -> ClassHourOut:
        return cls.model_validate(asdict(c))  # by field name (validate_by_name): object_class


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class MeOut(BaseModel):
    name: str
    role: str
    kind: str


class UserIn(BaseModel):
    username: str = Field(pattern=r"^[\w.@-]{1,64}$")
    password: str = Field(min_length=8, max_length=200)
    role: str = Field(pattern="^(viewer|operator|admin)$")


class UserOut(BaseModel):
    username: str
    role: str
    created_at: float


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: str = Field(pattern="^(viewer|operator|admin)$")


class KeyOut(BaseModel):
    id: int
    name: str
    role: str
    prefix: str
    created_at: float
    revoked: bool


class NewKeyOut(BaseModel):
    key: str = Field(description="shown once; store it now")
    name: str
    role: str


class AuditOut(BaseModel):
    id: int
    ts: float
    actor: str
    role: str
    action: str
    target: str
    ip: str
    status: int
    detail: str


class LivenessStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenges: list[Literal["blink", "turn_left", "turn_right", "look_up", "open_mouth"]] | None = Field(
        None, min_length=1, max_length=5, description="a fixed order (admins only: tests, demos); default random"
    )


class LivenessSessionOut(BaseModel):
    session_id: str
    nonce: str | None = Field(None, description="send it with every frame (only in the answer that starts it)")
    challenges: list[str] = Field(description="the challenges, in the order asked")
    current: str | None = Field(description="the challenge to show now (null once decided, and always in passive mode)")
    prompt: str | None = Field(description="what to tell the person now")
    ready: bool = Field(description="the resting pose is known (until then: 'look straight at the camera')")
    completed: list[str]
    decided: bool
    passed: bool = Field(description="liveness_mode was met: every challenge in order and/or the passive check")
    passive_score: float | None = Field(description="0..1, higher = more like a live person")
    reasons: list[str] = Field(description="why it failed, or what it waits for")
    frames: int
    faces: int = Field(description="frames with one usable face")

    @classmethod
    def of(cls, s: LivenessStatus, nonce: str | None = None) -> LivenessSessionOut:
        return cls(
            session_id=s.session_id,
            nonce=nonce,
            challenges=s.challenges,
            current=s.current,
            prompt=None if s.decided else (PROMPTS[s.current] if s.current and s.ready else LOOK_AT_CAMERA),
            ready=s.ready,
            completed=s.completed,
            decided=s.decided,
            passed=s.passed,
            passive_score=s.passive_score,
            reasons=s.reasons,
            frames=s.frames,
            faces=s.faces,
        )


class VerifyLiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(description="a decided liveness session, not used before")
    person_id: int = Field(ge=1, le=2**63 - 1, description="the account holder the live person claims to be")


class IdentifyLiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(description="a decided liveness session, not used before")
    collections: list[str] = Field(default_factory=list, description="search these collections (empty: all)")


class LiveDecisionOut(BaseModel):
    allowed: bool = Field(description="live, matched and (1:N) let in by the access rules now")
    reasons: list[str] = Field(description="why not; empty when allowed")
    person_id: int | None
    name: str | None
    collection: str | None
    distance: float | None = Field(description="embedding distance (1:N: to the nearest person)")
    threshold: float | None
    liveness: LivenessSessionOut
    evidence: list[str] = Field(description="evidence frames kept with the audit entry (admin URLs)")

    @classmethod
    def of(cls, d: LiveDecision) -> LiveDecisionOut:
        return cls(
            allowed=d.allowed,
            reasons=d.reasons,
            person_id=d.person_id,
            name=d.name,
            collection=d.collection,
            distance=None if d.distance is None else round(d.distance, 4),
            threshold=d.threshold,
            liveness=LivenessSessionOut.of(d.liveness),
            evidence=[f"/api/v1/liveness/evidence/{p}" for p in d.evidence],
        )


class ModelOut(BaseModel):
    name: str
    kind: str = Field(description="embedder, detector or built-in (ships with faceplane's own dependencies)")
    installed: bool
    source: str = Field(description="the registry package the weights come from, pinned by version and hash")
    licence: str
    training_data: str = Field(description="what is known of the data the model was trained on")
    commercial_use: str

    @classmethod
    def of(cls, m: ModelInfo) -> ModelOut:
        return cls(**m.__dict__)


class ModelsOut(BaseModel):
    embedder: str = Field(description="name@version of the gallery's embeddings (every template records it)")
    detector: str = Field(description="face detector of the cameras")
    models: list[ModelOut]

    @classmethod
    def of(cls, m: ModelsInUse) -> ModelsOut:
        return cls(embedder=m.embedder, detector=m.detector, models=[ModelOut.of(x) for x in m.models])
