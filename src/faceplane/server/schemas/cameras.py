"""Bodies of the camera routes (``routes/cameras.py``): a camera to add, a camera's state and counts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from ...config import CameraConfig
from ...errors import InvalidArgumentError
from ...services.cameras import CameraView

__all__ = ["CameraIn", "CameraOut"]


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
