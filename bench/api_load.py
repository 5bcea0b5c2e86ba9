"""REST API under load: requests/s and p50/p90/p99 latency of ``POST /api/v1/identify`` against a
100k-person gallery, with 1-8 concurrent clients on loopback, side by side with the same work in-process.

Run:  python bench/api_load.py             (exact and FAISS indexes, C = 1, 2, 4, 8; ~6-8 min on 2 busy
                                            cores, + ~1 min the first time to build the gallery)
      python bench/api_load.py --quick     (exact index only, C = 1, 4, shorter rows; ~2 min)
      python bench/api_load.py --indexes faiss --clients 1,8 --seconds 30 --requests 1000

The gallery (cached in bench/out/api_load-gallery-<N>/, a server data folder) holds N synthetic people
built as in bench/search_scale.py: LFW descriptors + Gaussian noise shaped like real between-person
variation, scaled so the median distance to the nearest other identity is the real LFW median
nearest-impostor distance. They are written through the store in one transaction (the library has no
bulk enrollment; ``enroll_embeddings`` per person re-counts the collection and copies the exact index
each call, i.e. quadratic), then the index is rebuilt once. A few real people are enrolled from photos
so that identify returns real matches; their probes are checked before the load (Obama found, a
stranger unknown).

Each index gets its own ``faceplane serve`` subprocess (rate limit lifted, no video workers). C client
threads, each with its own ``httpx.Client``, send the probe photos round-robin until the row's request
count or time budget runs out. Per row: completed requests/s, latency quantiles, non-200 answers, the
server's CPU (psutil, in cores: 1.0 = one core busy), and the latency of ``GET /api/v1/health`` polled
twice a second during the row (does one slow request stall the others?). The load generator shares the
2 cores with the server. Reference rows, in this process, one thread, same photos, after the server
stopped: ``Engine.analyze`` + ``Gallery.search`` (what the endpoint does), and ``Gallery.search`` alone
on precomputed embeddings, broken into the index search and the open-set threshold.

Prints markdown tables; writes bench/out/api_load.json (api_load-quick.json with --quick, api_load-patched.json
with --pythonpath) and the server logs next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from faceplane.config import DEV_ADMIN_KEY
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.store import SqliteStore
from search_scale import Synth, calibrate_alpha, real_distances, seed_embeddings

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
SEEDS = 500  # LFW people used as identity seeds (bench/search_scale.py's default)
GALLERY_VERSION = 1  # bump when the gallery recipe changes: the cache is rebuilt
K = 3  # candidates per face: the endpoint's default


@dataclass(frozen=True)
class Probe:
    """A photo sent to identify and the people it must return (None = a face nobody enrolled)."""

    path: Path
    expected: tuple[str | None, ...]  # one entry per face, in any order

    @property
    def content_type(self) -> str:
        return "image/png" if self.path.suffix == ".png" else "image/jpeg"


def _data_root(arg: str | None) -> Path:
    return Path(arg or os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")


def _examples(data: Path) -> Path:
    return data / "faces" / "face_recognition-examples" / "examples"


def enrolled_people(data: Path) -> dict[str, list[Path]]:
    """The real people of the gallery and their enrollment photos (none is a probe photo)."""
    ex, train = _examples(data), _examples(data) / "knn_examples" / "train"
    return {
        "Barack Obama": [ex / "obama.jpg"],
        "Joe Biden": [train / "biden" / "biden.jpg", train / "biden" / "biden2.jpg"],
        "Kit Harington": [train / "kit_harington" / "john1.jpeg", train / "kit_harington" / "john2.jpeg"],
    }


def probes(data: Path) -> list[Probe]:
    ex, test = _examples(data), _examples(data) / "knn_examples" / "test"
    return [
        Probe(ex / "obama2.jpg", ("Barack Obama",)),
        Probe(test / "obama_and_biden.jpg", ("Barack Obama", "Joe Biden", None)),  # + a small face behind them
        Probe(test / "johnsnow_test1.jpg", ("Kit Harington",)),
        Probe(ex / "lin-manuel-miranda.png", (None,)),  # not enrolled: must come back unknown
    ]


# -- the gallery: N synthetic people + a few real ones, cached as a server data folder --------------------


def _bulk_insert(store: SqliteStore, collection: str, vectors: np.ndarray) -> None:
    """One person with one template per row, in one transaction (see the module docstring)."""
    coll = store.get_collection(collection)
    now = time.time()
    with store._tx() as db:  # bench-only: the store has no public bulk insert (see the report)
        first = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM people").fetchone()[0]) + 1
        db.executemany(
            "INSERT INTO people (id, collection_id, display_name, metadata, created_at) VALUES (?, ?, ?, '{}', ?)",
            ((first + i, coll.id, f"synthetic {i:06d}", now) for i in range(len(vectors))),
        )
        db.executemany(
            "INSERT INTO templates (person_id, embedding, created_at) VALUES (?, ?, ?)",
            ((first + i, v.astype("<f4").tobytes(), now) for i, v in enumerate(vectors)),
        )


def build_gallery(root: Path, n: int, data: Path) -> dict[str, Any]:
    """Build (or reuse) the gallery folder; returns how it was built."""
    people = enrolled_people(data)
    spec = {"version": GALLERY_VERSION, "people": n, "seeds": SEEDS, "enrolled": sorted(people)}
    marker = root / "bench-gallery.json"
    if marker.exists() and json.loads(marker.read_text())["spec"] == spec:
        return {**json.loads(marker.read_text())["info"], "cached": True}
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    emb, labels = seed_embeddings(SEEDS)
    real = real_distances(emb, labels)
    synth = Synth(emb[::2])
    alpha = calibrate_alpha(synth, n, real["real nearest impostor"]["p50"])
    vectors = synth.rows(0, n)
    print(f"gallery: {n:,} synthetic people, alpha={alpha:.3f}; enrolling ...", flush=True)
    gallery = Gallery.open(root, index="exact")
    gallery.create_collection("staff")
    for name, photos in people.items():
        report = gallery.enroll("staff", photos, name=name)
        if len(report.template_ids) != len(photos):
            raise SystemExit(f"could not enroll {name}: {report.rejected}")
    gallery.create_collection("synthetic")
    t0 = time.perf_counter()
    _bulk_insert(gallery.store, "synthetic", vectors)
    insert_s = time.perf_counter() - t0
    gallery.rebuild_index()
    templates = len(gallery.index)
    gallery.close()
    info = {"alpha": alpha, "templates": templates, "insert_s": insert_s, "build_s": time.perf_counter() - start}
    info["real_nn_impostor_p50"] = real["real nearest impostor"]["p50"]
    marker.write_text(json.dumps({"spec": spec, "info": info}, indent=1))
    return {**info, "cached": False}


# -- the server ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``faceplane serve`` in a subprocess on a free loopback port, in a process group of its own; stopped
    with SIGINT (then SIGKILL), and whatever of its group survives it (workers) is killed and named in
    ``leftovers``. ``settings_env`` overrides the settings below (``FACEPLANE_*`` variables)."""

    def __init__(
        self,
        data_dir: Path,
        index: str,
        log: Path,
        *,
        pythonpath: str | None = None,
        settings_env: dict[str, str] | None = None,
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).parent / "faceplane"
        env = {**os.environ, "FACEPLANE_INDEX": index, "FACEPLANE_RATE_LIMIT_PER_MINUTE": "1000000"}
        env["FACEPLANE_WORKERS"] = "0"  # no cameras here: no detector processes competing for the 2 cores
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
        env |= settings_env or {}
        cmd = [str(exe), "serve", "--port", str(self.port), "--data-dir", str(data_dir)]
        self._log = log.open("w")
        start = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.leftovers: list[str] = []
        try:
            self.startup_s = self._wait_ready(start)
        except BaseException:  # Ctrl-C or a failed start: the caller has no Server to stop
            self.stop()
            raise

    def _wait_ready(self, start: float, timeout_s: float = 600) -> float:
        while time.perf_counter() - start < timeout_s:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}); see {self._log.name}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise SystemExit(f"the server did not answer in {timeout_s:.0f} s; see {self._log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.leftovers = end_process_group(self.proc.pid)
        self._log.close()


def end_process_group(pgid: int, grace_s: float = 5.0) -> list[str]:
    """Give the processes left in group ``pgid`` ``grace_s`` to end, SIGKILL the rest; returns those as
    ``"pid command line"`` (empty: none was left). Zombies (ended, not yet reaped) do not count."""
    deadline = time.monotonic() + grace_s
    while (left := _group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    names = []
    for proc in left:
        try:
            names.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
            proc.kill()
        except psutil.Error:
            pass
    return names


def _group(pgid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (ProcessLookupError, psutil.Error):
            pass
    return found


def identify(client: httpx.Client, probe: Probe, body: bytes) -> httpx.Response:
    files = {"image": (probe.path.name, body, probe.content_type)}
    return client.post("/api/v1/identify", files=files, params={"k": K})


def check_answers(url: str, probe_list: list[Probe], bodies: list[bytes]) -> list[dict[str, Any]]:
    """One request per probe (also the warm-up): the names found must be the expected ones."""
    out = []
    with httpx.Client(base_url=url, headers={"X-API-Key": DEV_ADMIN_KEY}, timeout=120) as client:
        for probe, body in zip(probe_list, bodies, strict=True):
            r = identify(client, probe, body)
            r.raise_for_status()
            faces = r.json()["faces"]
            names = sorted((f["person"] or {}).get("name") or "unknown" for f in faces)
            want = sorted(e or "unknown" for e in probe.expected)
            dists = [f["candidates"][0]["distance"] if f["candidates"] else None for f in faces]
            threshold = faces[0]["threshold"] if faces else None
            out.append({"probe": probe.path.name, "found": names, "expected": want, "ok": names == want})
            out[-1] |= {"nearest_distance": dists, "threshold": threshold}
    return out


# -- load -----------------------------------------------------------------------------------------------------


def _quantiles_ms(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"p50_ms": float("nan"), "p90_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    p50, p90, p99 = np.percentile(seconds, [50, 90, 99]) * 1e3
    return {"p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99), "max_ms": 1e3 * max(seconds)}


class _HealthPoller(threading.Thread):
    """GET /api/v1/health every ``period_s`` while a row runs: the event loop's responsiveness."""

    def __init__(self, url: str, period_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.url, self.period_s, self.latency_s = url, period_s, []
        self._done = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            while not self._done.wait(self.period_s):
                t0 = time.perf_counter()
                client.get("/api/v1/health")
                self.latency_s.append(time.perf_counter() - t0)

    def stop(self) -> list[float]:
        self._done.set()
        self.join()
        return self.latency_s


def load_row(server: Server, probe_list: list[Probe], bodies: list[bytes], clients: int, args: Any) -> dict:
    """``clients`` threads sending identify until ``args.requests`` are sent or ``args.seconds`` pass."""
    lock = threading.Lock()
    sent = [0]
    latency_s: list[float] = []
    statuses: list[int] = []
    deadline = time.perf_counter() + args.seconds

    def client_loop(offset: int) -> None:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": DEV_ADMIN_KEY}, timeout=300) as client:
            for j in range(offset, offset + args.requests):
                with lock:
                    if sent[0] >= args.requests or time.perf_counter() >= deadline:
                        return
                    sent[0] += 1
                t0 = time.perf_counter()
                try:
                    status = identify(client, probe_list[j % len(probe_list)], bodies[j % len(bodies)]).status_code
                except httpx.HTTPError:
                    status = -1
                with lock:
                    latency_s.append(time.perf_counter() - t0)
                    statuses.append(status)

    proc = psutil.Process(server.proc.pid)
    health = _HealthPoller(server.url)
    cpu0, start = proc.cpu_times(), time.perf_counter()
    health.start()
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall_s = time.perf_counter() - start
    cpu1 = proc.cpu_times()
    health_s = health.stop()
    busy = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    ok = [dt for dt, s in zip(latency_s, statuses, strict=True) if s == 200]
    row = {"clients": clients, "requests": len(statuses), "wall_s": wall_s, "rps": len(ok) / wall_s}
    row |= _quantiles_ms(ok) | {"errors": sum(s != 200 for s in statuses), "server_cpu": busy / wall_s}
    row |= {f"health_{k}": v for k, v in _quantiles_ms(health_s).items() if k in ("p50_ms", "max_ms")}
    row["load_avg"] = os.getloadavg()[0]
    return row


# -- the in-process reference ---------------------------------------------------------------------------------


def _timed_loop(fn: Callable[[int], None], args: Any) -> tuple[list[float], float]:
    """Call ``fn(j)`` until ``args.requests`` calls or ``args.seconds``; per-call seconds and the wall time."""
    latency_s: list[float] = []
    start = time.perf_counter()
    for j in range(args.requests):
        if time.perf_counter() - start >= args.seconds:
            break
        t0 = time.perf_counter()
        fn(j)
        latency_s.append(time.perf_counter() - t0)
    return latency_s, time.perf_counter() - start


def _ref_row(name: str, latency_s: list[float], wall_s: float) -> dict[str, Any]:
    row = {"name": name, "requests": len(latency_s), "wall_s": wall_s, "rps": len(latency_s) / wall_s}
    return row | _quantiles_ms(latency_s) | {"load_avg": os.getloadavg()[0]}


def reference_rows(root: Path, index: str, bodies: list[bytes], args: Any) -> tuple[list[dict[str, Any]], float]:
    """The endpoint's work in this process, one thread: analyze + search, then its parts on their own."""
    t0 = time.perf_counter()
    gallery = Gallery.open(root, index=index)
    open_s = time.perf_counter() - t0
    engine = gallery.engine
    embeddings = [engine.analyze(b).embedding for b in bodies]  # also the warm-up
    analyze_s: list[tuple[int, float]] = []

    def full(j: int) -> None:
        t = time.perf_counter()
        faces = engine.analyze(bodies[j % len(bodies)])
        analyze_s.append((j % len(bodies), time.perf_counter() - t))
        gallery.search(faces.embedding, k=K)

    rows = [_ref_row("in-process analyze + search", *_timed_loop(full, args))]
    only = [dt for _, dt in analyze_s]
    rows.append(_ref_row("  of which Engine.analyze", only, sum(only)))
    rows[-1]["per_probe_p50_ms"] = [
        1e3 * float(np.median([dt for i, dt in analyze_s if i == p] or [np.nan])) for p in range(len(bodies))
    ]
    many = argparse.Namespace(requests=args.requests * 5, seconds=args.seconds / 4)
    search = _timed_loop(lambda j: gallery.search(embeddings[j % len(embeddings)], k=K), many)
    rows.append(_ref_row("Gallery.search alone (precomputed)", *search))
    fetch = max(4 * K, 16)
    index_only = _timed_loop(lambda j: gallery.index.search(embeddings[j % len(embeddings)], fetch), many)
    rows.append(_ref_row("  of which index.search", *index_only))
    rows.append(_ref_row("  of which open_set_threshold", *_timed_loop(lambda j: gallery.open_set_threshold(), many)))
    gallery.close()
    return rows, open_s


# -- report ----------------------------------------------------------------------------------------------------


def _f(v: float, digits: int = 0) -> str:
    return "-" if v != v else f"{v:,.{digits}f}"


def _print_rows(res: dict[str, Any]) -> None:
    print(
        "\n| path | clients | requests | req/s | p50 ms | p90 ms | p99 ms | errors | server CPU "
        "| health p50 / max ms | load avg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in res["http"]:
        print(
            f"| HTTP identify | {r['clients']} | {r['requests']} | {_f(r['rps'], 2)} | {_f(r['p50_ms'])} "
            f"| {_f(r['p90_ms'])} | {_f(r['p99_ms'])} | {r['errors']} | {r['server_cpu']:.2f} "
            f"| {_f(r['health_p50_ms'], 1)} / {_f(r['health_max_ms'])} | {r['load_avg']:.2f} |"
        )
    for r in res["reference"]:
        digits = 1 if r["p50_ms"] < 100 else 0
        print(
            f"| {r['name']} | 1 | {r['requests']} | {_f(r['rps'], 2)} | {_f(r['p50_ms'], digits)} "
            f"| {_f(r['p90_ms'], digits)} | {_f(r['p99_ms'], digits)} | - | - | - | {r['load_avg']:.2f} |"
        )


def print_tables(results: dict[str, Any]) -> None:
    machine, g = results["machine"], results["gallery"]
    print(
        f"\nmachine: {machine['cpus']} cores\n  before: {machine['uptime_before']}\n  after:  {machine['uptime_after']}"
    )
    print(f"gallery: {g['templates']:,} templates (alpha {g['alpha']:.3f}; {'cached' if g['cached'] else 'built'})")
    for name, res in results["indexes"].items():
        print(f"\n### index = {name} (server ready in {res['startup_s']:.1f} s; in-process open {res['open_s']:.1f} s)")
        for c in res["checks"]:
            flag = "ok" if c["ok"] else "WRONG"
            found = ", ".join(c["found"])
            print(f"- {c['probe']}: {found} [{flag}] nearest {c['nearest_distance']}, threshold {c['threshold']}")
        if "server_exit" in res:
            print(f"- the server died during the last row (exit code {res['server_exit']}); see its log")
        _print_rows(res)
        per_probe = zip(results["settings"]["probes"], res["reference"][1]["per_probe_p50_ms"], strict=True)
        print(
            "\nEngine.analyze p50 per probe: "
            + ", ".join(f"{p['name']} ({p['size']}) {_f(ms)} ms" for p, ms in per_probe)
        )


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_index(index: str, root: Path, probe_list: list[Probe], bodies: list[bytes], args: Any) -> dict[str, Any]:
    print(f"[{index}] starting the server ...", flush=True)
    server = Server(root, index, OUT / f"api_load{args.tag}-server-{index}.log", pythonpath=args.pythonpath)
    try:
        out: dict[str, Any] = {"startup_s": server.startup_s, "checks": check_answers(server.url, probe_list, bodies)}
        if not all(c["ok"] for c in out["checks"]):
            print(f"[{index}] WRONG answers: {out['checks']}", flush=True)
        out["http"] = []
        for clients in args.clients:
            out["http"].append(load_row(server, probe_list, bodies, clients, args))
            r = out["http"][-1]
            print(f"[{index}] C={clients}: {r['rps']:.2f} req/s, p50 {r['p50_ms']:.0f} ms", flush=True)
            if server.proc.poll() is not None:  # a crash is a result: report it, do not load a dead port
                out["server_exit"] = server.proc.returncode
                print(f"[{index}] the server DIED (exit {server.proc.returncode}); see its log", flush=True)
                break
    finally:
        server.stop()
    out["reference"], out["open_s"] = reference_rows(root, index, bodies, args)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="shared data folder (default $FACEPLANE_DATA or ../shared/data)")
    parser.add_argument("--people", type=int, default=100_000, help="synthetic people in the gallery")
    parser.add_argument("--indexes", default=None, help="exact,faiss (default; --quick: exact)")
    parser.add_argument("--clients", default=None, help="concurrent clients per row (default 1,2,4,8; --quick: 1,4)")
    parser.add_argument("--seconds", type=float, default=None, help="time budget per row (default 20; --quick 8)")
    parser.add_argument("--requests", type=int, default=400, help="request budget per row")
    parser.add_argument("--quick", action="store_true", help="~2 minutes: exact index, C = 1 and 4, 8 s rows")
    parser.add_argument(
        "--pythonpath", help="run the server with this folder first on PYTHONPATH (a patched faceplane package)"
    )
    args = parser.parse_args()
    args.indexes = (args.indexes or ("exact" if args.quick else "exact,faiss")).split(",")
    args.clients = [int(c) for c in (args.clients or ("1,4" if args.quick else "1,2,4,8")).split(",")]
    args.seconds = args.seconds or (8.0 if args.quick else 20.0)
    args.tag = ("-quick" if args.quick else "") + ("-patched" if args.pythonpath else "")
    data = _data_root(args.data)
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "uptime_before": _uptime()}, "indexes": {}}
    print(results["machine"]["uptime_before"], flush=True)
    root = OUT / f"api_load-gallery-{args.people}"
    results["gallery"] = build_gallery(root, args.people, data)
    probe_list = probes(data)
    bodies = [p.path.read_bytes() for p in probe_list]
    results["settings"] = {"seconds": args.seconds, "requests": args.requests, "clients": args.clients, "k": K}
    results["settings"]["pythonpath"] = args.pythonpath
    results["settings"]["probes"] = [{"name": p.path.name, "size": _size(p.path)} for p in probe_list]
    for index in args.indexes:
        results["indexes"][index] = run_index(index, root, probe_list, bodies, args)
    results["machine"]["uptime_after"] = _uptime()
    (OUT / f"api_load{args.tag}.json").write_text(json.dumps(results, indent=1))
    print_tables(results)


def _size(path: Path) -> str:
    from PIL import Image

    with Image.open(path) as im:
        return f"{im.width}x{im.height}"


if __name__ == "__main__":
    main()
