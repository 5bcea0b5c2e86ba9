"""Per-face quality: is this shot good enough to enroll, or the best of a track?

Four cues, each mapped to [0, 1], combined by geometric mean so that one bad cue (a blurred or
a profile face) pulls the whole score down:

- **size**: box width in pixels; 24 px or less scores 0, 96 px or more scores 1.
- **sharpness**: variance of the Laplacian of the aligned 150x150 grey chip (independent of
  face size); ``v / (v + sharpness_half)``.
- **pose**: from the 5-point (or 68-point) landmarks: yaw from the nose's offset to the eyes'
  midpoint, pitch from the nose's drop below the eye line, both relative to the eye distance.
- **confidence**: the detector's score, ``1 - exp(-score / confidence_scale)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["QualityReport", "assess_quality"]

_F32 = npt.NDArray[np.float32]

# 68-point indices of the five points the 5-point model predicts (same order).
_FIVE_OF_68 = [45, 42, 36, 39, 33]

MIN_FACE_PX = 24.0
GOOD_FACE_PX = 96.0
SHARPNESS_HALF = 15.0  # Laplacian variance of a chip at which the sharpness cue is 0.5
_MAX_YAW = 0.6  # |nose offset| / eye distance at which pose scores 0 (about a 50-60 degree turn)
_PITCH_NEUTRAL = 0.76  # median nose drop / eye distance on LFW (frontal faces)
_MAX_PITCH_DEV = 0.45


@dataclass(frozen=True)
class QualityReport:
    """Quality cues of N faces, each (N,) float32 in [0, 1]."""

    size: _F32
    sharpness: _F32
    pose: _F32
    confidence: _F32
    overall: _F32

    def reasons(self, index: int, *, min_cue: float = 0.3) -> list[str]:
        """Human-readable reasons why face ``index`` scores low (cues below ``min_cue``)."""
        names = {"size": "too small", "sharpness": "blurred", "pose": "extreme pose", "confidence": "weak detection"}
        return [text for cue, text in names.items() if float(getattr(self, cue)[index]) < min_cue]


def _laplacian_var(chips: npt.NDArray[np.uint8]) -> _F32:
    import cv2

    out = np.zeros((len(chips),), np.float32)
    for i, chip in enumerate(chips):
        grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
        out[i] = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    return out


def _pose_score(landmarks: _F32) -> _F32:
    lm = landmarks[:, _FIVE_OF_68] if landmarks.shape[1] == 68 else landmarks
    eye_a = lm[:, 0:2].mean(axis=1)
    eye_b = lm[:, 2:4].mean(axis=1)
    nose = lm[:, 4]
    axis = eye_a - eye_b
    iod = np.maximum(np.linalg.norm(axis, axis=1), 1e-6)
    unit = axis / iod[:, None]
    rel = nose - (eye_a + eye_b) / 2.0
    yaw = (rel * unit).sum(axis=1) / iod  # along the eye line
    drop = (rel[:, 1] * unit[:, 0] - rel[:, 0] * unit[:, 1]) / iod  # perpendicular to it
    yaw_s = np.clip(1.0 - np.abs(yaw) / _MAX_YAW, 0.0, 1.0)
    pitch_s = np.clip(1.0 - np.abs(drop - _PITCH_NEUTRAL) / _MAX_PITCH_DEV, 0.0, 1.0)
    return (yaw_s * pitch_s).astype(np.float32)


def assess_quality(
    chips: npt.NDArray[np.uint8],
    boxes: _F32,
    landmarks: _F32,
    scores: _F32,
    *,
    confidence_scale: float = 0.5,
) -> QualityReport:
    """Score N faces.

    Args:
        chips: (N, 150, 150, 3) uint8 aligned chips (see :func:`faceplane.align.face_chips`).
        boxes: (N, 4) float32 xyxy boxes.
        landmarks: (N, 5|68, 2) float32 landmarks.
        scores: (N,) detector scores.
        confidence_scale: detector score giving a confidence cue of 0.63 (HOG: 0.5, CNN: 0.3).

    Returns:
        A :class:`QualityReport`; ``overall`` is the geometric mean of the four cues.
    """
    n = len(boxes)
    if n == 0:
        empty = np.zeros((0,), np.float32)
        return QualityReport(empty, empty, empty, empty, empty)
    width = np.asarray(boxes[:, 2] - boxes[:, 0], np.float32)
    size = np.clip((width - MIN_FACE_PX) / (GOOD_FACE_PX - MIN_FACE_PX), 0.0, 1.0)
    lap = _laplacian_var(chips)
    sharp = lap / (lap + SHARPNESS_HALF)
    pose = _pose_score(np.asarray(landmarks, np.float32))
    conf = 1.0 - np.exp(-np.clip(np.asarray(scores, np.float32), 0.0, None) / confidence_scale)
    cues = np.stack([size, sharp, pose, conf]).astype(np.float32)
    overall = np.exp(np.log(np.clip(cues, 1e-6, 1.0)).mean(axis=0))
    return QualityReport(
        size=cues[0], sharpness=cues[1], pose=cues[2], confidence=cues[3], overall=overall.astype(np.float32)
    )
