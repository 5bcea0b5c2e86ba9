"""Concurrent 720p streams at 5 analysed fps with recognition on, side by side with the naive loop.

Run:  python bench/streams.py            (~10 min; --quick: ~3 min; --streams 1,2,3 --duration 30 ...)

- Streams: two shared clips re-encoded once (by PyAV's own FFmpeg, libx264: no ffmpeg binary needed)
  to 1280x720 H.264 at 30 fps into bench/out/ (cached): the Hamilton clip (Lin-Manuel Miranda on
  screen, enrolled in a watchlist, so alerts happen) and Intel's people-walking clip. Stream i
  (1-based) is Hamilton when i is odd. Each is a looping ``VideoSource(realtime=True)``, paced like a
  live camera: when analysis lags, frames are dropped.
- Engine: ``VideoEngine`` + ``ProcessAnalyzer`` (the face detector, landmarks, chips, quality in worker
  processes), tracking, recognition once per track (the default embedder in the main process), gallery
  search, watchlist rules, events. For N = 1, 2, ... streams (stopping once clearly unsustained):
  analysed fps per stream (median over streams) and in total, dropped share, sustained (every stream
  >= 4.5 analysed fps), alert latency (frame decoded -> watchlist.start published), embeddings per
  analysed face, and the CPU cores used by the main process, the workers and everybody else.
- Reference: the loop a face_recognition user writes, in one process, on the same 720p frames:
  ``face_locations`` (dlib HOG, upsample 1) then ``face_encodings`` (5-point shape predictor +
  ``compute_face_descriptor``, 1 jitter) and ``face_distance`` to Lin's encoding, on every frame.
  face_recognition itself is not installable here (it compiles dlib); these are the same dlib calls
  with the same weights and arguments, so the loop is equivalent.
- Sweeps: ``blazeface`` (the video default: MediaPipe's full-range BlazeFace on onnxruntime, from the
  model store) and ``hog<width>`` (dlib HOG upsample 1 on frames shrunk to that width, the old default);
  ``+objects`` adds person and car detection and tracking (NanoDet at its 416 px input, in the same
  worker processes) to every camera: faces + objects at 5 fps.
- Capacity rows: N streams more than the machine can take, so the total analysed fps is the
  throughput ceiling of that setting (``detect_width``, workers, onnxruntime threads).

The machine is shared: ``uptime`` before and after, and every run reports the cores other processes
used meanwhile. Prints markdown tables; writes bench/out/streams.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
TARGET_FPS = 5.0
SUSTAINED_FPS = 4.5  # every stream at >= 90% of the target
CLIPS = {  # name -> path under the data folder
    "hamilton": "faces/face_recognition-examples/examples/short_hamilton_clip.mp4",
    "walking": "video/intel-sample-videos/one-by-one-person-detection.mp4",
}
WALKING_SECONDS = 60  # of the 139 s clip: it loops anyway, and encoding it all takes long
OBJECTS = ("person", "car")  # what a "+objects" sweep detects beside faces
OBJECT_DETECTOR = "nanodet"  # the engine's default object model, at its own input size


def _data(arg: str | None) -> Path:
    return Path(arg or os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")


# -- test streams -------------------------------------------------------------------------------


def make_streams(data: Path) -> dict[str, Path]:
    """1280x720 H.264 30 fps copies of the clips in bench/out/ (made once, then reused)."""
    OUT.mkdir(parents=True, exist_ok=True)
    made = {}
    for name, rel in CLIPS.items():
        src, dst = data / rel, OUT / f"streams_{name}_720p30.mp4"
        made[name] = dst
        if dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime:
            continue
        if not src.is_file():
            raise SystemExit(f"missing clip {src} (set --data or $FACEPLANE_DATA)")
        print(f"encoding {dst.name} ...", file=sys.stderr)
        tmp = dst.with_name(dst.name + ".tmp.mp4")
        encode_720p30(src, tmp, limit_s=WALKING_SECONDS if name == "walking" else None)
        os.replace(tmp, dst)
    return made


def encode_720p30(src: Path, dst: Path, limit_s: float | None = None, fps: int = 30) -> None:
    """Re-encode ``src`` to 1280x720 H.264 at ``fps`` with PyAV's own FFmpeg (no ffmpeg binary needed).

    The same as ``ffmpeg -t LIMIT -i SRC -an -vf scale=1280:720:flags=bicubic,fps=30 -c:v libx264
    -preset veryfast -crf 20 -pix_fmt yuv420p -g 60 DST``: as FFmpeg's fps filter, an input frame at t s
    takes output slot round(t * fps) and the slots up to the next one's, so a 10 fps clip shows each frame
    3 times and a 29.97 fps one repeats one frame in a thousand.
    """
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "20", "g": "60"})
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        slot = 0

        def emit(frame: av.VideoFrame, until_s: float) -> None:  # output slots before until_s show frame
            nonlocal slot
            while slot < round(until_s * fps):
                scaled = frame.reformat(1280, 720, "yuv420p", interpolation="BICUBIC")
                scaled.pts, scaled.time_base = slot, Fraction(1, fps)
                out.mux(stream.encode(scaled))
                slot += 1

        prev: tuple[av.VideoFrame, float] | None = None
        in_rate = float(inp.streams.video[0].average_rate or fps)
        for frame in inp.decode(video=0):
            t = float(frame.time or 0.0)
            if limit_s is not None and t >= limit_s:
                break
            if prev is not None:
                emit(prev[0], t)
            prev = (frame, t)
        if prev is not None:
            last_s = prev[1] + 1 / in_rate
            emit(prev[0], last_s if limit_s is None else min(last_s, limit_s))
        out.mux(stream.encode(None))


def sample_frames(path: Path, n: int, every: int = 6) -> list[np.ndarray]:
    """The first ``n`` frames a 5 fps sampler keeps (every 6th of 30 fps), as RGB arrays."""
    import av

    frames = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % every == 0:
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) == n:
                    break
    return frames


# -- CPU accounting -----------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds of this process, of its children (the analyzer workers) and of everybody else."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.start = self._read()
        self.t0 = time.perf_counter()

    def _read(self) -> tuple[float, float, float]:
        mine = self.me.cpu_times()
        kids = 0.0
        for child in self.me.children(recursive=True):
            try:
                t = child.cpu_times()
                kids += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        total = psutil.cpu_times()
        busy = total.user + total.system + total.nice + getattr(total, "irq", 0) + getattr(total, "softirq", 0)
        return mine.user + mine.system, kids, busy

    def cores(self) -> dict[str, float]:
        """Average cores used since construction: main, workers, others (rest of the machine)."""
        end = self._read()
        wall = time.perf_counter() - self.t0
        main, kids, busy = (e - s for e, s in zip(end, self.start, strict=True))
        return {"main": main / wall, "workers": kids / wall, "others": max(0.0, busy - main - kids) / wall}


# -- faceplane ----------------------------------------------------------------------------------


@dataclass
class Config:
    detect_width: int = 960
    workers: int = 2
    embed_threads: int = 1  # onnxruntime threads of the main-process embedder (0: one per core)
    queue_size: int | None = None  # VideoSource's frame queue (None: its default, 1 for realtime sources)
    detector: str = "hog"  # or "blazeface"
    objects: tuple[str, ...] = ()  # also detect and track these objects (OBJECT_DETECTOR, every camera)

    @property
    def label(self) -> str:
        label = f"{self.detector} {self.detect_width or 'full'}"
        return f"{label} + {'/'.join(self.objects)} ({OBJECT_DETECTOR})" if self.objects else label


@dataclass
class Run:
    config: Config
    streams: int
    duration_s: float
    fps_per_stream: list[float]
    frames_emitted: int
    frames_dropped: int
    faces: int
    hamilton_faces_per_frame: float
    embeddings: int
    alerts: int
    alert_latency_s: list[float]
    cores: dict[str, float]
    errors: int
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def total_fps(self) -> float:
        return sum(self.fps_per_stream)

    @property
    def sustained(self) -> bool:
        return min(self.fps_per_stream) >= SUSTAINED_FPS


def _gallery(tmp: Path, data: Path, embed_threads: int):  # -> Gallery (imported lazily)
    from faceplane import Engine, Gallery

    gallery = Gallery.open(tmp, engine=Engine(num_threads=embed_threads))
    gallery.create_collection("watchlist")
    lin = data / "faces/face_recognition-examples/examples/lin-manuel-miranda.png"
    report = gallery.enroll("watchlist", [lin], name="Lin-Manuel Miranda")
    if not report.template_ids:
        raise SystemExit(f"could not enroll {lin}: {report.rejected}")
    return gallery


def _object_settings(config: Config):  # -> ObjectSettings | None (imported lazily)
    from faceplane.video.analyzer import ObjectSettings

    return ObjectSettings(config.objects, detector=OBJECT_DETECTOR) if config.objects else None


def run_engine(clips: dict[str, Path], data: Path, n: int, duration_s: float, config: Config) -> Run:
    """Run ``n`` looping realtime 720p streams through the video engine for ``duration_s``."""
    from faceplane.events import EventBus, MemorySink
    from faceplane.video import AnalyzerSettings, ProcessAnalyzer, VideoEngine, VideoSource

    with tempfile.TemporaryDirectory(prefix="faceplane-streams-") as tmp:
        gallery = _gallery(Path(tmp), data, config.embed_threads)
        sink = MemorySink()
        settings = AnalyzerSettings(
            detector=config.detector,  # type: ignore[arg-type]
            detect_width=config.detect_width,
            embedder=gallery.engine.embedder_name,
        )
        analyzer = ProcessAnalyzer(settings, workers=config.workers)
        try:
            # start the workers and load their models before the clock starts
            blank = np.zeros((720, 1280, 3), np.uint8)
            for fut in [analyzer.submit(blank) for _ in range(2 * config.workers)]:
                fut.result()
            video = VideoEngine(
                engine=gallery.engine,
                gallery=gallery,
                watchlists=["watchlist"],
                bus=EventBus([sink]),
                analyzer=analyzer,
            )
            for i in range(n):
                clip = clips["hamilton" if i % 2 == 0 else "walking"]
                source = VideoSource(
                    str(clip),
                    camera=f"cam{i + 1}",
                    fps=TARGET_FPS,
                    realtime=True,
                    loop=True,
                    queue_size=config.queue_size,
                )
                video.add_camera(source, objects=_object_settings(config))
            meter = CpuMeter()
            summaries = video.run(duration_s=duration_s)
            cores = meter.cores()
        finally:
            analyzer.close()
            gallery.close()
    ham = [s for i, s in enumerate(summaries) if i % 2 == 0]
    return Run(
        config=config,
        streams=n,
        duration_s=duration_s,
        fps_per_stream=[s.frames / duration_s for s in summaries],
        frames_emitted=sum(s.status.frames_emitted for s in summaries if s.status),
        frames_dropped=sum(s.status.frames_dropped for s in summaries if s.status),
        faces=sum(s.faces for s in summaries),
        hamilton_faces_per_frame=sum(s.faces for s in ham) / max(1, sum(s.frames for s in ham)),
        embeddings=sum(s.embeddings for s in summaries),
        alerts=len(sink.of_kind("watchlist.start")),
        alert_latency_s=[x for s in summaries for x in s.alert_latency_s],
        cores=cores,
        errors=sum(s.errors for s in summaries),
        extra={"object_tracks": dict(sum((Counter(s.object_tracks) for s in summaries), Counter()))},
    )


# -- the naive face_recognition loop ------------------------------------------------------------


def naive_loop(frames_by_clip: dict[str, list[np.ndarray]], lin_png: Path) -> dict[str, object]:
    """face_locations + face_encodings + face_distance on every frame, as face_recognition does it."""
    import dlib

    from faceplane import load_image
    from faceplane.models.registry import weights_path

    detector = dlib.get_frontal_face_detector()
    shape = dlib.shape_predictor(str(weights_path("landmarks5")))
    encoder = dlib.face_recognition_model_v1(str(weights_path("resnet")))

    def encodings(rgb: np.ndarray) -> list[np.ndarray]:
        rects = detector(rgb, 1)  # face_recognition.face_locations(rgb): HOG, upsample 1
        return [np.array(encoder.compute_face_descriptor(rgb, shape(rgb, r), 1)) for r in rects]

    lin = encodings(load_image(lin_png))[0]
    per_frame: list[float] = []
    result: dict[str, object] = {}
    for name, frames in frames_by_clip.items():
        times, faces, matches = [], 0, 0
        for rgb in frames:
            start = time.perf_counter()
            encs = encodings(rgb)
            distances = [float(np.linalg.norm(e - lin)) for e in encs]  # face_distance
            matches += sum(d <= 0.6 for d in distances)  # compare_faces(tolerance=0.6)
            times.append(time.perf_counter() - start)
            faces += len(encs)
        per_frame += times
        result[name] = {"frames": len(frames), "fps": 1 / statistics.median(times), "faces": faces, "matches": matches}
    # the streams are half Hamilton, half walking: the rate of that mix, from each clip's median frame time
    result["fps"] = len(frames_by_clip) / sum(1 / d["fps"] for d in result.values())  # type: ignore[index]
    return result


def stage_times(frames: list[np.ndarray], detect_width: int) -> dict[str, float]:
    """ms per 720p frame of one analyzer worker: HOG on the (shrunk) frame, and the whole analysis."""
    import cv2

    from faceplane import Engine
    from faceplane.models.dlib_models import HogDetector

    engine, hog = Engine(num_threads=1, detect_width=detect_width), HogDetector(upsample=1)
    engine.detect_detailed(frames[0])
    hog_ms, all_ms, faces = [], [], 0
    for rgb in frames:
        start = time.perf_counter()
        small = (
            rgb
            if not detect_width
            else cv2.resize(
                rgb, (detect_width, round(rgb.shape[0] * detect_width / rgb.shape[1])), interpolation=cv2.INTER_AREA
            )
        )
        hog.detect(small)
        hog_ms.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        faces += len(engine.detect_detailed(rgb)[0])
        all_ms.append(1000 * (time.perf_counter() - start))
    return {
        "hog_ms": statistics.median(hog_ms),
        "analysis_ms": statistics.median(all_ms),
        "faces_per_frame": faces / len(frames),
    }


# -- report -------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _row(r: Run) -> str:
    lat = r.alert_latency_s
    lat_s = f"{statistics.median(lat):.2f} / {_pct(lat, 95):.2f} ({len(lat)})" if lat else "- (0)"
    per_face = r.embeddings / r.faces if r.faces else float("nan")
    c = r.cores
    return (
        f"| {r.streams} | {r.config.label} | {r.config.workers} | {r.config.embed_threads or 'auto'} "
        f"| {r.config.queue_size or '1 (default)'} "
        f"| {statistics.median(r.fps_per_stream):.2f} ({min(r.fps_per_stream):.2f}) | {r.total_fps:.1f} "
        f"| {100 * r.frames_dropped / max(1, r.frames_emitted):.0f}% | {'yes' if r.sustained else 'no'} "
        f"| {lat_s} | {r.hamilton_faces_per_frame:.2f} | {per_face:.3f} "
        f"| {c['main']:.2f} + {c['workers']:.2f} | {_cpu_ms(r):.0f} | {c['others']:.2f} |"
    )


def _cpu_ms(r: Run) -> float:
    """CPU ms (main + workers) per analysed frame: the load-independent cost of a frame."""
    return 1000 * (r.cores["main"] + r.cores["workers"]) / max(r.total_fps, 1e-9)


HEADER = (
    "| streams | detector, width | workers | ort threads | queue | fps/stream median (min) | total fps | dropped "
    "| sustained | alert latency s median / p95 (n) | faces/frame (Hamilton) | embeddings/face "
    "| cores main + workers | CPU ms/frame | cores others |\n" + "|---" * 15 + "|"
)


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="shared data folder (default $FACEPLANE_DATA or ../shared/data)")
    p.add_argument("--streams", default="2,4,8,12,16", help="stream counts to try, in order")
    p.add_argument("--duration", type=float, default=40.0, help="seconds per stream count")
    p.add_argument(
        "--sweeps",
        default="blazeface960,blazeface960+objects,hog640",
        help="analyzers to sweep: blazeface<detect_width> and hog<detect_width> (0: full 1280); "
        f"+objects: also {'/'.join(OBJECTS)} with {OBJECT_DETECTOR}",
    )
    p.add_argument("--workers", type=int, default=2, help="analyzer processes of the sweep")
    p.add_argument("--naive-frames", type=int, default=30, help="frames of each clip for the naive loop")
    p.add_argument("--capacity-streams", type=int, default=5, help="streams of the capacity rows (overload)")
    p.add_argument("--capacity-duration", type=float, default=20.0, help="seconds per capacity row")
    p.add_argument("--no-capacity", action="store_true", help="skip the detect_width / workers rows")
    p.add_argument("--quick", action="store_true", help="short runs (~3 min)")
    args = p.parse_args()
    if args.quick:
        args.duration, args.naive_frames, args.capacity_duration = 15.0, 10, 10.0
        args.streams = "4,8,12" if args.streams == p.get_default("streams") else args.streams
    return args


def _sweep_config(spec: str, workers: int) -> Config | None:
    base, plus, extra = spec.partition("+")
    objects = OBJECTS if plus and extra == "objects" else ()
    for detector in ("blazeface", "hog"):
        if base.startswith(detector) and base[len(detector) :].isdigit() and bool(plus) == bool(objects):
            return Config(int(base[len(detector) :]), workers, detector=detector, objects=objects)
    raise SystemExit(f"--sweeps: expected blazeface<width> or hog<width>, optionally +objects, got {spec!r}")


def _sweep(args: argparse.Namespace, clips: dict[str, Path], data: Path, config: Config) -> list[Run]:
    runs: list[Run] = []
    for n in (int(s) for s in args.streams.split(",")):
        run = run_engine(clips, data, n, args.duration, config)
        runs.append(run)
        print(_row(run), file=sys.stderr)
        if not run.sustained and statistics.median(run.fps_per_stream) < 0.8 * TARGET_FPS:
            break  # clearly unsustained: more streams only share the same ceiling
    return runs


def _capacity(args: argparse.Namespace, clips: dict[str, Path], data: Path) -> list[Run]:
    configs = [Config(0, 2), Config(640, 1), Config(640, 2), Config(640, 2, queue_size=4), Config(640, 2, 0)]
    runs = []
    for config in configs:
        run = run_engine(clips, data, args.capacity_streams, args.capacity_duration, config)
        runs.append(run)
        print(_row(run), file=sys.stderr)
    return runs


def _verdict(runs: list[Run], naive_fps: float) -> dict[str, object]:
    """Sustained streams, ceiling and ratios of one sweep; a projection for 2 idle cores."""
    sustained = [r for r in runs if r.sustained]
    best = max(sustained, key=lambda r: r.streams) if sustained else None
    ceiling = max(runs, key=lambda r: r.total_fps)
    cpu_ms = statistics.median(_cpu_ms(r) for r in runs)
    return {
        "analyzer": runs[0].config.label,
        "sustained_streams": best.streams if best else 0,
        "sustained_total_fps": best.total_fps if best else 0.0,
        "ratio_sustained": (best.total_fps if best else 0.0) / naive_fps,
        "ceiling_total_fps": ceiling.total_fps,
        "ratio_ceiling": ceiling.total_fps / naive_fps,
        "cpu_ms_per_frame": cpu_ms,
        "idle_machine_fps": 1000 * (os.cpu_count() or 1) / cpu_ms,
    }


def _print_report(args: argparse.Namespace, res: dict) -> None:  # type: ignore[type-arg]
    print(f"\n## 720p streams at {TARGET_FPS:g} analysed fps, recognition on ({args.duration:g} s per row)\n")
    print(f"machine: {os.cpu_count()} cores; before: `{res['uptime_before']}`; after: `{res['uptime_after']}`\n")
    print(HEADER)
    for runs in res["sweeps"].values():
        for r in runs:
            print(_row(r))
    if res["capacity"]:
        print(f"\n### Capacity: {args.capacity_streams} streams (overload), {args.capacity_duration:g} s per row\n")
        print(HEADER)
        for r in res["capacity"]:
            print(_row(r))
    print("\n### One analyzer, per 720p Hamilton frame (median, in this process)\n")
    print("| detect width | HOG ms | whole analysis ms | faces/frame |\n|---|---|---|---|")
    for w, st in res["stages"].items():
        print(f"| {w or 'full'} | {st['hog_ms']:.0f} | {st['analysis_ms']:.0f} | {st['faces_per_frame']:.2f} |")
    naive = res["naive"]
    print("\n### Naive face_recognition loop (one process, every frame: HOG up 1 + 5-pt + descriptor)\n")
    print("| clip | frames | fps | faces | matches Lin (<= 0.6) |\n|---|---|---|---|---|")
    for name in CLIPS:
        d = naive[name]
        print(f"| {name} | {d['frames']} | {d['fps']:.2f} | {d['faces']} | {d['matches']} |")
    print(f"| half and half (as the streams) | | {naive['fps']:.2f} | | |\n")
    for v in res["verdicts"]:
        print(
            f"- {v['analyzer']}: sustained {v['sustained_streams']} streams = "
            f"{v['sustained_total_fps']:.1f} analysed fps = {v['ratio_sustained']:.1f}x the naive loop; "
            f"ceiling {v['ceiling_total_fps']:.1f} fps = {v['ratio_ceiling']:.1f}x; {v['cpu_ms_per_frame']:.0f} CPU ms "
            f"per analysed frame, i.e. ~{v['idle_machine_fps']:.0f} fps (~{v['idle_machine_fps'] / TARGET_FPS:.1f} "
            f"streams) if the {os.cpu_count()} cores were idle"
        )
    print(f"\nTarget: >= 4 streams and >= 10x the naive loop's {naive['fps']:.2f} fps.")


def _as_json(run: Run) -> dict[str, object]:
    return asdict(run) | {"total_fps": run.total_fps, "sustained": run.sustained, "cpu_ms_per_frame": _cpu_ms(run)}


def main() -> int:
    args = _parse()
    data = _data(args.data)
    res: dict = {"args": vars(args), "cpu_count": os.cpu_count(), "uptime_before": _uptime()}  # type: ignore[type-arg]
    clips = make_streams(data)
    frames = {name: sample_frames(path, args.naive_frames) for name, path in clips.items()}
    res["stages"] = {w: stage_times(frames["hamilton"], w) for w in (0, 960, 640)}
    res["naive"] = naive_loop(frames, data / "faces/face_recognition-examples/examples/lin-manuel-miranda.png")
    print(f"naive loop: {res['naive']['fps']:.2f} frames/s", file=sys.stderr)
    configs = [c for c in (_sweep_config(s, args.workers) for s in args.sweeps.split(",")) if c is not None]
    res["sweeps"] = {c.label: _sweep(args, clips, data, c) for c in configs}
    res["capacity"] = [] if args.no_capacity else _capacity(args, clips, data)
    res["uptime_after"] = _uptime()
    res["verdicts"] = [_verdict(runs, res["naive"]["fps"]) for runs in res["sweeps"].values()]
    _print_report(args, res)
    record = res | {
        "stages": {str(k): v for k, v in res["stages"].items()},
        "sweeps": {label: [_as_json(r) for r in runs] for label, runs in res["sweeps"].items()},
        "capacity": [_as_json(r) for r in res["capacity"]],
    }
    (OUT / "streams.json").write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
