"""Throughput side by side with dlib's own models, on the same chips and images, in one run.

Run:  python bench/throughput.py [--chips 128] [--images 4]

- embedding: faces/s of faceplane's ONNX ResNet port vs dlib.face_recognition_model_v1
  .compute_face_descriptor on the same LFW chips;
- CNN detection: images/s of the ONNX MMOD port vs dlib.cnn_face_detection_model_v1 (upsample 1)
  on the same 640x480 photos; HOG detection on them too;
- "both cores": our ports with 2 onnxruntime threads; dlib (single-threaded, GIL held) as
  2 worker processes, which is the best dlib can do on this machine.
Figures are medians of repeated runs (the machine is shared and noisy). The share of peak is
the network's FLOPs / measured time, against the machine's practical fp32 peak measured in the
same run: a 2048x2048 SGEMM in OpenBLAS on one thread, times the cores used.
"""

from __future__ import annotations

import argparse
import glob
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


def _lfw_chips(n: int) -> np.ndarray:
    from faceplane import Engine
    from faceplane.align import face_chips

    engine = Engine()
    paths = sorted(glob.glob(str(_data() / "faces/lfw-view1/images/*/*.jpg")))
    chips = []
    for path in paths[:: max(1, len(paths) // (2 * n))]:
        rgb = engine.load(path)
        faces = engine.detect(rgb)
        if len(faces):
            chips.append(face_chips(rgb, faces.xyxy[:1], faces.landmarks[:1])[0])
        if len(chips) == n:
            break
    return np.stack(chips)


def _photos(n: int) -> list[np.ndarray]:
    import cv2

    from faceplane import load_image

    folder = _data() / "faces/dlib-examples/examples/faces"
    paths = sorted(p for p in folder.glob("*.jpg"))[:n]
    return [cv2.resize(load_image(p), (640, 480), interpolation=cv2.INTER_AREA) for p in paths]


# -- dlib reference, also used inside worker processes --------------------------------------------

def _dlib_embed(chips: np.ndarray) -> int:
    import dlib
    import face_recognition_models as frm

    model = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    for chip in chips:
        model.compute_face_descriptor(np.ascontiguousarray(chip))
    return len(chips)


def _dlib_cnn(images: list[np.ndarray]) -> int:
    import dlib
    import face_recognition_models as frm

    model = dlib.cnn_face_detection_model_v1(frm.cnn_face_detector_model_location())
    for img in images:
        model(img, 1)
    return len(images)


def _two_processes(fn: Callable, items: list | np.ndarray) -> float:
    """Seconds for 2 processes to share ``items`` (model loading excluded by a warm-up call)."""
    halves = [items[0::2], items[1::2]]
    # spawn, not fork: this process already runs onnxruntime threads, and a forked child can
    # inherit one of their locks held and hang forever
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(fn, [items[:1], items[:1]]))  # start workers, import dlib
        start = time.perf_counter()
        list(pool.map(fn, halves))
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
    if gflop:
        achieved = gflop * ours
        peak = f"{achieved:8.1f} GF/s {100 * achieved / (PEAK_GFLOPS_PER_CORE * cores):5.1f}%"
    else:
        peak = ""
    return f"{name:<34}{unit:>9}{ours:12.1f}{ref_s}{ratio}  {peak}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chips", type=int, default=128, help="face chips for the embedding runs")
    parser.add_argument("--images", type=int, default=4, help="640x480 photos for the detector runs")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from faceplane.models import _dlib_dat, resnet
    from faceplane.models.dlib_models import HogDetector
    from faceplane.models.mmod import MMODDetector
    from faceplane.models.registry import weights_path

    global PEAK_GFLOPS_PER_CORE
    PEAK_GFLOPS_PER_CORE = _sgemm_gflops()
    chips = _lfw_chips(args.chips)
    images = _photos(args.images)
    rows = []

    # --- embedding
    resnet_gflop = _flops(resnet.build_onnx(_dlib_dat.read_network(weights_path("resnet"))), (1, 150, 150, 3)) / 1e9
    ref_subset = chips[: min(len(chips), 48)]
    dlib_1 = len(ref_subset) / _median_time(lambda: _dlib_embed(ref_subset), 1)
    dlib_2 = len(ref_subset) / _two_processes(_dlib_embed, ref_subset)
    for threads, ref in ((1, dlib_1), (2, dlib_2)):
        desc = resnet.ResNetDescriptor(num_threads=threads)
        fps = len(chips) / _median_time(lambda d=desc: d.compute(chips), args.repeats)
        rows.append(_row(f"embed, {threads} core{'s' * (threads > 1)} (batch {len(chips)})", "faces/s", fps, ref,
                         resnet_gflop, threads))

    # --- CNN detection: FLOPs of the net on the tiled pyramid of a 640x480 image upsampled once
    from faceplane.models import _pyramid, mmod

    up_rows, up_cols = _pyramid.pyramid_up_size(480, 640)
    _, t_rows, t_cols = _pyramid.tiled_pyramid_layout(up_rows, up_cols, factor=6, padding=10, outer_padding=11)
    mmod_gflop = _flops(mmod.build_onnx(_dlib_dat.read_network(weights_path("mmod"))), (1, 3, t_rows, t_cols)) / 1e9
    dlib_cnn_1 = len(images) / _median_time(lambda: _dlib_cnn(images), 1)
    dlib_cnn_2 = len(images) / _two_processes(_dlib_cnn, images)
    for threads, ref in ((1, dlib_cnn_1), (2, dlib_cnn_2)):
        det = MMODDetector(num_threads=threads)
        ips = len(images) / _median_time(lambda d=det: [d.detect(im) for im in images], max(2, args.repeats // 2))
        gflop = mmod_gflop
        rows.append(_row(f"CNN detect 640x480, {threads} core{'s' * (threads > 1)}", "img/s", ips, ref, gflop, threads))

    hog = HogDetector(upsample=1)
    hog_ips = len(images) / _median_time(lambda: [hog.detect(im) for im in images], args.repeats)
    rows.append(_row("HOG detect 640x480, 1 core", "img/s", hog_ips, None, None, 1))

    print(f"\n{len(chips)} LFW chips, {len(images)} photos at 640x480; medians of {args.repeats} runs")
    print(f"dlib reference: {dlib_1:.1f} faces/s on 1 core ({1000 / dlib_1:.1f} ms/face), "
          f"{dlib_2:.1f} faces/s on 2 processes; CNN {1 / dlib_cnn_1:.2f} s/img\n")
    head = f"{'what':<34}{'unit':>9}{'faceplane':>12}{'dlib':>12}{'ratio':>9}  achieved / share of peak"
    print(head)
    print("-" * len(head))
    for row in rows:
        print(row)
    print(f"\nResNet: {resnet_gflop:.2f} GFLOP per face; MMOD: {mmod_gflop:.1f} GFLOP per 640x480 image "
          f"(tiled pyramid {t_rows}x{t_cols}); peak = 1-thread SGEMM {PEAK_GFLOPS_PER_CORE:.0f} GFLOP/s x cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
