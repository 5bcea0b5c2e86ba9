"""Scene cuts between the analysed frames of one camera, so that tracks do not run across them.

An IoU tracker matches boxes by where they are, not by who is in them: when an edited clip (a
broadcast, a recorded stream, a PTZ preset jump) cuts to another shot, a face at about the same
place in the new shot continues the old face's track and inherits its identity. A cut is where
the frame's coarse structure changes all at once, so :class:`CutDetector` compares a small
grey-level thumbnail of each analysed frame with the previous one by normalised correlation,
which ignores brightness and contrast changes (auto-exposure, lights) and moves little when
people walk through a fixed camera's view.

The threshold was chosen on the Hamilton clip of face_recognition's examples (four cuts at
0.8, 1.6, 2.8 and 7.2 s: correlation 0.01 to 0.21 at 5 analysed fps) and PETS09-S2L1 (no cut:
0.96 and above), and checked on the other shared videos (TUD-Campus, Intel's one-by-one and
car-detection, OpenCV's vtest, the liveness clips): no cut found there except two whip pans of
a hand-held phone clip (0.22, 0.26), where restarting the tracks is the right outcome too.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError

__all__ = ["CutDetector"]

_GRID = (18, 32)  # thumbnail rows, columns (16:9)
_FLAT_STD = 2.0  # grey levels: below this a thumbnail has no structure (black, blank, a test card)
_FLAT_JUMP = 32.0  # grey levels: between flat thumbnails, a mean change this large is a cut


def _thumbnail(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(H, W, 3) or (H, W) uint8 -> (18, 32) float32 grey block means."""
    if image.ndim not in (2, 3) or image.shape[0] < _GRID[0] or image.shape[1] < _GRID[1]:
        raise InvalidArgumentError(f"expected an (H, W[, 3]) image of at least 18x32 pixels, got {image.shape}")
    rows, cols = _GRID
    step = max(1, min(image.shape[0] // (rows * 4), image.shape[1] // (cols * 4)))
    small = image[::step, ::step].astype(np.float32)  # subsample first: a 720p frame costs ~1 ms
    grey = small.mean(axis=2) if small.ndim == 3 else small
    h, w = grey.shape[0] - grey.shape[0] % rows, grey.shape[1] - grey.shape[1] % cols
    return grey[:h, :w].reshape(rows, h // rows, cols, w // cols).mean(axis=(1, 3))


class CutDetector:
    """Tells whether an analysed frame starts a new shot.

    Args:
        min_correlation: consecutive frames whose thumbnails correlate less than this are a cut.

    Raises:
        InvalidArgumentError: ``min_correlation`` outside (-1, 1).

    Example:
        >>> cuts = CutDetector()
        >>> frame = np.random.default_rng(0).integers(0, 255, (72, 128, 3), dtype=np.uint8)
        >>> cuts(frame), cuts(frame), cuts(255 - frame)
        (False, False, True)
    """

    def __init__(self, *, min_correlation: float = 0.3) -> None:
        if not -1.0 < min_correlation < 1.0:
            raise InvalidArgumentError(f"min_correlation must be in (-1, 1), got {min_correlation!r}")
        self.min_correlation = float(min_correlation)
        self._previous: npt.NDArray[np.float32] | None = None

    def __call__(self, image: npt.NDArray[np.uint8]) -> bool:
        """True when ``image`` (H, W, 3) uint8 is the first frame of another shot than the previous call's.

        The first frame of all is not a cut.
        """
        current = _thumbnail(image)
        previous, self._previous = self._previous, current
        if previous is None:
            return False
        a, b = previous - previous.mean(), current - current.mean()
        sa, sb = float(np.sqrt((a * a).mean())), float(np.sqrt((b * b).mean()))
        if sa < _FLAT_STD or sb < _FLAT_STD:  # correlation means nothing on a flat picture
            return (sa < _FLAT_STD) != (sb < _FLAT_STD) or abs(float(previous.mean() - current.mean())) > _FLAT_JUMP
        return float((a * b).mean() / (sa * sb)) < self.min_correlation
