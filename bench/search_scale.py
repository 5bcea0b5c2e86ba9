"""1:N search at scale: exact flat vs FAISS IVF-Flat / IVF-SQ8 (+ exact re-rank) vs Milvus Lite.

Run:  python bench/search_scale.py                 (1M templates; ~6 min on 2 busy cores, + ~3 min to
                                                    embed the LFW seeds the first time)
      python bench/search_scale.py --full          (also 10M: 5.1 GB scratch file, ~45 min more, <= 9 GB RAM)
      python bench/search_scale.py --sizes 1e5     (a quick look)
      python bench/search_scale.py --nn-target 0.43   (identities packed as in a large real gallery)

Synthetic templates are built around real LFW descriptors so that distances look real: a few hundred
LFW people are embedded with faceplane.Engine (cached in bench/out/lfw_seed_embeddings.npy) and every
synthetic identity is ``seed + alpha * z @ L.T`` with ``z ~ N(0, I)`` and ``L L.T`` the covariance of
the real descriptors (Gaussian noise shaped like real between-person variation, per dimension and
across). ``alpha`` is calibrated so that the median distance from an identity to its nearest other
identity equals the median real nearest-impostor distance among the LFW seeds; queries are gallery
members plus noise scaled to the real median genuine distance. The distance table compares both.

Each backend is built and measured in its own subprocess, so its RAM figure is its own: anonymous RSS
(heap) after the build minus before, the peak during the build, and file-backed pages separately
(memmapped re-rank rows). Latency is single-query p50/p99; QPS uses batches of 64; recall@1 is against
exact search over the same gallery in the same run. Milvus Lite runs on a 100k subset only: it is a
pure-Python engine answering one query in ~0.1-0.2 s. Writes bench/out/search_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
DIM = 128
CHUNK = 1_000_000  # rows generated / scanned at a time: bounds memory at any gallery size
BATCH = 64
MILVUS_SIZE = 100_000


# -- seeds: real LFW descriptors ----------------------------------------------------------------------


def _lfw_images() -> Path:
    root = Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")
    return root / "faces" / "lfw-view1" / "images"


def seed_embeddings(n_people: int) -> tuple[np.ndarray, np.ndarray]:
    """(M, 128) descriptors of the first two images of ``n_people`` LFW people, and (M,) person labels."""
    cache, labels_cache = OUT / "lfw_seed_embeddings.npy", OUT / "lfw_seed_labels.npy"
    if cache.exists() and labels_cache.exists():
        emb, labels = np.load(cache), np.load(labels_cache)
        if labels.max() + 1 >= n_people:
            return emb[labels < n_people], labels[labels < n_people]
    from faceplane import Engine

    engine = Engine()
    emb_out: list[np.ndarray] = []
    label_out: list[int] = []
    people = [p for p in sorted(_lfw_images().iterdir()) if len(list(p.iterdir())) >= 2]
    for person in people:
        faces = engine.analyze_many(sorted(person.iterdir())[:2])
        if all(len(f) for f in faces):
            emb_out += [f.embedding[0] for f in faces]
            label_out += [len(label_out) // 2] * 2
        if len(label_out) // 2 >= n_people:
            break
    emb, labels = np.asarray(emb_out, np.float32), np.asarray(label_out, np.int64)
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(cache, emb)
    np.save(labels_cache, labels)
    return emb, labels


def _quantiles(values: np.ndarray) -> dict[str, float]:
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {"p5": float(p5), "p50": float(p50), "p95": float(p95), "n": len(values)}


def real_distances(emb: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, float]]:
    """Genuine pairs, all impostor pairs, and each seed's nearest impostor, among the LFW seeds."""
    d = np.linalg.norm(emb[:, None] - emb[None], axis=2)
    same = labels[:, None] == labels[None]
    upper = np.triu(np.ones_like(same), 1)
    firsts = emb[::2]
    df = np.linalg.norm(firsts[:, None] - firsts[None], axis=2) + np.diag(np.full(len(firsts), np.inf))
    return {
        "real genuine (same person)": _quantiles(d[same & upper]),
        "real impostor (all pairs)": _quantiles(d[~same & upper]),
        "real nearest impostor": _quantiles(df.min(1)),
    }


# -- synthetic gallery ----------------------------------------------------------------------------------


class Synth:
    """Identities ``seed[i % S] + alpha * z_i @ L.T``; row i is reproducible from (rng seed, chunk)."""

    def __init__(self, seeds: np.ndarray, alpha: float = 0.5) -> None:
        self.seeds = seeds
        cov = np.cov(seeds.T.astype(np.float64)) + 1e-6 * np.eye(DIM)
        self.chol = np.linalg.cholesky(cov).T.astype(np.float32)
        self.alpha = alpha

    def noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, DIM), dtype=np.float32) @ self.chol

    def rows(self, start: int, stop: int, n_seeds: int | None = None) -> np.ndarray:
        n_seeds = n_seeds or len(self.seeds)
        rng = np.random.default_rng([1234, start])
        return self.seeds[np.arange(start, stop) % n_seeds] + self.alpha * self.noise(stop - start, rng)

    def write(self, path: Path, n: int) -> np.memmap:
        out = np.memmap(path, np.float32, "w+", shape=(n, DIM))
        for lo in range(0, n, CHUNK):
            out[lo : min(lo + CHUNK, n)] = self.rows(lo, min(lo + CHUNK, n))
        out.flush()
        return out


def nn_distances(vectors: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Distance from each member to its nearest *other* vector (exact, chunked)."""
    import faiss

    best = np.full(len(members), np.inf, np.float32)
    queries = np.ascontiguousarray(vectors[members])
    for lo in range(0, len(vectors), CHUNK):
        d2, idx = faiss.knn(queries, np.ascontiguousarray(vectors[lo : lo + CHUNK]), 2)
        own = idx + lo == members[:, None]
        d2[own] = np.inf
        best = np.minimum(best, d2.min(1))
    return np.sqrt(np.maximum(best, 0))


def calibrate_alpha(synth: Synth, n: int, target: float) -> float:
    """Bisect alpha so the median nearest-other distance at the gallery's density hits ``target``."""
    per_seed = max(1, n // len(synth.seeds))
    n_seeds = max(2, min(len(synth.seeds), 100_000 // per_seed))  # same density, <= ~100k vectors
    members = np.random.default_rng(5).choice(per_seed * n_seeds, 300, replace=False)
    lo, hi = 0.05, 3.0
    for _ in range(14):
        synth.alpha = (lo + hi) / 2
        median = float(np.median(nn_distances(synth.rows(0, per_seed * n_seeds, n_seeds), members)))
        lo, hi = (synth.alpha, hi) if median < target else (lo, synth.alpha)
    return synth.alpha


def make_queries(gallery: np.ndarray, synth: Synth, n: int, target: float, limit: int) -> tuple[np.ndarray, ...]:
    """Queries = members (among the first ``limit`` rows) + noise at the real genuine median distance."""
    rng = np.random.default_rng(99)
    members = np.sort(rng.choice(limit, n, replace=False))
    noise = synth.noise(n, rng)
    beta = target / float(np.median(np.linalg.norm(noise, axis=1)))
    return np.asarray(gallery[members] + beta * noise, np.float32), members


# -- workers: one backend per subprocess, so that its memory is its own -----------------------------------


def _rss() -> tuple[int, int]:
    """(anonymous, file-backed) resident bytes of this process."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["RssAnon"].split()[0]) * 1024, int(fields["RssFile"].split()[0]) * 1024


class _PeakRss(threading.Thread):
    """Samples anonymous RSS every 0.2 s while a build runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self._done = _rss()[0], threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            self.peak = max(self.peak, _rss()[0])

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(self.peak, _rss()[0])


class _IvfPqRerank:
    """Bench-only: FAISS IVF-PQ (32 bytes a vector) whose top ``k * rerank`` are re-ranked exactly against
    the float32 gallery memmap: the memory/recall point of Milvus IVF_PQ with refinement, or DiskANN's
    in-memory PQ codes + full vectors on disk. Row numbers are the ids."""

    def __init__(self, gallery: np.ndarray, m: int = 32) -> None:
        self.gallery, self.m, self.nprobe, self.rerank = gallery, m, 64, 4
        self.index: Any = None

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        import faiss

        nlist = int(4 * np.sqrt(len(vectors)))
        self.index = faiss.IndexIVFPQ(faiss.IndexFlatL2(DIM), DIM, nlist, self.m, 8)
        sample = np.sort(np.random.default_rng(0).choice(len(vectors), min(len(vectors), 40 * nlist), replace=False))
        self.index.train(np.ascontiguousarray(vectors[sample]))
        for lo in range(0, len(vectors), CHUNK):
            chunk = np.ascontiguousarray(vectors[lo : lo + CHUNK])
            self.index.add_with_ids(chunk, ids[lo : lo + len(chunk)])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        params = faiss.SearchParametersIVF()
        params.nprobe = self.nprobe
        _, rows = self.index.search(np.ascontiguousarray(queries, np.float32), k * self.rerank, params=params)
        vectors = np.asarray(self.gallery[np.maximum(rows, 0).reshape(-1)]).reshape(*rows.shape, DIM)
        d2 = np.where(rows >= 0, ((vectors - queries[:, None]) ** 2).sum(-1), np.inf)
        order = np.argsort(d2, axis=1)[:, :k]
        return np.sqrt(np.take_along_axis(d2, order, 1)), np.take_along_axis(rows, order, 1)


def _make_index(spec: dict[str, Any]) -> Any:
    from faceplane.gallery.faiss_index import FaissIndex
    from faceplane.gallery.index import ExactIndex

    backend = spec["backend"]
    if backend == "exact-numpy":
        return ExactIndex(dim=DIM)
    if backend == "exact-flat":
        return FaissIndex(kind="flat")
    if backend == "ivf_pq":
        return _IvfPqRerank(np.memmap(spec["gallery"], np.float32, "r", shape=(spec["gallery_rows"], DIM)))
    if backend in ("ivf", "ivf_sq8"):
        rows_dir = Path(spec["scratch"]) / "rows" if backend == "ivf_sq8" else None
        return FaissIndex(kind=backend, nlist=spec.get("nlist"), vectors_dir=rows_dir)
    from faceplane.gallery.milvus_index import MilvusIndex

    index = MilvusIndex(
        uri=str(Path(spec["scratch"]) / f"milvus-{spec['index_type']}.db"),
        index_type=spec["index_type"],
        index_params=spec.get("index_params"),
        search_params=spec.get("search_params"),
    )
    index.reset()
    return index


def _measure(index: Any, queries: np.ndarray, truth: np.ndarray, n_single: int, n_batch: int) -> dict[str, float]:
    index.search(queries[:2], 1)  # warm-up
    latency = []
    for q in queries[:n_single]:
        start = time.perf_counter()
        index.search(q[None], 1)
        latency.append(time.perf_counter() - start)
    start = time.perf_counter()
    batches = [queries[i : min(i + BATCH, n_batch)] for i in range(0, n_batch, BATCH)]
    found = np.concatenate([index.search(batch, 1)[1][:, 0] for batch in batches])
    seconds = time.perf_counter() - start
    return {
        "p50_ms": 1e3 * float(np.percentile(latency, 50)),
        "p99_ms": 1e3 * float(np.percentile(latency, 99)),
        "qps_batch64": n_batch / seconds,
        "recall_at_1": float(np.mean(found == truth[:n_batch])),
        "queries": n_batch,
    }


def _synthetic_report(index: Any, gallery: np.ndarray, queries: np.ndarray, members: np.ndarray) -> dict[str, Any]:
    """Distances in the synthetic gallery, from the exact index: compare with the real LFW ones."""
    sample = np.random.default_rng(3).choice(len(gallery), 500, replace=False)
    d, ids = index.search(np.asarray(gallery[sample]), 2)
    nn = np.where(ids[:, 0] == sample, d[:, 1], d[:, 0])
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, len(gallery), 2000), rng.integers(0, len(gallery), 2000)
    d, ids = index.search(queries, 2)
    other = np.where(ids[:, 0] == members, d[:, 1], d[:, 0])
    return {
        "synthetic nearest other identity": _quantiles(nn),
        "synthetic random pairs": _quantiles(np.linalg.norm(gallery[a] - gallery[b], axis=1)),
        "query to its gallery member": _quantiles(np.linalg.norm(queries - gallery[members], axis=1)),
        "query to nearest other identity": _quantiles(other),
        "exact_top1_is_member": float(np.mean(ids[:, 0] == members)),
    }


def worker(spec_path: Path) -> None:
    """Build one backend over the memmapped gallery, measure it, write a JSON result."""
    spec = json.loads(spec_path.read_text())
    n = spec["size"]
    gallery = np.memmap(spec["gallery"], np.float32, "r", shape=(spec["gallery_rows"], DIM))[:n]
    queries, members = np.load(spec["queries"]), np.load(spec["members"])
    import faiss  # imported (and its memory counted) before the baseline

    index = _make_index(spec)
    anon0, file0 = _rss()
    sampler = _PeakRss()
    sampler.start()
    start = time.perf_counter()
    index.add(np.arange(n, dtype=np.int64), gallery if spec["backend"] != "exact-numpy" else np.asarray(gallery))
    build_s = time.perf_counter() - start
    peak = sampler.stop()
    anon1, file1 = _rss()
    if spec["backend"] == "exact-flat":  # the reference every other backend is scored against
        truth = index.search(queries, 1)[1][:, 0]
        np.save(spec["truth_out"], truth)
    elif spec.get("truth"):
        truth = np.load(spec["truth"])
    else:  # the Milvus subset: exact answers over the same rows
        truth = faiss.knn(queries, np.ascontiguousarray(gallery), 1)[1][:, 0]
    result: dict[str, Any] = {"build_s": build_s, "ram_gb": (anon1 - anon0) / 1e9, "peak_gb": (peak - anon0) / 1e9}
    rows_files = (Path(spec["scratch"]) / "rows").glob("rows-*.f32") if spec["backend"] == "ivf_sq8" else []
    result["disk_gb"] = sum(f.stat().st_size for f in rows_files) / 1e9  # memmapped re-rank rows
    if spec["backend"] == "ivf_pq":  # re-ranks from the gallery file itself
        result["disk_gb"] = n * DIM * 4 / 1e9
    result["file_rss_gb"] = (file1 - file0) / 1e9  # page cache mapped in (gallery reads + re-rank rows)
    result["rows"] = []
    for rerank in spec.get("reranks") or [None]:
        for nprobe in spec.get("nprobes") or [None]:
            index.nprobe, index.rerank = nprobe, rerank  # unused by the exact and Milvus indexes
            row = _measure(index, queries, truth, spec["n_single"], spec["n_batch"])
            result["rows"].append({"nprobe": nprobe, "rerank": rerank, **row, "load_avg": os.getloadavg()[0]})
    if spec["backend"] == "exact-flat":
        result["synthetic"] = _synthetic_report(index, gallery, queries, members)
    Path(spec["out"]).write_text(json.dumps(result))


# -- orchestration ----------------------------------------------------------------------------------------


def _spawn(spec: dict[str, Any], scratch: Path) -> dict[str, Any]:
    name = f"{spec['backend']}-{spec.get('index_type', '')}-{spec['size']}"
    spec_path, out = scratch / f"spec-{name}.json", scratch / f"result-{name}.json"
    spec_path.write_text(json.dumps({**spec, "out": str(out), "scratch": str(scratch)}))
    print(f"  {name} ...", flush=True)
    subprocess.run([sys.executable, __file__, "--worker", str(spec_path)], check=True)
    return json.loads(out.read_text())


def _backends(n: int, args: argparse.Namespace, milvus_done: bool) -> list[dict[str, Any]]:
    """The configurations measured at gallery size n (the exact reference first)."""
    nprobes = [int(v) for v in args.nprobe.split(",")]
    single = 100 if n <= 1_000_000 else 20
    specs: list[dict[str, Any]] = [{"backend": "exact-flat", "n_single": single}]
    if n <= 1_000_000:
        specs.append({"backend": "exact-numpy", "n_single": single})
    specs.append({"backend": "ivf", "nprobes": nprobes, "n_single": 500})
    for kind in ("ivf_sq8", "ivf_pq"):  # re-rank 1 = the compressed codes alone decide the top-1
        specs.append({"backend": kind, "nprobes": nprobes[1:4], "reranks": [4, 1], "n_single": 300})
    if not args.no_milvus and not milvus_done and n >= MILVUS_SIZE:
        specs.append({"backend": "milvus", "index_type": "FLAT", "n_single": 20, "n_batch": 128})
        ivf = {"index_type": "IVF_FLAT", "index_params": {"nlist": 1024}, "search_params": {"nprobe": 64}}
        specs.append({"backend": "milvus", **ivf, "n_single": 20, "n_batch": 128})
    return specs


def run_size(n: int, seeds: np.ndarray, real: dict[str, Any], args: argparse.Namespace, milvus_done: bool) -> dict:
    scratch = Path(args.scratch)
    synth = Synth(seeds)
    target = args.nn_target or real["real nearest impostor"]["p50"]
    alpha = calibrate_alpha(synth, n, target)
    print(f"{n:,} templates: alpha={alpha:.3f}; writing the gallery ...", flush=True)
    gallery_path = scratch / f"gallery-{n}.f32"
    gallery = synth.write(gallery_path, n)
    genuine = real["real genuine (same person)"]["p50"]
    files = {"gallery": str(gallery_path), "gallery_rows": n}
    for tag, limit, count in (("", n, args.queries), ("-milvus", min(n, MILVUS_SIZE), 128)):
        queries, members = make_queries(gallery, synth, count, genuine, limit)
        np.save(scratch / f"queries{tag}-{n}.npy", queries)
        np.save(scratch / f"members{tag}-{n}.npy", members)
    truth = scratch / f"truth-{n}.npy"
    out: dict[str, Any] = {"size": n, "alpha": alpha, "nn_target": target, "backends": []}
    for spec in _backends(n, args, milvus_done):
        tag = "-milvus" if spec["backend"] == "milvus" else ""
        size = min(n, MILVUS_SIZE) if tag else n
        spec = {**files, "size": size, "n_batch": len(np.load(scratch / f"members{tag}-{n}.npy")), **spec}
        spec |= {"queries": str(scratch / f"queries{tag}-{n}.npy"), "members": str(scratch / f"members{tag}-{n}.npy")}
        spec |= {"truth": None if tag else str(truth), "truth_out": str(truth)}
        if spec["backend"] == "exact-flat":
            spec["truth"] = None
        result = _spawn(spec, scratch)
        out["synthetic"] = result.pop("synthetic", out.get("synthetic"))
        out["backends"].append({"name": _label(spec), "size": size, **result})
    del gallery
    gallery_path.unlink()
    shutil.rmtree(scratch / "rows", ignore_errors=True)  # the IVF-SQ8 re-rank memmaps
    return out


def _label(spec: dict[str, Any]) -> str:
    names = {"exact-flat": "exact flat (FAISS)", "exact-numpy": "exact (numpy ExactIndex)", "ivf": "FAISS IVF-Flat"}
    names["ivf_sq8"] = "FAISS IVF-SQ8 + exact re-rank (memmap)"
    names["ivf_pq"] = "FAISS IVF-PQ32 + exact re-rank (bench)"
    if spec["backend"] == "milvus":
        return f"Milvus Lite {spec['index_type']}"
    return names[spec["backend"]]


def _params(row: dict[str, Any]) -> str:
    return " ".join(f"{k}={row[k]}" for k in ("nprobe", "rerank") if row.get(k) is not None)


def print_tables(results: dict[str, Any]) -> None:
    print("\nDistances (p5 / p50 / p95):")
    rows = dict(results["real"])
    for size, res in results["sizes"].items():
        rows |= {f"{k} @ {size}": v for k, v in res["synthetic"].items() if isinstance(v, dict)}
    for name, q in rows.items():
        print(f"  {name:<48} {q['p5']:.3f} / {q['p50']:.3f} / {q['p95']:.3f}")
    for size, res in results["sizes"].items():
        print(f"  exact top-1 = the query's member @ {size}: {res['synthetic']['exact_top1_is_member']:.3f}")
    head = f"{'size':>10} {'backend':<40} {'params':>19} {'build s':>8} {'RAM GB':>7} {'peak GB':>7} {'disk GB':>7}"
    print("\n" + head + f" {'p50 ms':>7} {'p99 ms':>7} {'QPS@64':>8} {'recall@1':>8}")
    for res in results["sizes"].values():
        for b in res["backends"]:
            for r in b["rows"]:
                print(
                    f"{b['size']:>10,} {b['name']:<40} {_params(r):>19} {b['build_s']:>8.1f} {b['ram_gb']:>7.2f}"
                    f" {b['peak_gb']:>7.2f} {b['disk_gb']:>7.2f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}"
                    f" {r['qps_batch64']:>8.0f} {r['recall_at_1']:>8.3f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e6", help="gallery sizes, comma-separated (default 1e6)")
    parser.add_argument("--full", action="store_true", help="add 1e7 (10M: ~5.1 GB scratch, ~1 h)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=500, help="LFW people embedded as identity seeds")
    parser.add_argument("--nprobe", default="32,64,128,256,512")
    parser.add_argument("--no-milvus", action="store_true")
    parser.add_argument(
        "--nn-target", type=float, help="median nearest-other distance to calibrate to (default: the real LFW one)"
    )
    parser.add_argument("--scratch", default=str(Path(tempfile.gettempdir()) / "faceplane-search-scale"))
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    sizes = sorted({int(float(v)) for v in args.sizes.split(",")} | ({10_000_000} if args.full else set()))
    Path(args.scratch).mkdir(parents=True, exist_ok=True)
    emb, labels = seed_embeddings(args.seeds)
    results: dict[str, Any] = {"real": real_distances(emb, labels), "sizes": {}, "seeds": int(labels.max() + 1)}
    results["machine"] = {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}
    out_file = OUT / "search_scale.json"
    if out_file.exists():  # keep the sizes this run does not redo (a 10M run keeps the 1M table)
        saved = json.loads(out_file.read_text()).get("sizes", {})
        results["sizes"] = {f"{int(k):,}" if k.isdigit() else k: v for k, v in saved.items()}
    OUT.mkdir(parents=True, exist_ok=True)
    for n in sizes:
        key = f"{n:,}" + (f" nn={args.nn_target}" if args.nn_target else "")
        results["sizes"].pop(key, None)
        milvus_done = any(b["name"].startswith("Milvus") for r in results["sizes"].values() for b in r["backends"])
        results["sizes"][key] = run_size(n, emb[::2], results["real"], args, milvus_done)
        results["sizes"][key]["load_avg_end"] = os.getloadavg()
        out_file.write_text(json.dumps(results, indent=1))
    print_tables(results)


if __name__ == "__main__":
    main()
