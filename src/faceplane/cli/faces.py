"""``faceplane detect | verify | embed | demo``: faces in photos, with the library's :class:`~faceplane.Engine`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..errors import FaceplaneError
from ..pipeline import Engine
from ..types import Faces
from ._common import DETECTORS, Subcommands, report_input_error

__all__ = ["add_demo_command", "add_face_commands"]

_BATCH_IMAGES = 16


def _face_json(faces: Faces, i: int, *, embedding: bool, landmarks: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "box": [round(float(v), 2) for v in faces.xyxy[i]],
        "score": round(float(faces.score[i]), 4),
        "quality": round(float(faces.quality[i]), 4),
    }
    if landmarks:
        out["landmarks"] = [[round(float(x), 2), round(float(y), 2)] for x, y in faces.landmarks[i]]
    if embedding:
        out["embedding"] = [float(v) for v in faces.embedding[i]]
    return out


def _engine(args: argparse.Namespace) -> Engine:
    return Engine(
        detector=args.detector,
        upsample=args.upsample,
        landmarks=getattr(args, "landmarks", 5),
        embedder=args.embedder,
        device=args.device,
        flip_tta=False if args.no_flip_tta else None,
    )


def _cmd_detect(args: argparse.Namespace, out: TextIO) -> int:
    engine = _engine(args)
    failures = 0
    for path in args.images:
        try:
            faces = engine.detect(path)
        except FaceplaneError as exc:
            # one bad file never stops the others; exit 1 says that some failed
            failures += 1
            report_input_error(path, exc, as_json=args.json, out=out)
            continue
        if args.json:
            items = [_face_json(faces, i, embedding=False, landmarks=True) for i in range(len(faces))]
            out.write(json.dumps({"path": path, "faces": items}) + "\n")
            continue
        out.write(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''}\n")
        for i in range(len(faces)):
            x1, y1, x2, y2 = (round(float(v)) for v in faces.xyxy[i])
            out.write(
                f"  #{i + 1} box=({x1}, {y1}, {x2}, {y2}) {x2 - x1}x{y2 - y1}px "
                f"score={faces.score[i]:.3f} quality={faces.quality[i]:.2f}\n"
            )
    return 1 if failures else 0


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    engine = _engine(args)
    match = engine.verify(args.image_a, args.image_b, far=args.far, threshold=args.threshold)
    if args.json:
        out.write(
            json.dumps(
                {
                    "image_a": args.image_a,
                    "image_b": args.image_b,
                    "same_person": match.is_match,
                    "distance": round(match.distance, 6),
                    "threshold": round(match.threshold, 6),
                    "far_target": match.far_target,
                }
            )
            + "\n"
        )
    else:
        verdict = "same person" if match.is_match else "different people"
        op = "<=" if match.is_match else ">"
        out.write(f"{verdict} (distance {match.distance:.4f} {op} threshold {match.threshold:.4f})\n")
    return 0 if match.is_match else 1


def _read_paths(args: argparse.Namespace) -> list[str]:
    paths = list(args.images)
    if args.from_file:
        try:
            text = sys.stdin.read() if args.from_file == "-" else Path(args.from_file).read_text("utf-8")
        except OSError as exc:
            raise FaceplaneError(f"cannot read the path list {args.from_file}: {exc.strerror}") from None
        paths.extend(line.strip() for line in text.splitlines() if line.strip())
    if not paths:
        raise FaceplaneError("no images given (pass paths or --from FILE)")
    return paths


def _embed_batches(engine: Engine, paths: Sequence[str]) -> Iterator[tuple[str, Faces | str]]:
    for start in range(0, len(paths), _BATCH_IMAGES):
        batch = paths[start : start + _BATCH_IMAGES]
        loaded: list[tuple[str, Any]] = []
        for path in batch:
            try:
                loaded.append((path, engine.load(path)))
            except FaceplaneError as exc:
                loaded.append((path, str(exc)))
        good = [(p, img) for p, img in loaded if not isinstance(img, str)]
        results = dict(zip([p for p, _ in good], engine.analyze_many([img for _, img in good]), strict=False))
        for path, img in loaded:
            yield path, img if isinstance(img, str) else results[path]


def _cmd_embed(args: argparse.Namespace, out: TextIO) -> int:
    from tqdm import tqdm

    paths = _read_paths(args)
    engine = _engine(args)
    failures = 0
    # disable=None: the bar shows only when stderr is a terminal, so logs and CI stay clean.
    with tqdm(total=len(paths), unit="img", file=sys.stderr, disable=None) as bar:
        for path, result in _embed_batches(engine, paths):
            if isinstance(result, str):
                failures += 1
                record: dict[str, Any] = {"path": path, "error": result}
            else:
                faces = [_face_json(result, i, embedding=True, landmarks=False) for i in range(len(result))]
                record = {"path": path, "model": engine.embedding_model, "faces": faces}
            out.write(json.dumps(record) + "\n")
            out.flush()
            bar.update(1)
    return 1 if failures else 0


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ..demo import run_demo

    return run_demo(args.data, out)


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--detector", choices=DETECTORS, default="hog",
        help="face detector (default: hog; cnn = MMOD; blazeface = MediaPipe's, ~20x faster, misses tiny faces)",
    )
    p.add_argument(
        "--embedder", choices=["mobilefacenet", "dlib"], default="mobilefacenet",
        help="face descriptor (default mobilefacenet, 192-D; dlib: 128-D, commercially clean weights)",
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the ONNX models run")
    p.add_argument("--upsample", type=int, default=1, help="double the image N times before detecting (default 1)")
    p.add_argument("--landmarks", type=int, choices=[5, 68], default=5, help="landmark model (68: non-commercial)")
    p.add_argument(
        "--no-flip-tta", action="store_true",
        help="embed only the face, not also its mirror image (2x faster, slightly less accurate)",
    )


def add_face_commands(sub: Subcommands) -> None:
    """Register ``detect``, ``verify`` and ``embed``."""
    p = sub.add_parser("detect", help="find faces in images")
    _add_engine_options(p)
    p.add_argument("--json", action="store_true", help="one JSON object per image and line")
    p.add_argument("images", nargs="+", metavar="IMG")
    p.set_defaults(func=_cmd_detect)

    p = sub.add_parser("verify", help="are two photos the same person? exit 0 yes, 1 no")
    _add_engine_options(p)
    p.add_argument("--far", type=float, default=None, help="use the threshold calibrated for this false-accept rate")
    p.add_argument("--threshold", type=float, default=None, help="explicit distance threshold")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("image_a", metavar="IMG_A")
    p.add_argument("image_b", metavar="IMG_B")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser(
        "embed", help="embeddings of every face (192-D mobilefacenet, 128-D dlib), one JSON line per image"
    )
    _add_engine_options(p)
    p.add_argument("--jsonl", action="store_true", help="JSON Lines output (the default and only format)")
    p.add_argument("--from", dest="from_file", metavar="FILE", help="read image paths, one a line ('-' = stdin)")
    p.add_argument("images", nargs="*", metavar="IMG")
    p.set_defaults(func=_cmd_embed)


def add_demo_command(sub: Subcommands) -> None:
    """Register ``demo``."""
    p = sub.add_parser("demo", help="detect and verify faces on the shared sample photos")
    p.add_argument("--data", default=None, help="data folder (default: $FACEPLANE_DATA or ../shared/data)")
    p.set_defaults(func=_cmd_demo)
