"""``faceplane gallery enroll C --zip ZIP`` end to end: the import report in the words of the other enrollments,
and the same command again enrolling nothing twice."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def _run(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faceplane.cli", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_enroll_a_zip_and_run_it_again(tmp_path, photo_zip):
    d = tmp_path / "gallery"
    assert _run(d, "gallery", "create", "staff").returncode == 0
    first = _run(d, "gallery", "enroll", "staff", "--zip", str(photo_zip.path), "--consent-basis", "contract")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    for name in photo_zip.holdout:
        assert any(line.startswith(f"{name} (#") and line.endswith(": 3 template(s) enrolled") for line in lines)
    for member, reason in photo_zip.refused.items():  # "  refused <source>: <reasons>", as `--folder` prints
        assert any(line.startswith(f"  refused {member}: {reason}") for line in lines), (member, lines)
    assert lines[-1] == "summary: 4 people, 12 templates, 4 refused, 1 duplicate, 1 skipped"

    again = _run(d, "gallery", "enroll", "staff", "--zip", str(photo_zip.path), "--json")
    assert again.returncode == 0, again.stderr  # every photo is (already) held
    rows = [json.loads(line) for line in again.stdout.splitlines()]
    assert sum(r["outcome"] == "enrolled" for r in rows) == 0
    assert sum(r["outcome"] == "duplicate" and "already enrolled" in r["reasons"][0] for r in rows) == 12
    people = [json.loads(line) for line in _run(d, "gallery", "list", "staff", "--json").stdout.splitlines()]
    assert sorted(p["templates"] for p in people) == [3, 3, 3, 3]
    assert {p["consent"] for p in people} == {"contract"}

    bad = _run(d, "gallery", "enroll", "staff", "--zip", str(photo_zip.holdout[next(iter(photo_zip.holdout))]))
    assert bad.returncode != 0 and "not a zip archive" in bad.stderr
