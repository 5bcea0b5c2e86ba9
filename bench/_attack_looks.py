"""The appearance catalogue of the attack generator, in two disjoint families: A (tuning) and B (reporting).

Every name below belongs to exactly one family; ``bench/_attack_set.py`` draws the dev splits from A and
the test splits from B, so what the report side shows (phone and tablet models, display colour profiles,
paper stocks, hands, rooms, the people who wear the cut-out masks) was never seen while tuning.

- :class:`Device`: a phone or tablet body in millimetres (size, bezel colour and width, corner radii, a
  notch / punch-hole / camera dot, home button, keypad), its screen's pixel layout (RGB stripe LCD or
  PenTile OLED) and how strongly its pixel grid shows through the lens (``grid``).
- :class:`Display`: a colour profile of the emitted light (gamma, white point, brightness, black level,
  saturation, contrast loss when seen at an angle).
- :class:`Paper`: a print process (paper tint, ink black, saturation, halftone kind and pitch, gloss).
- :data:`SKINS`: hand colours (sRGB 0..1).
- Rooms: COCO128 indoor photos without people (train2017 images in A, val2017 images in B; chosen as
  the panoptic images whose wall/ceiling/floor/window/door/cabinet/shelf/curtain segments cover >= 25 %
  and that hold no person, then by eye: close-ups and a collage dropped) and plain painted walls.
- Bearers: people filmed live in a room, who hold the cut-out masks over their face: Intel's
  ``head-pose-face-detection-male.gif`` in A, ``head-pose-face-detection-female.gif`` in B (the
  zubair splits use the man of ``real.mov`` himself).

All numbers here are the generator's choices, set by looking at the contact sheet, not tuned to any
detector score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["A", "B"]
RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Device:
    """A phone or tablet, portrait, in millimetres; ``screen_px`` is the width the screen is drawn at."""

    name: str
    family: Family
    kind: Literal["phone", "tablet"]
    size_mm: tuple[float, float]  # body (w, h)
    screen_mm: tuple[float, float]  # glass area that lights (w, h)
    screen_dy_mm: float  # screen centre below the body centre (asymmetric bezels)
    body: RGB  # bezel / front colour
    rim: RGB  # the thin frame around the body
    corner_mm: float
    screen_corner_mm: float
    cutout: Literal["notch", "punch", "dot", "none"]  # dot = camera lens in the bezel
    home_button: bool
    keypad: bool
    screen_px: int  # logical pixels across the screen width (each drawn as 3 sub-pixel columns)
    subpixel: Literal["stripe", "pentile"]
    grid: float  # 0..1: contrast of the dark gaps between sub-pixels (how much moiré the grid makes)


@dataclass(frozen=True)
class Display:
    """A colour profile of the light a screen emits."""

    name: str
    family: Family
    gamma: float  # applied to content in 0..1 (> 1 darker mid-tones)
    white: RGB  # white point gains (cool = blue-heavy, warm = red-heavy)
    brightness: float  # emitted white relative to a white wall in the room
    black: float  # black level (LCD glow), fraction of white
    saturation: float
    angle_fade: float  # contrast lost per radian of viewing angle (OLED/IPS small, TN large)


@dataclass(frozen=True)
class Paper:
    """A print process."""

    name: str
    family: Family
    tint: RGB  # bare paper colour under room light
    ink_black: float  # darkest printable value
    saturation: float
    halftone: Literal["clustered", "dither", "contone"]
    pitch_px: float  # halftone cell in canvas pixels (canvas = 6 px per mm)
    gloss: float  # strength of a specular glare band (0 matte)
    mono: bool  # printed in greys


@dataclass(frozen=True)
class Skin:
    name: str
    family: Family
    rgb: RGB


_BLACK, _WHITE, _SILVER = (0.05, 0.05, 0.06), (0.9, 0.9, 0.88), (0.72, 0.73, 0.75)

DEVICES: tuple[Device, ...] = (
    Device(
        "A-phone-notch-black",
        "A",
        "phone",
        (71.5, 146.7),
        (65.5, 141.0),
        0.0,
        _BLACK,
        (0.25, 0.25, 0.27),
        9.0,
        7.5,
        "notch",
        False,
        False,
        250,
        "pentile",
        0.55,
    ),
    Device(
        "A-phone-home-white",
        "A",
        "phone",
        (67.3, 138.4),
        (58.5, 104.0),
        0.0,
        _WHITE,
        _SILVER,
        8.0,
        0.5,
        "dot",
        True,
        False,
        240,
        "stripe",
        0.7,
    ),
    Device(
        "A-tablet-silver",
        "A",
        "tablet",
        (174.1, 250.6),
        (150.0, 225.0),
        0.0,
        _SILVER,
        (0.6, 0.6, 0.62),
        11.0,
        1.0,
        "dot",
        False,
        False,
        400,
        "stripe",
        0.5,
    ),
    Device(
        "B-phone-punch-dark",
        "B",
        "phone",
        (73.0, 158.0),
        (70.0, 154.0),
        0.0,
        (0.1, 0.1, 0.12),
        _SILVER,
        8.5,
        7.0,
        "punch",
        False,
        False,
        250,
        "pentile",
        0.45,
    ),
    Device(
        "B-phone-keypad-silver",
        "B",
        "phone",
        (60.0, 114.0),
        (46.0, 35.0),
        -30.0,
        (0.8, 0.8, 0.8),
        (0.55, 0.55, 0.58),
        7.0,
        0.5,
        "none",
        False,
        True,
        200,
        "stripe",
        0.75,
    ),
    Device(
        "B-tablet-white",
        "B",
        "tablet",
        (169.5, 240.0),
        (148.0, 197.0),
        0.0,
        _WHITE,
        _SILVER,
        10.0,
        0.5,
        "dot",
        True,
        False,
        400,
        "stripe",
        0.6,
    ),
    Device(
        "B-tablet-black",
        "B",
        "tablet",
        (160.0, 228.0),
        (143.0, 211.0),
        0.0,
        _BLACK,
        (0.2, 0.2, 0.2),
        9.0,
        2.0,
        "dot",
        False,
        False,
        400,
        "pentile",
        0.5,
    ),
)

DISPLAYS: tuple[Display, ...] = (
    Display("A-neutral", "A", 1.0, (1.0, 1.0, 1.0), 1.05, 0.02, 1.0, 0.1),
    Display("A-cool-bright", "A", 0.9, (0.88, 0.97, 1.12), 1.3, 0.03, 1.05, 0.2),
    Display("A-warm-night", "A", 1.1, (1.08, 0.93, 0.7), 0.75, 0.02, 0.95, 0.1),
    Display("B-oled-lowcontrast", "B", 1.0, (0.95, 1.0, 1.05), 0.85, 0.09, 0.85, 0.6),
    Display("B-vivid-warm", "B", 0.85, (1.07, 1.0, 0.9), 1.15, 0.015, 1.25, 0.15),
    Display("B-cool-dim", "B", 1.15, (0.9, 0.98, 1.15), 0.7, 0.04, 0.9, 0.3),
)

PAPERS: tuple[Paper, ...] = (
    Paper("A-office-laser", "A", (0.95, 0.95, 0.93), 0.12, 0.8, "clustered", 4.0, 0.0, False),
    Paper("A-inkjet-plain", "A", (0.96, 0.94, 0.88), 0.1, 0.75, "dither", 1.0, 0.05, False),
    Paper("A-laser-mono", "A", (0.93, 0.93, 0.92), 0.15, 0.0, "clustered", 4.5, 0.0, True),
    Paper("B-photo-gloss", "B", (0.97, 0.97, 0.97), 0.05, 0.95, "contone", 1.0, 0.45, False),
    Paper("B-newsprint", "B", (0.88, 0.86, 0.8), 0.2, 0.65, "clustered", 5.0, 0.0, False),
    Paper("B-inkjet-mono", "B", (0.95, 0.95, 0.95), 0.12, 0.0, "dither", 1.0, 0.05, True),
)

SKINS: tuple[Skin, ...] = (
    Skin("A-light", "A", (0.87, 0.68, 0.58)),
    Skin("A-brown", "A", (0.55, 0.36, 0.25)),
    Skin("B-beige", "B", (0.80, 0.62, 0.48)),
    Skin("B-dark", "B", (0.36, 0.23, 0.16)),
)

# COCO128 indoor photos with no person (see the module docstring for how they were chosen)
ROOMS: dict[Family, tuple[str, ...]] = {
    "A": tuple(
        f"objects/coco128/images/train2017/000000000{n}.jpg" for n in ("089", "164", "384", "486", "490", "514")
    ),
    "B": tuple(f"objects/coco128/images/val2017/{n:012d}.jpg" for n in (802, 1503, 1993, 4495, 6213, 6818, 7574, 7795)),
}
# plain painted walls (r, g, b), lit from one side
WALLS: dict[Family, tuple[RGB, ...]] = {
    "A": ((0.86, 0.82, 0.72), (0.78, 0.8, 0.76)),
    "B": ((0.8, 0.84, 0.88), (0.9, 0.88, 0.86)),
}
_GIFS = "video/intel-sample-videos/preview/"
BEARERS: dict[Family, tuple[str, ...]] = {
    "A": (_GIFS + "head-pose-face-detection-male.gif",),
    "B": (_GIFS + "head-pose-face-detection-female.gif",),
}
SLEEVES: dict[Family, tuple[RGB, ...]] = {
    "A": ((0.15, 0.2, 0.35), (0.5, 0.5, 0.5), (0.6, 0.15, 0.12)),
    "B": ((0.1, 0.1, 0.1), (0.75, 0.72, 0.6), (0.2, 0.4, 0.25)),
}


def of_family(items: tuple, family: Family) -> list:
    """The items of a catalogue tuple that belong to ``family``."""
    return [item for item in items if item.family == family]
