"""Record TensorFlow.js outputs of the NanoDet and CenterNet graphs on real COCO images as test fixtures.

Writes tests/fixtures/tfjs_objects.npz, what tests/unit/models/test_tfjs_port.py compares the ONNX port
with. Run once, by hand (needs Node >= 18 and the pure-JS TensorFlow.js packages; see
tests/support/tfjs_reference.mjs and tests/fixtures/README.md):

    npm install --prefix /tmp/tfjs @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-converter@4.22.0 \\
        @tensorflow/tfjs-backend-cpu@4.22.0
    NODE_PATH=/tmp/tfjs/node_modules .venv/bin/python tests/support/make_tfjs_fixtures.py

The inputs are the shared val2017 images through faceplane's own preprocessing; only a sample of each
output is kept (the rows/cells that score highest plus a regular grid), to keep the file small.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from faceplane.models import store
from faceplane.models.centernet import preprocess_centernet
from faceplane.models.nanodet import preprocess_nanodet

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ("000000000139", "000000001532", "000000005037")  # val2017: a living room with people, cars, street
GRAPHS = {
    "nanodet": (
        preprocess_nanodet,
        416,
        ["Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4", "Identity_5"],
    ),
    "centernet": (preprocess_centernet, 512, ["tower_0/keypoints", "tower_0/wh", "tower_0/detections"]),
}


def image(stem: str) -> np.ndarray:
    data = Path(os.environ.get("FACEPLANE_DATA", ROOT.parent / "shared" / "data"))
    bgr = cv2.imread(str(data / "objects" / "coco128" / "images" / "val2017" / f"{stem}.jpg"))
    return np.ascontiguousarray(bgr[:, :, ::-1])


def run_tfjs(name: str, inputs: list[np.ndarray], outputs: list[str], work: Path) -> tuple[list[list[np.ndarray]], str]:
    folder = store.model_path(name).parent
    model_dir = work / name
    model_dir.mkdir()
    doc = json.loads((folder / "source.json").read_text())
    for group in doc["weightsManifest"]:
        (model_dir / group["paths"][0]).write_bytes((folder / "source.bin").read_bytes())
    (model_dir / "model.json").write_text(json.dumps(doc))
    job = {"inputs": [], "outputs": outputs, "out_dir": str(model_dir)}
    for k, x in enumerate(inputs):
        x.astype("<f4").tofile(model_dir / f"in{k}.f32")
        job["inputs"].append({"file": str(model_dir / f"in{k}.f32"), "shape": list(x.shape)})
    (model_dir / "job.json").write_text(json.dumps(job))
    script = ROOT / "tests" / "support" / "tfjs_reference.mjs"
    subprocess.run(["node", str(script), str(model_dir / "model.json"), str(model_dir / "job.json")], check=True)
    manifest = json.loads((model_dir / "outputs.json").read_text())
    results = [[np.fromfile(o["file"], "<f4").reshape(o["shape"]) for o in entry] for entry in manifest["results"]]
    return results, manifest["tfjs"]


def sample_rows(scores: np.ndarray, every: int, top: int) -> np.ndarray:
    best = np.argsort(-scores.max(axis=1))[:top]
    return np.unique(np.concatenate([np.arange(0, len(scores), every), best])).astype(np.int64)


def main() -> None:
    saved: dict[str, np.ndarray] = {"images": np.array(IMAGES)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (prep, size, outputs) in GRAPHS.items():
            inputs = [prep(image(stem), size) for stem in IMAGES]
            results, version = run_tfjs(name, inputs, outputs, Path(tmp))
            saved[f"{name}/tfjs_version"] = np.array(version)
            for k, outs in enumerate(results):
                if name == "nanodet":
                    for level, (scores, boxes) in enumerate(zip(outs[:3], outs[3:], strict=True)):
                        rows = sample_rows(scores[0], 97, 12)
                        saved[f"nanodet/{k}/rows{level}"] = rows
                        saved[f"nanodet/{k}/{outputs[level]}"] = scores[0][rows]
                        saved[f"nanodet/{k}/{outputs[level + 3]}"] = boxes[0][rows]
                else:
                    heat, wh, detections = (o[0] for o in outs)
                    flat = heat.reshape(-1)
                    index = np.unique(np.concatenate([np.argsort(-flat)[:200], np.arange(0, flat.size, 997)]))
                    cells = np.unique(np.concatenate([index // heat.shape[2], np.arange(0, heat.shape[0] ** 2, 41)]))
                    saved[f"centernet/{k}/heat_index"] = index.astype(np.int64)
                    saved[f"centernet/{k}/heat"] = flat[index]
                    saved[f"centernet/{k}/wh_cells"] = cells.astype(np.int64)
                    saved[f"centernet/{k}/wh"] = wh.reshape(-1, 4)[cells]
                    saved[f"centernet/{k}/detections"] = detections
    out = ROOT / "tests" / "fixtures" / "tfjs_objects.npz"
    np.savez_compressed(out, **saved)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)", file=sys.stderr)


if __name__ == "__main__":
    main()
