"""Shared fixtures: where the shared evaluation data lives, and one engine per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """``$FACEPLANE_DATA`` or ``<repo>/../shared/data`` (the layout CI uses)."""
    return Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data() -> Path:
    root = data_dir()
    if not (root / "faces").is_dir():
        pytest.fail(f"shared test data not found at {root}; set FACEPLANE_DATA")
    return root


@pytest.fixture(scope="session")
def examples(data: Path) -> Path:
    return data / "faces" / "face_recognition-examples" / "examples"


@pytest.fixture(scope="session")
def engine():
    import faceplane

    return faceplane.Engine()
