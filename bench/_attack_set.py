"""A reproducible set of presentation attacks (and bona fide counterparts) built from the shared data.

Usage::

    from _attack_set import presentations
    for p in presentations(data_dir, "lfw-test", n=40, seed=0, n_frames=12):
        p.attack_type, p.frames, p.face_box, p.face_quad, p.surface, p.source, p.look

Each :class:`Presentation` is ``n_frames`` RGB uint8 frames (faceplane's channel order, not OpenCV's
BGR), 640x480 by default, 1 frame = a still; clips step 2 frames of the 15 fps sources (7.5 fps).

- ``replay_phone`` / ``replay_tablet``: the face (a real.mov window, so it moves, or a photo) on a
  rendered phone or tablet: bezel black / white / silver of several widths, rounded corners, notch,
  punch-hole or camera dot, home button or keypad, a status bar (time, signal bars, Wi-Fi, battery), a
  photo viewer's or video call's chrome, RGB-stripe or PenTile sub-pixels (moiré from strong to
  faint), a display colour profile (gamma, cool / warm / neutral white, brightness, low-contrast OLED,
  contrast lost at the viewing angle), a glare band and the room mirrored on the glass; portrait or
  landscape, 9-80 cm away, yawed / pitched / rolled (a true perspective warp), in one hand (fingers
  over one edge, thumb over the other) or two, with a forearm and sleeve leaving the frame.
- ``print``: the photo printed on a 10x15 photo, A5 or A4 sheet (ink gamut, paper tint, clustered-dot
  halftone, inkjet dither or glossy continuous tone, mono or colour), white margins and visible paper
  edges, bent as a cylinder with shading, held by the sides or the bottom edge, 18-75 cm away.
- ``print_cutout``: the printed face cut out along a jagged oval (eye holes half the time), curved,
  its eyes put over the eyes of a live person filmed in a room (real.mov's man on the zubair splits,
  an Intel clip otherwise), following their head, held by a hand or worn.
- ``bona_fide``: real captures only: real.mov windows (zubair splits), the family's Intel clip of a
  person (30 % on the other splits), or the source photo itself as the frame (it was taken by a real
  camera; pasting it into another room looked pasted). Real clips get a mild camera pass, photos the
  same camera pass as the attacks.

Every attack is filmed by a simulated webcam: lens blur, defocus when close, motion smear, auto-exposure
that adapts over the clip, white balance, sensor noise, JPEG 55-92 (``_attack_render.py``). Hand
motion over a clip: a smooth random walk plus tremor. How each is drawn: ``_attack_media.py`` and
``_attack_render.py``; the appearance catalogue: ``_attack_looks.py``; sources: ``_attack_sources.py``.

Splits. The generator's code and parameter *ranges* are the same for every split; what differs is the
source material and the appearance family:

=============  ==========================================================  ======  ======================
split          faces shown / printed                                       family  use
=============  ==========================================================  ======  ======================
zubair-dev     real.mov frames 0-74 (t < 5 s, the bench's dev part)       A       tuning
zubair-test    real.mov frames 75-198 (t >= 5 s)                           B       reporting; same man and
                                                                                   room as zubair-dev: NOT
                                                                                   independent of it
lfw-dev        LFW View 1 people of peopleDevTrain.txt                     A       tuning
lfw-test       LFW View 1 people of peopleDevTest.txt (never used to tune)  B       reporting
stills-test    silent-face image_T1 + 4 face_recognition examples (no      B       reporting
               Biden: he is an LFW DevTrain person)
=============  ==========================================================  ======  ======================

Family A and family B share no device model, display profile, paper stock, hand colour, sleeve, room
photo, wall colour or mask bearer (``_attack_looks.py``): the report side is not the tuning side's
phone in the tuning side's room. Shared by both: the camera model, the hand shapes, and on the zubair
splits the man and his room (bona fide windows and the cut-out wearer are real.mov itself).

Caveats: this is *our* model of attacks. Hands are drawn blobs and appear only in attacks; bona fide
LFW frames are upscaled 250 px photos; the Intel clips are palette-dithered GIFs (in bona fide and as
the cut-out wearer alike). A detector tuned here can learn the generator; report real data beside it.

Every presentation is a pure function of (data, split, attack type, seed, n_frames, size):
:func:`presentation` rebuilds one from its ``seed``. Face boxes of the source pictures come from
faceplane's HOG detector (cached, see ``_attack_sources.py``); ``face_quad`` / ``face_box`` are then
where the generator put that face in each output frame (ground truth for the bench, which still runs
its own detector; an LFW photo may hold other faces too).

Run ``python bench/_attack_set.py`` to write a contact sheet (``--out``, default /tmp/h/attack_sheet.png).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from _attack_render import U8
from _attack_scenes import (
    ATTACK_TYPES,
    OUTPUT_SIZE,
    SPLITS,
    AttackType,
    Ctx,
    Look,
    Presentation,
    Split,
    SplitSpec,
    bona_fide,
    cutout,
    printed,
    replay,
    source_pool,
)
from _attack_sources import FaceCache

__all__ = [
    "ATTACK_TYPES",
    "SPLITS",
    "AttackType",
    "Look",
    "Presentation",
    "Split",
    "SplitSpec",
    "contact_sheet",
    "presentation",
    "presentations",
    "source_pool",
]


# -- public -----------------------------------------------------------------------------------------------


def presentation(
    data_dir: Path,
    split: Split,
    attack_type: AttackType,
    seed: int,
    *,
    n_frames: int = 12,
    size: tuple[int, int] = OUTPUT_SIZE,
    cache: FaceCache | None = None,
) -> Presentation:
    """One presentation, a pure function of its arguments (the face cache only saves time).

    Raises:
        ValueError: unknown split or attack type, or ``n_frames`` < 1.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    if attack_type not in ATTACK_TYPES:
        raise ValueError(f"attack_type must be one of {ATTACK_TYPES}, got {attack_type!r}")
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    ctx = Ctx(Path(data_dir), split, SPLITS[split], np.random.default_rng(seed), n_frames, size, cache or FaceCache())
    if attack_type.startswith("replay_"):
        return replay(ctx, attack_type, seed)
    builders = {"print": printed, "print_cutout": cutout, "bona_fide": bona_fide}
    return builders[attack_type](ctx, seed)


def presentations(
    data_dir: Path,
    split: Split,
    n: int = 20,
    seed: int = 0,
    *,
    n_frames: int = 12,
    kinds: Sequence[AttackType] = ATTACK_TYPES,
    size: tuple[int, int] = OUTPUT_SIZE,
) -> Iterator[Presentation]:
    """``n`` presentations of ``split``, the attack types taken in turn from ``kinds``.

    Presentation ``i`` gets its own seed from (``seed``, split, ``i``), so the set is the same on every
    run and a presentation can be rebuilt alone with :func:`presentation`.

    Example:
        >>> ps = list(presentations(Path("../shared/data"), "lfw-test", n=5, n_frames=8))  # doctest: +SKIP
        >>> [p.attack_type for p in ps]  # doctest: +SKIP
        ['bona_fide', 'replay_phone', 'replay_tablet', 'print', 'print_cutout']
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    cache = FaceCache()
    split_no = list(SPLITS).index(split)
    for i in range(n):
        item_seed = int(np.random.SeedSequence([seed, split_no, i]).generate_state(1)[0])
        yield presentation(data_dir, split, kinds[i % len(kinds)], item_seed, n_frames=n_frames, size=size, cache=cache)


def contact_sheet(items: list[Presentation], columns: int = 6, tile: tuple[int, int] = (320, 240)) -> U8:
    """One middle frame per presentation, its face box (green) and surface (yellow), labelled; RGB."""
    tiles = []
    for p in items:
        t = len(p.frames) // 2
        k = tile[0] / p.frames[t].shape[1]
        img = cv2.resize(p.frames[t], tile, interpolation=cv2.INTER_AREA)
        cv2.rectangle(
            img,
            tuple(int(v * k) for v in p.face_box[t][:2]),
            tuple(int(v * k) for v in p.face_box[t][2:]),
            (0, 255, 0),
            1,
        )
        if not np.isnan(p.surface[t]).any():
            cv2.polylines(img, [np.round(p.surface[t] * k).astype(np.int32)], True, (255, 255, 0), 1)
        label = f"{p.split} {p.attack_type}"
        name = p.look.device or p.look.paper or p.look.room
        for row, text in enumerate((label, f"{p.source[:24]} {name[:22]}")):
            cv2.putText(img, text, (3, 12 + 12 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(img, text, (3, 12 + 12 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(img)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    return np.vstack([np.hstack(tiles[r : r + columns]) for r in range(0, len(tiles), columns)])


def main() -> int:
    parser = argparse.ArgumentParser(description="Write a contact sheet of the attack set.")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("FACEPLANE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"),
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/h/attack_sheet.png"))
    parser.add_argument("--per-split", type=int, default=5)
    parser.add_argument(
        "--splits", nargs="+", default=["zubair-dev", "lfw-dev", "lfw-test", "zubair-test", "stills-test"]
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=4)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    items = [
        p
        for s in args.splits
        for p in presentations(args.data, s, n=args.per_split, seed=args.seed, n_frames=args.frames)
    ]
    sheet = contact_sheet(items)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({len(items)} presentations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
