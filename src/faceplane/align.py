"""Landmarks -> similarity transform -> aligned face chips, as dlib makes them.

The ResNet descriptor was trained on dlib's chips (150x150, padding 0.25, landmarks mapped onto
dlib's mean-face template), so we let dlib cut them: its ``extract_image_chips`` also low-passes
large faces through an image pyramid before resampling, which a plain affine warp would alias.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .errors import InvalidArgumentError
from .geometry import ltrb_inclusive_from_xyxy

__all__ = ["CHIP_PADDING", "CHIP_SIZE", "face_chips"]

#: Chip side in pixels and padding the descriptor was trained with.
CHIP_SIZE = 150
CHIP_PADDING = 0.25


def face_chips(
    image: np.ndarray,
    boxes: npt.ArrayLike,
    landmarks: npt.ArrayLike,
    *,
    size: int = CHIP_SIZE,
    padding: float = CHIP_PADDING,
) -> npt.NDArray[np.uint8]:
    """Cut one aligned chip per face.

    Args:
        image: (H, W, 3) uint8 RGB.
        boxes: (N, 4) xyxy boxes.
        landmarks: (N, P, 2) pixel landmarks, P = 5 or 68 (dlib's point order).
        size: chip side in pixels.
        padding: margin around the template face, as a fraction of its size.

    Returns:
        (N, size, size, 3) uint8 RGB chips; (0, size, size, 3) for no faces.

    Raises:
        InvalidArgumentError: shapes disagree or P is not 5 or 68.
    """
    import dlib

    lm = np.asarray(landmarks, dtype=np.float64)
    ltrb = ltrb_inclusive_from_xyxy(boxes)
    if lm.ndim != 3 or lm.shape[0] != len(ltrb) or lm.shape[1] not in (5, 68) or lm.shape[2] != 2:
        raise InvalidArgumentError(
            f"landmarks must be (N, 5|68, 2) for {len(ltrb)} boxes, got shape {lm.shape}"
        )
    if size < 8 or padding < 0:
        raise InvalidArgumentError(f"chip size must be >= 8 and padding >= 0, got {size}, {padding}")
    if len(ltrb) == 0:
        return np.zeros((0, size, size, 3), np.uint8)
    shapes = dlib.full_object_detections()
    for (left, top, right, bottom), pts in zip(ltrb.tolist(), np.rint(lm).astype(int).tolist(), strict=False):
        parts = dlib.points([dlib.point(x, y) for x, y in pts])
        shapes.append(dlib.full_object_detection(dlib.rectangle(left, top, right, bottom), parts))
    chips = dlib.get_face_chips(image, shapes, size=size, padding=padding)
    return np.stack([np.asarray(c, dtype=np.uint8) for c in chips])
