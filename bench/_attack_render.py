"""Drawing a held object into a room and filming it: pose, layers, hands, arms, the webcam.

A held object (phone, tablet, paper, cut-out) lives on a plane measured in millimetres, origin at its
centre, x right, y down. A pinhole webcam (:class:`Camera`, horizontal field of view 55-75°) sees that
plane through ``K [r1 r2 t]``: a true perspective warp from a 3-D pose (yaw, pitch, roll, distance), not
an in-plane rotation. Each :class:`Layer` is an RGBA picture (premultiplied alpha, float 0..1, values
above 1 = emitted light brighter than a white wall) with its own pixel -> millimetre map; layers are
warped into the scene with ``INTER_LINEAR`` and no low-pass first, so a fine sub-pixel grid or halftone
aliases on the sensor (moiré), as on a real camera.

The scene is drawn at twice the output size (:data:`SCENE_SCALE`); :class:`Webcam` does what the webcam
does: lens blur, auto-exposure that adapts over the clip, a soft highlight shoulder, white balance,
area resampling to the output size, signal-dependent sensor noise and JPEG.

Hand motion over a clip (:func:`hand_motion`): a smooth random walk (an Ornstein-Uhlenbeck velocity,
integrated) plus per-frame tremor, in image position, distance and the three angles.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

SCENE_SCALE = 2


# -- geometry -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Camera:
    """A pinhole webcam at scene resolution: (width, height) px and focal length in px."""

    width: int
    height: int
    f_px: float

    @classmethod
    def with_fov(cls, width: int, height: int, hfov_deg: float) -> Camera:
        return cls(width, height, (width / 2) / np.tan(np.radians(hfov_deg) / 2))

    @property
    def k(self) -> F64:
        return np.array([[self.f_px, 0, self.width / 2], [0, self.f_px, self.height / 2], [0, 0, 1]])


def rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> F64:
    """(3, 3) rotation: roll about the view axis, then pitch (x), then yaw (y)."""
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def plane_homography(cam: Camera, rot: F64, anchor_mm: F64, centre_px: F64, depth_mm: float) -> F64:
    """(3, 3) map from object-plane mm to scene px, with ``anchor_mm`` seen at ``centre_px``, ``depth_mm`` away."""
    ray = np.array([(centre_px[0] - cam.width / 2) / cam.f_px, (centre_px[1] - cam.height / 2) / cam.f_px, 1.0])
    t = depth_mm * ray - rot @ np.array([anchor_mm[0], anchor_mm[1], 0.0])
    return cam.k @ np.column_stack([rot[:, 0], rot[:, 1], t])


def project(h: F64, pts: NDArray[np.floating]) -> F32:
    """(N, 2) points through a (3, 3) homography."""
    p = np.asarray(pts, np.float64).reshape(-1, 2)
    q = np.column_stack([p, np.ones(len(p))]) @ h.T
    return (q[:, :2] / q[:, 2:3]).astype(np.float32)


def affine(scale: float = 1.0, dx: float = 0.0, dy: float = 0.0) -> F64:
    """(3, 3) matrix of x' = scale * x + dx, y' = scale * y + dy."""
    return np.array([[scale, 0, dx], [0, scale, dy], [0, 0, 1.0]])


def box_corners(box: NDArray[np.floating]) -> F32:
    x0, y0, x1, y1 = (float(v) for v in box)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def bounds(pts: NDArray[np.floating]) -> F32:
    """(4,) xyxy box around (N, 2) points."""
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)


def hand_motion(rng: np.random.Generator, n: int, walk: float, tremor: float) -> F64:
    """(n, 6) offsets per frame: x px, y px (scene), depth factor - 1, yaw, pitch, roll (degrees).

    ``walk`` scales the smooth drift (one unit ~ 25 scene px and 3° over a 12-frame clip), ``tremor``
    the per-frame shake (one unit ~ 2 px, 0.4°).
    """
    scale = np.array([12.0, 12.0, 0.02, 1.5, 1.5, 1.0])
    v = np.zeros(6)
    out = np.zeros((n, 6))
    for i in range(1, n):
        v = 0.75 * v + rng.normal(0, 1, 6) * scale * walk * 0.5
        out[i] = out[i - 1] + v
    out += rng.normal(0, 1, (n, 6)) * np.array([2.0, 2.0, 0.004, 0.4, 0.4, 0.3]) * tremor
    return out - out.mean(axis=0) * np.array([1, 1, 1, 0, 0, 0])


# -- layers and compositing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """An RGBA picture on the object plane: premultiplied colour, alpha, and its px -> mm map."""

    rgba: F32  # (h, w, 4) float32: rgb * alpha, alpha
    to_mm: F64  # (3, 3) layer px -> object mm


def premultiply(rgb: F32, alpha: F32) -> F32:
    """(h, w, 4) float32: rgb * alpha, alpha."""
    out = np.empty((*alpha.shape, 4), np.float32)
    np.multiply(rgb, alpha[..., None], out=out[..., :3])
    out[..., 3] = alpha
    return out


def warp_over(scene: F32, layer: Layer, mm_to_scene: F64, blur: float = 0.0, smear: F32 | None = None) -> F32:
    """Composite ``layer`` over ``scene`` (H, W, 3) through ``mm_to_scene``; only its bounding box is warped.

    ``blur``: defocus sigma in scene px; ``smear``: (2,) motion during the exposure in scene px.
    """
    h, w = layer.rgba.shape[:2]
    to_scene = mm_to_scene @ layer.to_mm
    corners = project(to_scene, np.array([[0, 0], [w, 0], [w, h], [0, h]]))
    pad = int(3 * blur + (np.abs(smear).max() if smear is not None else 0) + 2)
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + pad, [scene.shape[1], scene.shape[0]])
    if x1 <= x0 or y1 <= y0:
        return scene
    warped = cv2.warpPerspective(
        layer.rgba, affine(1, -x0, -y0) @ to_scene, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR
    )
    if blur > 0.3:
        warped = cv2.GaussianBlur(warped, (0, 0), blur)
    if smear is not None and np.hypot(*smear) > 1.5:
        warped = cv2.filter2D(warped, -1, _line_kernel(smear))
    out = scene.copy()
    roi = out[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = warped[..., :3] + roi * (1 - warped[..., 3:])
    return out


def _line_kernel(smear: F32) -> F32:
    length = int(np.ceil(np.hypot(*smear))) | 1
    k = np.zeros((length, length), np.float32)
    c = length // 2
    d = smear / max(np.hypot(*smear), 1e-6) * c
    cv2.line(k, (round(c - d[0]), round(c - d[1])), (round(c + d[0]), round(c + d[1])), 1.0, 1)
    return k / k.sum()


def shaded_blob(mask: F32, colour: NDArray[np.floating], rng: np.random.Generator, depth_px: float) -> F32:
    """Colour a soft mask (h, w) as a rounded skin-like body: darker towards its rim, mottled, RGB float."""
    inside = (mask > 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    shade = 0.62 + 0.43 * np.clip(dist / max(depth_px, 1.0), 0, 1) ** 0.6
    mottle = cv2.GaussianBlur(rng.normal(0, 1, mask.shape).astype(np.float32), (0, 0), max(depth_px / 3, 1.0))
    shade = shade * (1 + 0.02 * mottle / max(float(mottle.std()), 1e-6))
    return (np.asarray(colour, np.float32)[None, None, :] * shade[..., None]).astype(np.float32)


@dataclass(frozen=True)
class Hand:
    """Shapes of a holding hand in object mm: capsules ((x0, y0), (x1, y1), width) and ellipses.

    ``back`` shapes are behind the object (palm, finger bodies), ``front`` ones over its edge
    (finger tips, thumb). ``wrist``: (2, 2) mm, where the forearm leaves the hand.
    """

    back: tuple[tuple[tuple[float, float], tuple[float, float], float], ...]
    front: tuple[tuple[tuple[float, float], tuple[float, float], float], ...]
    palms: tuple[tuple[tuple[float, float], tuple[float, float], float], ...]  # centre, axes, angle
    wrist: tuple[tuple[float, float], tuple[float, float]]


def grip_side(w: float, h: float, side: int, y_frac: float, rng: np.random.Generator, fingers: bool) -> Hand:
    """A hand gripping the ``side`` (-1 left, +1 right) edge of a w x h mm object: thumb over the edge.

    ``fingers``: finger tips wrap onto the *opposite* edge too (a phone held in one hand), and the palm
    is below the object; otherwise the palm is beside the edge, the fingers behind the object.
    """
    s, ex = side, side * w / 2
    y = y_frac * h / 2
    thumb_w = rng.uniform(17, 20)
    over = rng.uniform(3, 7)  # how far the thumb reaches over the edge
    if not fingers:  # the hand beside the edge, its thumb reaching in over the front, slanted
        thumb_base = (ex + s * 34, y + 14)
        front = [(thumb_base, (ex - s * (over - thumb_w / 2), y - rng.uniform(0, 6)), thumb_w)]
        palm_c = (ex + s * 34, y + 42)
        back = [((ex + s * 36, y + 30), thumb_base, 24.0)]
        palms = [(palm_c, (30.0, 44.0), float(s * rng.uniform(5, 20)))]
        return Hand(tuple(back), tuple(front), tuple(palms), ((palm_c[0] - 24, y + 82), (palm_c[0] + 24, y + 82)))
    thumb_base = (ex + s * 20, y + 32)
    front = [(thumb_base, (ex - s * (over - thumb_w / 2), y - rng.uniform(2, 10)), thumb_w)]
    palm_c = (s * w * 0.12, h / 2 + 6)
    back = [((palm_c[0], palm_c[1] - 10), thumb_base, 22.0)]
    for k in range(int(rng.integers(3, 5))):
        fw = rng.uniform(13.5, 15.5)
        fy = h / 2 - 14 - k * rng.uniform(16, 18)
        tip = (-ex + s * (rng.uniform(2, 6) - fw / 2), fy)
        knuckle = (-ex - s * rng.uniform(9, 13), fy + 5)
        front.append((knuckle, tip, fw))
        back.append(((palm_c[0] - s * w * 0.25, palm_c[1] - 8), knuckle, fw + 1.5))
    palms = [(palm_c, (w * 0.48, 34.0), float(rng.uniform(-10, 10)))]
    wy = palm_c[1] + 30
    return Hand(tuple(back), tuple(front), tuple(palms), ((palm_c[0] - 25, wy), (palm_c[0] + 25, wy)))


def grip_bottom(w: float, h: float, x_frac: float, rng: np.random.Generator) -> Hand:
    """A hand holding the bottom edge of a w x h mm object: thumb over the edge, fingers peeking below."""
    x, ey = x_frac * w / 2, h / 2
    thumb_w = rng.uniform(17, 20)
    tip = (x + rng.uniform(-4, 6), ey - rng.uniform(3, 8) + thumb_w / 2)
    front = [((x + 16, ey + 26), tip, thumb_w)]
    back = [((x - 22 + 14 * k, ey + 28), (x - 26 + 15 * k, ey + rng.uniform(3, 8)), 14.5) for k in range(3)]
    palms = [((x, ey + 40), (38.0, 26.0), float(rng.uniform(-10, 10)))]
    return Hand(tuple(back), tuple(front), tuple(palms), ((x - 25, ey + 62), (x + 25, ey + 62)))


def hand_layers(hands: list[Hand], skin: NDArray[np.floating], rng: np.random.Generator) -> tuple[Layer, Layer]:
    """(back, front) layers of ``hands`` at 3 px/mm, nails on the front finger tips."""
    ppm = 3.0
    pts = [p for hnd in hands for shape in (*hnd.back, *hnd.front) for p in shape[:2]]
    pts += [
        (c[0] + sx * a[0], c[1] + sy * a[0])
        for hnd in hands
        for c, a, _ in hnd.palms
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]
    lo, hi = np.min(pts, axis=0) - 20, np.max(pts, axis=0) + 20
    size = np.ceil((hi - lo) * ppm).astype(int)
    to_px = affine(ppm, -lo[0] * ppm, -lo[1] * ppm)

    def px(p: tuple[float, float]) -> tuple[int, int]:
        q = to_px @ np.array([p[0], p[1], 1.0])
        return round(q[0] * 8), round(q[1] * 8)  # 3 fractional bits

    layers = []
    for part in ("back", "front"):
        mask = np.zeros((size[1], size[0]), np.uint8)
        for hnd in hands:
            for a, b, width in getattr(hnd, part):
                cv2.line(mask, px(a), px(b), 255, max(1, int(width * ppm)), cv2.LINE_AA, shift=3)
            if part == "back":
                for c, ax, ang in hnd.palms:
                    axes = (int(ax[0] * ppm * 8), int(ax[1] * ppm * 8))
                    cv2.ellipse(mask, px(c), axes, ang, 0, 360, 255, -1, cv2.LINE_AA, shift=3)
        alpha = mask.astype(np.float32) / 255
        rgb = shaded_blob(alpha, skin, rng, depth_px=6 * ppm)
        rgba = premultiply(rgb, alpha)
        if part == "front":
            _nails(rgb, [(a, b) for hnd in hands for a, b, _ in hnd.front], to_px, ppm)
            rgba = premultiply(rgb, alpha)
            shadow = cv2.GaussianBlur(alpha, (0, 0), 2.5 * ppm)
            shadow = np.roll(shadow, (int(2 * ppm), int(1 * ppm)), axis=(0, 1)) * 0.45  # contact shadow
            rgba[..., 3] = alpha + shadow * (1 - alpha)
        layers.append(Layer(rgba, np.linalg.inv(to_px)))
    return layers[0], layers[1]


def _nails(rgb: F32, fingers: list, to_px: F64, ppm: float) -> None:
    for a, b in fingers:
        a_px, b_px = project(to_px, np.array([a, b]))
        d = (b_px - a_px) / max(float(np.linalg.norm(b_px - a_px)), 1e-6)
        c = b_px + d * 1.0 * ppm
        ang = float(np.degrees(np.arctan2(d[1], d[0])))
        nail = np.zeros(rgb.shape[:2], np.float32)
        cv2.ellipse(nail, (int(c[0]), int(c[1])), (int(4.5 * ppm), int(3.2 * ppm)), ang, 0, 360, 1.0, -1, cv2.LINE_AA)
        nail = cv2.GaussianBlur(nail, (0, 0), 0.6 * ppm)
        rgb += nail[..., None] * (np.array([0.9, 0.78, 0.76], np.float32) - rgb) * 0.3


def limb(
    scene: F32, start: F32, away: F32, colour: NDArray[np.floating], sleeve: NDArray[np.floating], skin_len: float
) -> F32:
    """Draw a forearm from the wrist segment ``start`` (2, 2) out of the frame, widening towards the camera.

    ``away``: (2,) direction from the held object to the wrist; the arm bends it towards the frame bottom.
    ``skin_len``: bare skin before the sleeve, in wrist widths. Returns the new scene.
    """
    h, w = scene.shape[:2]
    mid = start.mean(axis=0)
    half = max(float(np.linalg.norm(start[1] - start[0])) / 2, 2.0)
    a = away / max(float(np.linalg.norm(away)), 1e-6)
    d = a + np.array([0.0, 1.2])
    d = d / np.linalg.norm(d)
    reach = (h - mid[1]) / d[1] + 4 * half if d[1] > 0.05 else h + w
    n = np.array([-d[1], d[0]])
    cut = min(skin_len * 2 * half, reach)

    def quad(t0: float, t1: float, grow: float) -> NDArray[np.int32]:
        w0, w1 = (half * (1 + 0.8 * t / reach) * grow for t in (t0, t1))
        p0, p1 = mid + d * t0, mid + d * t1
        return np.round(np.array([p0 + n * w0, p1 + n * w1, p1 - n * w1, p0 - n * w0]) * 8).astype(np.int32)

    parts = [
        (t0, t1, grow, col)
        for t0, t1, grow, col in ((-half * 0.3, cut + 2, 1.0, colour), (cut, reach, 1.18, sleeve))
        if t1 > t0
    ]
    if not parts or not np.isfinite(start).all():
        return scene
    polys = [quad(*p[:3]) for p in parts]
    pts = np.concatenate(polys) / 8
    x0, y0 = np.maximum(np.floor(pts.min(axis=0)).astype(int) - 3, 0)
    x1, y1 = np.minimum(np.ceil(pts.max(axis=0)).astype(int) + 3, [w, h])
    if x1 <= x0 or y1 <= y0:
        return scene
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    along = (xx - mid[0]) * d[0] + (yy - mid[1]) * d[1]
    across = ((xx - mid[0]) * n[0] + (yy - mid[1]) * n[1]) / (half * (1 + 0.8 * np.clip(along, 0, None) / reach))
    shade = (0.68 + 0.32 * np.sqrt(np.clip(1 - (across / 1.15) ** 2, 0, 1))) * (1 - 0.15 * np.clip(along / reach, 0, 1))
    out = scene.copy()
    roi = out[y0:y1, x0:x1]
    for (_, _, _, col), poly in zip(parts, polys, strict=True):
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [poly - np.array([x0, y0]) * 8], 255, cv2.LINE_AA, shift=3)
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 1.2)[..., None]
        rgb = np.asarray(col, np.float32) * shade[..., None]
        roi[:] = rgb * alpha + roi * (1 - alpha)
    return out


# -- backgrounds -------------------------------------------------------------------------------------------


def cover(
    image: NDArray[np.generic], size: tuple[int, int], centre: tuple[float, float] | None = None
) -> tuple[F32, F64]:
    """Crop ``image`` to the aspect of ``size`` (w, h) around ``centre`` (default: middle), resize: float 0..1.

    Returns the picture and the (3, 3) image px -> picture px map.
    """
    ih, iw = image.shape[:2]
    s = max(size[0] / iw, size[1] / ih)
    cw, ch = size[0] / s, size[1] / s
    cx, cy = centre if centre is not None else (iw / 2, ih / 2)
    x0 = float(np.clip(cx - cw / 2, 0, iw - cw))
    y0 = float(np.clip(cy - ch / 2, 0, ih - ch))
    m = affine(s, -x0 * s, -y0 * s)
    img = image.astype(np.float32) / 255 if image.dtype == np.uint8 else image.astype(np.float32)
    out = cv2.warpAffine(
        img, m[:2], size, flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    return out, m


def wall(size: tuple[int, int], colour: NDArray[np.floating], rng: np.random.Generator) -> F32:
    """A plain painted wall lit from one side, with a faint corner line and skirting."""
    w, h = size
    xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    yy = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    lx, ly = rng.uniform(-1, 1, 2)
    light = 0.85 + 0.15 * (lx * xx + 0.5 * ly * yy) - 0.08 * (xx**2 + yy**2)
    img = np.asarray(colour, np.float32)[None, None, :] * light[..., None]
    corner = int(rng.uniform(0.1, 0.9) * w)
    img[:, corner:] *= rng.uniform(0.85, 0.95)  # the other wall of the corner, less lit
    texture = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 2.0)
    return (img * (1 + 0.01 * texture[..., None])).astype(np.float32)


# -- the webcam -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capture:
    """One webcam and how it films one presentation."""

    lens_sigma: float  # scene px
    noise: float  # grey levels (0..255) of read noise; shot noise scales with it
    jpeg: int
    ae_start: float  # auto-exposure gain at frame 0 relative to where it settles
    wb: tuple[float, float, float]
    target: float  # mean luma the auto-exposure aims at


def sample_capture(rng: np.random.Generator, mild: bool = False) -> Capture:
    """A webcam; ``mild``: for frames that already are a real camera's (less blur, noise and JPEG added)."""
    if mild:
        return Capture(0.3, 0.8, int(rng.integers(85, 96)), 1.0, (1.0, 1.0, 1.0), 0.0)
    wb = tuple(float(v) for v in 1 + rng.normal(0, 0.03, 3))
    return Capture(
        lens_sigma=float(rng.uniform(0.5, 1.3)),
        noise=float(rng.uniform(0.6, 2.5)),
        jpeg=int(rng.integers(55, 93)),
        ae_start=float(rng.uniform(0.8, 1.25)),
        wb=(wb[0], wb[1], wb[2]),
        target=float(rng.uniform(0.38, 0.5)),
    )


class Webcam:
    """Films scene frames one by one (keeping the auto-exposure state between them)."""

    def __init__(self, cap: Capture, rng: np.random.Generator, size: tuple[int, int]) -> None:
        self.cap, self.rng, self.size = cap, rng, size
        self.gain: float | None = None

    def shoot(self, scene: F32) -> U8:
        """One scene frame (float, may exceed 1) -> what the webcam delivers: (h, w, 3) uint8 RGB."""
        cap = self.cap
        img = cv2.GaussianBlur(scene, (0, 0), cap.lens_sigma) if cap.lens_sigma > 0.3 else scene
        if cap.target > 0:  # auto-exposure: settles on the target mean luma, lags over the clip
            want = float(np.clip(cap.target / max(float(np.minimum(img, 1.5).mean()), 1e-3), 0.55, 1.8))
            self.gain = want * cap.ae_start if self.gain is None else self.gain + 0.45 * (want - self.gain)
            img = img * self.gain
        img = np.where(img < 0.8, img, 0.8 + 0.2 * np.tanh((img - 0.8) / 0.2)) * np.asarray(cap.wb, np.float32)
        img = cv2.resize(np.clip(img, 0, 1), self.size, interpolation=cv2.INTER_AREA) * 255
        sigma = np.sqrt(cap.noise**2 + cap.noise * 0.25 * img)
        grain = 0.6 * self.rng.normal(0, 1, img.shape[:2])[..., None] + 0.55 * self.rng.normal(0, 1, img.shape)
        img = np.clip(img + grain * sigma, 0, 255).astype(np.uint8)  # luma + chroma noise
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, cap.jpeg])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
