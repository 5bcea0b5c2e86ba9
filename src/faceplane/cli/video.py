"""``faceplane run SOURCE...``: video analytics from the command line.

Every source (file, RTSP/RTMP/HTTP URL, ``webcam:0``) is analysed at ``--fps``; faces are tracked and
recognised once per track against the gallery in ``--data-dir``; watchlist, line, zone and visitor
events go to ``--events`` (JSON Lines) and, with a gallery, to ``<data-dir>/events``. Event snapshots and
``--annotate`` video blur every face that is not a watchlist match unless ``--no-redact`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import InvalidArgumentError
from ..events import EventBus, EventSink, EventStore, JsonlSink, safe_name
from ._common import DETECTORS, INDEXES, Subcommands, default_data_dir, template_key_from_env

if TYPE_CHECKING:
    from ..video.analyzer import ObjectSettings

__all__ = ["add_video_commands"]


def _annotate_path(base: str | None, camera: str, many: bool) -> str | None:
    if not base:
        return None
    if not many:
        return base
    path = Path(base)
    return str(path.with_name(f"{path.stem}-{safe_name(camera)}{path.suffix or '.mp4'}"))


def _workers(value: str, cameras: int) -> int:
    if value == "auto":
        return 0 if cameras == 1 else min(cameras, os.cpu_count() or 1)
    try:
        n = int(value)
    except ValueError:
        raise InvalidArgumentError(f"--workers must be a number or 'auto', got {value!r}") from None
    if n < 0:
        raise InvalidArgumentError(f"--workers must be >= 0, got {n}")
    return n


def _summary_json(s: Any) -> dict[str, Any]:
    status = s.status
    return {
        "camera": s.camera,
        "frames": s.frames,
        "faces": s.faces,
        "face_tracks": s.face_tracks,
        "embeddings": s.embeddings,
        "people_tracks": s.people_tracks,
        "object_tracks": s.object_tracks,
        "events": dict(s.events),
        "line_counts": s.line_counts,
        "class_counts": s.class_counts,
        "state": status.state.value if status else None,
        "reason": status.reason if status else "",
        "frames_dropped": status.frames_dropped if status else 0,
    }


def _object_settings(args: argparse.Namespace) -> ObjectSettings | None:
    """``--objects car,bus --objects person`` (and ``--people``) -> what the analyzer detects, or None."""
    from ..video.analyzer import ObjectSettings

    classes = ["person"] if args.people else []
    classes += [c.strip() for text in args.objects or [] for c in text.split(",") if c.strip()]
    if not classes:
        return None
    return ObjectSettings(tuple(classes), args.object_detector, args.object_input_size)


def _cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from ..gallery.gallery import Gallery
    from ..pipeline import Engine
    from ..video import AnalyzerSettings, Line, LocalAnalyzer, ProcessAnalyzer, VideoEngine, VideoSource, Zone

    lines = [Line.parse(t, f"line{i + 1}") for i, t in enumerate(args.line or [])]
    zones = [Zone.parse(t, f"zone{i + 1}") for i, t in enumerate(args.zone or [])]
    objects = _object_settings(args)
    names = args.camera or []
    if names and len(names) != len(args.sources):
        raise InvalidArgumentError(f"{len(names)} --camera names for {len(args.sources)} sources")
    # the operator's own sources, named on their command line: the server's source policy does not apply
    sources = [
        VideoSource(
            src,
            camera=names[i] if names else None,
            fps=args.fps,
            realtime=args.realtime,
            loop=args.loop,
            playlists=True,
        )
        for i, src in enumerate(args.sources)
    ]
    use_gallery = args.watchlist or args.data_dir_given or Path(args.data_dir).exists()
    key = template_key_from_env()
    gallery = Gallery.open(args.data_dir, index=args.index, template_key=key) if use_gallery else None
    sinks: list[EventSink] = []
    events_file: TextIO | None = None
    if args.events:
        events_file = sys.stdout if args.events == "-" else open(args.events, "a", encoding="utf-8")  # noqa: SIM115
        sinks.append(JsonlSink(events_file))
    store = EventStore(Path(args.data_dir) / "events") if gallery is not None else None
    engine = gallery.engine if gallery is not None else Engine()
    settings = AnalyzerSettings(
        detector=args.detector,
        upsample=args.upsample,
        detect_width=args.detect_width,
        embedder=engine.embedder_name,  # the workers cut the chips this engine embeds
    )
    workers = _workers(args.workers, len(sources))
    analyzer = ProcessAnalyzer(settings, workers=workers) if workers else LocalAnalyzer(settings)
    video = VideoEngine(
        engine=engine,
        gallery=gallery,
        watchlists=args.watchlist or [],
        bus=EventBus(sinks, store=store),
        analyzer=analyzer,
        redact_snapshots=not args.no_redact,
        redact_video=not args.no_redact,
    )
    try:
        for src in sources:
            annotate = _annotate_path(args.annotate, src.camera, len(sources) > 1)
            video.add_camera(
                src,
                lines=lines,
                zones=zones,
                annotate_to=annotate,
                objects=objects,
                fixed_camera=not args.moving_camera,
            )
        interrupted = False
        try:
            summaries = video.run(duration_s=args.duration)
        except KeyboardInterrupt:  # Ctrl-C is how a live run stops: still report what it saw
            interrupted = True
            summaries = video.summaries()
    finally:
        analyzer.close()
        if store is not None:
            store.close()
        if gallery is not None:
            gallery.close()
        if events_file is not None and events_file is not sys.stdout:
            events_file.close()
    report = sys.stderr if args.events == "-" else out
    failed = 0
    for s in summaries:
        failed += bool(s.status and s.status.state.value == "failed")
        if args.json:
            report.write(json.dumps(_summary_json(s)) + "\n")
            continue
        state = f"{s.status.state.value} {s.status.reason}".strip() if s.status else "?"
        tracked = "".join(f", {n} {'people' if c == 'person' else c} tracks" for c, n in s.object_tracks.items())
        report.write(
            f"{s.camera}: {state}; {s.frames} frames, {s.faces} faces, {s.face_tracks} face tracks, "
            f"{s.embeddings} embeddings{tracked}\n"
        )
        for kind, n in sorted(s.events.items()):
            report.write(f"  {kind}: {n}\n")
        for line, counts in s.line_counts.items():
            per_class = "".join(f"; {c} in {n['in']}, out {n['out']}" for c, n in s.class_counts.get(line, {}).items())
            report.write(f"  {line}: in {counts['in']}, out {counts['out']}{per_class}\n")
    if video.visitors.count and not args.json:
        report.write(f"unique visitors: {video.visitors.count}\n")
    return 130 if interrupted else 2 if failed else 0


class _DataDir(argparse.Action):
    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option: Any = None) -> None:
        namespace.data_dir = values
        namespace.data_dir_given = True


def add_video_commands(sub: Subcommands) -> None:
    """Register ``faceplane run``."""
    p = sub.add_parser("run", help="analyse video files, streams or webcams: track, recognise, alert, count")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="file, rtsp://..., http(s)://..., webcam:0")
    p.add_argument(
        "--data-dir",
        "--gallery",
        action=_DataDir,
        default=default_data_dir(),
        help="gallery folder to recognise against; events are kept in its events/ (default $FACEPLANE_DATA_DIR "
        "or ./faceplane-data when it exists)",
    )
    p.set_defaults(data_dir_given=False)
    p.add_argument("--index", choices=INDEXES, default="exact", help="gallery vector index")
    p.add_argument("--watchlist", action="append", metavar="COLLECTION", help="alert on people of this collection")
    p.add_argument(
        "--line",
        action="append",
        metavar="[NAME=]X1,Y1,X2,Y2[;classes=C,...]",
        help="counting line (px or 0..1); ';classes=car,bus' counts only those objects",
    )
    p.add_argument(
        "--zone",
        action="append",
        metavar="[NAME=]X1,Y1,...[;classes=C,...][;dwell=S]",
        help="zone polygon (px or 0..1); ';dwell=600': a zone.dwell event once a track is inside for 600 s",
    )
    p.add_argument("--events", metavar="FILE", help="append events as JSON Lines ('-' = stdout)")
    p.add_argument("--annotate", metavar="OUT.mp4", help="write annotated video (one file per source)")
    p.add_argument(
        "--no-redact",
        action="store_true",
        help="keep bystanders' faces in event snapshots and annotated video (default: every face that is not "
        "a watchlist match is blurred)",
    )
    p.add_argument("--fps", type=float, default=5.0, help="analysed frames per second per source (default 5)")
    p.add_argument("--camera", action="append", metavar="NAME", help="camera ids, one per source, in order")
    p.add_argument("--people", action="store_true", help="detect and count people: short for --objects person")
    p.add_argument(
        "--objects",
        action="append",
        metavar="CLASS[,CLASS]",
        help="detect, track and count these COCO objects (person, bicycle, car, motorcycle, bus, truck...); "
        "lines and zones then count object tracks instead of faces",
    )
    p.add_argument(
        "--object-detector",
        choices=["nanodet", "centernet", "hog"],
        default="nanodet",
        help="object detector (default nanodet; hog: OpenCV's people detector, people only)",
    )
    p.add_argument("--object-input-size", type=int, default=None, metavar="PX", help="CNN input side, a multiple of 32")
    p.add_argument(
        "--moving-camera", action="store_true", help="no background model for people (PTZ, body-worn, phone)"
    )
    p.add_argument(
        "--detector",
        choices=DETECTORS,
        default="blazeface",
        help="face detector (default blazeface, from the model store; hog: frontal faces, 20x slower)",
    )
    p.add_argument("--upsample", type=int, default=1, help="face detector upsampling (1: faces from ~40 px)")
    p.add_argument(
        "--detect-width", type=int, default=960, metavar="PX", help="detect on frames shrunk to this width (0: full)"
    )
    p.add_argument("--workers", default="auto", help="detector processes (auto: one per source up to the cores)")
    p.add_argument("--realtime", action="store_true", help="read files at their own speed, like cameras")
    p.add_argument("--loop", action="store_true", help="restart files at their end")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    p.add_argument("--json", action="store_true", help="print the summary as JSON Lines")
    p.set_defaults(func=_cmd_run)
