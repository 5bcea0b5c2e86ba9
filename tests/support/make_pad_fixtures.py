"""Record TensorFlow.js results of vladmandic/human's face crop and its antispoof / liveness graphs as test fixtures.

Writes tests/fixtures/tfjs_pad.npz, what tests/unit/models/test_pad_port.py compares faceplane with: the ONNX
ports of the two graphs (on identical inputs) and faceplane's numpy replay of Human's crop
(:func:`faceplane.liveness.learned.human_model_input`). The faces are real photos from ../shared/data with
boxes from faceplane's BlazeFace (fractional, like Human's own detector's); one is cut so that its crop runs
over the image border. Run once, by hand (Node >= 18 and the pure-JS TensorFlow.js packages; see
tests/fixtures/README.md):

    npm install --prefix /tmp/tfjs @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-converter@4.22.0 \\
        @tensorflow/tfjs-backend-cpu@4.22.0
    NODE_PATH=/tmp/tfjs/node_modules .venv/bin/python tests/support/make_pad_fixtures.py

(after ``faceplane models install antispoof liveness``, and ``blazeface`` for the boxes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from faceplane import Engine
from faceplane.liveness.learned import human_model_input
from faceplane.models import store

ROOT = Path(__file__).resolve().parents[2]
# (image under ../shared/data/faces, rows and columns cut off its top-left, faces to keep in detection order)
IMAGES = (
    ("face_recognition-examples/examples/obama.jpg", (0, 0), 1),
    ("face_recognition-examples/examples/two_people.jpg", (0, 0), 2),
    ("dlib-examples/examples/faces/2008_002470.jpg", (0, 0), 2),
    ("dlib-examples/examples/faces/2009_004587.jpg", (0, 0), 1),
    ("lfw-view1/images/AJ_Cook/AJ_Cook_0001.jpg", (0, 0), 1),
    ("lfw-view1/images/AJ_Cook/AJ_Cook_0001.jpg", (60, 40), 1),  # Human's square runs over the top edge
    ("face_recognition-examples/examples/lin-manuel-miranda.png", (0, 0), 1),
)
MODELS = {"antispoof": 128, "liveness": 32}
SAMPLE = {"antispoof": 31, "liveness": 3}  # keep every n-th value of Human's model input (the file stays small)


def load(engine: Engine, name: str, cut: tuple[int, int]) -> np.ndarray:
    data = Path(os.environ.get("FACEPLANE_DATA", ROOT.parent / "shared" / "data"))
    image = engine.load(data / "faces" / name)
    return np.ascontiguousarray(image[cut[0] :, cut[1] :])


def graph_dir(name: str, work: Path) -> Path:
    folder, out = store.model_path(name).parent, work / name
    out.mkdir()
    doc = json.loads((folder / "source.json").read_text())
    for group in doc["weightsManifest"]:
        (out / group["paths"][0]).write_bytes((folder / "source.bin").read_bytes())
    (out / "model.json").write_text(json.dumps(doc))
    return out / "model.json"


def main() -> None:
    engine = Engine(detector="blazeface", num_threads=1)
    saved: dict[str, np.ndarray] = {}
    names, cuts, boxes = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        job: dict = {"models": {m: str(graph_dir(m, work)) for m in MODELS}, "faces": [], "out_dir": tmp}
        for i, (name, cut, count) in enumerate(IMAGES):
            image = load(engine, name, cut)
            pixels = work / f"img{i}.f32"
            image.astype("<f4").tofile(pixels)
            found = engine.detect(image).xyxy[:count]
            if len(found) != count:
                raise SystemExit(f"{name}: {len(found)} faces found, expected {count}")
            for box in found:
                k = len(boxes)
                inputs = {}
                for model, size in MODELS.items():
                    human_model_input(image, box, size).astype("<f4").tofile(work / f"ours{k}_{model}.f32")
                    inputs[model] = str(work / f"ours{k}_{model}.f32")
                face = {"image": str(pixels), "shape": list(image.shape), "box": box.tolist(), "inputs": inputs}
                job["faces"].append(face)
                names.append(name)
                cuts.append(cut)
                boxes.append(box)
        (work / "job.json").write_text(json.dumps(job))
        script = ROOT / "tests" / "support" / "tfjs_pad_reference.mjs"
        subprocess.run(["node", str(script), str(work / "job.json")], check=True)
        manifest = json.loads((work / "outputs.json").read_text())
        for k, face in enumerate(manifest["faces"]):
            saved[f"face/{k}/square"] = np.array(face["square"], np.int64)
            for model, files in face["files"].items():
                tensor = np.fromfile(files["input"], "<f4").reshape(files["input_shape"])[0]
                saved[f"face/{k}/{model}/input"] = tensor.reshape(-1)[:: SAMPLE[model]]
                for kind in ("human", "ours"):
                    saved[f"face/{k}/{model}/{kind}"] = np.fromfile(files[kind], "<f4").reshape(files["output_shape"])
    saved["images"] = np.array(names)
    saved["cuts"] = np.array(cuts, np.int64)
    saved["boxes"] = np.array(boxes, np.float32)
    for model, every in SAMPLE.items():
        saved[f"{model}/sample"] = np.array(every)
    saved["tfjs_version"] = np.array(manifest["tfjs"])
    out = ROOT / "tests" / "fixtures" / "tfjs_pad.npz"
    np.savez_compressed(out, **saved)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB, {len(boxes)} faces)", file=sys.stderr)


if __name__ == "__main__":
    main()
