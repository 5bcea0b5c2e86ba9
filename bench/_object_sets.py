"""The shared object-detection sets as per-image ground truth: COCO128 (val2017, train2017) and NGSIM US-101.

- COCO128 val2017: YOLO labels (non-crowd COCO boxes, class ids 0-79 in COCO-80 order). COCO's
  crowd regions are not in them (the set ships no val instances JSON), so there is nothing to ignore.
- COCO128 train2017: the official instances JSON cut to the same 128 images, which adds the crowd
  regions (``iscrowd``): they become ignore regions. Its 91-id categories are mapped by name.
- NGSIM US-101 Sequence2: 156 highway frames, every box a "car" (cars, SUVs, pickups, vans); large
  trucks and buses are not boxed, so the bench treats them as ignore (see bench/objects.py).

Class names follow COCO-80 as ``object_detection/config.yaml`` spells them ("person", "car", ...).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COCO128 = Path("objects/coco128")
NGSIM = Path("objects/ngsim-us101-vehicles/Sequence2")


@dataclass(frozen=True)
class Truth:
    """One image and its boxes.

    Attributes:
        path: the image file.
        xyxy: (G, 4) float32 pixels.
        names: (G,) str, COCO class name of each box.
        crowd: (G,) bool, True for ignore regions (COCO ``iscrowd``).
    """

    path: Path
    xyxy: np.ndarray
    names: np.ndarray
    crowd: np.ndarray


def coco80_names(root: Path) -> list[str]:
    """The 80 class names, in YOLO id order, from ``object_detection/config.yaml``."""
    text = (root / COCO128 / "object_detection" / "config.yaml").read_text()
    pairs = [(int(m[1]), m[2].strip()) for m in re.finditer(r"^\s+(\d+):\s*(.+)$", text, re.M)]
    return [name for _, name in sorted(pairs)]


def _xywh_to_xyxy(xywh: np.ndarray | list[list[float]]) -> np.ndarray:
    box = np.asarray(xywh, np.float32).reshape(-1, 4)
    return np.concatenate([box[:, :2], box[:, :2] + box[:, 2:]], axis=1)


def _yolo_truth(image: Path, label: Path, names: list[str]) -> Truth:
    h, w = _full_size(image)
    rows = np.loadtxt(label, ndmin=2) if label.exists() and label.stat().st_size else np.zeros((0, 5))
    cxcywh = rows[:, 1:5] * np.array([w, h, w, h])
    xywh = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, 2:]], axis=1)
    labels = np.array([names[int(c)] for c in rows[:, 0]], dtype=object)
    return Truth(image, _xywh_to_xyxy(xywh), labels, np.zeros(len(rows), bool))


def _full_size(image: Path) -> tuple[int, int]:
    """(height, width) of a JPEG, read from its header."""
    from PIL import Image

    with Image.open(image) as im:
        return im.height, im.width


def _json_truth(json_path: Path, image_dir: Path) -> list[Truth]:
    doc = json.loads(json_path.read_text())
    cats = {c["id"]: c["name"] for c in doc["categories"]}
    by_image: dict[int, list[dict]] = {im["id"]: [] for im in doc["images"]}
    for ann in doc["annotations"]:
        by_image[ann["image_id"]].append(ann)
    out = []
    for im in sorted(doc["images"], key=lambda im: im["file_name"]):
        anns = by_image[im["id"]]
        xyxy = _xywh_to_xyxy([a["bbox"] for a in anns])
        names = np.array([cats[a["category_id"]] for a in anns], dtype=object)
        crowd = np.array([bool(a.get("iscrowd", 0)) for a in anns], bool)
        out.append(Truth(image_dir / im["file_name"], xyxy, names, crowd))
    return out


def load_coco128(root: Path, split: str) -> list[Truth]:
    """COCO128 ``split`` ("val2017" or "train2017") under the shared data ``root``, images sorted by name."""
    base = root / COCO128
    if split == "train2017":
        json_path = base / "developer0hye-COCO128" / "annotations" / "instances_train2017.json"
        return _json_truth(json_path, base / "images" / split)
    if split != "val2017":
        raise ValueError(f"split must be val2017 or train2017, got {split!r}")
    names = coco80_names(root)
    labels = base / "object_detection" / "labels" / split
    return [_yolo_truth(p, labels / f"{p.stem}.txt", names) for p in sorted((base / "images" / split).glob("*.jpg"))]


def load_ngsim(root: Path) -> list[Truth]:
    """NGSIM US-101 Sequence2's 156 annotated frames, in time order."""
    base = root / NGSIM
    truth = _json_truth(base / "annotations" / "GT.json", base / "images" / "test")
    return sorted(truth, key=lambda t: int(t.path.stem))
