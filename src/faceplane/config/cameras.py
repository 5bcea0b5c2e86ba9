"""Settings of the cameras: each camera the server analyses (``[[cameras]]``) and which sources cameras
may open (``[camera_sources]``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import InvalidArgumentError
from .gallery import check_threshold, threshold_of

if TYPE_CHECKING:
    from ..gallery.thresholds import MatchThreshold
    from ..video.analyzer import ObjectSettings
    from ..video.rules import Line, Zone
    from ..video.source_policy import SourcePolicy
    from ..video.sources import VideoSource

__all__ = ["CameraConfig", "CameraSourcesConfig"]


class CameraConfig(BaseModel):
    """One camera the server analyses."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="camera id, unique; letters, digits, '-', '_' and '.'", pattern=r"^[\w.-]{1,64}$")
    source: str = Field(description="file path, rtsp://, rtmp://, http(s):// URL or webcam:N")
    fps: float = Field(5.0, gt=0, le=30, description="analysed frames per second")
    lines: list[str] = Field(
        default_factory=list,
        description="counting lines '[name=]x1,y1,x2,y2[;classes=car,bus]' (px or 0..1; classes: count only those)",
    )
    zones: list[str] = Field(
        default_factory=list,
        description="dwell zones '[name=]x1,y1,x2,y2,x3,y3,...[;classes=car][;dwell=600]' (dwell: seconds inside "
        "before a zone.dwell event)",
    )
    people: bool = Field(False, description="also detect and count people: short for objects = ['person']")
    objects: list[str] = Field(
        default_factory=list,
        description="COCO classes to detect, track and count (person, bicycle, car, motorcycle, bus, truck...); "
        "lines and zones then count these tracks, not faces",
    )
    object_detector: Literal["nanodet", "centernet", "hog"] = Field(
        "nanodet", description="object detector: nanodet or centernet (CNNs, model store) or hog (OpenCV, people only)"
    )
    object_input_size: int | None = Field(
        None, ge=64, le=2048, description="CNN input side, a multiple of 32 (smaller: faster; default: the model's)"
    )
    fixed: bool = Field(True, description="the camera does not move (enables the background model for HOG people)")
    loop: bool = Field(False, description="restart a file source at its end (demos)")
    realtime: bool = Field(True, description="read a file source at its own speed, like a camera")
    match_fpir: float | None = Field(
        None, gt=0, lt=1, description="this camera's match threshold as a target share of strangers named as someone "
        "enrolled (0.01: 1 in 100; over everyone searched); unset: the gallery's. Caps each watchlist's own",
    )
    match_distance: float | None = Field(
        None, gt=0, le=2, description="or an explicit embedding distance (instead of match_fpir)"
    )

    def match_threshold(self) -> MatchThreshold | None:
        """The camera's own threshold (None: the gallery's; see :mod:`faceplane.gallery.thresholds`)."""
        return threshold_of(self.match_fpir, self.match_distance)

    @model_validator(mode="after")
    def _one_match(self) -> CameraConfig:
        check_threshold(self.match_fpir, self.match_distance)
        return self

    def video_source(self) -> VideoSource:
        """The camera's source, not started."""
        from ..video.sources import VideoSource

        return VideoSource(self.source, camera=self.id, fps=self.fps, realtime=self.realtime, loop=self.loop)

    def object_settings(self) -> ObjectSettings | None:
        """What the analyzer detects for this camera's objects (None: faces only)."""
        from ..video.analyzer import ObjectSettings

        classes = (["person"] if self.people else []) + self.objects  # people = true: objects = ["person"]
        if not classes:
            return None
        return ObjectSettings(tuple(classes), self.object_detector, self.object_input_size)

    @model_validator(mode="after")
    def _check_objects(self) -> CameraConfig:
        try:
            self.object_settings()
        except InvalidArgumentError as exc:
            raise ValueError(str(exc)) from None
        return self

    def rules(self) -> tuple[list[Line], list[Zone]]:
        """The counting lines and dwell zones, named ``line1``, ``zone1``... when the text names none."""
        from ..video.rules import Line, Zone

        return (
            [Line.parse(t, f"line{i + 1}") for i, t in enumerate(self.lines)],
            [Zone.parse(t, f"zone{i + 1}") for i, t in enumerate(self.zones)],
        )

    @field_validator("lines", "zones")
    @classmethod
    def _parse_rules(cls, value: list[str], info: object) -> list[str]:
        from ..video.rules import Line, Zone

        kind = Line if getattr(info, "field_name", "") == "lines" else Zone
        for text in value:
            try:
                kind.parse(text)
            except InvalidArgumentError as exc:
                raise ValueError(str(exc)) from None
        return value


_StreamScheme = Literal["rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "srt", "udp", "tcp"]
_DEFAULT_SCHEMES: tuple[_StreamScheme, ...] = ("rtsp", "rtsps")  # http(s) and the others only when listed


class CameraSourcesConfig(BaseModel):
    """Which sources the server's cameras may open (API, settings file and saved state alike; not the
    CLI's ``faceplane run FILE``). See :mod:`faceplane.video.source_policy`.

    Example::

        [camera_sources]
        schemes = ["rtsp", "rtsps", "https"]
        hosts = ["*.cams.local", "10.0.0.0/8"]
        media_roots = ["/srv/clips"]
    """

    model_config = ConfigDict(extra="forbid")

    schemes: list[_StreamScheme] = Field(
        default_factory=lambda: list(_DEFAULT_SCHEMES), description="stream URL schemes cameras may use"
    )
    hosts: list[str] = Field(
        default_factory=lambda: ["*"],
        description="hosts streams may come from: '*' (any), name globs ('*.cams.local'), addresses, networks "
        "('10.0.0.0/8'; a name matches when all its addresses are in one)",
    )
    deny_hosts: list[str] = Field(
        default_factory=lambda: list(_denied_hosts()),
        description="addresses and networks never opened, whatever 'hosts' says (names are resolved); default: "
        "loopback, link-local (cloud metadata), unspecified. [] allows them (tests, a camera proxy on this host)",
    )
    media_roots: list[Path] = Field(
        default_factory=list,
        description="folders whose files (after symlinks and '..') admins may use as camera sources; "
        "empty: no local files",
    )
    webcams: bool = Field(False, description="allow local capture devices (webcam:N, /dev/videoN) as cameras")

    @field_validator("hosts", "deny_hosts")
    @classmethod
    def _parse_hosts(cls, value: list[str], info: object) -> list[str]:
        from ..video.source_policy import parse_host_pattern

        for text in value:
            try:
                pattern = parse_host_pattern(text)
            except InvalidArgumentError as exc:
                raise ValueError(str(exc)) from None
            if isinstance(pattern, str) and getattr(info, "field_name", "") == "deny_hosts":
                raise ValueError(f"deny_hosts takes addresses and networks, not names: {text!r}")
        return value

    def policy(self) -> SourcePolicy:
        """The policy these settings describe."""
        from ..video.source_policy import SourcePolicy

        return SourcePolicy(
            schemes=self.schemes,
            hosts=self.hosts,
            deny_hosts=self.deny_hosts,
            media_roots=self.media_roots,
            webcams=self.webcams,
        )


def _denied_hosts() -> tuple[str, ...]:
    from ..video.source_policy import DEFAULT_DENIED_HOSTS

    return DEFAULT_DENIED_HOSTS
