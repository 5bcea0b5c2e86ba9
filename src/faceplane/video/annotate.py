"""Drawing tracks, names, lines, zones and counts on frames, and writing annotated video.

Colours: red = a watchlist person, green = a recognised person, amber = unknown, grey = not
searched yet; object boxes (counting) are thin: blue for people ("person #3", with the name of
the face inside when recognised), magenta for vehicles and other objects ("car #12").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from .rules import Line, Zone

__all__ = ["Label", "VideoWriter", "draw"]

_RED, _GREEN, _AMBER, _GREY, _BLUE, _WHITE, _MAGENTA = (
    (230, 40, 40),
    (40, 200, 80),
    (240, 170, 30),
    (160, 160, 160),
    (60, 120, 240),
    (255, 255, 255),
    (220, 70, 220),
)


@dataclass(frozen=True)
class Label:
    """One box to draw: pixels ``xyxy``, a caption, and what it is (picks the colour)."""

    xyxy: tuple[float, float, float, float]
    text: str
    status: str  # "watchlist" | "known" | "unknown" | "pending" | "person" | "object"
    stored_text: str | None = None  # the caption in a stored (redacted) video when it must differ (no name)


_COLOURS = {
    "watchlist": _RED,
    "known": _GREEN,
    "unknown": _AMBER,
    "pending": _GREY,
    "person": _BLUE,
    "object": _MAGENTA,
}
_THIN = ("person", "object")


def draw(
    image: npt.NDArray[np.uint8],
    labels: Sequence[Label],
    *,
    lines: Sequence[Line] = (),
    zones: Sequence[Zone] = (),
    counts: dict[str, dict[str, int]] | None = None,
    header: str = "",
    class_counts: dict[str, dict[str, dict[str, int]]] | None = None,
) -> npt.NDArray[np.uint8]:
    """A copy of ``image`` (H, W, 3) RGB with boxes, captions, lines with in/out counts (and per object
    class below them: ``car 2/1`` is 2 in, 1 out) and zones."""
    import cv2

    out = np.ascontiguousarray(image.copy())
    for zone in zones:
        pts = np.round(np.array(zone.polygon)).astype(np.int32)
        cv2.polylines(out, [pts], True, _AMBER, 2, cv2.LINE_AA)
        _text(out, zone.name, (int(pts[0, 0]), int(pts[0, 1]) - 4), _AMBER)
    for line in lines:
        a = (round(line.a[0]), round(line.a[1]))
        b = (round(line.b[0]), round(line.b[1]))
        cv2.arrowedLine(out, a, b, _WHITE, 2, cv2.LINE_AA, tipLength=0.03)
        c = (counts or {}).get(line.name, {"in": 0, "out": 0})
        mid = ((a[0] + b[0]) // 2 + 6, (a[1] + b[1]) // 2)
        _text(out, f"{line.name} in {c['in']} out {c['out']}", mid, _WHITE)
        per_class = (class_counts or {}).get(line.name, {})
        if per_class:
            text = "  ".join(f"{name} {n['in']}/{n['out']}" for name, n in sorted(per_class.items()))
            _text(out, text, (mid[0], mid[1] + 16), _WHITE)
    for lab in labels:
        colour = _COLOURS.get(lab.status, _GREY)
        x1, y1, x2, y2 = (round(v) for v in lab.xyxy)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 1 if lab.status in _THIN else 2, cv2.LINE_AA)
        if lab.text:
            _text(out, lab.text, (x1, max(12, y1 - 5)), colour)
    if header:
        _text(out, header, (6, 18), _WHITE)
    return out


def _text(img: npt.NDArray[np.uint8], text: str, org: tuple[int, int], colour: tuple[int, int, int]) -> None:
    import cv2

    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)


class VideoWriter:
    """Writes RGB frames to an H.264 MP4 (PyAV), opened on the first frame with its size."""

    def __init__(self, path: str | os.PathLike[str], *, fps: float) -> None:
        self.path = os.fspath(path)
        self.fps = fps
        self._container: Any = None
        self._stream: Any = None
        self.frames = 0

    def write(self, image: npt.NDArray[np.uint8]) -> None:
        import av

        h, w = image.shape[:2]
        if self._container is None:
            self._container = av.open(self.path, mode="w")
            self._stream = self._container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1000))
            self._stream.width, self._stream.height = w - w % 2, h - h % 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"preset": "veryfast", "crf": "26"}
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: h - h % 2, : w - w % 2]), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._container is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
