"""Import jobs in SQLite: members listed once, batches per person, outcomes from an enrollment report."""

from __future__ import annotations

import pytest

from faceplane.errors import InvalidArgumentError, NotFoundError
from faceplane.gallery.archive import ArchiveEntry
from faceplane.gallery.imports import FileOutcome, ImportStore, outcomes_of
from faceplane.gallery.records import Candidate, Consent, EnrollReport, Person, Rejection

ENTRIES = [
    ArchiveEntry(0, "Ada/1.jpg", "Ada", "a1"),
    ArchiveEntry(1, "Ada/2.jpg", "Ada", "a2"),
    ArchiveEntry(2, "Bob/1.jpg", "Bob", "b1"),
    ArchiveEntry(3, "Bob/copy.jpg", "Bob", "a1"),  # the same bytes as Ada/1.jpg
    ArchiveEntry(4, "Ada/3.jpg", "Ada", "a3"),
    ArchiveEntry(5, "Bob/notes.txt", "Bob", "", "not a photo (.txt)"),
]


@pytest.fixture
def store(tmp_path):
    s = ImportStore(tmp_path / "imports.sqlite")
    yield s
    s.close()


def test_a_new_job_lists_each_member_once(store):
    consent = Consent("contract", "HR export", "2024-01-01", "")
    job_id = store.create_job("staff", "people.zip", "f" * 64, ENTRIES, actor="ops", role="operator", consent=consent)
    job = store.job(job_id)
    assert (job.status, job.collection, job.consent, job.actor) == ("queued", "staff", consent, "ops")
    assert (job.counts.total, job.counts.pending, job.counts.duplicate, job.counts.skipped) == (6, 4, 1, 1)
    outcomes = {f.member: (f.outcome, f.reasons) for f in store.files(job_id)}
    assert outcomes["Bob/copy.jpg"] == ("duplicate", ["the same file as Ada/1.jpg"])
    assert outcomes["Bob/notes.txt"] == ("skipped", ["not a photo (.txt)"])
    assert store.active_jobs() == [job_id]
    assert store.unfinished("staff", "f" * 64) == job and store.unfinished("other", "f" * 64) is None


def test_batches_take_one_person_at_a_time_in_archive_order(store):
    job_id = store.create_job("staff", "p.zip", "f" * 64, ENTRIES, actor="ops", role="operator")
    first = store.next_batch(job_id, 10)
    assert [f.member for f in first] == ["Ada/1.jpg", "Ada/2.jpg", "Ada/3.jpg"]  # all of Ada, though not adjacent
    assert [f.member for f in store.next_batch(job_id, 2)] == ["Ada/1.jpg", "Ada/2.jpg"]
    store.mark_enrolling(job_id, [0, 1, 4])
    assert [f.outcome for f in store.next_batch(job_id, 10)] == ["enrolling"] * 3  # still to settle after a crash
    assert store.job(job_id).status == "running" and store.job(job_id).counts.pending == 4
    store.record(job_id, [FileOutcome(0, "enrolled", [], 7, 70), FileOutcome(1, "enrolled", [], 7, 71),
                          FileOutcome(4, "refused", ["no face found"])])  # fmt: skip
    assert [f.member for f in store.next_batch(job_id, 10)] == ["Bob/1.jpg"]
    c = store.job(job_id).counts
    assert (c.enrolled, c.refused, c.pending, c.people) == (2, 1, 1, 1)
    store.record(job_id, [FileOutcome(2, "enrolled", [], 8, 80)])
    assert store.next_batch(job_id, 10) == []


def test_finished_jobs_are_forgotten_after_their_keep_time(store):
    old = store.create_job("staff", "p.zip", "1" * 64, ENTRIES, actor="ops", role="operator")
    running = store.create_job("staff", "p.zip", "2" * 64, ENTRIES, actor="ops", role="operator")
    store.set_status(old, "done")
    assert store.job(old).finished_at is not None and store.unfinished("staff", "1" * 64) is None
    assert store.delete_idle_before(0.0) == []
    assert store.delete_idle_before(store.job(old).updated_at + 1) == [old]
    with pytest.raises(NotFoundError):
        store.job(old)
    assert store.files(old) == [] and [j.id for j in store.jobs()] == [running]


def _report(rejected: list[Rejection], template_ids: list[int], duplicates: list[Candidate] = ()) -> EnrollReport:
    person = Person(id=7, collection="staff", display_name="Ada") if template_ids else None
    return EnrollReport(person=person, template_ids=template_ids, rejected=rejected, duplicates=list(duplicates))


@pytest.fixture
def three(store):
    job_id = store.create_job("staff", "p.zip", "f" * 64, ENTRIES, actor="ops", role="operator")
    return store.next_batch(job_id, 10)  # Ada's three photos, seq 0, 1, 4


def test_outcomes_follow_the_order_the_photos_were_passed(three):
    look_alike = Candidate(person_id=3, collection="vip", display_name="Eve", distance=0.3, template_id=9)
    report = _report([Rejection("image #2", ["blurred"])], [70, 71], [look_alike])
    assert outcomes_of(report, three) == [
        FileOutcome(0, "enrolled", ["looks like Eve (#3, vip), already enrolled"], 7, 70),
        FileOutcome(1, "refused", ["blurred"]),
        FileOutcome(4, "enrolled", ["looks like Eve (#3, vip), already enrolled"], 7, 71),
    ]


def test_a_refusal_of_the_whole_batch_refuses_every_photo_not_refused_alone(three):
    report = _report([Rejection("image #1", ["no face found"]), Rejection("*", ["photos of different people"])], [])
    assert [(o.seq, o.reasons) for o in outcomes_of(report, three)] == [
        (0, ["no face found"]),
        (1, ["photos of different people"]),
        (4, ["photos of different people"]),
    ]


def test_a_report_that_does_not_fit_the_photos_is_an_error(three):
    with pytest.raises(InvalidArgumentError, match="3 templates for 2 accepted"):
        outcomes_of(_report([Rejection("image #3", ["blurred"])], [70, 71, 72]), three)
