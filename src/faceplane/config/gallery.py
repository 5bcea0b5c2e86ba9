"""Settings of the gallery: collections (their match thresholds and alert routing), the enrollment gate,
bulk imports and the clustering of unknown faces; and the match-threshold helpers cameras share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from ..gallery.gallery import QualityGate
    from ..gallery.thresholds import MatchThreshold

__all__ = [
    "CollectionConfig",
    "EnrollmentGateConfig",
    "ImportConfig",
    "UnknownClusteringConfig",
    "check_threshold",
    "threshold_of",
]


def threshold_of(fpir: float | None, distance: float | None) -> MatchThreshold | None:
    """A match threshold from a section's ``match_fpir`` or ``match_distance`` (None: neither set)."""
    from ..gallery.thresholds import MatchThreshold

    return None if fpir is None and distance is None else MatchThreshold(fpir=fpir, distance=distance)


def check_threshold(fpir: float | None, distance: float | None) -> None:
    """Refuse a section that sets both ``match_fpir`` and ``match_distance``."""
    if fpir is not None and distance is not None:
        raise ValueError("set match_fpir or match_distance, not both")


class CollectionConfig(BaseModel):
    """Settings of one collection (watchlist): its match threshold and where its alerts go.

    Example::

        [collections.watchlist]
        match_fpir = 0.001                 # about 1 in 1,000 strangers named as one of its people
        webhooks = ["security-desk"]       # names of [[webhooks]]; unset: every webhook
        mqtt_topics = ["alarm/watchlist"]  # unset: <prefix>/events/<camera>/<kind>
    """

    model_config = ConfigDict(extra="forbid")

    match_fpir: float | None = Field(
        None, gt=0, lt=1, description="target share of strangers named as one of its people (0.001: 1 in 1,000); "
        "turned into a distance for its number of people with the model's calibration",
    )
    match_distance: float | None = Field(None, gt=0, le=2, description="or an explicit embedding distance")
    webhooks: list[str] | None = Field(
        None, description="names of the [[webhooks]] that get its watchlist.* events (unset: every webhook; []: none)"
    )
    mqtt_topics: list[str] | None = Field(
        None, description="MQTT topics its watchlist.* events go to instead of <prefix>/events/<camera>/<kind> "
        "(unset: that one; []: none)",
    )

    def match_threshold(self) -> MatchThreshold | None:
        """The collection's own threshold from the settings file (None: not set here)."""
        return threshold_of(self.match_fpir, self.match_distance)

    @model_validator(mode="after")
    def _valid(self) -> CollectionConfig:
        check_threshold(self.match_fpir, self.match_distance)
        for topic in self.mqtt_topics or []:
            if not topic or any(c in topic for c in "#+"):
                raise ValueError(f"an MQTT topic cannot be empty or contain # or +, got {topic!r}")
        return self


class EnrollmentGateConfig(BaseModel):
    """What an enrollment photo must pass (the quality gate of :meth:`faceplane.gallery.Gallery.enroll`)."""

    model_config = ConfigDict(extra="forbid")

    min_face_px: int = Field(60, ge=1, description="the face box must be at least this many pixels wide")
    min_cue: float = Field(
        0.3, ge=0, le=1, description="every quality cue (size, sharpness, pose, detector confidence) must reach this"
    )
    largest_face_only: bool = Field(False, description="with several faces, enroll the largest instead of refusing")

    def gate(self) -> QualityGate:
        from ..gallery.gallery import QualityGate

        return QualityGate(min_face_px=self.min_face_px, min_cue=self.min_cue, largest_face_only=self.largest_face_only)


class ImportConfig(BaseModel):
    """Bulk photo imports (``POST /imports``, :mod:`faceplane.services.imports`). The limits are operating choices, not
    measured: a zip of a few thousand people's photos fits; a bigger one is split."""

    model_config = ConfigDict(extra="forbid")

    max_archive_mb: float = Field(500.0, gt=0, description="largest zip upload")
    max_uncompressed_mb: float = Field(2000.0, gt=0, description="largest total of the zip's files once decompressed")
    max_files: int = Field(50_000, ge=1, description="most files in one zip")
    batch_files: int = Field(32, ge=1, le=1000, description="photos of one person enrolled per committed batch")
    keep_days: float = Field(30.0, gt=0, description="days a finished or failed import's report is kept")


class UnknownClusteringConfig(BaseModel):
    """How the server groups unknown faces into recurring strangers as they arrive (:mod:`faceplane.services.unknown`).

    Every ``interval_s`` up to ``faces_per_run`` new faces join the existing cluster they match; at most every
    ``full_every_minutes`` all faces (the newest ``max_faces``) are clustered again, which is when a new
    stranger's cluster appears. The defaults are operating choices, not tuned on data: a 24-hour pool of a few
    busy cameras stays under ``max_faces``, which a full run clusters in seconds.
    """

    model_config = ConfigDict(extra="forbid")

    interval_s: float = Field(60.0, gt=0, description="how often new unknown faces are joined to existing clusters")
    faces_per_run: int = Field(500, ge=1, description="new faces handled per interval at most (bounded work)")
    full_every_minutes: float = Field(10.0, gt=0, description="re-cluster all unknown faces at most this often")
    max_faces: int = Field(5000, ge=2, description="a full re-clustering takes at most the newest this many faces")
    threshold: float | None = Field(
        None, gt=0, description="link distance of two faces; unset: the model's calibrated 1:1 distance at FAR 3e-4"
    )
    min_size: int = Field(2, ge=2, description="faces a cluster needs (fewer: 'seen once', in no cluster)")
