"""Bodies of the governance routes (``routes/governance.py``): erasure and retention reports."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ...governance import ErasureReport
from ...governance.retention import RetentionReport

__all__ = ["ErasureOut", "RetentionOut"]


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
