"""``faceplane demo``: a first run on real photos (the shared evaluation data), no setup needed."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TextIO

from .errors import FaceplaneError
from .pipeline import Engine

__all__ = ["default_data_dir", "run_demo"]

_EXAMPLES = "faces/face_recognition-examples/examples"
_PAIRS = [("obama.jpg", "obama2.jpg"), ("obama.jpg", "biden.jpg"), ("obama-480p.jpg", "obama-1080p.jpg")]


def default_data_dir() -> Path:
    """``$FACEPLANE_DATA``, else ``../shared/data`` relative to the current directory."""
    return Path(os.environ.get("FACEPLANE_DATA") or Path.cwd().parent / "shared" / "data")


def run_demo(data: str | None, out: TextIO) -> int:
    """Detect faces in the sample photos and verify a few pairs; returns an exit code."""
    root = Path(data) if data else default_data_dir()
    folder = root / _EXAMPLES
    if not folder.is_dir():
        raise FaceplaneError(f"sample photos not found at {folder} (set FACEPLANE_DATA or --data)")
    engine = Engine()
    out.write(f"faceplane demo on {folder}\n\n{'image':<24}{'faces':>6}{'best quality':>14}{'ms':>8}\n")
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg", "two_people.jpg", "obama-1080p.jpg"):
        start = time.perf_counter()
        faces = engine.analyze(folder / name)
        ms = (time.perf_counter() - start) * 1000
        best = f"{faces.quality.max():.2f}" if len(faces) else "-"
        out.write(f"{name:<24}{len(faces):>6}{best:>14}{ms:>8.0f}\n")
    out.write(f"\n{'pair':<36}{'distance':>10}  verdict\n")
    for a, b in _PAIRS:
        match = engine.verify(folder / a, folder / b)
        verdict = "same person" if match.is_match else "different people"
        out.write(f"{a + ' vs ' + b:<36}{match.distance:>10.4f}  {verdict}\n")
    return 0
