"""Soak test: a real ``faceplane serve`` with 4 looping RTSP cameras, live-event (SSE) clients and a steady
stream of identify requests, for ``--minutes`` (default 10); does anything grow?

Run:  python bench/soak.py                 (10 min + ~1 min to start and stop)
      python bench/soak.py --minutes 1     (a quick check; too short for a verdict on the slopes)

Everything runs on loopback and stops in ``finally`` blocks, also on Ctrl-C (each server in a process
group of its own; whatever of the group survives the server is killed and reported):

- Cameras: tests/support/rtsp_server.py (gst-rtsp-server, run by the system Python) loops shared clips as
  live RTSP cameras on 127.0.0.1: cam1 and cam4 watch the Hamilton clip (Lin-Manuel Miranda, enrolled
  on a watchlist: alerts), cam2 Intel's people-walking clip (unknown faces), cam3 PETS09-S2L1 with
  people counting and a counting line. The server analyses each at 5 fps with its default settings.
- Gallery: Obama, Biden and Kit Harington in "staff" (as bench/api_load.py), Lin on "watchlist".
- Load: ``--sse`` clients read ``GET /api/v1/events/stream``; ``--clients`` threads send
  ``POST /api/v1/identify`` (the api_load.py probes, round-robin, ``--pause-s`` apart) and check the
  names found (Obama, Obama + Biden, Kit Harington, and Lin unknown in "staff").
- Every ``--sample-s`` (60) it samples the server's process tree (the server and its children: the
  detector workers): RSS (summed), open file descriptors, threads, processes; the event store (rows
  and MB of events/, with snapshots) and the data folder's MB; requests done, errors, wrong answers,
  SSE events received, frames analysed by the cameras.

Target: flat after warm-up, no errors. The slopes (least squares, per minute) of RSS, file descriptors
and threads from minute ``--warmup`` (2) to the end must stay under 1% of the RSS (at least 5 MB) and
0.5 fds / threads per minute; no failed or wrong request, no SSE disconnect, every camera live at the
end, no process left behind after the server stops. The event store grows with the events, by design
(retention trims it daily): its growth is reported, not judged. The machine is shared: numbers are
indicative. Prints a markdown table and a verdict line; writes bench/out/soak.json and the logs next to it.
Exit status 1 when the verdict is FAIL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import mimetypes
import os
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

import httpx
import numpy as np
import psutil

from api_load import K, Probe, Server, _data_root, end_process_group, enrolled_people, probes
from faceplane.config import DEV_ADMIN_KEY
from streams import _uptime

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
RTSP_SCRIPT = REPO / "tests" / "support" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # python3-gi (gst-rtsp-server's bindings) is a Debian package
MOUNTS = {  # RTSP mount -> H.264 MP4 under the data folder, served as is (no re-encoding)
    "/hamilton": "faces/face_recognition-examples/examples/short_hamilton_clip.mp4",
    "/walking": "video/intel-sample-videos/one-by-one-person-detection.mp4",
    "/pets09": "video/pets09-s2l1-video/vtest.mp4",
}
CAMERAS: list[tuple[str, str, dict[str, Any]]] = [  # id, mount, more camera settings
    ("cam1", "/hamilton", {}),
    ("cam2", "/walking", {}),
    ("cam3", "/pets09", {"people": True, "lines": ["mid=0.5,0,0.5,1"]}),
    ("cam4", "/hamilton", {}),
]
LIMITS = {"rss_mb": (0.01, 5.0), "fds": (0.0, 0.5), "threads": (0.0, 0.5)}  # per minute: (share of mean, floor)
HEADERS = {"X-API-Key": DEV_ADMIN_KEY}


class LoopbackRtsp:
    """tests/support/rtsp_server.py serving :data:`MOUNTS` on a free port of 127.0.0.1, in its own group."""

    def __init__(self, data: Path, log: Path, ready_timeout_s: float = 60) -> None:
        args = [SYSTEM_PYTHON, str(RTSP_SCRIPT), "--port", "0", "--address", "127.0.0.1"]
        args += [f"--mount={mount}={data / rel}" for mount, rel in MOUNTS.items()]
        self._log = log.open("w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log, text=True, start_new_session=True)
        try:
            stdout = cast(IO[str], self.proc.stdout)  # stdout=PIPE
            ready, _, _ = select.select([stdout], [], [], ready_timeout_s)
            line = stdout.readline() if ready else ""
            if not line.startswith("ready "):
                raise SystemExit(f"the RTSP server did not start in {ready_timeout_s:.0f} s; see {log}")
            self.port = int(line.split()[1])
        except BaseException:
            self.stop()
            raise

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}{mount}"

    def stop(self) -> None:
        end_process_group(self.proc.pid, grace_s=0)
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


# -- set-up through the API -----------------------------------------------------------------------------------


def _ok(r: httpx.Response) -> httpx.Response:
    if r.status_code >= 400:
        raise SystemExit(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:500]}")
    return r


def _photos(paths: list[Path]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("images", (p.name, p.read_bytes(), mimetypes.guess_type(p.name)[0] or "image/jpeg")) for p in paths]


def set_up(client: httpx.Client, data: Path, rtsp: LoopbackRtsp) -> None:
    """The staff and watchlist people, then the four cameras."""
    _ok(client.post("/api/v1/collections", json={"name": "staff"}))
    for name, photos in enrolled_people(data).items():
        _ok(client.post("/api/v1/collections/staff/people", files=_photos(photos), data={"display_name": name}))
    _ok(client.post("/api/v1/collections", json={"name": "watchlist"}))
    lin = data / "faces" / "face_recognition-examples" / "examples" / "lin-manuel-miranda.png"
    form = {
        "display_name": "Lin-Manuel Miranda",
        "consent_basis": "legitimate interest",
        "purpose": "soak test alerts",
        "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    _ok(client.post("/api/v1/collections/watchlist/people", files=_photos([lin]), data=form))
    _ok(client.put("/api/v1/collections/watchlist/watchlist", json={"watchlist": True}))
    for camera_id, mount, extra in CAMERAS:
        _ok(client.post("/api/v1/cameras", json={"id": camera_id, "source": rtsp.url(mount), "fps": 5.0} | extra))


# -- load -----------------------------------------------------------------------------------------------------


@dataclass
class Counters:
    """What the load threads did so far (guarded by ``lock``)."""

    requests: int = 0
    errors: int = 0  # failed requests: an exception or a status other than 200
    wrong: int = 0  # answered, but not the expected names
    sse_events: int = 0
    sse_errors: int = 0  # streams that failed or ended while the soak ran
    latency_s: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def identify_loop(url: str, probe_list: list[Probe], stop: threading.Event, counters: Counters, pause_s: float) -> None:
    """Identify the probes round-robin in "staff" until ``stop``; count errors and wrong names."""
    bodies = [p.path.read_bytes() for p in probe_list]
    with httpx.Client(base_url=url, headers=HEADERS, timeout=120) as client:
        j = 0
        while not stop.is_set():
            probe, body = probe_list[j % len(probe_list)], bodies[j % len(bodies)]
            t0, failed, wrong = time.perf_counter(), True, False
            try:
                files = {"image": (probe.path.name, body, probe.content_type)}
                r = client.post("/api/v1/identify", files=files, params={"k": K, "collection": "staff"})
                failed = r.status_code != 200
                if not failed:
                    names = sorted((f["person"] or {}).get("name") or "unknown" for f in r.json()["faces"])
                    wrong = names != sorted(e or "unknown" for e in probe.expected)
            except httpx.HTTPError:
                pass
            with counters.lock:
                counters.requests += 1
                counters.errors += failed
                counters.wrong += wrong
                counters.latency_s.append(time.perf_counter() - t0)
            j += 1
            stop.wait(pause_s)


def sse_loop(url: str, stop: threading.Event, counters: Counters) -> None:
    """Read the live event stream until ``stop``, reconnecting (and counting an error) when it breaks."""
    while not stop.is_set():
        try:
            with (
                httpx.Client(base_url=url, headers=HEADERS, timeout=httpx.Timeout(10, read=40)) as client,
                client.stream("GET", "/api/v1/events/stream") as r,
            ):
                r.raise_for_status()
                for line in r.iter_lines():  # the server sends a keep-alive every 15 s
                    if line.startswith("event:"):
                        with counters.lock:
                            counters.sse_events += 1
                    if stop.is_set():
                        return
        except httpx.HTTPError:
            pass
        if not stop.is_set():
            with counters.lock:
                counters.sse_errors += 1
            stop.wait(1.0)


def start_load(
    url: str, probe_list: list[Probe], args: argparse.Namespace, stop: threading.Event, counters: Counters
) -> list[threading.Thread]:
    """Start the SSE and identify threads, counting into ``counters``."""
    threads = [threading.Thread(target=sse_loop, args=(url, stop, counters), daemon=True) for _ in range(args.sse)]
    threads += [
        threading.Thread(target=identify_loop, args=(url, probe_list, stop, counters, args.pause_s), daemon=True)
        for _ in range(args.clients)
    ]
    for t in threads:
        t.start()
    return threads


# -- samples --------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    minute: float
    rss_mb: float  # the server and its children, summed
    main_rss_mb: float  # the server process alone
    procs: int
    fds: int
    threads: int
    event_rows: int
    events_mb: float  # events/ (SQLite + WAL + snapshots)
    data_mb: float  # the whole data folder (gallery, events, audit log, accounts)
    requests: int
    errors: int
    wrong: int
    sse_events: int
    sse_errors: int
    frames: int  # analysed by all cameras since they started
    cameras_live: int
    event_kinds: dict[str, int] = field(default_factory=dict)  # rows of the event store by kind


def _tree(pid: int) -> tuple[float, float, int, int, int]:
    """RSS MB (all, main), processes, open fds and threads of ``pid`` and its descendants."""
    main = psutil.Process(pid)
    rss = fds = threads = 0
    procs = [main, *main.children(recursive=True)]
    main_rss = main.memory_info().rss
    for p in procs:
        try:
            with p.oneshot():
                rss, fds, threads = rss + p.memory_info().rss, fds + p.num_fds(), threads + p.num_threads()
        except psutil.NoSuchProcess:  # a worker that just ended: counted next time
            pass
    return rss / 2**20, main_rss / 2**20, len(procs), fds, threads


def _mb(folder: Path) -> float:
    total = 0
    for f in folder.rglob("*"):
        with contextlib.suppress(FileNotFoundError):  # a temp file renamed or a WAL checkpointed meanwhile
            total += f.stat().st_size if f.is_file() else 0
    return total / 2**20


def _event_kinds(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as con:
        return {kind: int(n) for kind, n in con.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind")}


def take_sample(minute: float, server: Server, data_dir: Path, client: httpx.Client, counters: Counters) -> Sample:
    rss, main_rss, procs, fds, threads = _tree(server.proc.pid)
    cameras = _ok(client.get("/api/v1/cameras")).json()
    with counters.lock:
        done = (counters.requests, counters.errors, counters.wrong, counters.sse_events, counters.sse_errors)
    kinds = _event_kinds(data_dir / "events" / "events.sqlite")
    return Sample(
        minute,
        rss,
        main_rss,
        procs,
        fds,
        threads,
        sum(kinds.values()),
        _mb(data_dir / "events"),
        _mb(data_dir),
        *done,
        frames=sum(c["frames"] for c in cameras),
        cameras_live=sum(c["state"] == "live" for c in cameras),
        event_kinds=kinds,
    )


def run_samples(
    server: Server, data_dir: Path, counters: Counters, args: argparse.Namespace, samples: list[Sample]
) -> None:
    """Append a sample at the start and every ``args.sample_s`` for ``args.minutes`` to ``samples`` (kept
    when Ctrl-C cuts the run short); stops early if the server dies or stops answering."""
    start = time.monotonic()
    n = round(args.minutes * 60 / args.sample_s)
    with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as client:
        for i in range(n + 1):
            time.sleep(max(0.0, start + i * args.sample_s - time.monotonic()))
            if server.proc.poll() is not None:
                print(f"the server DIED (exit {server.proc.returncode}); see {OUT / 'soak-server.log'}", flush=True)
                return
            try:
                samples.append(take_sample(round(i * args.sample_s / 60, 2), server, data_dir, client, counters))
            except httpx.HTTPError as exc:  # a server that stops answering ends the run: the verdict says so
                print(f"the server did not answer: {exc!r}", flush=True)
                return
            print(_row(samples[-1]), flush=True)


# -- verdict and report ---------------------------------------------------------------------------------------


def slopes(samples: list[Sample], warmup_min: float) -> dict[str, float]:
    """Least-squares growth per minute of RSS, fds and threads from ``warmup_min`` on (the last two samples
    when a short run leaves fewer after the warm-up)."""
    after = [s for s in samples if s.minute >= warmup_min]
    after = after if len(after) >= 2 else samples[-2:]
    if len(after) < 2:
        return {}
    x = np.array([s.minute for s in after])
    out = {"from_minute": after[0].minute}
    out |= {key: float(np.polyfit(x, [getattr(s, key) for s in after], 1)[0]) for key in LIMITS}
    out["event_rows"] = float(np.polyfit(x, [s.event_rows for s in after], 1)[0])
    out["events_mb"] = float(np.polyfit(x, [s.events_mb for s in after], 1)[0])
    return out


def verdict(samples: list[Sample], slope: dict[str, float], leftovers: list[str], args: argparse.Namespace) -> str:
    """PASS, FAIL (with the reasons) or INCONCLUSIVE (too short to judge the slopes)."""
    reasons = []
    last = samples[-1] if samples else None
    if last is None or last.minute < args.minutes - 0.01:
        reasons.append("cut short (Ctrl-C, SIGTERM or the server died)")
    long_enough = args.minutes >= args.warmup + 2  # at least 3 samples after the warm-up
    for key, (share, floor) in LIMITS.items():
        if key in slope and last is not None and long_enough:
            limit = max(floor, share * float(np.mean([getattr(s, key) for s in samples])))
            if slope[key] > limit:
                reasons.append(f"{key} grows {slope[key]:+.2f}/min (limit {limit:.2f})")
    if last is not None:
        for name in ("errors", "wrong", "sse_errors"):
            if getattr(last, name):
                reasons.append(f"{getattr(last, name)} {name.replace('_', ' ')}")
        if last.cameras_live < len(CAMERAS):
            reasons.append(f"{len(CAMERAS) - last.cameras_live} cameras not live at the end")
        if last.requests == 0 or last.sse_events == 0:
            reasons.append("no identify request done or no SSE event received")
    if leftovers:
        reasons.append(f"processes left after the server stopped: {', '.join(leftovers)}")
    if reasons:
        return "FAIL: " + "; ".join(reasons)
    if not long_enough:
        return f"INCONCLUSIVE: no errors, but {args.minutes:g} min is too short to judge growth after warm-up"
    return f"PASS: flat after {args.warmup:g} min of warm-up, no errors"


TABLE = (
    "| minute | RSS MB (tree) | RSS MB (server) | procs | fds | threads | event rows | events MB | data MB "
    "| identify done / errors / wrong | SSE events / errors | frames | cameras live |\n" + "|---:" * 13 + "|"
)


def _row(s: Sample) -> str:
    return (
        f"| {s.minute:g} | {s.rss_mb:,.0f} | {s.main_rss_mb:,.0f} | {s.procs} | {s.fds} | {s.threads} "
        f"| {s.event_rows:,} | {s.events_mb:.1f} | {s.data_mb:.1f} | {s.requests} / {s.errors} / {s.wrong} "
        f"| {s.sse_events} / {s.sse_errors} | {s.frames:,} | {s.cameras_live}/{len(CAMERAS)} |"
    )


def print_report(res: dict[str, Any], args: argparse.Namespace) -> None:
    load = f"{args.sse} SSE clients, {args.clients} identify client(s)"
    print(f"\n## Soak: {len(CAMERAS)} RTSP cameras, {load}, {args.minutes:g} min\n")
    print(f"machine: {os.cpu_count()} cores; before: `{res['uptime_before']}`; after: `{res['uptime_after']}`\n")
    print(TABLE)
    for s in res["samples"]:
        print(_row(Sample(**s)))
    lat = res["identify_latency_s"]
    if lat:
        print(f"\nidentify latency p50 {1e3 * np.median(lat):.0f} ms, p99 {1e3 * np.percentile(lat, 99):.0f} ms")
    sl = res["slopes"]
    if sl:
        print(
            f"slopes from minute {sl['from_minute']:g} (per minute): RSS {sl['rss_mb']:+.2f} MB, fds {sl['fds']:+.2f}, "
            f"threads {sl['threads']:+.2f}; event store {sl['event_rows']:+.0f} rows, {sl['events_mb']:+.2f} MB"
        )
    if res["samples"]:
        kinds = res["samples"][-1]["event_kinds"]
        print("events stored, by kind: " + (", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"))
    print(f"left after the server stopped: {', '.join(res['leftovers']) or 'nothing'}")
    print(f"verdict: {res['verdict']}")


# -- main -----------------------------------------------------------------------------------------------------


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="shared data folder (default $FACEPLANE_DATA or ../shared/data)")
    p.add_argument("--minutes", type=float, default=10.0, help="how long the load runs (default 10)")
    p.add_argument("--sample-s", type=float, default=60.0, help="seconds between samples (default 60)")
    p.add_argument("--warmup", type=float, default=2.0, help="minutes left out of the slopes (default 2)")
    p.add_argument("--sse", type=int, default=2, help="SSE clients on the event stream (default 2)")
    p.add_argument("--clients", type=int, default=1, help="identify clients (default 1)")
    p.add_argument("--pause-s", type=float, default=0.5, help="pause between a client's requests (default 0.5)")
    p.add_argument("--workers", type=int, default=2, help="the server's detector processes (default 2)")
    args = p.parse_args()
    if args.minutes <= 0 or args.sample_s <= 0 or args.sse < 0 or args.clients < 0:
        p.error("--minutes and --sample-s must be > 0, --sse and --clients >= 0")
    return args


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """The server's settings: its detector processes, and cameras from this host only (the source policy
    refuses loopback by default)."""
    sources = {"hosts": ["127.0.0.1"], "deny_hosts": []}
    return {"FACEPLANE_WORKERS": str(args.workers), "FACEPLANE_CAMERA_SOURCES": json.dumps(sources)}


def soak(args: argparse.Namespace, data: Path, tmp: Path) -> dict[str, Any]:
    """Start everything, sample, stop everything (also on Ctrl-C or SIGTERM: the samples so far are kept)."""
    stop, counters = threading.Event(), Counters()
    samples: list[Sample] = []
    threads: list[threading.Thread] = []
    rtsp: LoopbackRtsp | None = None
    server: Server | None = None
    res: dict[str, Any] = {"interrupted": False, "leftovers": []}
    try:
        rtsp = LoopbackRtsp(data, OUT / "soak-rtsp.log")
        print(f"RTSP cameras on 127.0.0.1:{rtsp.port} (pid {rtsp.proc.pid}); starting the server ...", flush=True)
        server = Server(tmp, "exact", OUT / "soak-server.log", settings_env=server_env(args))
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=300) as client:
            set_up(client, data, rtsp)
        threads = start_load(server.url, probes(data), args, stop, counters)
        ready = f"server (pid {server.proc.pid}) ready in {server.startup_s:.0f} s"
        print(f"{ready}; load running for {args.minutes:g} min\n\n{TABLE}", flush=True)
        run_samples(server, tmp, counters, args, samples)
    except KeyboardInterrupt:
        res["interrupted"] = True
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        print("stopping the load, the server (up to ~1 min) and the cameras ...", flush=True)
        t0 = time.monotonic()
        stop.set()
        for t in threads:
            t.join(timeout=45)  # an SSE read wakes up at the next event or keep-alive (15 s)
        if server is not None:
            server.stop()
            res["leftovers"] = server.leftovers
        if rtsp is not None:
            rtsp.stop()
        res["stop_s"] = time.monotonic() - t0
        signal.signal(signal.SIGINT, previous)
    with counters.lock:
        res["identify_latency_s"] = list(counters.latency_s)
    return res | {"samples": [asdict(s) for s in samples]}


def main() -> int:
    args = _parse()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops everything as Ctrl-C does
    data = _data_root(args.data)
    missing = [str(data / rel) for rel in MOUNTS.values() if not (data / rel).is_file()]
    if missing:
        raise SystemExit(f"missing clips {missing} (set --data or $FACEPLANE_DATA)")
    OUT.mkdir(parents=True, exist_ok=True)
    uptime_before = _uptime()
    with tempfile.TemporaryDirectory(prefix="faceplane-soak-") as tmp:
        res = soak(args, data, Path(tmp))
    samples = [Sample(**s) for s in res["samples"]]
    res |= {"args": vars(args), "uptime_before": uptime_before, "uptime_after": _uptime()}
    res["slopes"] = slopes(samples, args.warmup)
    res["verdict"] = verdict(samples, res["slopes"], res["leftovers"], args)
    (OUT / "soak.json").write_text(json.dumps(res, indent=1))
    print_report(res, args)
    return 1 if res["verdict"].startswith("FAIL") else 0


if __name__ == "__main__":
    sys.exit(main())
