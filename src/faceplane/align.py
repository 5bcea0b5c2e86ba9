"""Landmarks -> similarity transform -> aligned face chips: dlib's for its ResNet, ArcFace's for MobileFaceNet.

The ResNet descriptor was trained on dlib's chips (150x150, padding 0.25, landmarks mapped onto
dlib's mean-face template), so we let dlib cut them: its ``extract_image_chips`` also low-passes
large faces through an image pyramid before resampling, which a plain affine warp would alias.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .errors import InvalidArgumentError
from .geometry import ltrb_inclusive_from_xyxy

__all__ = [
    "ARCFACE_SIZE",
    "ARCFACE_TEMPLATE",
    "ARCFACE_TEMPLATE_DLIB5",
    "CHIP_PADDING",
    "CHIP_SIZE",
    "DLIB_CHIP_TO_ARCFACE",
    "arcface_chips",
    "convert_chips",
    "face_chips",
]

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


# -- ArcFace alignment (MobileFaceNet) -------------------------------------------------------------

#: Side of an ArcFace crop in pixels.
ARCFACE_SIZE = 112

#: ArcFace's 5-point template in the 112x112 crop: eye centres, nose tip, mouth corners (InsightFace).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]], np.float64
)

#: The same crop's template for dlib's *5-point* predictor (outer and inner corner of the image-right
#: eye, outer and inner corner of the image-left eye, base of the nose). Measured, not guessed: on the
#: 3,443 images of LFW View 1 DevTrain, each face's ArcFace points (from the 68-point predictor) were
#: fitted to :data:`ARCFACE_TEMPLATE` and its 5 dlib points mapped through that fit and averaged.
ARCFACE_TEMPLATE_DLIB5 = np.array(
    [[80.1829, 52.7935], [66.4354, 53.2304], [31.5334, 53.0367], [45.3595, 53.3467], [56.0168, 79.6290]], np.float64
)

#: 2x3 affine: a 150x150 dlib chip's pixel -> the ArcFace crop's pixel, fitted on the same DevTrain
#: faces. Used only to move stored chips between models (``gallery migrate``): the chip lacks the
#: forehead (rows above ~23 of the crop stay black), which costs open-set accuracy (LFW View 1 1:N
#: rank-1 95.7% vs 97.4% cropping from the photo), so the pipeline always crops from the photo.
DLIB_CHIP_TO_ARCFACE = np.array([[0.650359, 0.003263, 7.922513], [-0.003263, 0.650359, 23.170660]], np.float64)


def _similarity(src: npt.NDArray[np.float64], dst: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """2x3 least-squares similarity (Umeyama) mapping points ``src`` onto ``dst``."""
    mean_s, mean_d = src.mean(0), dst.mean(0)
    s, d = src - mean_s, dst - mean_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.ones(2)
    if np.linalg.det(u @ vt) < 0:
        sign[-1] = -1.0
    rot = u @ np.diag(sign) @ vt
    scale = float((sig * sign).sum() / (s**2).sum(1).mean())
    out = np.zeros((2, 3))
    out[:, :2] = scale * rot
    out[:, 2] = mean_d - scale * rot @ mean_s
    return out


def arcface_chips(image: np.ndarray, landmarks: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Cut one 112x112 ArcFace-aligned crop per face (MobileFaceNet's input).

    Args:
        image: (H, W, 3) uint8 RGB.
        landmarks: (N, 5, 2) dlib 5-point or (N, 68, 2) 68-point pixel landmarks.

    Returns:
        (N, 112, 112, 3) uint8 RGB; outside the image is black.

    Raises:
        InvalidArgumentError: landmarks of another shape.
    """
    import cv2

    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 3 or lm.shape[1] not in (5, 68) or lm.shape[2] != 2:
        raise InvalidArgumentError(f"landmarks must be (N, 5|68, 2), got shape {lm.shape}")
    out = np.zeros((len(lm), ARCFACE_SIZE, ARCFACE_SIZE, 3), np.uint8)
    for i, pts in enumerate(lm):
        if len(pts) == 68:  # eye centres, nose tip, mouth corners
            src, dst = np.stack([pts[36:42].mean(0), pts[42:48].mean(0), pts[30], pts[48], pts[54]]), ARCFACE_TEMPLATE
        else:
            src, dst = pts, ARCFACE_TEMPLATE_DLIB5
        out[i] = cv2.warpAffine(image, _similarity(src, dst), (ARCFACE_SIZE, ARCFACE_SIZE), flags=cv2.INTER_LINEAR)
    return out


def convert_chips(chips: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    """Re-cut stored chips for another model: 150 dlib chips <-> 112 ArcFace crops (``gallery migrate``).

    Either way loses something (the dlib chip has no forehead; the ArcFace crop has a lower
    resolution and no chin tip): re-enrolling from photos is better where they still exist.

    Raises:
        InvalidArgumentError: not (N, 150|112, 150|112, 3) uint8 or another target size.
    """
    import cv2

    sizes = (CHIP_SIZE, ARCFACE_SIZE)
    if chips.ndim != 4 or chips.shape[1] != chips.shape[2] or chips.shape[1] not in sizes or size not in sizes:
        raise InvalidArgumentError(f"cannot convert chips of shape {chips.shape} to {size}x{size}")
    if chips.shape[1] == size:
        return chips
    matrix = DLIB_CHIP_TO_ARCFACE if size == ARCFACE_SIZE else cv2.invertAffineTransform(DLIB_CHIP_TO_ARCFACE)
    return np.stack([cv2.warpAffine(c, matrix, (size, size), flags=cv2.INTER_LINEAR) for c in chips])
