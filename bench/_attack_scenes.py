"""The attack generator's scenes: splits, the :class:`Presentation` type and one builder per attack type.

``_attack_set.py`` is the public face (module docstring there: splits, attack types, caveats); this
module draws: it picks the source faces of a split (:func:`source_pool`), a room, a pose and hand
motion, puts the held object and the hands in every frame (:func:`_draw`) and films them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from _attack_looks import (
    BEARERS,
    DEVICES,
    DISPLAYS,
    PAPERS,
    ROOMS,
    SKINS,
    SLEEVES,
    WALLS,
    Device,
    Display,
    Family,
    Paper,
    of_family,
)
from _attack_media import (
    PAPER_PPM,
    DeviceRenderer,
    bend,
    cutout_alpha,
    emit,
    face_crop,
    gloss,
    ink,
    paper_layer,
    rot90_map,
    screen_content,
)
from _attack_render import (
    F32,
    F64,
    U8,
    Camera,
    Hand,
    Layer,
    Webcam,
    affine,
    bounds,
    box_corners,
    cover,
    grip_bottom,
    grip_side,
    hand_layers,
    hand_motion,
    limb,
    plane_homography,
    project,
    rotation,
    sample_capture,
    wall,
    warp_over,
)
from _attack_sources import REAL_MOV, STILLS, Face, FaceCache, clip_faces, clip_length, lfw_face, lfw_people, photo_face

AttackType = Literal["bona_fide", "replay_phone", "replay_tablet", "print", "print_cutout"]
Split = Literal["zubair-dev", "zubair-test", "lfw-dev", "lfw-test", "stills-test"]
ATTACK_TYPES: tuple[AttackType, ...] = ("bona_fide", "replay_phone", "replay_tablet", "print", "print_cutout")
OUTPUT_SIZE = (640, 480)
CLIP_STRIDE = 2  # real.mov / GIF frames between two output frames (real.mov: 7.5 fps, a 12-frame clip = 1.6 s)


@dataclass(frozen=True)
class SplitSpec:
    family: Family
    material: Literal["zubair", "lfw", "stills"]
    frames: tuple[int, int] = (0, 0)  # real.mov frame range [first, last)
    listing: str = ""  # LFW people list


SPLITS: dict[Split, SplitSpec] = {
    "zubair-dev": SplitSpec("A", "zubair", frames=(0, 75)),
    "zubair-test": SplitSpec("B", "zubair", frames=(75, 199)),
    "lfw-dev": SplitSpec("A", "lfw", listing="peopleDevTrain.txt"),
    "lfw-test": SplitSpec("B", "lfw", listing="peopleDevTest.txt"),
    "stills-test": SplitSpec("B", "stills"),
}


@dataclass(frozen=True)
class Look:
    """The appearance choices of one presentation (names from ``_attack_looks.py``; "" = not used)."""

    family: Family
    device: str = ""
    display: str = ""
    paper: str = ""
    room: str = ""
    skin: str = ""
    bearer: str = ""
    detail: str = ""  # free text: layout, ui, hold, distance


@dataclass(frozen=True, eq=False)
class Presentation:
    """One presentation to the camera: frames and where the generator put the face in each."""

    attack_type: AttackType
    frames: list[U8]  # T x (H, W, 3) uint8 RGB (faceplane's channel order)
    face_box: F32  # (T, 4) float32 xyxy px: the shown face (for bona fide: the live face), inside the frame
    face_quad: F32  # (T, 4, 2) float32 px: the source's face box corners as seen (tilted by the pose)
    surface: F32  # (T, 4, 2) float32 px: corners of the screen / sheet / cut-out; NaN for bona fide
    source: str  # "zubair", "lfw:<name>", "silent-face", "examples:<file>", "intel:<clip>"
    source_frames: tuple[int, ...]  # frame indices of real.mov / the clip used; () for photos
    split: Split
    seed: int
    look: Look = field(compare=False)


@dataclass
class Ctx:
    data: Path
    split: Split
    spec: SplitSpec
    rng: np.random.Generator
    n: int
    size: tuple[int, int]
    cache: FaceCache

    @property
    def scene(self) -> tuple[int, int]:
        return self.size[0] * 2, self.size[1] * 2

    def pick(self, items: Sequence):
        return items[int(self.rng.integers(len(items)))]


# -- sources -----------------------------------------------------------------------------------------------


def source_pool(data: Path, split: Split) -> list[str]:
    """Every source id a split may draw its faces from (for checking that splits are disjoint)."""
    spec = SPLITS[split]
    if spec.material == "zubair":
        return [f"zubair#{i}" for i in range(*spec.frames)]
    if spec.material == "lfw":
        return [f"lfw:{name}" for name in lfw_people(data, spec.listing)]
    return [_still_id(rel) for rel in STILLS]


def _still_id(rel: str) -> str:
    return "silent-face" if "silent-face" in rel else f"examples:{Path(rel).name}"


def _faces(ctx: Ctx, moving: bool) -> tuple[str, tuple[int, ...], list[Face]]:
    """The face shown in each frame: a real.mov window (``moving``) or one frame / photo repeated."""
    if ctx.spec.material == "zubair":
        first, last = ctx.spec.frames
        span = CLIP_STRIDE * (ctx.n - 1) if moving else 0
        for _ in range(20):
            start = int(ctx.rng.integers(first, last - span))
            idx = [start + CLIP_STRIDE * k for k in range(ctx.n)] if moving else [start]
            faces = clip_faces(ctx.data, ctx.cache, REAL_MOV, idx)
            if faces is not None:
                return "zubair", tuple(idx), faces if moving else faces * ctx.n
        raise RuntimeError(f"no face found in real.mov frames {first}-{last}")
    for _ in range(30):
        if ctx.spec.material == "lfw":
            name = ctx.pick(lfw_people(ctx.data, ctx.spec.listing))
            face, source = lfw_face(ctx.data, ctx.cache, name, ctx.rng), f"lfw:{name}"
        else:
            rel = ctx.pick(STILLS)
            face, source = photo_face(ctx.data, ctx.cache, rel), _still_id(rel)
        if face is not None:
            return source, (), [face] * ctx.n
    raise RuntimeError(f"no face found in 30 tries on split {ctx.split}")


def _room(ctx: Ctx, blur: float) -> tuple[F32, str]:
    """A room picture at scene size, out of focus by ``blur`` scene px, and its name."""
    fam = ctx.spec.family
    if ctx.rng.uniform() < 0.75:
        rel = ctx.pick(ROOMS[fam])
        from faceplane import load_image

        img = load_image(ctx.data / rel)
        centre = (img.shape[1] * ctx.rng.uniform(0.35, 0.65), img.shape[0] * ctx.rng.uniform(0.35, 0.65))
        pic, _ = cover(img, ctx.scene, centre)
        name = f"{fam}:{Path(rel).parent.name}/{Path(rel).stem[-4:]}"
    else:
        k = int(ctx.rng.integers(len(WALLS[fam])))
        pic, name = wall(ctx.scene, np.array(WALLS[fam][k]), ctx.rng), f"{fam}:wall{k}"
    if blur > 0.3:
        pic = cv2.GaussianBlur(pic, (0, 0), blur)
    return pic.astype(np.float32), name


# -- placing an object in every frame --------------------------------------------------------------------


@dataclass
class _Held:
    """An object on its plane (mm) ready to draw: its layers in order, the face and outline in mm."""

    layers: list[list[Layer]]  # per frame: layers back to front ([hand back, object, hand front])
    face_mm: list[F32]  # per frame (4, 2) corners
    surface_mm: F32  # (4, 2)
    wrists_mm: list[F32]  # (2, 2) per holding hand
    anchor_mm: F32 | None = None  # (2,) the point placed at the pose's centre; default: the face centre


def _fit_inside(cam: Camera, h: F64, face_mm: F32, rot: F64, anchor: F32, centre: F64, depth: float) -> F64:
    """Shift the object so its face lies inside the frame with a small margin; returns the homography."""
    for _ in range(3):
        box = bounds(project(h, face_mm))
        margin = 0.02 * cam.width
        dx = max(0.0, margin - box[0]) - max(0.0, box[2] - (cam.width - margin))
        dy = max(0.0, margin - box[1]) - max(0.0, box[3] - (cam.height - margin))
        if dx == 0 and dy == 0:
            break
        centre = centre + np.array([dx, dy])
        h = plane_homography(cam, rot, anchor, centre, depth)
    return h


def _draw(ctx: Ctx, held: _Held, bg: list[F32], cam: Camera, pose: dict, skin: F32, sleeve: F32) -> tuple:
    """Render and film every frame: background, forearms, hand and object layers.

    Returns (frames, face quads (T, 4, 2), surfaces (T, 4, 2)) in output px.
    """
    webcam = _webcam(ctx)
    motion = hand_motion(ctx.rng, ctx.n, pose["walk"], pose["tremor"])
    scenes, boxes, surfaces, prev = [], [], [], None
    for t in range(ctx.n):
        m = motion[t]
        rot = rotation(pose["yaw"] + m[3], pose["pitch"] + m[4], pose["roll"] + m[5])
        anchor = held.face_mm[t].mean(axis=0) if held.anchor_mm is None else held.anchor_mm
        centre = np.asarray(pose["centre"][t] if pose.get("per_frame") else pose["centre"], float) + m[:2]
        depth = pose["depth"][t] if pose.get("per_frame") else pose["depth"] * (1 + m[2])
        h = _fit_inside(
            cam, plane_homography(cam, rot, anchor, centre, depth), held.face_mm[t], rot, anchor, centre, depth
        )
        here = project(h, anchor[None])[0]
        smear = None if prev is None else (here - prev) * 0.35
        prev = here
        scene = bg[t]
        for wrist in held.wrists_mm:
            w_px = project(h, wrist)
            obj_c = project(h, np.zeros((1, 2)))[0]
            scene = limb(scene, w_px, w_px.mean(axis=0) - obj_c, skin, sleeve, pose.get("skin_len", 2.0))
        for layer in held.layers[t]:
            scene = warp_over(scene, layer, h, blur=pose["defocus"], smear=smear)
        scenes.append(webcam.shoot(scene))
        boxes.append(project(h, held.face_mm[t]) / 2)
        surfaces.append(project(h, held.surface_mm) / 2)
    return scenes, np.stack(boxes).astype(np.float32), np.stack(surfaces).astype(np.float32)


def _pose(
    ctx: Ctx,
    cam: Camera,
    face_w_mm: float,
    depth_range: tuple[float, float],
    face_frac: tuple[float, float],
    depth: float | None = None,
) -> dict:
    """Base pose: distance (given, or from a wanted face size clamped to ``depth_range``), angles, position."""
    want_px = ctx.rng.uniform(*face_frac) * cam.width
    if depth is None:
        depth = float(np.clip(cam.f_px * face_w_mm / want_px, *depth_range))
    return {
        "depth": depth,
        "yaw": ctx.rng.uniform(-28, 28),
        "pitch": ctx.rng.uniform(-22, 15),
        "roll": ctx.rng.uniform(-12, 12),
        "centre": (cam.width * ctx.rng.uniform(0.3, 0.7), cam.height * ctx.rng.uniform(0.3, 0.6)),
        "walk": ctx.rng.uniform(0.3, 1.2),
        "tremor": ctx.rng.uniform(0.3, 1.5),
        "skin_len": ctx.rng.uniform(0.8, 4.0),
        "defocus": float(np.clip((280 - depth) / 70, 0, 2.5)) + ctx.rng.uniform(0, 0.4),
    }


def _webcam(ctx: Ctx, mild: bool = False) -> Webcam:
    return Webcam(sample_capture(ctx.rng, mild=mild), ctx.rng, ctx.size)


def _finish(
    ctx: Ctx, kind: AttackType, frames: list[U8], quads: F32, surfaces: F32, source: tuple, look: Look, seed: int
) -> Presentation:
    """Pack a presentation; the face box is the quad's bounding box, clipped to the frame."""
    quads = np.asarray(quads, np.float32)
    boxes = np.stack([bounds(q) for q in quads])
    boxes = np.clip(boxes, 0, [ctx.size[0], ctx.size[1]] * 2).astype(np.float32)
    return Presentation(kind, frames, boxes, quads, surfaces, source[0], source[1], ctx.split, seed, look)


# -- the attack types ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Screen:
    """What a replay shows and how: content size (logical px), zoom, app, colours, orientation."""

    content_wh: tuple[int, int]
    zoom: float  # face width / content width
    ui: str
    seed: int  # the content's own random choices (clock, offset), the same every frame
    display: Display
    angle_rad: float  # viewing angle (contrast loss)
    landscape: bool  # content turned 90° on a portrait-built device


def _screen_layers(device: DeviceRenderer, screen: _Screen, faces: list[Face]) -> tuple[list[Layer], list[F32]]:
    """The lit device per frame (layers in held mm) and where the face is on it (4, 2) mm."""
    turn = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1.0]]) if screen.landscape else np.eye(3)  # device -> held mm
    to_mm = turn @ device.screen_to_mm
    sw, sh = device.screen_wh
    layers: list[Layer] = []
    face_mm: list[F32] = []
    for t, face in enumerate(faces):
        if t and face is faces[t - 1]:  # a photo: the same screen every frame
            layers.append(layers[-1])
            face_mm.append(face_mm[-1])
            continue
        rng = np.random.default_rng(screen.seed)
        content, m = screen_content(face, screen.content_wh, screen.zoom, screen.ui, rng, statusbar=True)
        if screen.landscape:
            m = rot90_map(content.shape[1], content.shape[0]) @ m
            content = np.ascontiguousarray(np.rot90(content, k=-1))
        layer = device.layer(emit(content, screen.display, screen.angle_rad))
        layers.append(Layer(layer.rgba, turn @ layer.to_mm))
        on_screen = np.clip(project(m, box_corners(face.box)), 0, [sw, sh])  # the part of the face shown
        face_mm.append(project(to_mm, on_screen))
    return layers, face_mm


def _device_hands(ctx: Ctx, dev: Device, size_mm: tuple[float, float], landscape: bool) -> list[Hand]:
    w, h = size_mm
    if dev.kind == "phone" and not landscape:  # one hand: fingers over one edge, thumb over the other
        return [grip_side(w, h, int(ctx.pick((-1, 1))), ctx.rng.uniform(0.2, 0.6), ctx.rng, fingers=True)]
    if ctx.rng.uniform() < 0.6:
        return [grip_side(w, h, s, ctx.rng.uniform(-0.1, 0.6), ctx.rng, fingers=False) for s in (-1, 1)]
    return [grip_bottom(w, h, ctx.rng.uniform(-0.5, 0.5), ctx.rng)]


def replay(ctx: Ctx, kind: AttackType, seed: int) -> Presentation:
    fam = ctx.spec.family
    dev = ctx.pick([d for d in of_family(DEVICES, fam) if d.kind == kind.removeprefix("replay_")])
    display = ctx.pick(of_family(DISPLAYS, fam))
    skin_look, sleeve = ctx.pick(of_family(SKINS, fam)), np.array(ctx.pick(SLEEVES[fam]), np.float32)
    source, idx, faces = _faces(ctx, moving=True)
    cam = Camera.with_fov(*ctx.scene, ctx.rng.uniform(55, 75))
    bg, room = _room(ctx, ctx.rng.uniform(0.8, 2.5))
    landscape = not dev.keypad and ctx.rng.uniform() < (0.25 if dev.kind == "phone" else 0.45)
    sw = dev.screen_px
    sh = round(sw * dev.screen_mm[1] / dev.screen_mm[0])
    ui = ctx.pick(("viewer", "plain", "call") if source != "zubair" else ("plain", "call", "plain"))
    zoom = ctx.rng.uniform(0.3, 0.8) if dev.kind == "phone" else ctx.rng.uniform(0.2, 0.55)
    zoom = min(zoom, 0.4) if ui == "viewer" and landscape else zoom
    content_seed = int(ctx.rng.integers(2**31))
    screen = _Screen(
        (sh, sw) if landscape else (sw, sh),
        zoom,
        ui,
        content_seed,
        display,
        float(np.radians(ctx.rng.uniform(5, 35))),
        landscape,
    )
    glare = (ctx.rng.uniform(-0.9, 0.9), ctx.rng.uniform(0, 180), ctx.rng.uniform(0.0, 0.45))
    reflection = cv2.resize(bg, (64, 48), interpolation=cv2.INTER_AREA)
    depth_range = {"phone": (110.0, 400.0), "tablet": (200.0, 750.0)}[dev.kind] if not dev.keypad else (90.0, 220.0)
    depth0 = float(ctx.rng.uniform(*depth_range))
    canvas_per_scene = (3 * sw / dev.screen_mm[0]) / (cam.f_px / depth0)
    lens_px = ctx.rng.uniform(0.0, 0.5) * canvas_per_scene  # lens blur before sampling (canvas px): moiré strong..faint
    device = DeviceRenderer(dev, (sw, sh), glare, reflection, lens_px, np.random.default_rng(content_seed))
    layers, face_mm = _screen_layers(device, screen, faces)
    turn = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1.0]]) if landscape else np.eye(3)
    screen_mm = project(turn @ device.screen_to_mm, box_corners(np.array([0, 0, sw, sh], np.float32)))
    hands = _device_hands(ctx, dev, dev.size_mm[::-1] if landscape else dev.size_mm, landscape)
    back, front = hand_layers(hands, np.array(skin_look.rgb), ctx.rng)
    held = _Held([[back, lay, front] for lay in layers], face_mm, screen_mm, [np.array(hd.wrist) for hd in hands])
    pose = _pose(ctx, cam, float(np.ptp(face_mm[0][:, 0])), depth_range, (0.09, 0.4), depth=depth0)
    frames, quads, surfaces = _draw(ctx, held, [bg] * ctx.n, cam, pose, np.array(skin_look.rgb), sleeve)
    detail = f"{'landscape' if landscape else 'portrait'} {ui} zoom={zoom:.2f} d={pose['depth']:.0f}mm"
    look = Look(fam, dev.name, display.name, room=room, skin=skin_look.name, detail=detail)
    return _finish(ctx, kind, frames, quads, surfaces, (source, idx), look, seed)


_LAYOUTS = {  # sheet (w, h) mm, photo (w, h) mm, photo centre below the sheet centre (mm)
    "photo-10x15": ((102.0, 152.0), (94.0, 144.0), 0.0),
    "a5": ((148.0, 210.0), (112.0, 140.0), -22.0),
    "a4": ((210.0, 297.0), (160.0, 200.0), -30.0),
}


def printed(ctx: Ctx, seed: int) -> Presentation:
    fam = ctx.spec.family
    paper = ctx.pick(of_family(PAPERS, fam))
    skin_look, sleeve = ctx.pick(of_family(SKINS, fam)), np.array(ctx.pick(SLEEVES[fam]), np.float32)
    source, idx, faces = _faces(ctx, moving=False)
    layout = ctx.pick(sorted(_LAYOUTS))
    sheet_mm, photo_mm, dy = _LAYOUTS[layout]
    zoom = ctx.rng.uniform(0.3, 0.6)
    rgb, img_to_mm, sheet_to_mm = paper_layer(faces[0], paper, sheet_mm, photo_mm, dy, zoom, ctx.rng)
    arc = ctx.rng.uniform(0.1, 0.7) * ctx.pick((-1, 1))
    vertical = ctx.rng.uniform() < 0.7
    layer, forward = bend(rgb, np.ones(rgb.shape[:2], np.float32), sheet_to_mm, arc, vertical, ctx.rng.uniform(-1, 1))
    layer = gloss(layer, paper.gloss, ctx.rng)
    photo_lo = np.array([-photo_mm[0] / 2, dy - photo_mm[1] / 2])
    on_photo = np.clip(project(img_to_mm, box_corners(faces[0].box)), photo_lo, photo_lo + photo_mm)
    face_mm = forward(on_photo)
    half = np.array(sheet_mm) / 2
    sheet_corners = forward(np.array([[-half[0], -half[1]], [half[0], -half[1]], half, [-half[0], half[1]]]))
    w, h = np.ptp(sheet_corners, axis=0)
    hold = ctx.pick(("sides", "bottom", "one-side"))
    if hold == "sides":
        hands = [grip_side(w, h, s, ctx.rng.uniform(-0.3, 0.5), ctx.rng, fingers=False) for s in (-1, 1)]
    elif hold == "bottom":
        hands = [grip_bottom(w, h, ctx.rng.uniform(-0.6, 0.6), ctx.rng)]
    else:
        hands = [grip_side(w, h, int(ctx.pick((-1, 1))), ctx.rng.uniform(0.0, 0.6), ctx.rng, fingers=False)]
    back, front = hand_layers(hands, np.array(skin_look.rgb), ctx.rng)
    held = _Held([[back, layer, front]] * ctx.n, [face_mm] * ctx.n, sheet_corners, [np.array(hd.wrist) for hd in hands])
    cam = Camera.with_fov(*ctx.scene, ctx.rng.uniform(55, 75))
    bg, room = _room(ctx, ctx.rng.uniform(0.8, 2.5))
    pose = _pose(ctx, cam, float(np.ptp(face_mm[:, 0])), (180.0, 750.0), (0.1, 0.4))
    scenes, boxes, surfaces = _draw(ctx, held, [bg] * ctx.n, cam, pose, np.array(skin_look.rgb), sleeve)
    detail = f"{layout} hold={hold} arc={arc:.2f} d={pose['depth']:.0f}mm"
    look = Look(fam, paper=paper.name, room=room, skin=skin_look.name, detail=detail)
    return _finish(ctx, "print", scenes, boxes, surfaces, (source, idx), look, seed)


def _bearer(ctx: Ctx) -> tuple[str, tuple[int, ...], list[Face]]:
    """A live person (name, frame indices, faces): real.mov (zubair splits) or the family's Intel clip."""
    if ctx.spec.material == "zubair":
        first, last = ctx.spec.frames
        rel = REAL_MOV
    else:
        rel = ctx.pick(BEARERS[ctx.spec.family])
        first, last = 0, clip_length(ctx.data, rel)
    stride = CLIP_STRIDE if last - first > CLIP_STRIDE * ctx.n else 1
    for _ in range(20):
        start = int(ctx.rng.integers(first, max(first + 1, last - stride * (ctx.n - 1))))
        idx = [min(start + stride * k, last - 1) for k in range(ctx.n)]
        faces = clip_faces(ctx.data, ctx.cache, rel, idx)
        if faces is not None:
            name = "zubair:real.mov" if rel == REAL_MOV else f"{ctx.spec.family}:{Path(rel).stem}"
            return name, tuple(idx), faces
    raise RuntimeError(f"no face found in {rel}")


def _mask_sheet(ctx: Ctx, face: Face, paper: Paper) -> tuple[Layer, F32, F32, F32, bool]:
    """A life-size print of ``face`` cut along an oval and curved: (layer, face (4, 2) mm, cut outline
    (4, 2) mm, eyes (2, 2) mm, whether it has eye holes)."""
    side = int(150 / 0.55 * PAPER_PPM * ctx.rng.uniform(0.85, 1.05))  # a ~150 mm face, printed
    picture, m = face_crop(face, (side, side), zoom=0.55, offset=np.zeros(2), letterbox=False)
    printed = ink(picture, paper, ctx.rng)
    eyes_px = project(m, face.eyes)
    holes = ctx.rng.uniform() < 0.5
    face_px = project(m, box_corners(face.box))
    alpha = cutout_alpha(printed.shape[:2], bounds(face_px), eyes_px if holes else None, ctx.rng)
    to_mm = affine(1 / PAPER_PPM, -side / 2 / PAPER_PPM, -side / 2 / PAPER_PPM)
    layer, forward = bend(printed, alpha, to_mm, ctx.rng.uniform(0.3, 0.9), True, ctx.rng.uniform(-1, 1))
    ys, xs = np.nonzero(alpha > 0.5)
    box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)
    cut = forward(project(to_mm, box_corners(box)))
    eyes_mm = forward(project(to_mm, eyes_px))
    return gloss(layer, paper.gloss, ctx.rng), forward(project(to_mm, face_px)), cut, eyes_mm, holes


def _wearer(ctx: Ctx, bearer: list[Face], cam: Camera, eyes_mm: F32) -> tuple[list[F32], list, list, float]:
    """Backgrounds of the live wearer, and per frame where / how far the mask's eyes go over theirs.

    Returns (backgrounds, eye centres px, depths mm, median roll of the wearer's eye line in degrees).
    """
    eye_mm = float(np.linalg.norm(eyes_mm[1] - eyes_mm[0]))
    blur = ctx.rng.uniform(0.3, 1.0)
    cover_k = ctx.rng.uniform(1.0, 1.2)  # the mask's eyes a little wider apart than the wearer's
    bgs, centres, depths, tilts = [], [], [], []
    for bf in bearer:
        c = ((bf.box[0] + bf.box[2]) / 2, (bf.box[1] + bf.box[3]) / 2)
        pic, to_scene = cover(bf.image, ctx.scene, c)
        bgs.append(cv2.GaussianBlur(pic, (0, 0), blur) if blur > 0.3 else pic)
        e = project(to_scene, bf.eyes)
        centres.append(e.mean(axis=0))
        depths.append(cam.f_px * eye_mm / (float(np.linalg.norm(e[1] - e[0])) * cover_k))
        tilts.append(float(np.degrees(np.arctan2(*(e[1] - e[0])[::-1]))))
    return bgs, centres, depths, float(np.median(tilts))


def cutout(ctx: Ctx, seed: int) -> Presentation:
    fam = ctx.spec.family
    paper = ctx.pick(of_family(PAPERS, fam))
    skin_look, sleeve = ctx.pick(of_family(SKINS, fam)), np.array(ctx.pick(SLEEVES[fam]), np.float32)
    source, idx, faces = _faces(ctx, moving=False)
    bearer_name, _, bearer = _bearer(ctx)
    layer, face_mm, cut, eyes_mm, holes = _mask_sheet(ctx, faces[0], paper)
    w, h = np.ptp(cut, axis=0)
    hold = ctx.pick(("hand", "hand", "none"))
    hands = [grip_bottom(w, h, ctx.rng.uniform(-0.7, 0.7), ctx.rng)] if hold == "hand" else []
    stack: list[Layer] = [layer]
    if hands:
        back, front = hand_layers(hands, np.array(skin_look.rgb), ctx.rng)
        stack = [back, layer, front]
    cam = Camera.with_fov(*ctx.scene, ctx.rng.uniform(55, 75))
    bgs, centres, depths, wearer_roll = _wearer(ctx, bearer, cam, eyes_mm)
    mask_roll = float(np.degrees(np.arctan2(*(eyes_mm[1] - eyes_mm[0])[::-1])))
    pose = _pose(ctx, cam, 0.0, (100.0, 2000.0), (0.1, 0.3), depth=1.0)
    upscale = bearer[0].image.shape[1] < ctx.scene[0] / 2.2  # a small clip blown up: match its softness
    pose.update(
        centre=centres,
        depth=depths,
        per_frame=True,
        yaw=ctx.rng.uniform(-15, 15),
        pitch=ctx.rng.uniform(-10, 10),
        roll=wearer_roll - mask_roll + ctx.rng.uniform(-4, 4),
        walk=ctx.rng.uniform(0.05, 0.25),
        tremor=ctx.rng.uniform(0.1, 0.5),
        defocus=ctx.rng.uniform(0.8, 1.6) if upscale else ctx.rng.uniform(0.0, 0.6),
    )
    held = _Held([stack] * ctx.n, [face_mm] * ctx.n, cut, [np.array(hd.wrist) for hd in hands], eyes_mm.mean(axis=0))
    frames, quads, surfaces = _draw(ctx, held, bgs, cam, pose, np.array(skin_look.rgb), sleeve)
    skin = skin_look.name if hands else ""
    look = Look(fam, paper=paper.name, skin=skin, bearer=bearer_name, detail=f"hold={hold} eyeholes={holes}")
    return _finish(ctx, "print_cutout", frames, quads, surfaces, (source, idx), look, seed)


def bona_fide(ctx: Ctx, seed: int) -> Presentation:
    """A live face: a real clip (real.mov on the zubair splits, else 30 % the family's Intel clip) or a photo."""
    if ctx.spec.material == "zubair" or ctx.rng.uniform() < 0.3:
        return _live_clip(ctx, seed)
    return _photo_frame(ctx, seed)


def _live_clip(ctx: Ctx, seed: int) -> Presentation:
    """A window of a real video, cropped to 4:3 around the face, through a mild camera pass."""
    fam = ctx.spec.family
    if ctx.spec.material == "zubair":
        source, idx, faces = _faces(ctx, moving=True)
    else:
        bearer_name, idx, faces = _bearer(ctx)
        source = "intel:" + bearer_name.split(":", 1)[1]
    mid = np.median([((f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2) for f in faces], axis=0)
    frames, quads = [], []
    webcam = _webcam(ctx, mild=True)
    for f in faces:
        pic, m = cover(f.image, ctx.scene, (float(mid[0]), float(mid[1])))
        frames.append(webcam.shoot(pic))
        quads.append(project(m, box_corners(f.box)) / 2)
    room = "zubair-room" if ctx.spec.material == "zubair" else f"{fam}:{source.split(':', 1)[1]}"
    look = Look(fam, room=room, detail="live clip")
    nan = np.full((ctx.n, 4, 2), np.nan, np.float32)
    return _finish(ctx, "bona_fide", frames, np.stack(quads), nan, (source, idx), look, seed)


def _photo_frame(ctx: Ctx, seed: int) -> Presentation:
    """The source photo itself as the camera frame (a real camera took it), cropped 4:3 around the face."""
    source, idx, faces = _faces(ctx, moving=False)
    face = faces[0]
    fw = float(face.box[2] - face.box[0])
    iw, ih = face.image.shape[1], face.image.shape[0]
    crop_w = min(iw, ih * 4 / 3, fw / ctx.rng.uniform(0.3, 0.6))
    crop_h = crop_w * 3 / 4
    cx = (face.box[0] + face.box[2]) / 2 + ctx.rng.uniform(-0.1, 0.1) * crop_w
    cy = (face.box[1] + face.box[3]) / 2 + ctx.rng.uniform(0.0, 0.15) * crop_w
    x0, y0 = float(np.clip(cx - crop_w / 2, 0, iw - crop_w)), float(np.clip(cy - crop_h / 2, 0, ih - crop_h))
    k = ctx.scene[0] / crop_w
    m = affine(k, -x0 * k, -y0 * k)
    pic = cv2.warpAffine(
        face.image.astype(np.float32) / 255, m[:2], ctx.scene, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    quad = project(m, box_corners(face.box)) / 2
    look = Look(ctx.spec.family, room="own-photo", detail=f"photo as frame, face {np.ptp(quad[:, 0]):.0f}px")
    webcam = _webcam(ctx)
    frames = [webcam.shoot(pic) for _ in range(ctx.n)]
    nan = np.full((ctx.n, 4, 2), np.nan, np.float32)
    return _finish(ctx, "bona_fide", frames, np.stack([quad] * ctx.n), nan, (source, idx), look, seed)
