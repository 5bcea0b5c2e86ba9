"""Redaction: obscure the faces of bystanders before an image is stored.

One pure function, :func:`blur_faces`. The video engine applies it to event snapshots and to
annotated video (``redact_snapshots`` / ``redact_video`` in the settings): every face that is not a
watchlist match is pixelated and blurred so that the stored image no longer identifies the person.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .errors import InvalidArgumentError

__all__ = ["blur_faces"]

#: Mosaic cells across the longer side of a grown face box, about two across the face itself: too few
#: for our embedder (or a person) to tell who it was. Six (four across the face) hid faces from dlib's
#: embedder, but MobileFaceNet still matched a 63-px face in the Hamilton clip to itself through them
#: (distance 1.06 < its 1.08 threshold; 1.13-1.24 at three). tests/unit/test_redact.py and
#: tests/integration/video/test_redaction.py measure it.
_CELLS = 3


def blur_faces(
    image: npt.NDArray[np.uint8],
    boxes: npt.ArrayLike,
    *,
    keep: npt.ArrayLike | None = None,
    margin: float = 0.3,
) -> npt.NDArray[np.uint8]:
    """A copy of ``image`` with every face not kept pixelated and blurred beyond recognition.

    Each obscured box is grown by ``margin`` x its width on the left and right and x its height
    above and below (hair, ears, the chin), cut into a coarse mosaic (about two cells across the
    face: the detail is averaged away, so it cannot be undone) and blurred to hide the cell edges.
    A kept face's box is never touched, even where a bystander's (grown) box overlaps it: the kept face
    is the evidence, and where two faces overlap, the one in front is mostly the kept one's.

    Args:
        image: (H, W, 3) uint8 RGB; never modified.
        boxes: (N, 4) xyxy float32 pixel boxes of the faces in ``image`` (N may be 0).
        keep: (N,) bool, True for the faces to leave as they are (watchlist matches); None: obscure all.
        margin: growth of each obscured box, as a fraction of its size on every side (>= 0).

    Returns:
        A new (H, W, 3) uint8 RGB image; pixels outside the obscured boxes are byte-identical.

    Raises:
        InvalidArgumentError: ``image`` is not (H, W, 3) uint8, ``boxes`` not (N, 4) finite numbers,
            ``keep`` not N booleans, or ``margin`` negative or not finite.

    Example:
        >>> img = np.full((100, 100, 3), 128, np.uint8)
        >>> out = blur_faces(img, [[10, 10, 50, 50], [60, 60, 90, 90]], keep=[True, False])
        >>> out.shape, out is img
        ((100, 100, 3), False)
    """
    rgb, xyxy, kept = _check(image, boxes, keep, margin)
    out = rgb.copy()
    hidden = np.flatnonzero(~kept)
    if len(hidden) == 0:
        return out
    h, w = rgb.shape[:2]
    grown = [_pixels(_grow(xyxy[i], margin), w, h) for i in hidden]
    mask = np.zeros((h, w), bool)  # the pixels to obscure
    for x1, y1, x2, y2 in grown:
        mask[y1:y2, x1:x2] = True
    for i in np.flatnonzero(kept):
        x1, y1, x2, y2 = _pixels(xyxy[i], w, h)
        mask[y1:y2, x1:x2] = False
    for x1, y1, x2, y2 in grown:
        region, inside = out[y1:y2, x1:x2], mask[y1:y2, x1:x2]
        if region.size:
            region[inside] = _obscure(region)[inside]
    return out


def _check(
    image: npt.NDArray[np.uint8], boxes: npt.ArrayLike, keep: npt.ArrayLike | None, margin: float
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{image.shape} {image.dtype}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InvalidArgumentError(f"image must be (H, W, 3) uint8 RGB, got {got}")
    try:
        xyxy = np.asarray(boxes, np.float32)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"boxes must be (N, 4) numbers, got {boxes!r}") from None
    if xyxy.size == 0:
        xyxy = xyxy.reshape(0, 4)
    if xyxy.ndim != 2 or xyxy.shape[1] != 4 or not np.isfinite(xyxy).all():
        raise InvalidArgumentError(f"boxes must be (N, 4) finite xyxy pixels, got shape {xyxy.shape}")
    kept = np.zeros(len(xyxy), bool) if keep is None else np.asarray(keep)
    if kept.shape != (len(xyxy),) or kept.dtype != np.bool_:
        raise InvalidArgumentError(f"keep must be ({len(xyxy)},) bool, got {kept.shape} {kept.dtype}")
    if not (math.isfinite(margin) and margin >= 0):
        raise InvalidArgumentError(f"margin must be a finite number >= 0, got {margin!r}")
    return image, xyxy, kept


def _grow(box: npt.NDArray[np.float32], margin: float) -> npt.NDArray[np.float32]:
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    return np.array([x1 - mx, y1 - my, x2 + mx, y2 + my], np.float32)


def _pixels(box: npt.NDArray[np.float32], w: int, h: int) -> tuple[int, int, int, int]:
    """Integer pixel bounds covering ``box`` (rounded outwards), clipped to the image."""
    x1, y1 = (max(0, math.floor(v)) for v in box[:2])
    x2, y2 = min(w, math.ceil(box[2])), min(h, math.ceil(box[3]))
    return x1, y1, max(x1, x2), max(y1, y2)


def _obscure(region: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A coarse mosaic of ``region`` (cell averages), blurred over about one cell."""
    import cv2

    h, w = region.shape[:2]
    cell = max(h, w) / _CELLS
    small = cv2.resize(region, (max(1, round(w / cell)), max(1, round(h / cell))), interpolation=cv2.INTER_AREA)
    mosaic = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    return np.asarray(cv2.GaussianBlur(mosaic, (0, 0), sigmaX=max(0.5, cell / 2)), np.uint8)
