"""Device/print frame evidence (:mod:`faceplane.liveness.device`) per source, dev and held-out apart.

Run:  python bench/liveness_device.py [--data DIR] [--people 160] [--no-objects]

For every source: faces found, the median evidence, the share of faces with evidence > 0.5 (geometry
alone, and with NanoDet's boxes as well), and the median milliseconds of ``device_frame`` per face (one
core, geometry only; NanoDet's own time per frame is printed below the table). Faces come from the HOG
detector (``Engine()``, faces >= 32 px); the two videos are also run with BlazeFace boxes, which finds
the phone's face in many more frames (HOG misses it when the phone is turned).

Split. DEV, used while writing the module and choosing every number in it: the first 5 s (t < 5 s) of
``real.mov`` (live) and ``fake.mp4`` (the phone's face: attack; the man behind it: live), our own
rendered devices and prints (``bench/_device_attacks.py`` on LFW peopleDevTrain photos and COCO train2017
rooms) and the faces in COCO train2017 (live, people in rooms). HELD-OUT, looked at only to report:
the rest of both videos (t >= 5 s; same man, same room, same phone: *not* independent of dev), the three
shared stills (print, tablet, live; looked at as pictures while designing, never tuned on), the faces
in COCO val2017 (live; a few are faces on screens or posters - listed), the face photo folders under
``faces/`` (deepface test set, face-api.js, face_recognition, dlib, openface, facenet-pytorch), the
Intel sample GIFs with faces and the Hamilton clip (live), and ``bench/_attacks.py``'s print and screen
renderings of LFW peopleDevTest (another generator's idea of an attack, not written for this module).

Writes bench/out/liveness_device.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from _attacks import print_attack, screen_attack
from _device_attacks import render_device
from faceplane import Engine
from faceplane.liveness.device import DEVICE_CLASSES, device_frame
from faceplane.objects import ObjectDetector, Objects
from faceplane.video import VideoSource

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
VIDEOS = "liveness/antispoof-zubair-videos/videos"
STILLS = "liveness/antispoof-silent-face/images/sample"
LFW = "faces/lfw-view1"
COCO = "objects/coco128/images"
DEV_UNTIL_S = 5.0
MAN_BEHIND = np.array([366, 263, 552, 450], np.float32)  # the live man behind the phone in fake.mp4 (bench/liveness.py)
PHOTO_DIRS = [
    "faces/deepface-testset/tests/unit/dataset",
    "faces/face-api.js-examples/examples/images",
    "faces/face_recognition-examples/examples",
    "faces/face_recognition-examples/tests/test_images",
    "faces/dlib-examples/examples/faces",
    "faces/openface-examples/images/examples",
    "faces/facenet-pytorch-test-images/data/test_images",
]
GIFS = ["head-pose-face-detection-female-and-male.gif", "head-pose-face-detection-female.gif",
        "head-pose-face-detection-male.gif", "face-demographics-walking.gif",
        "face-demographics-walking-and-pause.gif", "classroom.gif"]  # fmt: skip
IMAGE_EXT = (".jpg", ".jpeg", ".png")


@dataclass
class Row:
    split: str
    source: str
    kind: str  # "live" | "attack"
    evidence: list[float] = field(default_factory=list)
    with_objects: list[float] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)  # names of live faces above 0.5 (to look at)

    def as_dict(self) -> dict:
        ev, wo = np.array(self.evidence), np.array(self.with_objects)
        return {"split": self.split, "source": self.source, "kind": self.kind, "n": len(ev),
                "median": float(np.median(ev)) if len(ev) else None,
                "above_half": float(np.mean(ev > 0.5)) if len(ev) else None,
                "above_half_objects": float(np.mean(wo > 0.5)) if len(wo) else None,
                "ms": float(np.median(self.ms)) if self.ms else None, "flagged": self.flagged[:20]}  # fmt: skip


class Scorer:
    """Scores faces into rows; runs NanoDet once per image when asked."""

    def __init__(self, detector: ObjectDetector | None) -> None:
        self.detector = detector
        self.object_ms: list[float] = []

    def objects(self, image: np.ndarray) -> Objects | None:
        if self.detector is None:
            return None
        start = time.perf_counter()
        found = self.detector.detect(image)
        self.object_ms.append(1000 * (time.perf_counter() - start))
        return found

    def add(self, row: Row, image: np.ndarray, box: np.ndarray, objects: Objects | None, name: str = "") -> None:
        start = time.perf_counter()
        result = device_frame(image, box)
        row.ms.append(1000 * (time.perf_counter() - start))
        row.evidence.append(result.evidence)
        if objects is not None:
            row.with_objects.append(device_frame(image, box, objects=objects).evidence)
        if row.kind == "live" and result.evidence > 0.5 and name:
            row.flagged.append(name)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def _videos(data: Path, engines: dict[str, Engine], scorer: Scorer) -> list[Row]:
    rows: dict[tuple[str, str, str], Row] = {}

    def row(split: str, source: str, kind: str) -> Row:
        return rows.setdefault((split, source, kind), Row(split, source, kind))

    for name in ("real.mov", "fake.mp4"):
        for frame in VideoSource(str(data / VIDEOS / name), fps=None).frames():
            split = "dev" if frame.t_s < DEV_UNTIL_S else "held-out"
            objects = scorer.objects(frame.image)
            for label, engine in engines.items():
                for box in engine.detect(frame.image).xyxy:
                    if name == "real.mov":
                        r = row(split, f"real.mov ({label} faces)", "live")
                    elif _iou(box, MAN_BEHIND) > 0.5:
                        r = row(split, f"fake.mp4 man behind the phone ({label})", "live")
                    else:
                        r = row(split, f"fake.mp4 face on the phone ({label})", "attack")
                    scorer.add(r, frame.image, box, objects, f"{name}@{frame.t_s:.2f}")
    return list(rows.values())


def _stills(data: Path, engine: Engine, scorer: Scorer) -> list[Row]:
    rows = []
    for name, label in (("T1", "live"), ("F1", "attack"), ("F2", "attack")):
        kind = {"T1": "live", "F1": "print", "F2": "tablet"}[name]
        row = Row("held-out", f"still {name} ({kind})", label)
        image = engine.load(data / STILLS / f"image_{name}.jpg")  # EXIF rotation applied: upright
        faces = engine.detect(image)
        for box in faces.xyxy[:1]:
            scorer.add(row, image, box, scorer.objects(image), name)
        rows.append(row)
    return rows


def _photos(engine: Engine, paths: list[Path], row: Row, scorer: Scorer) -> Row:
    for path in paths:
        image = engine.load(path)
        faces = engine.detect(image)
        objects = scorer.objects(image) if len(faces) else None
        for box in faces.xyxy:
            scorer.add(row, image, box, objects, path.name)
    return row


def _clips(data: Path, engine: Engine, scorer: Scorer) -> Row:
    row = Row("held-out", "Intel GIFs + Hamilton clip (every 3rd / 5th frame)", "live")
    clips = [(data / "video/intel-sample-videos/preview" / g, 3) for g in GIFS]
    clips.append((data / "faces/face_recognition-examples/examples/short_hamilton_clip.mp4", 5))
    for path, step in clips:
        capture = cv2.VideoCapture(str(path))
        index = 0
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            if index % step == 0:
                image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                faces = engine.detect(image)
                objects = scorer.objects(image) if len(faces) else None
                for box in faces.xyxy:
                    scorer.add(row, image, box, objects, f"{path.name}#{index}")
            index += 1
        capture.release()
    return row


def _lfw_people(data: Path, listing: str, count: int, skip: int = 0) -> list[Path]:
    images = data / LFW / "images"
    lines = (data / LFW / listing).read_text().splitlines()[1:]
    names = [line.split("\t")[0] for line in lines if "\t" in line]
    found = [images / n for n in names if (images / n).is_dir()][skip : skip + count]
    return [sorted(d.iterdir())[0] for d in found]


def _rendered(data: Path, engine: Engine, scorer: Scorer, count: int) -> list[Row]:
    """Dev: our own devices (kind by kind). Faces outside the rendered device (people in the room photo) are skipped."""
    rooms = [engine.load(p) for p in sorted((data / COCO / "train2017").iterdir())]
    rows: dict[str, Row] = {}
    for i, path in enumerate(_lfw_people(data, "peopleDevTrain.txt", count)):
        photo = engine.load(path)
        faces = engine.detect(photo)
        if not len(faces):
            continue
        r = render_device(photo, faces.xyxy[0], rooms[(3 * i) % len(rooms)], rooms[(3 * i + 1) % len(rooms)], seed=i)
        row = rows.setdefault(r.kind, Row("dev", f"rendered {r.kind} (bench/_device_attacks.py)", "attack"))
        found = engine.detect(r.image)
        centres = [(float(b[0] + b[2]) / 2, float(b[1] + b[3]) / 2) for b in found.xyxy]
        inside = [b for b, c in zip(found.xyxy, centres, strict=True) if cv2.pointPolygonTest(r.quad, c, False) > 0]
        for box in inside[:1]:
            scorer.add(row, r.image, box, scorer.objects(r.image))
    return [rows[k] for k in sorted(rows)]


def _other_generator(data: Path, engine: Engine, scorer: Scorer, count: int) -> list[Row]:
    """Held-out: bench/_attacks.py's print and screen renderings of LFW peopleDevTest."""
    photos = _lfw_people(data, "peopleDevTest.txt", count)
    rows = [Row("held-out", f"bench/_attacks.py {k} of LFW DevTest", "attack") for k in ("print", "screen")]
    for i, path in enumerate(photos):
        photo = engine.load(path)
        faces = engine.detect(photo)
        if not len(faces):
            continue
        room = engine.load(photos[(i + 7) % len(photos)])
        for row, make in zip(rows, (print_attack, screen_attack), strict=True):
            attack = make(photo, faces.xyxy[0], room, seed=i)
            found = engine.detect(attack)
            for box in found.xyxy[:1]:
                scorer.add(row, attack, box, scorer.objects(attack))
    return rows


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.0f}%" if pct else f"{v:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("FACEPLANE_DATA") or str(REPO.parent / "shared" / "data")
    parser.add_argument("--data", type=Path, default=Path(default_data), help="shared data root ($FACEPLANE_DATA)")
    parser.add_argument("--people", type=int, default=160, help="LFW people rendered per split")
    parser.add_argument("--no-objects", action="store_true", help="skip NanoDet")
    parser.add_argument("--dev-only", action="store_true", help="only the development sources (while tuning)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    hog = Engine(num_threads=1, min_face_px=32)
    coco_engine = Engine(num_threads=1, min_face_px=32, upsample=2)  # COCO faces are small
    engines = {"HOG": hog, "BlazeFace": Engine(detector="blazeface", num_threads=1, min_face_px=32)}
    detector = None if args.no_objects else ObjectDetector(classes=DEVICE_CLASSES, min_score=0.1, num_threads=1)
    scorer = Scorer(detector)
    rows = _videos(args.data, engines, scorer)
    rows += _rendered(args.data, hog, scorer, args.people)
    coco = {s: sorted((args.data / COCO / s).iterdir()) for s in ("train2017", "val2017")}
    rows.append(_photos(coco_engine, coco["train2017"], Row("dev", "COCO train2017 faces", "live"), scorer))
    if args.dev_only:
        rows = [r for r in rows if r.split == "dev"]
    else:
        rows += _held_out(args, hog, coco_engine, scorer, coco["val2017"])
    _report(rows, scorer)
    return 0


def _held_out(args: argparse.Namespace, hog: Engine, coco_engine: Engine, scorer: Scorer, val: list[Path]) -> list[Row]:
    rows = _stills(args.data, hog, scorer)
    rows.append(_photos(coco_engine, val, Row("held-out", "COCO val2017 faces", "live"), scorer))
    photos = [p for d in PHOTO_DIRS for p in sorted((args.data / d).rglob("*")) if p.suffix.lower() in IMAGE_EXT]
    rows.append(_photos(hog, photos, Row("held-out", "faces/ photo folders", "live"), scorer))
    rows.append(_clips(args.data, hog, scorer))
    rows += _other_generator(args.data, hog, scorer, args.people // 4)
    return rows


def _report(rows: list[Row], scorer: Scorer) -> None:
    table = sorted((r.as_dict() for r in rows), key=lambda r: (r["split"] != "dev", r["kind"], r["source"]))
    print("| split | source | kind | n faces | median evidence | > 0.5 | > 0.5 with NanoDet | ms/face |")
    print("|---|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['split']} | {r['source']} | {r['kind']} | {r['n']} | {_fmt(r['median'])} | "
              f"{_fmt(r['above_half'], True)} | {_fmt(r['above_half_objects'], True)} | {_fmt(r['ms'])} |")  # fmt: skip
    object_ms = float(np.median(scorer.object_ms)) if scorer.object_ms else None
    print(f"\nNanoDet (DEVICE_CLASSES, min_score 0.1), median ms per image: {_fmt(object_ms)}")
    for r in table:
        if r["kind"] == "live" and r["flagged"]:
            print(f"live faces above 0.5 in {r['source']}: {', '.join(r['flagged'])}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "liveness_device.json").write_text(json.dumps({"rows": table, "nanodet_ms": object_ms}, indent=2))
    print(f"\nwrote {OUT / 'liveness_device.json'}")


if __name__ == "__main__":
    sys.exit(main())
