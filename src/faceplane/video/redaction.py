"""What the video engine's stored outputs obscure: event snapshots and annotated video.

Every face that is not a watchlist match is blurred (:func:`~faceplane.redact.blur_faces`) before a
picture is kept: in the JPEG snapshot of a ``watchlist.start`` / ``watchlist.update`` event
(:class:`SnapshotRedactor`) and in every frame of an annotated video (:func:`redacted_frame`, captions
through :func:`anonymous`). The engine's loop (:mod:`.engine`) decides when; this module decides what
is hidden. Whether to redact at all is the engine's ``redact_snapshots`` / ``redact_video``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

import numpy as np
import numpy.typing as npt

from ..geometry import box_iou
from ..images import encode_jpeg
from ..pipeline import Engine
from ..redact import blur_faces
from ..types import Frame
from .annotate import Label
from .camera import CameraState, Shot

__all__ = ["SnapshotRedactor", "anonymous", "redacted_frame", "snapshot_crop", "watched"]


class SnapshotRedactor:
    """Makes the JPEGs kept with watchlist events; holds the CNN detector of the second look."""

    def __init__(self) -> None:
        self._detector: Engine | None = None  # made on the first redacted snapshot

    def job(self, cam: CameraState, shot: Shot, *, redact: bool) -> Callable[[], bytes]:
        """What makes the JPEG kept with a watchlist event: the shot's face, every other non-watchlist face
        obscured. Who is kept is decided now; the JPEG is made on the publishing thread (:mod:`.publisher`).

        The crop gets a second look with the MMOD CNN detector (~0.1 s, a few times per visit): the
        video's detector (HOG) misses turned or partly hidden faces in many frames, and a stored picture
        must not keep them. A face found only by that look is obscured unless it is a kept face (IoU > 0.3).
        """
        crop, origin = snapshot_crop(shot.frame.image, shot.box)
        if not redact:
            return partial(encode_jpeg, crop, 88)
        keep = watched(cam, shot.face_tracks) | (shot.face_tracks == shot.track_id)
        return partial(self._redacted_snapshot, crop, shot.faces - np.tile(origin, 2), keep)

    def _redacted_snapshot(
        self, crop: npt.NDArray[np.uint8], boxes: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_]
    ) -> bytes:
        if self._detector is None:  # only the publishing thread uses it
            self._detector = Engine(detector="cnn", detect_width=0)
        found = self._detector.detect(crop).xyxy
        if len(found) and keep.any():
            found = found[box_iou(found, boxes[keep]).max(axis=1) <= 0.3]
        boxes, keep = np.concatenate([boxes, found]), np.concatenate([keep, np.zeros(len(found), bool)])
        return encode_jpeg(blur_faces(crop, boxes, keep=keep), 88)


def watched(cam: CameraState, track_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """(N,) bool: which face tracks are currently identified as a watchlist person."""
    alerts = [cam.memory[t].alert if t in cam.memory else None for t in track_ids.tolist()]
    return np.array([a is not None for a in alerts], bool)


def redacted_frame(cam: CameraState, frame: Frame) -> npt.NDArray[np.uint8]:
    """The frame to annotate for the video file (``redact_video``): every face but the watchlist matches
    obscured, also where one was in the last ``REDACT_HOLD_FRAMES`` analysed frames and is not found now."""
    boxes, track_ids = cam.frame_faces
    keep = watched(cam, track_ids)
    held = np.concatenate([np.zeros((0, 4), np.float32), *cam.held_faces])
    if len(held) and len(boxes):  # a face detected now is obscured (or kept) at its current place
        held = held[box_iou(held, boxes).max(axis=1) == 0]
    cam.held_faces.append(boxes[~keep])
    all_boxes = np.concatenate([boxes, held])
    return blur_faces(frame.image, all_boxes, keep=np.concatenate([keep, np.zeros(len(held), bool)]))


def anonymous(label: Label) -> Label:
    """A known, non-watchlist face's or person's caption without its name ("#12 known", "person #3 known")."""
    if label.stored_text is not None:
        return replace(label, text=label.stored_text)
    return replace(label, text=label.text.split(" ")[0] + " known") if label.status == "known" else label


def snapshot_crop(
    image: npt.NDArray[np.uint8], box: tuple[float, float, float, float], margin: float = 0.8
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """The face with ``margin`` x its size around it (context for an operator), and its (2,) x, y origin."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = max(0, int(x1 - mx)), max(0, int(y1 - my))
    return image[top : min(h, int(y2 + my)), left : min(w, int(x2 + mx))], np.array([left, top], np.float32)
