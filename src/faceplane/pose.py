"""Head pose (yaw, pitch, roll) from 68-point landmarks, by PnP against a generic 3-D face.

Good to a few degrees for AR overlays and pose gating (a liveness challenge "turn your head left");
it is not a measurement: the 3-D model is an average face and the camera is assumed to have a
focal length equal to the image width with no distortion.

Angles are degrees in the camera's frame: **yaw** > 0 when the face turns towards the image's right
(the person's left), **pitch** > 0 when the face looks up, **roll** > 0 when the head tilts
clockwise on screen.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .errors import InvalidArgumentError

__all__ = ["head_pose"]

# iBUG 68-point indices: nose tip, chin, left/right outer eye corners, left/right mouth corners
_INDEX_68 = [30, 8, 36, 45, 48, 54]
# A generic face (mm-ish), in camera axes: x right, y down, z away from the camera.
_MODEL_68 = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, 330.0, 65.0),
        (-225.0, -170.0, 135.0),
        (225.0, -170.0, 135.0),
        (-150.0, 150.0, 125.0),
        (150.0, 150.0, 125.0),
    ],
    np.float64,
)


def head_pose(landmarks: npt.ArrayLike, width: int, height: int) -> npt.NDArray[np.float32]:
    """(N, 68, 2) pixel landmarks of faces in a ``width`` x ``height`` image -> (N, 3) yaw, pitch, roll degrees.

    Raises:
        InvalidArgumentError: landmarks that are not 68-point (the 5-point model has too few points).

    Example:
        >>> head_pose(np.zeros((0, 68, 2)), 640, 480).shape
        (0, 3)
    """
    import cv2

    pts = np.asarray(landmarks, np.float64)
    if pts.ndim != 3 or pts.shape[1:] != (68, 2):
        raise InvalidArgumentError(f"head pose needs (N, 68, 2) landmarks (landmarks=68), got {pts.shape}")
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], np.float64)
    out = np.zeros((len(pts), 3), np.float32)
    for i, face in enumerate(pts):
        # SQPnP finds the global minimum; the iterative solver from no guess fell into an upside-down
        # solution (roll ~180 degrees, pitch of the wrong sign) on 21 of 235 frames of the shared live clip
        ok, rvec, _ = cv2.solvePnP(_MODEL_68, face[_INDEX_68], camera, None, flags=cv2.SOLVEPNP_SQPNP)
        if not ok:
            out[i] = np.nan
            continue
        rot, _ = cv2.Rodrigues(rvec)
        # R = Rz(roll) @ Ry(yaw) @ Rx(pitch); the signs turn camera-axis rotations into the documented ones
        yaw = np.degrees(np.arcsin(-np.clip(rot[2, 0], -1.0, 1.0)))
        pitch = np.degrees(np.arctan2(rot[2, 1], rot[2, 2]))
        roll = np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))
        out[i] = (-yaw, -pitch, roll)
    return out
