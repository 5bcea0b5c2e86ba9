"""Passive presentation-attack detection: APCER and BPCER (ISO/IEC 30107-3) per attack type.

Run:  python bench/liveness.py [--data DIR] [--people 40]

APCER = share of attack presentations accepted as live; BPCER = share of bona fide (live)
presentations rejected. Both are reported per row at ``PASSIVE_THRESHOLD`` (see
:mod:`faceplane.liveness.passive`), with the number of presentations. Faces come from
``Engine(landmarks=68)`` (HOG, full size); a presentation where no face is found is counted in
``no_face`` and left out of the rates (that is the detector's miss, not the PAD decision).

Rows, side by side in one run:

- shared videos ``liveness/antispoof-zubair-videos``: ``real.mov`` frames are bona fide; in ``fake.mp4`` the
  face on the phone screen is the attack (phone replay). The same man is also visible, live, behind the
  phone in frames 0-24 of ``fake.mp4`` (his box overlaps his fixed position in ``real.mov``): those faces
  are a separate bona fide row. Per frame, and per 2 s window through :class:`PassiveClip` (adds parallax).
- shared stills ``liveness/antispoof-silent-face``: T1 live, F1 print, F2 tablet (one presentation each).
- synthetic: LFW photos (one per person) as bona fide, and their print-like and screen-like re-renderings
  from ``bench/_attacks.py``. CAVEAT: the synthetic attacks model *our own idea* of the artifacts (halftone,
  sub-pixel moiré, bezel, paper edge); catching them says little about real prints and screens.
- references: "no PAD" (accept everything: APCER 100%, BPCER 0%), and the active challenge check
  (``LivenessSession(challenges=["blink", "turn_right", "open_mouth", "turn_left"])`` fed with
  ``measure_cues`` as in tests/integration/test_liveness.py) on the two videos, one session each.

Split (honest account). DEV, used while writing the cues and choosing the ramps, weights and threshold:
the first 5 s of both videos, and LFW people from peopleDevTrain.txt (first ``--people`` with an image).
HELD-OUT: the rest of both videos (t >= 5 s, same man, same room: *not* independent of dev), the three
stills (looked at as pictures while designing; their cue values were printed once and the ramps were
not changed to catch them), LFW people from peopleDevTest.txt and the face_recognition examples.

Also reported: median milliseconds of ``passive_frame`` per face (640x480 frames and 960x540 video
frames separately) and of ``PassiveClip.add`` (adds optical flow), one core. Writes bench/out/liveness.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from _attacks import print_attack, screen_attack
from faceplane import Engine
from faceplane.liveness import LivenessSession, measure_cues
from faceplane.liveness.passive import PASSIVE_THRESHOLD, PassiveClip, passive_frame
from faceplane.video import VideoSource

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
VIDEOS = "liveness/antispoof-zubair-videos/videos"
STILLS = "liveness/antispoof-silent-face/images/sample"
LFW = "faces/lfw-view1"
EXAMPLES = "faces/face_recognition-examples/examples"
EXAMPLE_FILES = ["obama.jpg", "obama2.jpg", "biden.jpg", "alex-lacamoire.png", "lin-manuel-miranda.png"]
DEV_UNTIL_S = 5.0  # video frames before this are dev, after it held-out
WINDOW_S = 2.0
MAN_BEHIND = np.array([366, 263, 552, 450], np.float32)  # the live man's box behind the phone in fake.mp4
CHALLENGES = ["blink", "turn_right", "open_mouth", "turn_left"]


@dataclass
class Row:
    """One line of the table: the accept decisions of bona fide and of attack presentations."""

    name: str
    split: str
    bona: list[bool] = field(default_factory=list)  # True = accepted as live
    attack: list[bool] = field(default_factory=list)
    no_face: int = 0

    def as_dict(self) -> dict:
        apcer = 100 * float(np.mean(self.attack)) if self.attack else None
        bpcer = 100 * float(np.mean([not b for b in self.bona])) if self.bona else None
        return {"row": self.name, "split": self.split, "n_bona": len(self.bona), "n_attack": len(self.attack),
                "apcer_pct": apcer, "bpcer_pct": bpcer, "no_face": self.no_face}  # fmt: skip


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def _video(engine: Engine, path: Path) -> Iterator[tuple[float, np.ndarray, object]]:
    for frame in VideoSource(str(path), fps=None).frames():
        faces, chips, _ = engine.detect_detailed(frame.image)
        yield frame.t_s, frame.image, (faces, chips)


def _timed(ms: list[float], image: np.ndarray, box: np.ndarray) -> bool:
    start = time.perf_counter()
    live = passive_frame(image, box).live
    ms.append(1000 * (time.perf_counter() - start))
    return live


def _active(engine: Engine, frames: list[tuple]) -> bool:
    session = LivenessSession(challenges=list(CHALLENGES))
    for t_s, image, (faces, chips) in frames:
        if session.decided:
            break
        if not len(faces):
            session.feed(t_s, None, nonce=session.nonce)
            continue
        cues = measure_cues(faces.landmarks[0], image.shape[1], image.shape[0])
        session.feed(t_s, cues, nonce=session.nonce, embedding=engine.embed_chips(chips[:1])[0])
    return session.result().passed


def _clip_windows(frames: list[tuple], pick, rows: dict[str, Row], kind: str, clip_ms: list[float]) -> None:
    """Feed 2 s windows of the picked face to a PassiveClip; one presentation per window with >= 5 faces."""
    start = 0.0
    while start < frames[-1][0]:
        clip = PassiveClip()
        for t_s, image, (faces, _) in frames:
            box = pick(faces) if start <= t_s < start + WINDOW_S and len(faces) else None
            if box is not None:
                t0 = time.perf_counter()
                clip.add(image, box)
                clip_ms.append(1000 * (time.perf_counter() - t0))
        row = rows["dev" if start < DEV_UNTIL_S else "held-out"]
        if len(clip) >= 5:
            getattr(row, kind).append(clip.result().live)
        else:
            row.no_face += 1
        start += WINDOW_S


def _videos(data: Path, engine: Engine, ms: dict[str, list[float]]) -> list[Row]:
    real = list(_video(engine, data / VIDEOS / "real.mov"))
    fake = list(_video(engine, data / VIDEOS / "fake.mp4"))
    frame_rows = {s: Row("videos per frame: real.mov (bona) / fake.mp4 phone face (attack)", s)
                  for s in ("dev", "held-out")}  # fmt: skip
    behind = {s: Row("fake.mp4: live man behind the phone (bona)", s) for s in ("dev", "held-out")}
    for t_s, image, (faces, _) in real:
        split = "dev" if t_s < DEV_UNTIL_S else "held-out"
        if not len(faces):
            frame_rows[split].no_face += 1
        for box in faces.xyxy[:1]:
            frame_rows[split].bona.append(_timed(ms["video"], image, box))
    for t_s, image, (faces, _) in fake:
        split = "dev" if t_s < DEV_UNTIL_S else "held-out"
        phone = [b for b in faces.xyxy if _iou(b, MAN_BEHIND) <= 0.5]
        for box in faces.xyxy:
            if _iou(box, MAN_BEHIND) > 0.5:
                behind[split].bona.append(_timed(ms["video"], image, box))
        if not phone:
            frame_rows[split].no_face += 1
        for box in phone[:1]:
            frame_rows[split].attack.append(_timed(ms["video"], image, box))
    clip_rows = {s: Row(f"videos per {WINDOW_S:g} s clip (PassiveClip, + parallax)", s) for s in ("dev", "held-out")}
    _clip_windows(real, lambda f: f.xyxy[0], clip_rows, "bona", ms["clip_add"])
    phone_box = lambda f: next((b for b in f.xyxy if _iou(b, MAN_BEHIND) <= 0.5), None)  # noqa: E731
    _clip_windows(fake, phone_box, clip_rows, "attack", ms["clip_add"])
    active = Row("reference: active challenges (1 session per video)", "held-out")
    active.bona.append(_active(engine, real))
    active.attack.append(_active(engine, fake))
    return [frame_rows["dev"], clip_rows["dev"], behind["dev"],
            frame_rows["held-out"], clip_rows["held-out"], behind["held-out"], active]  # fmt: skip


def _stills(data: Path, engine: Engine, ms: list[float]) -> list[Row]:
    rows = []
    for name, label in (("T1", "bona"), ("F1", "attack"), ("F2", "attack")):
        kind = {"T1": "live", "F1": "print", "F2": "tablet"}[name]
        row = Row(f"still {name} ({kind})", "held-out")
        image = engine.load(data / STILLS / f"image_{name}.jpg")  # load_image applies the EXIF rotation
        faces = engine.detect(image)
        if len(faces):
            getattr(row, label).append(_timed(ms, image, faces.xyxy[0]))
        else:
            row.no_face += 1
        rows.append(row)
    return rows


def _people(data: Path, listing: str, count: int) -> list[Path]:
    """The first image of the first ``count`` people of an LFW people list that have images here."""
    images = data / LFW / "images"
    names = [line.split("\t")[0] for line in (data / LFW / listing).read_text().splitlines()[1:] if "\t" in line]
    found = [images / n for n in names if (images / n).is_dir()][:count]
    return [sorted(d.iterdir())[0] for d in found]


def _synthetic(engine: Engine, photos: list[Path], split: str, label: str, ms: list[float]) -> list[Row]:
    bona = Row(f"synthetic bona fide: {label} originals", split)
    printed = Row(f"synthetic print of {label}", split)
    screen = Row(f"synthetic screen of {label}", split)
    for i, path in enumerate(photos):
        photo = engine.load(path)
        faces = engine.detect(photo)
        if not len(faces):
            bona.no_face += 1
            continue
        bona.bona.append(_timed([], photo, faces.xyxy[0]))  # not timed: LFW originals are 250x250
        room_path = photos[(i + 7) % len(photos)]  # another photo of the same split as the room behind
        room = engine.load(room_path)
        for row, make in ((printed, print_attack), (screen, screen_attack)):
            attack = make(photo, faces.xyxy[0], room, seed=i)
            found = engine.detect(attack)
            if len(found):
                row.attack.append(_timed(ms, attack, found.xyxy[0]))
            else:
                row.no_face += 1
    return [bona, printed, screen]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _print(rows: list[dict]) -> None:
    print("| split | row | n bona | n attack | APCER | BPCER | no face |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['split']} | {r['row']} | {r['n_bona']} | {r['n_attack']} | {_fmt(r['apcer_pct'])} | "
              f"{_fmt(r['bpcer_pct'])} | {r['no_face']} |")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("FACEPLANE_DATA") or str(REPO.parent / "shared" / "data")
    parser.add_argument("--data", type=Path, default=Path(default_data), help="shared data root ($FACEPLANE_DATA)")
    parser.add_argument("--people", type=int, default=40, help="LFW people per split (one photo each)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    engine = Engine(landmarks=68, num_threads=1)
    ms: dict[str, list[float]] = {"video": [], "640x480": [], "clip_add": []}
    rows = _videos(args.data, engine, ms)
    rows += _stills(args.data, engine, ms["640x480"])
    rows += _synthetic(
        engine, _people(args.data, "peopleDevTrain.txt", args.people), "dev", "LFW DevTrain", ms["640x480"]
    )
    held = _people(args.data, "peopleDevTest.txt", args.people) + [args.data / EXAMPLES / f for f in EXAMPLE_FILES]
    rows += _synthetic(engine, held, "held-out", "LFW DevTest + examples", ms["640x480"])
    table = [r.as_dict() for r in rows if r.bona or r.attack or r.no_face]
    attacks = sum(r["n_attack"] for r in table if r["split"] == "held-out" and "reference" not in r["row"])
    table.append({"row": "reference: no PAD (accept everything)", "split": "held-out", "n_bona": 0,
                  "n_attack": attacks, "apcer_pct": 100.0, "bpcer_pct": 0.0, "no_face": 0})  # fmt: skip
    table.sort(key=lambda r: r["split"] != "dev")
    print(f"PASSIVE_THRESHOLD = {PASSIVE_THRESHOLD}; APCER = attacks accepted as live, BPCER = bona fide rejected\n")
    _print(table)
    timing = {k: float(np.median(v)) for k, v in ms.items() if v}
    print("\nmedian ms per face, one core: " + ", ".join(f"{k} {v:.1f}" for k, v in timing.items()))
    print("(video = passive_frame on 960x540 frames; 640x480 = passive_frame on stills/synthetic frames"
          " (the attack renderings and the stills); clip_add = PassiveClip.add incl. optical flow)")  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "liveness.json").write_text(
        json.dumps({"threshold": PASSIVE_THRESHOLD, "rows": table, "ms": timing}, indent=2)
    )
    print(f"\nwrote {OUT / 'liveness.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
