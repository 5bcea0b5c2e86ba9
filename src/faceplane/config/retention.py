"""Settings of retention: how long events, unknown faces and evidence are kept (``[retention]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RetentionConfig", "RetentionLimit"]


class RetentionLimit(BaseModel):
    """Limits for one camera or one collection (unset: the global limit applies)."""

    model_config = ConfigDict(extra="forbid")

    events_days: float | None = Field(None, gt=0, description="events and their snapshots")
    unknown_faces_hours: float | None = Field(None, gt=0, description="unknown-face templates and clusters (cameras)")


class RetentionConfig(BaseModel):
    """How long records are kept. The most specific limit applies: a collection's (events naming its
    people), then a camera's, then the global one.

    Example::

        [retention]
        events_days = 30
        unknown_faces_hours = 24
        [retention.cameras.lobby]
        events_days = 7
        [retention.collections.watchlist]
        events_days = 90
    """

    model_config = ConfigDict(extra="forbid")

    events_days: float = Field(30.0, gt=0, description="events (alerts, crossings, visits) and their snapshots")
    unknown_faces_hours: float = Field(24.0, gt=0, description="unknown-face templates, thumbnails and clusters")
    evidence_days: float = Field(30.0, gt=0, description="liveness evidence frames of verify-live decisions")
    interval_minutes: float = Field(60.0, gt=0, description="how often the retention job runs (also at start)")
    cameras: dict[str, RetentionLimit] = Field(default_factory=dict, description="per camera id")
    collections: dict[str, RetentionLimit] = Field(
        default_factory=dict, description="per collection: events naming its people"
    )
