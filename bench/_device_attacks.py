"""Synthetic phones, tablets and prints held up to a camera, for :mod:`faceplane.liveness.device`.

Used by ``bench/liveness_device.py`` as *development* attacks (parameters were chosen with them). They
model our own idea of a held device, so catching them is a plumbing check, not evidence about real
attacks. Each rendering:

- screen content: a room photo with a face photo pasted into it, the face 1/1.2 .. 1/4 of the screen's
  short side (the face need not be centred);
- the device: a phone (9:16), tablet (3:4) or landscape screen (16:10) with a bezel (dark, white or
  metallic grey, 2-14% of the short side), rounded corners, on phones often a status bar band along the
  top short side, a soft specular glare band; or a print (A-series 1:1.41) with or without a white margin;
- held: a random perspective warp (rotation up to +/-30 degrees, tilt), placed on another room photo,
  sometimes partly out of the frame or with a hand (a skin-toned blob) over one edge;
- filmed: 640x480, blur, sensor noise, JPEG.

Deterministic given ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]


@dataclass(frozen=True)
class Rendered:
    """A rendered attack frame (640x480 RGB) and what was drawn."""

    image: U8
    kind: str  # "phone" | "tablet" | "landscape" | "print"
    ratio: float  # device short side over the face size
    sides_visible: int  # device sides inside the frame and not covered by the hand
    quad: NDArray[np.float32]  # (4, 2) the device's corners in frame pixels (may lie outside the frame)


def _rounded_mask(h: int, w: int, radius: int) -> NDArray[np.float32]:
    mask = np.zeros((h, w), np.uint8)
    r = max(0, min(radius, h // 2 - 1, w // 2 - 1))
    cv2.rectangle(mask, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (w - 1, h - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, lineType=cv2.LINE_AA)
    return mask.astype(np.float32) / 255


def _content(
    face_photo: U8,
    face_box: NDArray[np.float32],
    room: U8,
    size: tuple[int, int],
    face_px: float,
    rng: np.random.Generator,
) -> U8:
    """A (h, w) screen picture: ``room`` filling it, the face photo pasted with its face ``face_px`` wide."""
    w, h = size
    canvas = cv2.resize(room, (w, h), interpolation=cv2.INTER_AREA)
    x0, y0, x1, y1 = face_box.tolist()
    m = 0.35 * (x1 - x0)  # the head and a little around it (not the source photo's own borders)
    ih, iw = face_photo.shape[:2]
    cx0, cy0 = max(0, int(x0 - m)), max(0, int(y0 - 1.3 * m))
    crop = face_photo[cy0 : min(ih, int(y1 + 1.5 * m)), cx0 : min(iw, int(x1 + m))]
    k = face_px / (x1 - x0)
    photo = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
    fx0, fy0 = (x0 - cx0) * k, (y0 - cy0) * k
    fw = face_px
    # the face anywhere that keeps it inside the screen with a little room
    tx = rng.uniform(0.05 * w, max(0.05 * w, w - fw - 0.05 * w)) - fx0
    ty = rng.uniform(0.05 * h, max(0.05 * h, h - fw - 0.05 * h)) - fy0
    ph, pw = photo.shape[:2]
    xa, ya, xb, yb = max(0, int(tx)), max(0, int(ty)), min(w, int(tx) + pw), min(h, int(ty) + ph)
    if xb > xa and yb > ya:
        patch = photo[ya - int(ty) : yb - int(ty), xa - int(tx) : xb - int(tx)]
        # feather the pasted photo's border so it adds no straight edge of its own
        alpha = np.ones(patch.shape[:2], np.float32)
        f = max(2, int(0.3 * min(patch.shape[:2])))
        ramp = np.minimum(np.arange(patch.shape[1]) + 1, np.arange(patch.shape[1])[::-1] + 1) / f
        ramp2 = np.minimum(np.arange(patch.shape[0]) + 1, np.arange(patch.shape[0])[::-1] + 1) / f
        alpha = np.clip(np.minimum(ramp2[:, None], ramp[None, :]), 0, 1)[..., None]
        canvas[ya:yb, xa:xb] = (alpha * patch + (1 - alpha) * canvas[ya:yb, xa:xb]).astype(np.uint8)
    return canvas


def _device(screen: U8, kind: str, rng: np.random.Generator) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Screen -> (device RGB float 0..1, alpha) with bezel, rounded corners, status bar and glare."""
    h, w = screen.shape[:2]
    img = screen.astype(np.float32) / 255
    if kind != "print" and rng.random() < 0.6:  # status bar along the top short side
        bar = max(3, int(rng.uniform(0.03, 0.06) * h))
        tone = rng.choice([0.05, 0.95, rng.uniform(0.2, 0.8)])
        img[:bar] = tone
        ink = 1.0 - tone if abs(tone - 0.5) > 0.2 else 0.0
        for x in list(rng.uniform(0.03, 0.25, 2) * w) + list(rng.uniform(0.75, 0.95, 3) * w):
            cv2.rectangle(img, (int(x), bar // 4), (int(x + bar * 0.8), bar - bar // 4), (ink, ink, ink), -1)
    if kind != "print":  # glare: a soft bright band across the glass
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = rng.uniform(0, np.pi)
        d = (xx - rng.uniform(0, w)) * np.cos(a) + (yy - rng.uniform(0, h)) * np.sin(a)
        img = img + rng.uniform(0.0, 0.35) * np.exp(-((d / (rng.uniform(0.05, 0.2) * max(h, w))) ** 2))[..., None]
    short = min(h, w)
    if kind == "print":
        bezel = int(rng.choice([0, rng.uniform(0.03, 0.08)]) * short)
        colour = np.array([0.93, 0.92, 0.88]) * rng.uniform(0.85, 1.0)
        radius = 0
    else:
        bezel = int(rng.uniform(0.02, 0.14) * short)
        colour = rng.choice([0.05, 0.9, 0.6]) * np.ones(3) + rng.uniform(-0.04, 0.04)
        radius = int(rng.uniform(0.04, 0.12) * short) + bezel
    out = np.ones((h + 2 * bezel, w + 2 * bezel, 3), np.float32) * colour.astype(np.float32)
    if kind != "print" and colour[0] > 0.4:  # metal/plastic: a soft shading across the body
        shade = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(0.8, 1.0), out.shape[1], dtype=np.float32)
        out *= shade[None, :, None]
    out[bezel : bezel + h, bezel : bezel + w] = np.clip(img, 0, 1.2)
    alpha = _rounded_mask(out.shape[0], out.shape[1], radius)
    return out, alpha


def render_device(
    face_photo: U8, face_box: NDArray[np.float32], content_room: U8, room: U8, *, seed: int = 0
) -> Rendered:
    """A 640x480 RGB frame of ``face_photo`` (its face at ``face_box``) shown on a held device or print."""
    rng = np.random.default_rng(seed)
    kind = str(rng.choice(["phone", "tablet", "landscape", "print"]))
    aspect = {"phone": 16 / 9, "tablet": 4 / 3, "landscape": 10 / 16, "print": 1.41}[kind]
    face_px = float(rng.uniform(55, 150))  # face size in the filmed frame
    ratio = float(rng.uniform(1.2, 4.0))  # device short side over the face size
    short = ratio * face_px
    if short * max(aspect, 1 / aspect) > 900:  # keep the device within about twice the frame
        short = 900 / max(aspect, 1 / aspect)
        ratio = short / face_px
    scale = 2.0  # render at twice the size, then the camera shrinks it
    sw, sh = int(short * scale), int(short * aspect * scale)
    if aspect < 1:
        sw, sh = int(short * scale / aspect), int(short * scale)
    screen = _content(face_photo, face_box, content_room, (sw, sh), 0.9 * face_px * scale, rng)
    device, alpha = _device(screen, kind, rng)
    dh, dw = device.shape[:2]
    src = np.float32([[0, 0], [dw, 0], [dw, dh], [0, dh]])
    angle = np.deg2rad(rng.uniform(-30, 30))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    dst = (src - (dw / 2, dh / 2)) @ rot.T
    dst = dst * (1 + rng.uniform(-0.08, 0.08, (4, 1))).astype(np.float32)  # tilt: corners nearer/farther
    centre = np.array([1280 / 2, 960 / 2]) + rng.uniform(-0.25, 0.25, 2) * (1280, 960)
    dst = (dst + centre).astype(np.float32)
    warp = cv2.getPerspectiveTransform(src, dst)
    scene = cv2.resize(room, (1280, 960), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    scene = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.5, 2.5))  # room out of focus
    dev = cv2.warpPerspective(device, warp, (1280, 960), flags=cv2.INTER_LINEAR)
    a = cv2.warpPerspective(alpha, warp, (1280, 960), flags=cv2.INTER_LINEAR)[..., None]
    scene = dev * a + scene * (1 - a)
    inside = np.all((dst >= 0) & (dst < (1280, 960)), axis=1)
    sides_visible = int(sum(inside[i] or inside[(i + 1) % 4] for i in range(4)))
    if rng.random() < 0.35:  # a hand over one edge
        i = int(rng.integers(4))
        p = (dst[i] + dst[(i + 1) % 4]) / 2 + rng.uniform(-20, 20, 2)
        axes = (int(rng.uniform(0.25, 0.45) * short * scale), int(rng.uniform(0.12, 0.2) * short * scale))
        skin = np.array(rng.choice([[0.85, 0.65, 0.55], [0.55, 0.38, 0.3], [0.95, 0.8, 0.7]]), np.float32)
        mask = np.zeros((960, 1280), np.float32)
        edge = dst[(i + 1) % 4] - dst[i]
        cv2.ellipse(
            mask, (int(p[0]), int(p[1])), axes, float(np.degrees(np.arctan2(edge[1], edge[0]))), 0, 360, 1.0, -1
        )
        mask = cv2.GaussianBlur(mask, (0, 0), 3)[..., None]
        shading = 0.8 + 0.2 * rng.random()
        scene = scene * (1 - mask) + skin * shading * mask
        sides_visible -= 1
    out = cv2.resize(np.clip(scene, 0, 1), (640, 480), interpolation=cv2.INTER_AREA)
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.2))
    out = np.clip(out * 255 + rng.normal(0, 2.5, out.shape), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 92))]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    image = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return Rendered(image, kind, ratio, max(0, sides_visible), (dst / 2).astype(np.float32))
