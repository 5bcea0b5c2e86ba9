"""Bulk imports over the REST API: a real zip of LFW people imported in the background and identified afterwards,
the refusal report, the audit rows, and the uploads refused whole (too large, zip bombs, zip-slip, not a zip).

The server here allows 2 MB archives holding at most 4 MB once decompressed (``imports`` settings), so that the
size limits are reached with small test files; the photo zip (``photo_zip`` in tests/conftest.py) is ~0.9 MB.
Routes and roles are in test_api.py's table.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from typing import Any

import pytest

from faceplane.services import Services

API = "/api/v1"
MB = 1 << 20


@pytest.fixture(scope="module")
def services(tmp_path_factory, make_services):
    limits = {"max_archive_mb": 2, "max_uncompressed_mb": 4}
    with make_services(tmp_path_factory.mktemp("imports-api"), imports=limits) as built:
        built.library.create_collection("staff")
        built.library.create_collection("watch")
        built.cameras.set_watchlist("watch", True)
        yield built


def post_zip(client, headers, content: bytes, collection: str = "staff", **form: str) -> Any:
    files = {"archive": ("people.zip", content, "application/zip")}
    return client.post(f"{API}/imports", files=files, data={"collection": collection, **form}, headers=headers)


def wait_done(client, headers, job_id: int, timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        report = client.get(f"{API}/imports/{job_id}", headers=headers).json()
        if report["status"] in ("done", "failed"):
            return report
        assert time.monotonic() < deadline, report
        time.sleep(0.2)


def test_an_uploaded_zip_is_enrolled_in_the_background_with_a_report(client, services: Services, operator, photo_zip):
    # the first person is already enrolled elsewhere, from the photo held out: their imported faces are flagged
    first_name, first_photo = next(iter(photo_zip.holdout.items()))
    services.library.create_collection("earlier")
    services.library.enroll("earlier", [first_photo.read_bytes()], name="Badge 17", person_id=None, consent=None)
    form = {"consent_basis": "contract", "consent_source": "badge export", "consent_date": "2024-05-01"}
    response = post_zip(client, operator, photo_zip.path.read_bytes(), **form)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["collection"] == "staff" and job["created_by"] == "test-operator" and job["counts"]["total"] == 18
    report = wait_done(client, operator, job["id"])
    assert report["status"] == "done", report["error"]
    counts = report["counts"]
    assert (counts["enrolled"], counts["refused"], counts["duplicate"], counts["skipped"], counts["people"]) == (
        12, 4, 1, 1, 4,
    )  # fmt: skip
    assert report["reasons"] == {
        "no face found": 1, "several faces": 1, "face too small": 1, "blurred": 1, "same file twice in the zip": 1,
        "not a photo": 1,
    }  # fmt: skip
    refused = client.get(f"{API}/imports/{job['id']}", params={"outcome": "refused"}, headers=operator).json()
    assert {f["file"]: f["reasons"][0].split(" (")[0] for f in refused["files"]} == {
        m: r for m, r in photo_zip.refused.items()
    }
    enrolled = [f for f in report["files"] if f["outcome"] == "enrolled"]
    assert sorted(f["file"] for f in enrolled) == sorted(photo_zip.enrolled)
    assert all(f["person_id"] and f["template_id"] for f in enrolled)
    warned = report["warnings"]
    assert warned and all(f["outcome"] == "enrolled" and f["person"] == first_name for f in warned), warned
    assert all(f["reasons"][0].startswith("looks like Badge 17 (#") for f in warned)

    # each person enrolled is identified on a photo that was not in the zip
    for name, photo in photo_zip.holdout.items():
        files = {"image": (photo.name, photo.read_bytes(), "image/jpeg")}
        found = client.post(f"{API}/identify?collection=staff", files=files, headers=operator).json()["faces"][0]
        assert found["person"] and found["person"]["name"] == name, found
    people = client.get(f"{API}/collections/staff/people", headers=operator).json()
    assert {p["name"]: p["consent_basis"] for p in people} == {n: "contract" for n in photo_zip.holdout}

    # the audit log: one row when it started, one when it ended, none per file
    rows = [e for e in services.audit.query(limit=1000) if e.action.startswith(("import.", "person.enroll"))]
    assert sorted(e.action for e in rows) == ["import.finish", "import.start"]
    finish = next(e for e in rows if e.action == "import.finish")
    assert (finish.actor, finish.target) == ("test-operator", "staff") and '"enrolled":12' in finish.detail

    listed = client.get(f"{API}/imports", params={"collection": "staff"}, headers=operator).json()
    assert job["id"] in [j["id"] for j in listed]
    assert client.get(f"{API}/imports", params={"collection": "watch"}, headers=operator).json() == []
    again = client.post(f"{API}/imports/{job['id']}/resume", headers=operator)
    assert again.status_code == 200 and again.json()["status"] == "done"  # nothing left: left as it is


def test_the_same_zip_again_enrolls_nothing_twice(client, operator, photo_zip):
    first = post_zip(client, operator, photo_zip.path.read_bytes())
    assert first.status_code in (200, 201), first.text
    wait_done(client, operator, first.json()["id"])
    second = post_zip(client, operator, photo_zip.path.read_bytes())
    assert second.status_code == 201, second.text  # the first is done: a new job, whose photos are all held
    report = wait_done(client, operator, second.json()["id"])
    assert (report["counts"]["enrolled"], report["counts"]["duplicate"]) == (0, 13)
    people = client.get(f"{API}/collections/staff/people", headers=operator).json()
    assert sorted(p["templates"] for p in people) == [3, 3, 3, 3]


def test_erasing_a_person_blanks_their_names_in_import_reports(client, services: Services, operator, photo_zip):
    services.library.create_collection("erase")
    job = post_zip(client, operator, photo_zip.path.read_bytes(), collection="erase").json()
    report = wait_done(client, operator, job["id"])
    name = next(iter(photo_zip.holdout))
    theirs = [f for f in report["files"] if f["person"] == name]
    assert theirs and any(f["person_id"] for f in theirs)
    person_id = next(f["person_id"] for f in theirs if f["person_id"])
    assert client.delete(f"{API}/people/{person_id}", headers=operator).status_code == 200
    after = wait_done(client, operator, job["id"])
    assert not [f for f in after["files"] if f["person"] == name or name.replace(" ", "_") in f["file"]]
    assert sum(f["person"] == "(erased)" for f in after["files"]) == len(theirs)
    assert [f for f in after["files"] if f["person"] not in (name, "(erased)")]  # the others' rows are kept


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("case", "status", "detail"),
    [
        ("archive over 2 MB", 413, "larger than 2 MB"),
        ("zip bomb", 413, "once decompressed"),
        ("not a zip", 422, "not a zip archive"),
        ("zip-slip path", 422, "unsafe file name"),
        ("no person folder", 422, "no photo in a person's folder"),
        ("unknown collection", 404, "no-such-collection"),
        ("watchlist without a purpose", 400, "purpose"),
    ],
)
def test_uploads_refused_whole(client, services: Services, operator, photo_zip, case, status, detail):
    photo = next(iter(photo_zip.holdout.values())).read_bytes()
    content, collection = {
        "archive over 2 MB": (_zip({"Ada/1.jpg": photo, "Ada/noise.png": os.urandom(2 * MB + 1)}), "staff"),
        "zip bomb": (_zip({"Ada/1.jpg": photo, "Ada/2.png": bytes(5 * MB)}), "staff"),
        "not a zip": (photo, "staff"),
        "zip-slip path": (_zip({"Ada/1.jpg": photo, "../../etc/cron.d/x.jpg": photo}), "staff"),
        "no person folder": (_zip({"1.jpg": photo}), "staff"),
        "unknown collection": (_zip({"Ada/1.jpg": photo}), "no-such-collection"),
        "watchlist without a purpose": (_zip({"Ada/1.jpg": photo}), "watch"),
    }[case]
    jobs_before = len(services.imports.jobs(limit=500))
    response = post_zip(client, operator, content, collection)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]
    assert len(services.imports.jobs(limit=500)) == jobs_before  # nothing kept
    assert not list((services.imports.folder).glob("*.part"))


def test_unknown_import_ids_are_404(client, operator):
    assert client.get(f"{API}/imports/999999", headers=operator).status_code == 404
    assert client.post(f"{API}/imports/999999/resume", headers=operator).status_code == 404
