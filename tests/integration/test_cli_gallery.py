"""The gallery CLI end to end on real photos: create, enroll, list, identify, cluster, export/import, remove."""

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


def test_gallery_workflow(tmp_path, data, examples):
    johns = data / "faces" / "dlib-examples" / "examples" / "johns"
    d = tmp_path / "gallery"
    assert _run(d, "gallery", "create", "staff").returncode == 0
    enroll = _run(d, "gallery", "enroll", "staff", "--folder", str(johns), "--json")
    assert enroll.returncode == 0, enroll.stderr
    reports = [json.loads(line) for line in enroll.stdout.splitlines()]
    assert len(reports) == 5 and all(len(r["template_ids"]) == 11 for r in reports)

    obama = _run(
        d,
        "gallery",
        "enroll",
        "staff",
        str(examples / "obama.jpg"),
        str(examples / "obama2.jpg"),
        "--name",
        "Barack Obama",
        "--consent-basis",
        "consent",
        "--consent-source",
        "test",
    )
    assert obama.returncode == 0 and "2 template(s) enrolled" in obama.stdout
    people = [json.loads(line) for line in _run(d, "gallery", "list", "staff", "--json").stdout.splitlines()]
    assert {p["name"] for p in people} >= {"Barack Obama", "John Simm"}
    assert next(p for p in people if p["name"] == "Barack Obama")["consent"] == "consent"

    ident = _run(d, "identify", "--json", str(examples / "two_people.jpg"), str(examples / "obama-720p.jpg"))
    assert ident.returncode == 0, ident.stderr
    two, single = (json.loads(line) for line in ident.stdout.splitlines())
    names = [f["person"]["name"] if f["person"] else None for f in two["faces"]]
    assert sorted(names, key=str) == ["Barack Obama", None]  # Biden is not enrolled: unknown
    assert single["faces"][0]["person"]["name"] == "Barack Obama"

    export = tmp_path / "staff.jsonl"
    assert _run(d, "gallery", "export", "staff", str(export)).returncode == 0
    assert _run(d, "gallery", "import", "copy", str(export)).returncode == 0
    colls = {
        json.loads(x)["collection"]: json.loads(x) for x in _run(d, "gallery", "list", "--json").stdout.splitlines()
    }
    assert colls["copy"]["templates"] == colls["staff"]["templates"] == 57

    obama_id = next(p["id"] for p in people if p["name"] == "Barack Obama")
    assert _run(d, "gallery", "remove", "staff", "--person", str(obama_id)).returncode == 0
    after = json.loads(_run(d, "identify", "--json", "--collection", "staff", str(examples / "obama-720p.jpg")).stdout)
    assert after["faces"][0]["person"] is None
    refused = _run(d, "gallery", "remove", "copy")
    assert refused.returncode == 2 and "--yes" in refused.stderr


def test_cluster_groups_recurring_strangers(tmp_path, examples):
    d = tmp_path / "g"
    photos = [examples / n for n in ("obama.jpg", "obama2.jpg", "obama-480p.jpg", "biden.jpg", "two_people.jpg")]
    res = _run(d, "cluster", "--json", *map(str, photos))
    assert res.returncode == 0, res.stderr
    clusters = [json.loads(line) for line in res.stdout.splitlines()]
    # Obama appears in 4 photos (two_people too), Biden in 2
    assert [c["faces"] for c in clusters] == [4, 2]
    assert _run(d, "gallery", "create", "named").returncode == 0
    obama = str(clusters[0]["cluster"])  # ids are issued once (1, 2 here), never reused
    named = _run(d, "cluster", "--name", "Obama", "--cluster", obama, "--collection", "named")
    assert named.returncode == 0, named.stderr
    ident = json.loads(_run(d, "identify", "--json", str(examples / "obama-720p.jpg")).stdout)
    assert ident["faces"][0]["person"]["name"] == "Obama"
    again = [json.loads(line) for line in _run(d, "cluster", "--json").stdout.splitlines()]
    assert [(c["cluster"], c["faces"]) for c in again] == [(clusters[1]["cluster"], 2)]  # Obama's faces left


def test_bad_import_is_refused(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("garbage\n")
    res = _run(tmp_path / "g", "gallery", "import", "x", str(bad))
    assert res.returncode == 2 and "not a faceplane export" in res.stderr and "Traceback" not in res.stderr
