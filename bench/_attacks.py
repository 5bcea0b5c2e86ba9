"""Synthetic presentation attacks made from real photos: print-like and screen-like re-renderings.

Used by ``bench/liveness.py``. These model *our own idea* of what a print or a screen does to a face
picture when a camera films it; a detector tuned on them learns our generator, not the world. They are
a plumbing check and a regression guard, never evidence that a real attack is caught.

- :func:`print_attack`: the photo cropped around the face, gamut squeezed (no deep blacks, no pure
  whites, less saturation), a warm paper tint, an ordered-dither halftone per ink channel at ~3 px
  pitch, a white paper border, then placed slightly rotated on another photo (the "room"), filmed:
  resampled to the capture size, slightly blurred, sensor noise, JPEG.
- :func:`screen_attack`: the photo drawn on an RGB stripe sub-pixel grid (each screen pixel = three
  vertical R, G, B stripes with dark gaps), rotated a few degrees and resampled by the camera (moiré
  from aliasing), a gamma lift and blue cast, a glare patch, inside a black bezel on another photo.

Every function is deterministic given ``seed``.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]

_BAYER4 = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16


def _crop_face(photo: U8, box: NDArray[np.float32], margin: float) -> U8:
    x0, y0, x1, y1 = box.tolist()
    m = margin * (x1 - x0)
    h, w = photo.shape[:2]
    xa, ya = max(0, int(x0 - m)), max(0, int(y0 - m))
    xb, yb = min(w, int(x1 + m)), min(h, int(y1 + m))
    return photo[ya:yb, xa:xb]


def _rotate(item: NDArray[np.float32], angle_deg: float, scale: float) -> NDArray[np.float32]:
    """(h, w, 3) float RGB -> (h', w', 4) float RGBA rotated and scaled, on a transparent canvas.

    Linear interpolation without a low-pass first: at ``scale`` < 1 fine periodic structure aliases,
    as it does on a camera sensor.
    """
    h, w = item.shape[:2]
    side = int(np.ceil(np.hypot(h, w) * scale)) + 2
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, scale)
    m[:, 2] += (side / 2 - w / 2, side / 2 - h / 2)
    rgba = np.dstack([item, np.ones((h, w), np.float32)])
    return cv2.warpAffine(rgba, m, (side, side), flags=cv2.INTER_LINEAR)


def _place(room: U8, rgba: NDArray[np.float32], size: tuple[int, int], rng: np.random.Generator) -> U8:
    """Composite ``rgba`` (0..1 float) near the middle of ``room`` resized to ``size`` (w, h)."""
    canvas = cv2.resize(room, size, interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    canvas = cv2.GaussianBlur(canvas, (0, 0), 1.5)  # the room is out of focus behind the held item
    ih, iw = rgba.shape[:2]
    x = int(size[0] / 2 - iw / 2 + rng.uniform(-0.08, 0.08) * size[0])
    y = int(size[1] / 2 - ih / 2 + rng.uniform(-0.05, 0.05) * size[1])
    xa, ya, xb, yb = max(0, x), max(0, y), min(size[0], x + iw), min(size[1], y + ih)
    patch = rgba[ya - y : yb - y, xa - x : xb - x]
    a = patch[..., 3:]
    canvas[ya:yb, xa:xb] = patch[..., :3] * a + canvas[ya:yb, xa:xb] * (1 - a)
    return (np.clip(canvas, 0, 1) * 255).astype(np.uint8)


def _film(scene: U8, size: tuple[int, int], rng: np.random.Generator, blur: float = 0.8) -> U8:
    """What the camera does: resample to ``size``, slight blur, sensor noise, JPEG at quality 85."""
    out = cv2.resize(scene, size, interpolation=cv2.INTER_AREA)
    out = cv2.GaussianBlur(out, (0, 0), blur)
    out = np.clip(out + rng.normal(0, 2.0, out.shape), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def print_attack(photo: U8, box: NDArray[np.float32], room: U8, *, seed: int = 0) -> U8:
    """(H, W, 3) RGB photo with a face at ``box`` -> a 640x480 RGB frame of it printed and held up."""
    rng = np.random.default_rng(seed)
    face = _crop_face(photo, box, margin=0.45)
    k = 330 / float(box[2] - box[0])  # the face ~330 px wide in the 1280x960 scene, ~165 px when filmed
    face = cv2.resize(face, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    grey = face.mean(axis=2, keepdims=True)
    face = grey + 0.75 * (face - grey)  # ink gamut: less saturated
    face = 0.08 + 0.82 * face  # no deep black, no pure white
    face = face * np.array([1.0, 0.97, 0.88], np.float32)  # warm paper
    h, w = face.shape[:2]
    threshold = np.tile(_BAYER4, (h // 4 + 1, w // 4 + 1))[:h, :w, None]
    dots = (face > threshold).astype(np.float32)  # ordered-dither halftone per ink channel
    printed = 0.55 * dots + 0.45 * face  # ink spreads: part halftone, part continuous tone
    border = max(8, w // 20)
    paper = np.full((h + 2 * border, w + 2 * border, 3), [0.93, 0.91, 0.84], np.float32)
    paper[border:-border, border:-border] = printed
    paper = cv2.resize(paper, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    scene = _place(room, _rotate(paper, rng.uniform(-6, 6), 1.0), (640, 480), rng)
    return _film(scene, (640, 480), rng, blur=0.8)


def screen_attack(photo: U8, box: NDArray[np.float32], room: U8, *, seed: int = 0) -> U8:
    """(H, W, 3) RGB photo with a face at ``box`` -> a 640x480 RGB frame of it on a phone/tablet screen."""
    rng = np.random.default_rng(seed)
    face = _crop_face(photo, box, margin=0.35)
    k = 110 / float(box[2] - box[0])  # the face ~110 screen pixels wide: 330 px in the scene, ~180 filmed
    face = cv2.resize(face, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    h, w = face.shape[:2]
    cells = np.repeat(np.repeat(face, 3, axis=0), 3, axis=1).astype(np.float32) / 255
    subpixels = np.zeros((3, 3, 3), np.float32)  # one screen pixel: R | G | B stripes over a dark gap row
    subpixels[:2, 0, 0] = subpixels[:2, 1, 1] = subpixels[:2, 2, 2] = 4.5  # x4.5: same mean light as the photo
    screen = cells * np.tile(subpixels, (h, w, 1))
    screen = screen**0.8 * np.array([0.86, 0.97, 1.12], np.float32)  # gamma lift, blue cast
    yy, xx = np.mgrid[0 : screen.shape[0], 0 : screen.shape[1]].astype(np.float32)
    gx = (rng.choice([0.2, 0.8]) + rng.uniform(-0.08, 0.08)) * screen.shape[1]  # glare off to one side
    gy = rng.uniform(0.05, 0.3) * screen.shape[0]
    glare = np.exp(-(((xx - gx) / (0.18 * screen.shape[1])) ** 2 + ((yy - gy) / (0.1 * screen.shape[0])) ** 2))
    screen = screen + 0.35 * glare[..., None]  # emitted light: may exceed 1 before the camera averages
    bezel = max(20, screen.shape[1] // 12)
    device = np.full((screen.shape[0] + 2 * bezel, screen.shape[1] + 2 * bezel, 3), 0.06, np.float32)
    device[bezel:-bezel, bezel:-bezel] = screen
    device = cv2.GaussianBlur(device, (0, 0), 1.0)  # the lens: softens the grid, does not remove it
    device = _rotate(device, rng.uniform(-8, 8), 0.55)  # the sensor samples the 3-px grid at 1.65 px: moiré
    device[..., :3] = np.clip(device[..., :3], 0, 1)
    scene = _place(room, device, (640, 480), rng)
    return _film(scene, (640, 480), rng, blur=0.6)
