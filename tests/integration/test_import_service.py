"""Bulk imports on real photos: a zip of LFW people through the enrollment quality gate, then resumed after stops.

The zip (``photo_zip`` in tests/conftest.py) holds four LFW people with three photos each, plus a photo with no
face, one with two faces, one too small, one blurred, a photo twice and a text file. The enrollment path is the
server's default gate (``enrollment_gate`` settings); each test opens a fresh gallery.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from faceplane import Engine
from faceplane.config import EnrollmentGateConfig
from faceplane.errors import InvalidArgumentError
from faceplane.gallery.archive import ArchiveLimits
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.imports import FileOutcome, ImportStore
from faceplane.gallery.records import Consent, EnrollReport
from faceplane.services.imports import ImportService, report_lines

MB = 1 << 20
LIMITS = ArchiveLimits(
    max_archive_bytes=20 * MB, max_uncompressed_bytes=50 * MB, max_files=100, max_photo_bytes=10 * MB
)
GATE = EnrollmentGateConfig.model_validate({}).gate()  # the server's default gate


@pytest.fixture(scope="module")
def shared_engine() -> Engine:
    return Engine()


def open_gallery(root: Path, engine: Engine) -> Gallery:
    gallery = Gallery.open(root, engine=engine)
    if not gallery.list_collections():
        gallery.create_collection("staff")
    return gallery


def service(root: Path, gallery: Gallery, store: ImportStore | None = None, **options: object) -> ImportService:
    def enroll(
        collection: str, images: list[bytes], *, name: str | None, person_id: int | None, consent: Consent | None,
        expires_at: float | None = None,
    ) -> EnrollReport:  # fmt: skip
        return gallery.enroll(
            collection, images, name=name, person_id=person_id, consent=consent, expires_at=expires_at, gate=GATE
        )

    return ImportService(
        store=store or ImportStore(root / "imports.sqlite"), folder=root / "imports", gallery=gallery,
        enroll=enroll, limits=LIMITS, **options,  # type: ignore[arg-type]
    )  # fmt: skip


def create(svc: ImportService, zip_path: Path, **fields: object) -> int:
    with zip_path.open("rb") as fh:
        job, created = svc.create(
            fh, filename=zip_path.name, collection="staff", consent=fields.get("consent"),  # type: ignore[arg-type]
            expires_at=None, actor="ops", role="operator",
        )  # fmt: skip
    assert created
    return job.id


def templates_per_person(gallery: Gallery) -> dict[str, list[str | None]]:
    """Display name -> the SHA-256 of each template's photo."""
    return {
        p.display_name: [t.image_sha256 for t in gallery.store.templates_of(p.id)]
        for p in gallery.list_people("staff", limit=1000)
    }


def test_an_import_enrolls_who_passes_the_gate_and_says_why_others_did_not(tmp_path, shared_engine, photo_zip):
    gallery = open_gallery(tmp_path, shared_engine)
    svc = service(tmp_path, gallery)
    try:
        consent = Consent("contract", "badge system export", "2024-05-01", "")
        job = svc.run(create(svc, photo_zip.path, consent=consent))
        files = {f.member: f for f in svc.files(job.id)}
        c = job.counts
        assert (job.status, c.enrolled, c.refused, c.duplicate, c.skipped, c.people) == ("done", 12, 4, 1, 1, 4)
        assert {m for m, f in files.items() if f.outcome == "enrolled"} == set(photo_zip.enrolled)
        for member, reason in photo_zip.refused.items():
            assert files[member].outcome == "refused" and reason in "; ".join(files[member].reasons), files[member]
        for member, same in photo_zip.duplicate.items():
            assert (files[member].outcome, files[member].reasons) == ("duplicate", [f"the same file as {same}"])
        assert [files[m].outcome for m in photo_zip.skipped] == ["skipped"]
        # each enrolled file names its person and template; the people carry the import's consent
        people = {p.display_name: p for p in gallery.list_people("staff")}
        assert set(people) == set(photo_zip.people.values())
        for member in photo_zip.enrolled:
            person = people[photo_zip.people[member.split("/")[0]]]
            assert files[member].person_id == person.id and person.consent == consent and person.templates == 3
            assert files[member].template_id in {t.id for t in gallery.store.templates_of(person.id)}
        # the enrolled people are recognised on photos that were not in the zip
        for name, photo in photo_zip.holdout.items():
            (found,) = gallery.identify(photo, collections=["staff"])
            assert found.person is not None and found.person.display_name == name, (name, found.candidates[:2])
        text = "\n".join(report_lines(job, svc.files(job.id)))
        assert "no face found" in text and "summary: 4 people, 12 templates, 4 refused" in text
        assert not (tmp_path / "imports" / f"{job.id}.zip").exists()  # photos are not kept once done

        # the same archive again: nothing is enrolled twice
        again = svc.run(create(svc, photo_zip.path))
        assert (again.counts.enrolled, again.counts.duplicate) == (0, 13)
        held = [f for f in svc.files(again.id) if f.outcome == "duplicate" and f.person_id is not None]
        assert len(held) == 12 and all("already enrolled as" in f.reasons[0] for f in held)
        assert all(len(shas) == 3 for shas in templates_per_person(gallery).values())
    finally:
        svc.close()
        gallery.close()


def test_policy_is_checked_before_anything_is_kept(tmp_path, shared_engine, photo_zip):
    gallery = open_gallery(tmp_path, shared_engine)
    svc = service(tmp_path, gallery, is_watchlist=lambda name: name == "staff")
    try:
        with pytest.raises(InvalidArgumentError, match="purpose"):
            create(svc, photo_zip.path)
        assert svc.jobs() == [] and not list((tmp_path / "imports").glob("*"))
    finally:
        svc.close()
        gallery.close()


def test_a_stopped_import_carries_on_after_a_restart_and_enrolls_nothing_twice(tmp_path, shared_engine, photo_zip):
    gallery = open_gallery(tmp_path, shared_engine)
    first = service(tmp_path, gallery, batch_files=2)
    job_id = create(first, photo_zip.path)
    assert first.run_batch(job_id)  # one batch committed: two photos of the first person
    after_one = first.job(job_id)
    assert (after_one.status, after_one.counts.enrolled, after_one.counts.pending) == ("running", 2, 14)
    first.close()  # the server stops
    gallery.close()

    gallery = open_gallery(tmp_path, shared_engine)
    second = service(tmp_path, gallery)
    second.start()  # carries on with the interrupted job
    try:
        job = wait_done(second, job_id)
        assert (job.counts.enrolled, job.counts.refused, job.counts.duplicate, job.counts.people) == (12, 4, 1, 4)
        shas = templates_per_person(gallery)
        assert sorted(len(s) for s in shas.values()) == [3, 3, 3, 3]
        assert all(len(set(s)) == len(s) for s in shas.values())  # no photo twice
        assert len(gallery.list_people("staff")) == 4  # the first person was not created again
    finally:
        second.close()
        gallery.close()


def test_the_same_archive_sent_again_answers_its_unfinished_job(tmp_path, shared_engine, photo_zip):
    gallery = open_gallery(tmp_path, shared_engine)
    svc = service(tmp_path, gallery)  # not started: the job waits
    try:
        job_id = create(svc, photo_zip.path)
        with photo_zip.path.open("rb") as fh:  # e.g. the answer to the first upload was lost
            job, created = svc.create(
                fh,
                filename="people.zip",
                collection="staff",
                consent=None,
                expires_at=None,
                actor="ops",
                role="operator",
            )
        assert (job.id, created, job.status) == (job_id, False, "queued")
        assert [j.id for j in svc.jobs()] == [job_id]
        assert sorted(p.name for p in (tmp_path / "imports").iterdir()) == [f"{job_id}.zip"]
    finally:
        svc.close()
        gallery.close()


def test_a_failed_import_waits_for_a_resume(tmp_path, shared_engine, photo_zip):
    gallery = open_gallery(tmp_path, shared_engine)
    svc = service(tmp_path, gallery)
    try:
        job_id = create(svc, photo_zip.path)
        gallery.delete_collection("staff")  # deleted while the import waited
        failed = svc.run(job_id)
        assert failed.status == "failed" and "no collection" in failed.error and failed.counts.pending == 16
        gallery.create_collection("staff")
        assert svc.resume(job_id).status == "queued"
        done = svc.run(job_id)
        assert (done.status, done.error, done.counts.enrolled) == ("done", "", 12)
        assert svc.resume(job_id).status == "done"  # nothing left to do
    finally:
        svc.close()
        gallery.close()


class CrashAfterEnrolling(ImportStore):
    """A store whose outcome commit fails once: a crash after the gallery enrolled a batch, before its outcomes."""

    crashed = False

    def record(self, job_id: int, outcomes: list[FileOutcome]) -> None:  # type: ignore[override]
        if not self.crashed and any(o.outcome == "enrolled" for o in outcomes):
            self.crashed = True
            raise OSError("power cut")
        super().record(job_id, outcomes)


def test_a_crash_between_enrollment_and_its_outcome_is_recovered_by_photo_hash(tmp_path, shared_engine, photo_zip):
    gallery = open_gallery(tmp_path, shared_engine)
    first = service(tmp_path, gallery, store=CrashAfterEnrolling(tmp_path / "imports.sqlite"))
    job_id = create(first, photo_zip.path)
    with pytest.raises(OSError, match="power cut"):
        first.run_batch(job_id)
    name = next(iter(photo_zip.people.values()))
    enrolled_before = templates_per_person(gallery)[name]
    assert len(enrolled_before) == 3  # the gallery committed; the import still says "enrolling"
    assert {f.outcome for f in first.files(job_id)} >= {"enrolling"}
    first.close()
    gallery.close()

    gallery = open_gallery(tmp_path, shared_engine)
    second = service(tmp_path, gallery)
    try:
        job = second.run(job_id)
        assert (job.status, job.counts.enrolled, job.counts.people) == ("done", 12, 4)
        assert templates_per_person(gallery)[name] == enrolled_before  # recovered, not enrolled again
        own = [f for f in second.files(job_id) if f.person == name and f.outcome == "enrolled"]
        assert len(own) == 3 and not any(f.reasons for f in own)
    finally:
        second.close()
        gallery.close()


def wait_done(svc: ImportService, job_id: int, timeout_s: float = 120.0):
    deadline = time.monotonic() + timeout_s
    while (job := svc.job(job_id)).status not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job.status == "done", job.error
    return job
