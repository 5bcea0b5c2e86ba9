"""Bodies of the liveness routes (``routes/liveness.py``): sessions, verify-live and identify-live decisions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ...liveness.challenge import LOOK_AT_CAMERA, PROMPTS
from ...liveness.sessions import LivenessStatus
from ...services.access import LiveDecision

__all__ = ["IdentifyLiveIn", "LiveDecisionOut", "LivenessSessionOut", "LivenessStartIn", "VerifyLiveIn"]


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
