"""Bodies of the face routes (``routes/faces.py``): detected, analysed and identified faces, 1:1 matches."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from ...gallery.records import Candidate, Identification
from ...types import Faces, Match

__all__ = [
    "AnalyzeOut",
    "AnalyzedFace",
    "CandidateOut",
    "DetectOut",
    "FaceOut",
    "IdentifiedFace",
    "IdentifyOut",
    "MatchOut",
    "analyzed_out",
    "faces_out",
    "identified",
]


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
