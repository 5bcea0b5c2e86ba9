"""What an attacker holds up: a phone or tablet showing a face, a printed photo, a cut-out face.

Screens (:func:`screen_content`, :class:`DeviceRenderer`): the face picture is cropped to the screen's
aspect (zoomed so the face fills a chosen share of the width, letterboxed in black when the picture is
smaller, as a photo viewer does), app chrome is drawn on it (a status bar with the time, signal bars,
Wi-Fi arcs and a battery; a photo viewer's toolbar or a video call's buttons), the display's colour
profile is applied (gamma, white point, brightness, black level, saturation, contrast lost at the
viewing angle), then every logical pixel becomes 3x3 canvas pixels of R, G, B sub-pixels with dark gaps
(RGB stripe LCD) or a PenTile-like diamond (OLED). The body is drawn around it: bezel colour and width,
rounded corners, a notch, punch-hole or camera dot, home button or keypad, a metal rim; the glass adds
a glare band and a faint reflection of the room.

Prints (:func:`paper_layer`): the picture cropped around the face, ink gamut (no deep black, paper tint,
less saturation, dot gain), a halftone (rotated clustered-dot CMY screens, or inkjet dither, or
continuous tone for photo paper), paper grain, white margins and the paper's edge; optionally bent
(:func:`bend`: a cylinder about the vertical or horizontal axis, with shading) and glossy. A cut-out
(:func:`cutout_layer`) is the same print cut along a jagged oval around the face, eye holes optional.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from _attack_looks import Device, Display, Paper
from _attack_render import F32, F64, Layer, affine, premultiply, project
from _attack_sources import Face

U8 = NDArray[np.uint8]
PAPER_PPM = 6.0  # print canvas pixels per mm


# -- pictures of faces ----------------------------------------------------------------------------------


def face_crop(face: Face, out_wh: tuple[int, int], zoom: float, offset: F64, letterbox: bool) -> tuple[F32, F64]:
    """The face picture cropped to ``out_wh``'s aspect, the face ``zoom`` of the width; float RGB 0..1.

    ``offset``: (2,) shift of the crop centre in crop widths/heights. Without ``letterbox`` the crop is
    shrunk to fit inside the picture (the face then fills more). Returns (picture, image px -> picture px).
    """
    img = face.image
    ih, iw = img.shape[:2]
    fw = float(face.box[2] - face.box[0])
    ow, oh = out_wh
    cw = fw / zoom
    if not letterbox:
        cw = min(cw, iw, ih * ow / oh)
    ch = cw * oh / ow
    cx = (face.box[0] + face.box[2]) / 2 + offset[0] * cw
    cy = (face.box[1] + face.box[3]) / 2 + offset[1] * ch
    x0 = float(np.clip(cx - cw / 2, 0, iw - cw)) if cw <= iw else (iw - cw) / 2
    y0 = float(np.clip(cy - ch / 2, 0, ih - ch)) if ch <= ih else (ih - ch) / 2
    s = ow / cw
    src = img.astype(np.float32) / 255
    if s < 0.7:  # low-pass before shrinking: the phone's scaler does
        src = cv2.GaussianBlur(src, (0, 0), 0.45 / s)
    m = affine(s, -x0 * s, -y0 * s)
    out = cv2.warpAffine(src, m[:2], (ow, oh), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return out, m


# -- screens ----------------------------------------------------------------------------------------------


def _icon_colour(img: F32, y1: int) -> tuple[float, float, float]:
    return (1.0, 1.0, 1.0) if float(img[:y1].mean()) < 0.55 else (0.05, 0.05, 0.05)


def status_bar(img: F32, rng: np.random.Generator, notch_frac: float) -> None:
    """Draw a phone status bar on ``img`` (h, w, 3) float in place: time, signal, Wi-Fi, battery."""
    _h, w = img.shape[:2]
    bar = max(8, round(w * 0.065))
    col = _icon_colour(img, bar)
    clock = f"{int(rng.integers(7, 23))}:{int(rng.integers(0, 60)):02d}"
    scale = bar / 26
    cv2.putText(
        img,
        clock,
        (int(w * 0.07), int(bar * 0.78)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        col,
        max(1, int(bar / 9)),
        cv2.LINE_AA,
    )
    x = w - int(w * 0.07)
    bw, bh = int(bar * 1.05), int(bar * 0.48)  # battery
    y = int(bar * 0.28)
    cv2.rectangle(img, (x - bw, y), (x, y + bh), col, 1, cv2.LINE_AA)
    cv2.rectangle(img, (x + 1, y + bh // 3), (x + 2, y + 2 * bh // 3), col, -1)
    level = rng.uniform(0.2, 1.0)
    cv2.rectangle(img, (x - bw + 2, y + 2), (x - bw + 2 + int((bw - 4) * level), y + bh - 2), col, -1)
    x -= bw + int(bar * 0.5)  # Wi-Fi: three arcs and a dot
    cy = y + bh + 1
    for r in (bar * 0.2, bar * 0.42, bar * 0.64):
        cv2.ellipse(img, (x, cy), (int(r), int(r)), 0, 225, 315, col, max(1, int(bar / 12)), cv2.LINE_AA)
    x -= int(bar * 0.9)
    for k in range(4):  # signal bars
        top = cy - int(bar * 0.15 * (k + 1))
        cv2.rectangle(
            img, (x + k * int(bar * 0.2), top), (x + k * int(bar * 0.2) + max(1, int(bar * 0.12)), cy), col, -1
        )
    del notch_frac  # the layout keeps the middle free anyway (time left, icons right)


def app_chrome(img: F32, ui: str, rng: np.random.Generator) -> None:
    """Draw a photo viewer's bars and icons, or a video call's buttons, on ``img`` in place."""
    h, w = img.shape[:2]
    if ui == "viewer":
        col = _icon_colour(img[int(h * 0.9) :], int(h * 0.1))
        y = int(h * 0.95)
        for k in range(4):  # share, heart, edit, bin: small outlines
            x = int(w * (0.14 + 0.24 * k))
            r = max(2, int(w * 0.03))
            if k % 2:
                cv2.circle(img, (x, y), r, col, 1, cv2.LINE_AA)
            else:
                cv2.rectangle(img, (x - r, y - r), (x + r, y + r), col, 1, cv2.LINE_AA)
        cv2.polylines(
            img,
            [
                np.array(
                    [[int(w * 0.09), int(h * 0.07)], [int(w * 0.05), int(h * 0.085)], [int(w * 0.09), int(h * 0.1)]]
                )
            ],
            False,
            col,
            1,
            cv2.LINE_AA,
        )
    elif ui == "call":
        r = max(4, int(w * 0.06))
        y = int(h * 0.91)
        cv2.circle(img, (w // 2, y), r, (0.9, 0.15, 0.12), -1, cv2.LINE_AA)
        for x in (int(w * 0.22), int(w * 0.78)):
            cv2.circle(img, (x, y), r, (0.35, 0.35, 0.38), -1, cv2.LINE_AA)
        pw, ph = int(w * 0.18), int(w * 0.18 * 4 / 3)  # self view: a patch of plain wall
        x0, y0 = w - pw - int(w * 0.04), int(h * 0.06)
        img[y0 : y0 + ph, x0 : x0 + pw] = np.array(rng.uniform(0.45, 0.8, 3), np.float32)
    if ui in ("viewer", "call", "plain") and rng.uniform() < 0.7:  # gesture bar
        bw = int(w * 0.35)
        cv2.line(
            img,
            (w // 2 - bw // 2, int(h * 0.985)),
            (w // 2 + bw // 2, int(h * 0.985)),
            _icon_colour(img[int(h * 0.95) :], int(h * 0.05)),
            max(1, int(w * 0.012)),
            cv2.LINE_AA,
        )


def emit(content: F32, display: Display, angle_rad: float) -> F32:
    """Light the screen sends for ``content`` (float 0..1) under ``display``, seen ``angle_rad`` off-axis."""
    grey = content.mean(axis=2, keepdims=True)
    c = np.clip(grey + display.saturation * (content - grey), 0, 1) ** display.gamma
    fade = min(0.6, display.angle_fade * abs(angle_rad))
    black = display.black + fade * 0.25
    c = black + (1 - black) * c * (1 - fade * 0.5)
    shift = np.array([1 - fade * 0.1, 1.0, 1 + fade * 0.15], np.float32)  # off-axis colour shift
    return (c * np.asarray(display.white, np.float32) * shift * display.brightness).astype(np.float32)


def _subpixel_tile(kind: str, grid: float) -> F32:
    """(3, 3, 3) or (6, 6, 3) pattern of one or four screen pixels; mean 1 per channel, gaps at 1 - grid."""
    if kind == "stripe":
        t = np.zeros((3, 3, 3), np.float32)
        for c in range(3):
            t[:2, c, c] = 1.0  # R | G | B columns over a dark row
    else:  # PenTile-like: green on every pixel, red and blue alternate on a diamond
        t = np.zeros((6, 6, 3), np.float32)
        for i in range(2):
            for j in range(2):
                y, x = 3 * i, 3 * j
                t[y + 1, x + 1, 1] = t[y + 2, x + 2, 1] = 1.0
                t[y : y + 2, x : x + 2, 0 if (i + j) % 2 == 0 else 2] = 1.0
    t = t / t.mean(axis=(0, 1), keepdims=True)
    return (1 - grid) + grid * t


def _rounded(
    mask_shape: tuple[int, int],
    rect: tuple[float, float, float, float],
    r: float,
    value: float = 1.0,
    out: F32 | None = None,
) -> F32:
    """Fill a rounded rectangle (x0, y0, x1, y1; radius r px) into a float mask, anti-aliased."""
    m = np.zeros(mask_shape, np.uint8)
    x0, y0, x1, y1 = (round(v * 8) for v in rect)
    rr = round(r * 8)
    cv2.rectangle(m, (x0 + rr, y0), (x1 - rr, y1), 255, -1, cv2.LINE_AA, shift=3)
    cv2.rectangle(m, (x0, y0 + rr), (x1, y1 - rr), 255, -1, cv2.LINE_AA, shift=3)
    for cx, cy in ((x0 + rr, y0 + rr), (x1 - rr, y0 + rr), (x0 + rr, y1 - rr), (x1 - rr, y1 - rr)):
        cv2.circle(m, (cx, cy), rr, 255, -1, cv2.LINE_AA, shift=3)
    f = m.astype(np.float32) / 255 * value
    return f if out is None else np.maximum(out, f)


class DeviceRenderer:
    """A device drawn once (body, bezel, rim, cut-outs, glass); :meth:`layer` lights its screen.

    ``screen_wh``: logical screen pixels (w, h), each drawn as 3x3 canvas pixels of sub-pixels.
    ``glare``: (position -1..1 across the glass, angle in degrees, strength); ``reflection``: a room
    picture faintly mirrored on the glass; ``lens_px``: the camera's blur *before* the sensor samples,
    in canvas px (it decides how much of the sub-pixel grid survives to alias into moiré).
    """

    def __init__(
        self,
        dev: Device,
        screen_wh: tuple[int, int],
        glare: tuple[float, float, float],
        reflection: F32,
        lens_px: float,
        rng: np.random.Generator,
    ) -> None:
        sw, sh = screen_wh
        ppm = 3 * sw / dev.screen_mm[0]
        bw, bh = dev.size_mm
        cw, ch = int(np.ceil(bw * ppm)) + 4, int(np.ceil(bh * ppm)) + 4
        ox, oy = cw / 2, ch / 2  # canvas centre = body centre
        self.alpha = _rounded(
            (ch, cw), (ox - bw / 2 * ppm, oy - bh / 2 * ppm, ox + bw / 2 * ppm, oy + bh / 2 * ppm), dev.corner_mm * ppm
        )
        rim_w = 0.9 * ppm
        inner = _rounded(
            (ch, cw),
            (
                ox - bw / 2 * ppm + rim_w,
                oy - bh / 2 * ppm + rim_w,
                ox + bw / 2 * ppm - rim_w,
                oy + bh / 2 * ppm - rim_w,
            ),
            max(dev.corner_mm * ppm - rim_w, 1),
        )
        yy = np.linspace(-1, 1, ch, dtype=np.float32)[:, None, None]
        face_col = np.asarray(dev.body, np.float32) * (1.0 + 0.06 * yy)  # light from above
        rim_col = np.asarray(dev.rim, np.float32) * (1.0 + 0.2 * yy)
        rgb = np.broadcast_to(rim_col, (ch, cw, 3)) * (1 - inner[..., None]) + face_col * inner[..., None]
        self.body = rgb.astype(np.float32)
        sx0, sy0 = ox - 3 * sw / 2, oy + dev.screen_dy_mm * ppm - 3 * sh / 2
        _bezel_features(self.body, dev, ppm, (ox, oy), (sx0, sy0, sx0 + 3 * sw, sy0 + 3 * sh))
        self.xs, self.ys = round(sx0), round(sy0)
        tile = _subpixel_tile(dev.subpixel, dev.grid)
        reps = (3 * sh // tile.shape[0] + 1, 3 * sw // tile.shape[1] + 1, 1)
        self.grid = np.tile(tile, reps)[: 3 * sh, : 3 * sw]
        self.lit = _rounded((3 * sh, 3 * sw), (0, 0, 3 * sw, 3 * sh), dev.screen_corner_mm * ppm)[..., None]
        _camera_hole(self.lit[..., 0], dev, ppm)
        self.glass = _glass((3 * sh, 3 * sw), glare, reflection, rng)
        self.lens_px = lens_px
        self.screen_wh = (sw, sh)
        self.to_mm = affine(1 / ppm, -ox / ppm, -oy / ppm)
        self.screen_to_mm = self.to_mm @ affine(3.0, self.xs, self.ys)

    def layer(self, screen_rgb: F32) -> Layer:
        """The device with ``screen_rgb`` ((h, w, 3) logical px, emitted light) on its screen."""
        pixels = np.repeat(np.repeat(screen_rgb, 3, axis=0), 3, axis=1) * self.grid
        rgb = self.body.copy()
        h, w = pixels.shape[:2]
        glass_black = np.array([0.02, 0.02, 0.025], np.float32)
        rgb[self.ys : self.ys + h, self.xs : self.xs + w] = (
            pixels * self.lit + glass_black * (1 - self.lit) + self.glass
        )
        rgba = premultiply(rgb, self.alpha)
        if self.lens_px > 0.3:
            rgba = cv2.GaussianBlur(rgba, (0, 0), self.lens_px)
        return Layer(rgba, self.to_mm)


def _bezel_features(
    rgb: F32, dev: Device, ppm: float, centre: tuple[float, float], screen: tuple[float, float, float, float]
) -> None:
    ox, oy = centre
    dark = (0.03, 0.03, 0.035)
    top_gap = screen[1] - (oy - dev.size_mm[1] / 2 * ppm)
    if dev.cutout == "dot":
        cy = int(screen[1] - top_gap / 2) if top_gap > 4 * ppm else int(screen[1] - 2 * ppm)
        cv2.circle(rgb, (int(ox), cy), max(2, int(1.3 * ppm)), dark, -1, cv2.LINE_AA)
        if dev.kind == "phone":  # earpiece slit
            cv2.line(
                rgb,
                (int(ox - 6 * ppm), cy + int(3 * ppm)),
                (int(ox + 6 * ppm), cy + int(3 * ppm)),
                (0.2, 0.2, 0.2),
                max(1, int(1.2 * ppm)),
                cv2.LINE_AA,
            )
    bottom = oy + dev.size_mm[1] / 2 * ppm
    if dev.home_button:
        cy = int((screen[3] + bottom) / 2)
        r = int(min(5.5 * ppm, (bottom - screen[3]) * 0.35))
        shade = tuple(float(v) * 0.85 for v in dev.body)
        cv2.circle(rgb, (int(ox), cy), r, shade, -1, cv2.LINE_AA)
        cv2.circle(rgb, (int(ox), cy), r, (0.45, 0.45, 0.47), max(1, int(0.5 * ppm)), cv2.LINE_AA)
    if dev.keypad:
        _keypad(rgb, ppm, (ox, screen[3] + 5 * ppm, bottom - 4 * ppm), dev.size_mm[0] * ppm)


def _keypad(rgb: F32, ppm: float, area: tuple[float, float, float], body_w: float) -> None:
    ox, y0, y1 = area
    cv2.ellipse(
        rgb, (int(ox), int(y0 + 5 * ppm)), (int(9 * ppm), int(5 * ppm)), 0, 0, 360, (0.62, 0.62, 0.64), -1, cv2.LINE_AA
    )
    cv2.circle(rgb, (int(ox), int(y0 + 5 * ppm)), int(2.5 * ppm), (0.75, 0.75, 0.76), -1, cv2.LINE_AA)
    rows, cols = 4, 5
    top = y0 + 12 * ppm
    kw, kh = body_w * 0.8 / cols, (y1 - top) / rows
    for r in range(rows):
        for c in range(cols):
            x = ox - body_w * 0.4 + c * kw
            y = top + r * kh
            cv2.rectangle(
                rgb,
                (int(x + 0.6 * ppm), int(y + 0.6 * ppm)),
                (int(x + kw - 0.6 * ppm), int(y + kh - 0.6 * ppm)),
                (0.55, 0.56, 0.58),
                -1,
                cv2.LINE_AA,
            )
            cv2.circle(rgb, (int(x + kw / 2), int(y + kh / 2)), max(1, int(1.0 * ppm)), (0.15, 0.15, 0.17), -1)


def _camera_hole(lit: F32, dev: Device, ppm: float) -> None:
    """Black out the notch or punch-hole of the screen's lit area, in place."""
    _h, w = lit.shape
    if dev.cutout == "notch":
        nw, nh = 0.5 * w, 5.5 * ppm
        _rounded_hole(lit, (w / 2 - nw / 2, -nh, w / 2 + nw / 2, nh), 3.5 * ppm)
    elif dev.cutout == "punch":
        cv2.circle(lit, (int(w / 2), int(4.5 * ppm)), int(1.8 * ppm), 0.0, -1, cv2.LINE_AA)


def _rounded_hole(lit: F32, rect: tuple[float, float, float, float], r: float) -> None:
    hole = _rounded(lit.shape, rect, r)
    lit *= 1 - hole


def _glass(shape: tuple[int, int], glare: tuple[float, float, float], reflection: F32, rng: np.random.Generator) -> F32:
    """(h, w, 3) light the glass adds: a glare band and a faint mirrored room (smooth: drawn at 1/4 size)."""
    h, w = shape
    sh, sw = max(h // 4, 2), max(w // 4, 2)
    pos, angle, strength = glare
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    a = np.radians(angle)
    u = ((xx - sw / 2) * np.cos(a) + (yy - sh / 2) * np.sin(a)) / (0.5 * max(sw, sh))
    width = rng.uniform(0.08, 0.25)
    band = np.exp(-(((u - pos) / width) ** 2)) * strength
    refl = cv2.resize(reflection, (sw, sh), interpolation=cv2.INTER_AREA)[:, ::-1]
    small = band[..., None] * np.array([1.0, 1.0, 0.97], np.float32) + 0.07 * refl
    return cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def screen_content(
    face: Face, screen_wh: tuple[int, int], zoom: float, ui: str, rng: np.random.Generator, statusbar: bool
) -> tuple[F32, F64]:
    """The picture on the screen (logical px, float RGB 0..1) and the image px -> screen px map."""
    offset = rng.uniform([-0.12, -0.1], [0.12, 0.1])
    content, m = face_crop(face, screen_wh, zoom, offset, letterbox=ui == "viewer")
    app_chrome(content, ui, rng)
    if statusbar:
        status_bar(content, rng, 0.5)
    return content, m


# -- prints ----------------------------------------------------------------------------------------------


def _screen_threshold(shape: tuple[int, int], pitch: float, angle_deg: float) -> F32:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    a = np.radians(angle_deg)
    u = (xx * np.cos(a) + yy * np.sin(a)) * 2 * np.pi / pitch
    v = (-xx * np.sin(a) + yy * np.cos(a)) * 2 * np.pi / pitch
    return (0.5 + 0.25 * (np.cos(u) + np.cos(v))).astype(np.float32)


def ink(picture: F32, paper: Paper, rng: np.random.Generator) -> F32:
    """``picture`` (float RGB 0..1 at print-canvas resolution) as ``paper``'s process prints it."""
    grey = picture.mean(axis=2, keepdims=True)
    pic = grey + paper.saturation * (picture - grey) if not paper.mono else np.repeat(grey, 3, axis=2)
    pic = np.clip(pic, 0, 1) ** 1.15  # dot gain darkens mid-tones
    h, w = pic.shape[:2]
    if paper.halftone == "clustered":
        cover = 1 - pic  # ink coverage per channel: C from R, M from G, Y from B
        dots = np.empty_like(cover)
        for c, ang in enumerate((15.0, 75.0, 0.0)):
            t = _screen_threshold((h, w), paper.pitch_px, ang + rng.uniform(-2, 2))
            dots[..., c] = np.clip((cover[..., c] - t) * 3 + 0.5, 0, 1)
        pic = 1 - (0.75 * dots + 0.25 * cover)  # ink spreads: part dot, part continuous
    elif paper.halftone == "dither":
        noise = cv2.GaussianBlur(rng.uniform(0, 1, (h, w, 3)).astype(np.float32), (0, 0), 0.7)
        noise = (noise - noise.mean()) / max(float(noise.std()), 1e-6) * 0.29 + 0.5
        pic = 0.3 * (pic > noise) + 0.7 * pic  # fine droplets: mostly averaged out at camera scale
        pic = cv2.GaussianBlur(pic.astype(np.float32), (0, 0), 0.8)
    out = paper.ink_black + (1 - paper.ink_black) * pic
    return (out * np.asarray(paper.tint, np.float32)).astype(np.float32)


def _grain(shape: tuple[int, int], rng: np.random.Generator) -> F32:
    g = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 1.2)
    return (1 + 0.015 * g / max(float(g.std()), 1e-6))[..., None].astype(np.float32)


def paper_layer(
    face: Face,
    paper: Paper,
    sheet_mm: tuple[float, float],
    photo_mm: tuple[float, float],
    photo_dy_mm: float,
    zoom: float,
    rng: np.random.Generator,
) -> tuple[F32, F64, F64]:
    """A sheet ``sheet_mm`` with the face picture printed ``photo_mm`` big, ``photo_dy_mm`` below centre.

    Returns (rgb (h, w, 3) float at :data:`PAPER_PPM`, image px -> sheet mm map, sheet px -> mm map).
    """
    ppm = PAPER_PPM
    w, h = round(sheet_mm[0] * ppm), round(sheet_mm[1] * ppm)
    pw, ph = round(photo_mm[0] * ppm), round(photo_mm[1] * ppm)
    picture, to_photo = face_crop(face, (pw, ph), zoom, rng.uniform([-0.08, -0.06], [0.08, 0.06]), letterbox=False)
    sheet = np.ones((h, w, 3), np.float32) * np.asarray(paper.tint, np.float32)
    x0 = (w - pw) // 2
    y0 = (h - ph) // 2 + round(photo_dy_mm * ppm)
    sheet[y0 : y0 + ph, x0 : x0 + pw] = ink(picture, paper, rng)
    sheet *= _grain((h, w), rng)
    to_mm = affine(1 / ppm, -w / 2 / ppm, -h / 2 / ppm)
    return sheet, to_mm @ affine(1.0, x0, y0) @ to_photo, to_mm


def bend(rgb: F32, alpha: F32, to_mm: F64, arc_rad: float, vertical_axis: bool, light: float) -> tuple[Layer, object]:
    """Curl a flat sheet into a cylinder of total arc ``arc_rad``; returns the layer and a mm -> mm point map.

    The sheet's edges come towards the camera (seen from ~400 mm: 2-D approximation: arc length ->
    ``R sin``, the other axis scaled by the depth), and are shaded by ``light`` (-1..1, which side is lit).
    """
    h, w = alpha.shape
    ppm = 1 / to_mm[0, 0]
    span = (w if vertical_axis else h) / ppm
    radius = span / max(abs(arc_rad), 1e-3) * np.sign(arc_rad or 1.0)
    dist = 400.0

    def forward(pts: NDArray[np.floating]) -> F32:
        p = np.asarray(pts, np.float64).reshape(-1, 2).copy()
        s, o = (p[:, 0], p[:, 1]) if vertical_axis else (p[:, 1], p[:, 0])
        along = radius * np.sin(s / radius)
        depth = radius * (1 - np.cos(s / radius))
        other = o * dist / (dist - depth)
        p = np.column_stack([along, other] if vertical_axis else [other, along])
        return p.astype(np.float32)

    pad = 0.12
    out_w, out_h = int(w * (1 + 2 * pad)), int(h * (1 + 2 * pad))
    out_to_mm = affine(1 / ppm, -out_w / 2 / ppm, -out_h / 2 / ppm)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float64)
    mm = np.stack([xx.ravel(), yy.ravel(), np.ones(xx.size)]).T @ out_to_mm.T
    u, v = (mm[:, 0], mm[:, 1]) if vertical_axis else (mm[:, 1], mm[:, 0])
    s = radius * np.arcsin(np.clip(u / radius, -1, 1))
    depth = radius * (1 - np.cos(s / radius))
    o = v * (dist - depth) / dist
    flat = np.column_stack([s, o] if vertical_axis else [o, s])
    src = np.column_stack([flat, np.ones(len(flat))]) @ np.linalg.inv(to_mm).T
    map_x = src[:, 0].reshape(out_h, out_w).astype(np.float32)
    map_y = src[:, 1].reshape(out_h, out_w).astype(np.float32)
    rgba = cv2.remap(premultiply(rgb, alpha), map_x, map_y, cv2.INTER_LINEAR, borderValue=0)
    shade = (1 - 0.18 * light * np.sin(s / radius) - 0.06 * (1 - np.cos(s / radius))).reshape(out_h, out_w)
    rgba[..., :3] *= shade[..., None].astype(np.float32)
    return Layer(rgba, out_to_mm), forward


def gloss(layer: Layer, strength: float, rng: np.random.Generator) -> Layer:
    """A soft specular band across a glossy print (added where the sheet is)."""
    if strength <= 0:
        return layer
    h, w = layer.rgba.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, np.pi)
    u = ((xx - w / 2) * np.cos(a) + (yy - h / 2) * np.sin(a)) / (0.5 * max(w, h))
    band = np.exp(-(((u - rng.uniform(-0.6, 0.6)) / rng.uniform(0.1, 0.3)) ** 2)) * strength * rng.uniform(0.4, 1)
    rgba = layer.rgba.copy()
    rgba[..., :3] += band[..., None] * rgba[..., 3:]
    return Layer(rgba, layer.to_mm)


def cutout_alpha(shape: tuple[int, int], face_px: F32, eyes_px: F32 | None, rng: np.random.Generator) -> F32:
    """Alpha (h, w) of a face cut out along a scissor-jagged oval around ``face_px`` (4,), eye holes optional."""
    x0, y0, x1, y1 = face_px.tolist()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.08 * (y1 - y0)
    ax, ay = 0.62 * (x1 - x0) * rng.uniform(1.0, 1.12), 0.78 * (y1 - y0) * rng.uniform(1.0, 1.12)
    t = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    wobble = 1 + 0.025 * np.sin(3 * t + rng.uniform(0, 6)) + rng.normal(0, 0.006, t.size)
    poly = np.column_stack([cx + ax * np.cos(t) * wobble, cy + ay * np.sin(t) * wobble])
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 8).astype(np.int32)], 255, cv2.LINE_AA, shift=3)
    if eyes_px is not None:
        r = 0.085 * (x1 - x0)
        for ex, ey in eyes_px:
            cv2.ellipse(
                mask,
                (int(ex * 8), int(ey * 8)),
                (int(r * 1.3 * 8), int(r * 0.8 * 8)),
                0,
                0,
                360,
                0,
                -1,
                cv2.LINE_AA,
                shift=3,
            )
    return mask.astype(np.float32) / 255


def rot90_map(w: int, h: int) -> F64:
    """(3, 3) px map of ``np.rot90(img, k=-1)`` (clockwise) for an image w x h: (x, y) -> (h - 1 - y, x)."""
    return np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1.0]])


def surface_corners(layer_size_mm: tuple[float, float]) -> F32:
    w, h = layer_size_mm
    return np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float32)


__all__ = [
    "DeviceRenderer",
    "bend",
    "cutout_alpha",
    "emit",
    "face_crop",
    "gloss",
    "ink",
    "paper_layer",
    "project",
    "rot90_map",
    "screen_content",
    "surface_corners",
]
