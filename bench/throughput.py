"""Throughput side by side with dlib's own models, on the same chips and images, in one run.

Run:  python bench/throughput.py [--chips 128] [--images 4] [--no-detect]

- embedding: faces/s of each embedder on the same LFW faces (bench/_lfw.py), aligned as it
  expects (dlib's 150x150 chip; MobileFaceNet's 112x112 ArcFace crop), through the class the
  Engine runs: dlib's own runtime (``DlibDescriptor``, the reference), our ONNX port of the same
  ResNet (``ResNetDescriptor``) and ``MobileFaceNet``; one forward pass per face (the Engine's
  flip TTA, on for dlib, doubles it), at 1 thread and at all cores, called with 1, 8 or 32 chips
  at a time; alignment (cutting the chips from the photo) is timed apart;
- MobileFaceNet's chunk: the same 128 crops in one ``compute`` call with the module's ``_CHUNK``
  (faces per onnxruntime run) patched to each size, to pick the best one;
- CNN detection: images/s of the ONNX MMOD port vs dlib.cnn_face_detection_model_v1 (upsample 1)
  on the same 640x480 photos; HOG detection on them too;
- "all cores": our ports with one onnxruntime thread per core; dlib (single-threaded, GIL held)
  as one worker process per core, which is the best dlib can do on this machine.
Figures are medians of repeated runs (the machine is shared and noisy). The share of peak is
the network's FLOPs / measured time, against the machine's practical fp32 peak measured in the
same run: a 2048x2048 SGEMM in OpenBLAS on one thread, times the cores used.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORES = os.cpu_count() or 1
BATCHES = (1, 8, 32)
CHUNKS = (1, 4, 8, 16, 32, 64, 128)  # MobileFaceNet faces per onnxruntime run


def _data() -> Path:
    return Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (session creation, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _lfw_sample(n: int) -> list[str]:
    """``n`` LFW images spread over the alphabet, relative to the images folder."""
    from _lfw import lfw_dir

    images = lfw_dir() / "images"
    paths = sorted(p.relative_to(images).as_posix() for p in images.glob("*/*.jpg"))
    return paths[:: max(1, len(paths) // n)][:n]


def _chips(paths: list[str]) -> dict[int, np.ndarray]:
    """Chip size -> chips of ``paths``: 150 (dlib's chip), 112 (the ArcFace crop)."""
    from _lfw import lfw_chips
    from faceplane import Engine

    return {e.chip_size: lfw_chips(paths, e)[0] for e in (Engine(embedder="dlib"), Engine())}


def _align_rates(paths: list[str]) -> dict[int, float]:
    """Chip size -> faces/s cutting chips from the decoded photos (1 core)."""
    from _lfw import lfw_dir, lfw_faces
    from faceplane import Engine

    boxes, landmarks, _, _ = lfw_faces(paths)
    images = [Engine().load(lfw_dir() / "images" / p) for p in paths]
    rates = {}
    for engine in (Engine(embedder="dlib"), Engine()):
        def cut(e=engine) -> None:
            for i, rgb in enumerate(images):
                e.align(rgb, boxes[i : i + 1], landmarks[i : i + 1])

        rates[engine.chip_size] = len(paths) / _median_time(cut, 5)
    return rates


def _photos(n: int) -> list[np.ndarray]:
    import cv2

    from faceplane import load_image

    folder = _data() / "faces/dlib-examples/examples/faces"
    paths = sorted(p for p in folder.glob("*.jpg"))[:n]
    return [cv2.resize(load_image(p), (640, 480), interpolation=cv2.INTER_AREA) for p in paths]


def _in_batches(compute: Callable[[np.ndarray], object], chips: np.ndarray, batch: int) -> int:
    for start in range(0, len(chips), batch):
        compute(chips[start : start + batch])
    return len(chips)


# -- dlib reference, also used inside worker processes --------------------------------------------

_DLIB_DESCRIPTOR = None  # one per worker process, loaded by the warm-up call


def _dlib_embed(chips: np.ndarray, batch: int = 1) -> int:
    global _DLIB_DESCRIPTOR
    if _DLIB_DESCRIPTOR is None:
        from faceplane.models.dlib_models import DlibDescriptor

        _DLIB_DESCRIPTOR = DlibDescriptor()
    return _in_batches(_DLIB_DESCRIPTOR.compute, chips, batch)


def _dlib_cnn(images: list[np.ndarray]) -> int:
    import dlib
    import face_recognition_models as frm

    model = dlib.cnn_face_detection_model_v1(frm.cnn_face_detector_model_location())
    for img in images:
        model(img, 1)
    return len(images)


def _processes(fn: Callable, items: list | np.ndarray, n: int = CORES) -> float:
    """Seconds for ``n`` processes to share ``items`` (model loading excluded by a warm-up call)."""
    parts = [items[i::n] for i in range(n)]
    # spawn, not fork: this process already runs onnxruntime threads, and a forked child can
    # inherit one of their locks held and hang forever. The initializer runs in each of the n
    # workers (started by the n warm-up tasks), so none loads its model inside the timed part.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(n, mp_context=context, initializer=fn, initargs=(items[:1],)) as pool:
        list(pool.map(fn, [items[:1]] * n))  # start workers, import dlib, load the model
        start = time.perf_counter()
        list(pool.map(fn, parts))
        return time.perf_counter() - start


def _flops(model, input_shape: tuple[int, ...]) -> float:
    """FLOPs (2 x multiply-adds) of the Conv and Gemm/MatMul nodes for one input of this shape."""
    import onnx
    from onnx import shape_inference

    m = onnx.ModelProto()
    m.CopyFrom(model)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    for d, v in zip(dims, input_shape, strict=False):
        d.ClearField("dim_param")
        d.dim_value = v
    m = shape_inference.infer_shapes(m)
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
              for vi in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input)}
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    total = 0.0
    for node in m.graph.node:
        if node.op_type == "Conv":
            w = inits[node.input[1]]
            out = shapes[node.output[0]]
            total += 2.0 * np.prod(w) * out[2] * out[3] * out[0]
        elif node.op_type in ("Gemm", "MatMul"):
            w = inits.get(node.input[1]) or shapes[node.input[1]]
            total += 2.0 * np.prod(w) * shapes[node.input[0]][0]
    return total


def _sgemm_gflops() -> float:
    """Practical fp32 peak of one core: best of 5 SGEMMs 2048^3 in a one-thread subprocess."""
    import subprocess

    code = (
        "import numpy as np, time\n"
        "a = np.random.rand(2048, 2048).astype(np.float32); a @ a; best = 1e9\n"
        "for _ in range(5):\n"
        "    t = time.perf_counter(); a @ a; best = min(best, time.perf_counter() - t)\n"
        "print(2 * 2048 ** 3 / best / 1e9)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


PEAK_GFLOPS_PER_CORE = 100.0  # replaced by the measured SGEMM figure in main()


def _row(name: str, unit: str, ours: float, ref: float | None, gflop: float | None, cores: int) -> str:
    ratio = f"{ours / ref:8.1f}x" if ref else f"{'':>9}"
    ref_s = f"{ref:12.1f}" if ref else f"{'-':>12}"
    return f"{name:<34}{unit:>9}{ours:12.1f}{ref_s}{ratio}  {_peak(ours, gflop, cores)}"


def _peak(per_s: float, gflop: float | None, cores: int) -> str:
    if not gflop:
        return ""
    achieved = gflop * per_s
    return f"{achieved:8.1f} GF/s {100 * achieved / (PEAK_GFLOPS_PER_CORE * cores):5.1f}%"


# -- embedding --------------------------------------------------------------------------------------

def _embedders(threads: int) -> dict[str, tuple[int, Callable[[np.ndarray], object]]]:
    """name -> (chip size, compute)."""
    from faceplane.models.mobilefacenet import MobileFaceNet
    from faceplane.models.resnet import ResNetDescriptor

    return {
        "dlib ONNX": (150, ResNetDescriptor(num_threads=threads).compute),
        "MobileFaceNet": (112, MobileFaceNet(num_threads=threads).compute),
    }


def _embed_table(chips: dict[int, np.ndarray], ref_n: int, repeats: int) -> dict[tuple[str, int, int], float]:
    """faces/s of each (embedder, threads, batch); dlib-native on the first ``ref_n`` chips (~15x slower)."""
    ref_chips = chips[150][:ref_n]
    fps: dict[tuple[str, int, int], float] = {}
    for batch in BATCHES:
        n = len(ref_chips)
        fps["dlib-native (ref)", 1, batch] = n / _median_time(lambda b=batch: _dlib_embed(ref_chips, b), 2)
        if CORES > 1:
            fps["dlib-native (ref)", CORES, batch] = n / _processes(functools.partial(_dlib_embed, batch=batch),
                                                                     ref_chips)
        print(f"  dlib-native batch {batch} done", file=sys.stderr, flush=True)
    for threads in dict.fromkeys((1, CORES)):
        for name, (size, compute) in _embedders(threads).items():
            for batch in BATCHES:
                fps[name, threads, batch] = len(chips[size]) / _median_time(
                    lambda c=compute, x=chips[size], b=batch: _in_batches(c, x, b), repeats
                )
        print(f"  ONNX embedders, {threads} thread(s) done", file=sys.stderr, flush=True)
    return fps


def _chunk_sweep(chips: np.ndarray, repeats: int) -> dict[tuple[int, int], float]:
    """faces/s of MobileFaceNet.compute(chips) in one call, per (threads, _CHUNK).

    Each round times every chunk size once (interleaved), so that a burst of someone else's load
    on the shared machine hits all sizes alike rather than one; medians over the rounds.
    """
    from faceplane.models import mobilefacenet

    saved = mobilefacenet._CHUNK
    fps: dict[tuple[int, int], float] = {}
    try:
        for threads in dict.fromkeys((1, CORES)):
            net = mobilefacenet.MobileFaceNet(num_threads=threads)
            times: dict[int, list[float]] = {chunk: [] for chunk in CHUNKS}
            for round_ in range(repeats + 1):  # round 0 warms up
                for chunk in CHUNKS:
                    mobilefacenet._CHUNK = chunk
                    start = time.perf_counter()
                    net.compute(chips)
                    if round_:
                        times[chunk].append(time.perf_counter() - start)
            fps.update({(threads, c): len(chips) / statistics.median(t) for c, t in times.items()})
    finally:
        mobilefacenet._CHUNK = saved
    return fps


def _print_embedding(fps: dict, sweep: dict, gflops: dict[str, float], n: int, ref_n: int) -> None:
    from faceplane.models import mobilefacenet

    print(f"\nembedding: faces/s, one forward pass per face, {n} LFW faces ({ref_n} for dlib-native); "
          f"medians. 'vs ref' and peak at batch {BATCHES[-1]}")
    head = (f"{'embedder':<20}{'threads':>8}" + "".join(f"{f'batch {b}':>10}" for b in BATCHES)
            + f"{'ms/face':>9}{'vs ref':>8}  achieved / share of peak")
    print(head)
    print("-" * len(head))
    names = ["dlib-native (ref)", "dlib ONNX", "MobileFaceNet"]
    for name in names:
        for threads in dict.fromkeys((1, CORES)):
            if (name, threads, BATCHES[-1]) not in fps:
                continue
            best = fps[name, threads, BATCHES[-1]]
            ref = fps.get(("dlib-native (ref)", threads, BATCHES[-1]))
            label = f"{threads}{' proc' if name.startswith('dlib-native') and threads > 1 else ''}"
            print(f"{name:<20}{label:>8}" + "".join(f"{fps[name, threads, b]:>10.1f}" for b in BATCHES)
                  + f"{1000 * threads / best:>9.2f}{best / ref:>7.1f}x  {_peak(best, gflops.get(name), threads)}")
    print(f"(ms/face = core-milliseconds per face at batch {BATCHES[-1]}; dlib-native on all cores = one process "
          "per core)")
    print(f"\nMobileFaceNet chunk (faces per onnxruntime run; the module's _CHUNK is {mobilefacenet._CHUNK}): "
          f"faces/s of compute() on {n} crops")
    threads_list = list(dict.fromkeys((1, CORES)))
    print(f"{'chunk':>6}" + "".join(f"{f'{t} thread(s)':>14}" for t in threads_list))
    for chunk in CHUNKS:
        print(f"{chunk:>6}" + "".join(f"{sweep[t, chunk]:>14.1f}" for t in threads_list))
    for t in threads_list:
        best = max(CHUNKS, key=lambda c, t=t: sweep[t, c])
        print(f"best chunk at {t} thread(s): {best} ({sweep[t, best]:.1f} faces/s; "
              f"{sweep[t, best] / sweep[t, mobilefacenet._CHUNK]:.2f}x the current {mobilefacenet._CHUNK})")




# -- detection --------------------------------------------------------------------------------------

def _detect_rows(images: list[np.ndarray], repeats: int) -> tuple[list[str], float, float, tuple[int, int]]:
    from faceplane.models import _dlib_dat, _pyramid, mmod
    from faceplane.models.dlib_models import HogDetector
    from faceplane.models.mmod import MMODDetector
    from faceplane.models.registry import weights_path

    # FLOPs of the net on the tiled pyramid of a 640x480 image upsampled once
    up_rows, up_cols = _pyramid.pyramid_up_size(480, 640)
    _, t_rows, t_cols = _pyramid.tiled_pyramid_layout(up_rows, up_cols, factor=6, padding=10, outer_padding=11)
    mmod_gflop = _flops(mmod.build_onnx(_dlib_dat.read_network(weights_path("mmod"))), (1, 3, t_rows, t_cols)) / 1e9
    dlib_cnn_1 = len(images) / _median_time(lambda: _dlib_cnn(images), 1)
    dlib_cnn_n = len(images) / _processes(_dlib_cnn, images)
    rows = []
    for threads, ref in dict.fromkeys(((1, dlib_cnn_1), (CORES, dlib_cnn_n))):
        det = MMODDetector(num_threads=threads)
        ips = len(images) / _median_time(lambda d=det: [d.detect(im) for im in images], max(2, repeats // 2))
        rows.append(_row(f"CNN detect 640x480, {threads} core{'s' * (threads > 1)}", "img/s", ips, ref, mmod_gflop,
                         threads))
    hog = HogDetector(upsample=1)
    hog_ips = len(images) / _median_time(lambda: [hog.detect(im) for im in images], repeats)
    rows.append(_row("HOG detect 640x480, 1 core", "img/s", hog_ips, None, None, 1))
    return rows, dlib_cnn_1, mmod_gflop, (t_rows, t_cols)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chips", type=int, default=128, help="face chips for the embedding runs")
    parser.add_argument("--ref-chips", type=int, default=32, help="of those, how many dlib's own runtime embeds")
    parser.add_argument("--images", type=int, default=4, help="640x480 photos for the detector runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-detect", action="store_true", help="embedding only")
    args = parser.parse_args()

    import onnx

    from faceplane.models import _dlib_dat, resnet
    from faceplane.models.registry import weights_path
    from faceplane.models.store import model_path

    global PEAK_GFLOPS_PER_CORE
    PEAK_GFLOPS_PER_CORE = _sgemm_gflops()
    paths = _lfw_sample(args.chips)
    chips = _chips(paths)
    gflops = {
        "dlib-native (ref)": _flops(resnet.build_onnx(_dlib_dat.read_network(weights_path("resnet"))),
                                    (1, 150, 150, 3)) / 1e9,
        "MobileFaceNet": _flops(onnx.load(str(model_path("mobilefacenet"))), (1, 112, 112, 3)) / 1e9,
    }
    gflops["dlib ONNX"] = gflops["dlib-native (ref)"]
    fps = _embed_table(chips, args.ref_chips, args.repeats)
    sweep = _chunk_sweep(chips[112], args.repeats)
    align = _align_rates(paths)
    print(f"\n{CORES} cores; peak = 1-thread SGEMM {PEAK_GFLOPS_PER_CORE:.0f} GFLOP/s x cores; "
          f"ResNet {gflops['dlib ONNX']:.2f} GFLOP/face, MobileFaceNet {gflops['MobileFaceNet']:.3f} GFLOP/face")
    _print_embedding(fps, sweep, gflops, len(paths), min(args.ref_chips, len(paths)))
    print(f"alignment from the decoded photo, 1 core: dlib 150x150 chip {align[150]:.0f} faces/s, "
          f"ArcFace 112x112 crop {align[112]:.0f} faces/s")
    if args.no_detect:
        return 0
    images = _photos(args.images)
    rows, dlib_cnn_1, mmod_gflop, (t_rows, t_cols) = _detect_rows(images, args.repeats)
    print(f"\ndetection: {len(images)} photos at 640x480; dlib CNN {1 / dlib_cnn_1:.2f} s/img on 1 core\n")
    head = f"{'what':<34}{'unit':>9}{'faceplane':>12}{'dlib':>12}{'ratio':>9}  achieved / share of peak"
    print(head)
    print("-" * len(head))
    for row in rows:
        print(row)
    print(f"\nMMOD: {mmod_gflop:.1f} GFLOP per 640x480 image (tiled pyramid {t_rows}x{t_cols})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
