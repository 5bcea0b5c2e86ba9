"""Cameras on a local Ray cluster as nodes are added, side by side with the single-process video engine.

Run:  python bench/cluster.py            (~5 min; --quick: ~2 min; --rows 360p:1x1,720p:2x1 --duration 30 ...)

- Cluster: ``ray.cluster_utils.Cluster`` on this machine, a head with 0 CPUs (it only hosts the GCS)
  and N = 1, 2, 3 worker nodes of ``num_cpus=1`` each. Every node is a set of processes on the same
  machine, so whatever N is, the compute is bounded by its physical cores (2, shared with colleagues):
  3 nodes oversubscribe them. The rows measure the software path (placement, a camera worker's cost,
  the shared embedder, events back to the API process), not a real scale-out.
- Cameras: ``RayVideoCluster`` (faceplane.cluster.ray_video), one ``CameraWorker`` actor per camera
  (``num_cpus=1``, SPREAD: one camera per node of one CPU), a shared batching ``Embedder`` actor and
  a ``GalleryServer`` actor; Lin-Manuel Miranda enrolled in the watchlist. Every source loops with
  ``realtime=True`` (paced like a live camera: frames dropped when the analysis lags) at ``fps=5``.
  ``360p`` rows: every camera plays the original 640x360 Hamilton clip (a typical camera sub-stream,
  faces in most frames). ``720p`` rows: bench/streams.py's 1280x720 H.264 copies, Hamilton for odd
  cameras and Intel's people-walking clip for even ones. The workers run the default analysis (HOG
  upsample 1, ``detect_width`` 960, landmarks, chips, quality) in their own thread: ``RayVideoCluster``
  takes no analyzer settings. ``<stream>:<nodes>x<cpus>`` rows put ``cpus`` cameras on each node.
- Measured over a fixed window after a warm-up (every camera analysing): analysed frames/s per camera
  against the 5 fps target (sustained: every camera >= 95 %), the share of decoded frames dropped, the
  CPU ms per analysed frame of each camera worker (psutil on ``state().pid``) and of everything
  (every Ray process: workers, embedder, gallery, raylets, GCS; plus the API process), the embedder's
  faces per batch (``embedder_stats()``), alerts stored, the nodes the cameras ran on, start-up time.
- Reference: the same cameras in one process, ``VideoEngine`` + ``ProcessAnalyzer`` (2 workers,
  detect_width 960): what ``faceplane serve`` runs without ``--cluster``.

The machine is shared: ``uptime`` before and after, and every row reports the cores other processes
used meanwhile. Prints a markdown table; writes bench/out/cluster.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from streams import CpuMeter, _data, _gallery, _uptime, make_streams

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
TARGET_FPS = 5.0
SUSTAINED = 0.95  # a camera keeps up when it analyses >= 95 % of the target rate
ORIGINAL = "faces/face_recognition-examples/examples/short_hamilton_clip.mp4"  # 640x360, 29.97 fps, 9 s
WATCHLIST = "watchlist"  # the collection bench/streams.py's _gallery enrolls Lin into


@dataclass
class Row:
    """One configuration over the measuring window."""

    mode: str  # "ray" or "embedded"
    setup: Setup
    cameras: int
    window_s: float
    fps: list[float]  # (cameras,) analysed frames/s of each camera over the window
    dropped: float  # share of decoded frames dropped by the realtime sources
    worker_ms: list[float]  # (cameras,) CPU ms per analysed frame of each camera worker (ray only)
    total_ms: float  # CPU ms per analysed frame of everything faceplane ran (API process + Ray or workers)
    cores: dict[str, float]  # average cores: main (API process), children (Ray or analyzer processes), others
    faces_per_batch: float  # the embedder's faces per batch (ray only)
    batches: int
    embeddings: int  # faces embedded during the window (all cameras)
    events: int  # events the cameras emitted during the window
    alerts: int  # watchlist.start events stored during the window
    camera_nodes: int  # distinct nodes the cameras ran on
    startup_s: float  # cluster up + every camera analysing

    @property
    def total_fps(self) -> float:
        return sum(self.fps)

    @property
    def sustained(self) -> bool:
        return min(self.fps) >= SUSTAINED * TARGET_FPS


def _cpu_s(pid: int) -> float:
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return float("nan")
    return t.user + t.system


def _clip(clips: dict[str, Path], stream: str, i: int) -> Path:
    if stream == "360p":
        return clips["original"]
    return clips["hamilton" if i % 2 == 0 else "walking"]


@dataclass(frozen=True)
class Setup:
    """One row to run: the stream kind, Ray worker nodes and the CPUs (= cameras) each declares."""

    stream: str  # "360p" (the original Hamilton clip) or "720p" (bench/streams.py's copies)
    nodes: int
    cpus: int

    @property
    def cameras(self) -> int:
        return self.nodes * self.cpus

    @classmethod
    def parse(cls, text: str) -> Setup:
        """``"360p:2x1"`` -> 2 nodes of 1 CPU on the 640x360 clip."""
        stream, _, shape = text.partition(":")
        nodes, _, cpus = shape.partition("x")
        if stream not in ("360p", "720p") or not nodes.isdigit() or not cpus.isdigit():
            raise SystemExit(f"--rows: expected 360p|720p:<nodes>x<cpus>, got {text!r}")
        return cls(stream, int(nodes), int(cpus))


# -- Ray -----------------------------------------------------------------------------------------


def _states(video: object, names: list[str]) -> list:  # -> list[CameraState]
    return [video.state(n) for n in names]  # type: ignore[attr-defined]


def _all_analysing(video: object, names: list[str]) -> bool:
    try:
        return all(s.frames >= 3 for s in _states(video, names))
    except Exception:  # a worker still loading its models: its call timed out
        return False


def run_ray(clips: dict[str, Path], data: Path, setup: Setup, args: argparse.Namespace) -> Row:
    """``setup.nodes`` local nodes of ``setup.cpus`` CPUs, as many cameras as CPUs; measure after a warm-up."""
    import ray
    from ray.cluster_utils import Cluster

    from faceplane.cluster.ray_video import RayVideoCluster, wait_until
    from faceplane.config import CameraConfig
    from faceplane.events import EventBus, EventStore

    names = [f"cam{i + 1}" for i in range(setup.cameras)]
    with tempfile.TemporaryDirectory(prefix="faceplane-cluster-") as tmp:
        _gallery(Path(tmp) / "gallery", data, 1).close()
        t0 = time.perf_counter()
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
        try:
            for _ in range(setup.nodes):
                cluster.add_node(num_cpus=setup.cpus)
            ray.init(address=cluster.address, include_dashboard=False, logging_level=logging.WARNING)
            store = EventStore(Path(tmp) / "events")
            video = RayVideoCluster(
                gallery_path=str(Path(tmp) / "gallery"), bus=EventBus(store=store), watchlists=[WATCHLIST]
            )
            try:
                for i, name in enumerate(names):
                    source = str(_clip(clips, setup.stream, i))
                    config = CameraConfig(
                        id=name, source=source, fps=TARGET_FPS, loop=True, realtime=True, people=False, fixed=True
                    )
                    video.add_camera(config)
                if not wait_until(lambda: _all_analysing(video, names), 240, 1.0):
                    raise SystemExit(f"{setup}: not every camera started analysing within 240 s")
                startup_s = time.perf_counter() - t0
                time.sleep(args.warmup)
                return _measure_ray(video, store, names, setup, args.duration, startup_s)
            finally:
                video.close()
        finally:
            ray.shutdown()
            cluster.shutdown()


def _measure_ray(
    video: object, store: object, names: list[str], setup: Setup, window_s: float, startup_s: float
) -> Row:
    before = _states(video, names)
    cpu0 = [_cpu_s(s.pid) for s in before]
    emb0 = video.embedder_stats()  # type: ignore[attr-defined]
    alerts0 = store.count(kinds=["watchlist.start"])  # type: ignore[attr-defined]
    meter = CpuMeter()
    time.sleep(window_s)
    cores = meter.cores()
    after = _states(video, names)
    cpu1 = [_cpu_s(s.pid) for s in after]
    emb1 = video.embedder_stats()  # type: ignore[attr-defined]
    if any(a.pid != b.pid for a, b in zip(after, before, strict=True)):
        print("warning: a camera worker restarted during the window", file=sys.stderr)
    frames = [a.frames - b.frames for a, b in zip(after, before, strict=True)]
    emitted = sum(a.status.frames_emitted - b.status.frames_emitted for a, b in zip(after, before, strict=True))
    dropped = sum(a.status.frames_dropped - b.status.frames_dropped for a, b in zip(after, before, strict=True))
    batches = sum(e[0] for e in emb1) - sum(e[0] for e in emb0)
    faces = sum(e[1] for e in emb1) - sum(e[1] for e in emb0)
    return Row(
        mode="ray",
        setup=setup,
        cameras=len(names),
        window_s=window_s,
        fps=[f / window_s for f in frames],
        dropped=dropped / max(1, emitted + dropped),
        worker_ms=[1000 * (c1 - c0) / max(1, f) for c0, c1, f in zip(cpu0, cpu1, frames, strict=True)],
        total_ms=1000 * (cores["main"] + cores["workers"]) * window_s / max(1, sum(frames)),
        cores={"main": cores["main"], "children": cores["workers"], "others": cores["others"]},
        faces_per_batch=faces / max(1, batches),
        batches=batches,
        embeddings=faces,
        events=sum(sum(a.events.values()) - sum(b.events.values()) for a, b in zip(after, before, strict=True)),
        alerts=store.count(kinds=["watchlist.start"]) - alerts0,  # type: ignore[attr-defined]
        camera_nodes=len({s.node_id for s in after}),
        startup_s=startup_s,
    )


# -- the embedded engine (reference) --------------------------------------------------------------


def run_embedded(clips: dict[str, Path], data: Path, setup: Setup, args: argparse.Namespace) -> Row:
    """The same cameras in one ``VideoEngine`` with a 2-process analyzer, as ``faceplane serve``."""
    from faceplane.events import EventBus, MemorySink
    from faceplane.video import AnalyzerSettings, ProcessAnalyzer, VideoEngine, VideoSource

    with tempfile.TemporaryDirectory(prefix="faceplane-cluster-ref-") as tmp:
        t0 = time.perf_counter()
        gallery = _gallery(Path(tmp), data, 1)
        analyzer = ProcessAnalyzer(AnalyzerSettings(), workers=2)
        sink = MemorySink()
        video = VideoEngine(
            engine=gallery.engine, gallery=gallery, watchlists=[WATCHLIST], bus=EventBus([sink]), analyzer=analyzer
        )
        thread = threading.Thread(target=video.run, kwargs={"forever": True}, daemon=True)
        try:
            for i in range(setup.cameras):
                clip = str(_clip(clips, setup.stream, i))
                source = VideoSource(clip, camera=f"cam{i + 1}", fps=TARGET_FPS, realtime=True, loop=True)
                video.add_camera(source)
            thread.start()
            while min(c.summary.frames for c in video.cameras) < 3:
                time.sleep(0.5)
            startup_s = time.perf_counter() - t0
            time.sleep(args.warmup)
            frames0 = [c.summary.frames for c in video.cameras]
            counts0 = _counts(video)
            status0 = [c.source.status for c in video.cameras]
            alerts0 = len(sink.of_kind("watchlist.start"))
            meter = CpuMeter()
            time.sleep(args.duration)
            cores = meter.cores()
            frames = [c.summary.frames - f for c, f in zip(video.cameras, frames0, strict=True)]
            embeddings, events = (b - a for a, b in zip(counts0, _counts(video), strict=True))
            status1 = [c.source.status for c in video.cameras]
            alerts = len(sink.of_kind("watchlist.start")) - alerts0
        finally:
            video.stop()
            thread.join(30)
            analyzer.close()
            gallery.close()
    emitted = sum(b.frames_emitted - a.frames_emitted for a, b in zip(status0, status1, strict=True))
    dropped = sum(b.frames_dropped - a.frames_dropped for a, b in zip(status0, status1, strict=True))
    return Row(
        mode="embedded",
        setup=setup,
        cameras=setup.cameras,
        window_s=args.duration,
        fps=[f / args.duration for f in frames],
        dropped=dropped / max(1, emitted + dropped),
        worker_ms=[],
        total_ms=1000 * (cores["main"] + cores["workers"]) * args.duration / max(1, sum(frames)),
        cores={"main": cores["main"], "children": cores["workers"], "others": cores["others"]},
        faces_per_batch=float("nan"),
        batches=0,
        embeddings=embeddings,
        events=events,
        alerts=alerts,
        camera_nodes=1,
        startup_s=startup_s,
    )


def _counts(video: object) -> tuple[int, int]:
    """(embeddings, events) of every camera of an embedded engine so far."""
    cams = video.cameras  # type: ignore[attr-defined]
    return sum(c.summary.embeddings for c in cams), sum(sum(c.summary.events.values()) for c in cams)


# -- report ---------------------------------------------------------------------------------------


HEADER = (
    "| stream | mode | nodes x CPUs | cameras | on nodes | fps/camera median (min) | total fps | dropped "
    "| sustained >= 95% | worker CPU ms/frame median | all CPU ms/frame | cores API + cluster | cores others "
    "| embedder faces/batch (batches) | embeddings /camera/s | events /camera/s | alerts | startup s |\n"
    + "|---" * 18
    + "|"
)


def _row(r: Row) -> str:
    worker = f"{statistics.median(r.worker_ms):.0f}" if r.worker_ms else "-"
    per_s = r.cameras * r.window_s
    emb = f"{r.faces_per_batch:.2f} ({r.batches})" if r.mode == "ray" else "- (in-process)"
    where = f"{r.setup.nodes} x {r.setup.cpus}" if r.mode == "ray" else "1 process + 2 analyzers"
    return (
        f"| {r.setup.stream} | {r.mode} | {where} | {r.cameras} | {r.camera_nodes} "
        f"| {statistics.median(r.fps):.2f} ({min(r.fps):.2f}) | {r.total_fps:.1f} | {100 * r.dropped:.0f}% "
        f"| {'yes' if r.sustained else 'no'} | {worker} | {r.total_ms:.0f} "
        f"| {r.cores['main']:.2f} + {r.cores['children']:.2f} | {r.cores['others']:.2f} | {emb} "
        f"| {r.embeddings / per_s:.2f} | {r.events / per_s:.2f} | {r.alerts} | {r.startup_s:.0f} |"
    )


def _verdict(rows: list[Row]) -> dict[str, object]:
    """Per stream kind: the camera worker's cost, the cluster's, and the most cameras a node sustained."""
    out: dict[str, object] = {}
    for stream in sorted({r.setup.stream for r in rows}):
        ray_rows = [r for r in rows if r.mode == "ray" and r.setup.stream == stream]
        if not ray_rows:
            continue
        worker_ms = statistics.median(m for r in ray_rows for m in r.worker_ms)
        sustaining = [r for r in ray_rows if r.sustained]
        out[stream] = {
            "worker_cpu_ms_per_frame": worker_ms,
            "cores_per_camera": TARGET_FPS * worker_ms / 1000,
            "cluster_cpu_ms_per_frame": {f"{r.setup.nodes}x{r.setup.cpus}": r.total_ms for r in ray_rows},
            "embedded_cpu_ms_per_frame": {
                f"{r.cameras} cameras": r.total_ms for r in rows if r.mode == "embedded" and r.setup.stream == stream
            },
            "max_cameras_per_node_sustained": max((r.setup.cpus for r in sustaining), default=0),
            "max_cameras_sustained": max((r.cameras for r in sustaining), default=0),
        }
    return out


def _print_report(args: argparse.Namespace, res: dict[str, Any]) -> None:
    print(f"\n## Cameras on a local Ray cluster vs the embedded engine ({args.duration:g} s window per row)\n")
    print(
        f"machine: {os.cpu_count()} cores shared by every node (all local); before: `{res['uptime_before']}`; "
        f"after: `{res['uptime_after']}`\n"
    )
    print(HEADER)
    for r in res["rows"]:
        print(_row(r))
    print()
    for stream, v in res["verdict"].items():
        print(
            f"- {stream}: a camera worker spends {v['worker_cpu_ms_per_frame']:.0f} CPU ms per analysed frame (median "
            f"over the Ray rows) = {v['cores_per_camera']:.2f} cores per camera at {TARGET_FPS:g} fps; most cameras "
            f"per node sustained at >= {100 * SUSTAINED:.0f}%: {v['max_cameras_per_node_sustained']} (Ray places one "
            f"camera per declared CPU: CameraWorker asks num_cpus=1); most in one row: {v['max_cameras_sustained']}"
        )


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="shared data folder (default $FACEPLANE_DATA or ../shared/data)")
    p.add_argument(
        "--rows",
        default="360p:1x1,360p:2x1,360p:3x1,720p:1x1",
        help="rows to run, in order: <360p|720p>:<nodes>x<CPUs per node> (cameras = nodes x CPUs)",
    )
    p.add_argument("--duration", type=float, default=25.0, help="measuring window per row (s)")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds after every camera analyses, before the window")
    p.add_argument("--no-reference", action="store_true", help="skip the embedded-engine rows")
    p.add_argument("--quick", action="store_true", help="12 s windows, rows 360p:1x1 and 360p:2x1 (~2.5 min)")
    args = p.parse_args()
    if args.quick:
        args.duration, args.warmup = 12.0, 3.0
        args.rows = "360p:1x1,360p:2x1" if args.rows == p.get_default("rows") else args.rows
    return args


def main() -> int:
    args = _parse()
    setups = [Setup.parse(t) for t in args.rows.split(",")]
    data = _data(args.data)
    clips = make_streams(data) if any(s.stream == "720p" for s in setups) else {}
    clips["original"] = data / ORIGINAL
    if not clips["original"].is_file():
        raise SystemExit(f"missing clip {clips['original']} (set --data or $FACEPLANE_DATA)")
    res: dict[str, Any] = {"args": vars(args), "cpu_count": os.cpu_count(), "uptime_before": _uptime()}
    rows: list[Row] = []
    for setup in setups:
        rows.append(run_ray(clips, data, setup, args))
        print(_row(rows[-1]), file=sys.stderr)
        if not args.no_reference:
            rows.append(run_embedded(clips, data, setup, args))
            print(_row(rows[-1]), file=sys.stderr)
    res["uptime_after"] = _uptime()
    res["rows"] = rows
    res["verdict"] = _verdict(rows)
    _print_report(args, res)
    record = res | {
        "rows": [asdict(r) | {"total_fps": r.total_fps, "sustained": r.sustained} for r in rows],
        "target_fps": TARGET_FPS,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "cluster.json").write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
