"""The learned PAD models (faceantispoofing, antispoof, liveness) on the shared liveness stills and clips.

Run:  python bench/learned_pad.py [--data DIR] [--every 10] [--detector hog]

A measurement, not a benchmark: each model's score per sample, as ported (no threshold chosen here;
0.5 on ``live`` is each model's own upstream decision point, see :mod:`faceplane.liveness.learned`).

- stills ``liveness/antispoof-silent-face``: T1 live, F1 printed photo, F2 tablet replay (stored on their
  side with an EXIF rotation, which ``Engine.load`` applies, so the faces are upright for detection);
- every ``--every``-th frame of ``liveness/antispoof-zubair-videos``: ``real.mov`` (live) and ``fake.mp4``
  (the same man's face replayed on a phone). In the first ~25 frames of ``fake.mp4`` the man himself is
  also visible behind the phone: a face whose box overlaps (IoU > 0.3) his median box in ``real.mov`` is
  listed as ``live (behind phone)``, the others as ``phone replay``.

Columns: ``dtn_s`` FaceAntiSpoofing's raw score (attack above 0.2) and its ``live``; ``antispoof`` the
sigmoid Human calls ``real``; ``liveness`` Human's ``live`` (softmax[0] on Human's RGB crop) and
``liveness/train`` softmax[1] on the trainer's BGR crop. Faces come from ``Engine`` (HOG by default), the
largest per still, every face per frame. Also: median ms per face per model (crop + network, one thread).
Writes bench/out/learned_pad.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from faceplane import Engine
from faceplane.liveness.learned import AntiSpoof, FaceAntiSpoofing, LivenessNet
from faceplane.video import VideoSource

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
STILLS = "liveness/antispoof-silent-face/images/sample"
VIDEOS = "liveness/antispoof-zubair-videos/videos"


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


class _Scorer:
    """The four readings of one face, timing each model."""

    def __init__(self) -> None:
        self.models = {
            "dtn": FaceAntiSpoofing(num_threads=1),
            "antispoof": AntiSpoof(num_threads=1),
            "liveness": LivenessNet(num_threads=1),
            "liveness/train": LivenessNet(recipe="training", num_threads=1),
        }
        self.ms: dict[str, list[float]] = {k: [] for k in self.models}

    def __call__(self, image: np.ndarray, box: np.ndarray) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, model in self.models.items():
            start = time.perf_counter()
            scores = model.score_batch(image, box[None])
            self.ms[name].append(1000 * (time.perf_counter() - start))
            out[name] = float(scores.live[0])
            if name == "dtn":
                out["dtn_s"] = float(scores.raw[0, 0])
        return out


def _frames(path: Path, every: int) -> list[tuple[int, np.ndarray]]:
    return [(k, f.image) for k, f in enumerate(VideoSource(str(path), fps=None).frames()) if k % every == 0]


def _rows(data: Path, engine: Engine, score: _Scorer, every: int) -> list[dict]:
    rows = []
    for name, truth in (("T1", "live"), ("F1", "print"), ("F2", "tablet")):
        image = engine.load(data / STILLS / f"image_{name}.jpg")
        faces = engine.detect(image)
        if len(faces):
            rows.append({"sample": f"still {name}", "truth": truth, **score(image, faces.xyxy[0])})
        else:
            rows.append({"sample": f"still {name}", "truth": truth, "no_face": True})
    real = [(k, image, engine.detect(image).xyxy) for k, image in _frames(data / VIDEOS / "real.mov", every)]
    boxes = [b[0] for _, _, b in real if len(b)]
    man = np.median(np.stack(boxes), axis=0) if boxes else np.zeros(4)
    for k, image, xyxy in real:
        rows += [{"sample": f"real.mov #{k}", "truth": "live", **score(image, box)} for box in xyxy[:1]]
        if not len(xyxy):
            rows.append({"sample": f"real.mov #{k}", "truth": "live", "no_face": True})
    for k, image in _frames(data / VIDEOS / "fake.mp4", every):
        xyxy = engine.detect(image).xyxy
        if not len(xyxy):
            rows.append({"sample": f"fake.mp4 #{k}", "truth": "phone replay", "no_face": True})
        for box in xyxy:
            truth = "live (behind phone)" if _iou(box, man) > 0.3 else "phone replay"
            rows.append({"sample": f"fake.mp4 #{k}", "truth": truth, **score(image, box)})
    return rows


def _print(rows: list[dict]) -> None:
    cols = ["dtn_s", "dtn", "antispoof", "liveness", "liveness/train"]
    print(f"| sample | truth | {' | '.join(cols)} |")
    print("|" + "---|" * (len(cols) + 2))
    for r in rows:
        cells = ["no face" if r.get("no_face") else f"{r[c]:.3f}" for c in cols]
        print(f"| {r['sample']} | {r['truth']} | {' | '.join(cells)} |")
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if not r.get("no_face"):
            groups.setdefault(f"{r['sample'].split(' ')[0]} {r['truth']}", []).append(r)
    print("\nshare of faces with live >= 0.5 (each model's own decision point), n faces:")
    for group, members in groups.items():
        shares = ", ".join(f"{c} {np.mean([m[c] >= 0.5 for m in members]):.2f}" for c in cols[1:])
        print(f"  {group} (n={len(members)}): {shares}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("FACEPLANE_DATA") or str(REPO.parent / "shared" / "data")
    parser.add_argument("--data", type=Path, default=Path(default_data), help="shared data root ($FACEPLANE_DATA)")
    parser.add_argument("--every", type=int, default=10, help="score every n-th video frame")
    parser.add_argument("--detector", default="hog", choices=["hog", "blazeface", "cnn"], help="faceplane detector")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    engine = Engine(detector=args.detector, num_threads=1)
    score = _Scorer()
    rows = _rows(args.data, engine, score, args.every)
    _print(rows)
    timing = {k: float(np.median(v)) for k, v in score.ms.items() if v}
    print("\nmedian ms per face (crop + network), one thread: " + ", ".join(f"{k} {v:.1f}" for k, v in timing.items()))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "learned_pad.json").write_text(json.dumps({"detector": args.detector, "rows": rows, "ms": timing}, indent=2))
    print(f"\nwrote {OUT / 'learned_pad.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
