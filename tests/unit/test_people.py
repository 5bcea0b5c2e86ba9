"""PeopleEditor: the enrollment policy on edits, events that follow a merge (also after a crash), erasure after it.

Faces are real LFW View 1 embeddings (four photos of one person, one of another); events are stored as the
video engine stores them (plumbing: no camera runs here; tests/integration/server/test_people_api.py has one).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.events import Event, EventStore
from faceplane.gallery.editing import GalleryEditor, PersonChanges
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.records import Consent
from faceplane.governance import Eraser
from faceplane.governance.audit import AuditLog
from faceplane.services.people import PeopleEditor

DAY_S = 86400.0


@pytest.fixture(scope="module")
def lfw(data: Path, engine) -> dict[str, np.ndarray]:
    root = data / "faces" / "lfw-view1" / "images"
    people = [p for p in sorted(root.iterdir()) if len(list(p.iterdir())) >= 4][:2]
    return {
        key: np.stack([engine.analyze(f).embedding[0] for f in sorted(person.iterdir())[:n]]).astype(np.float32)
        for key, person, n in (("x", people[0], 4), ("y", people[1], 1))
    }


@pytest.fixture
def world(tmp_path: Path, engine):
    gallery = Gallery.open(tmp_path / "gallery", engine=engine)
    events = EventStore(tmp_path / "events")
    for name in ("staff", "watch"):
        gallery.create_collection(name)
    yield gallery, events
    gallery.close()
    events.close()


def _editor(gallery: Gallery, events: EventStore, *, require_consent: bool = False) -> PeopleEditor:
    return PeopleEditor(gallery=gallery, events=events, watchlists=lambda: {"watch"}, require_consent=require_consent)


def _enroll(gallery: Gallery, emb: np.ndarray, name: str, collection: str = "staff", **fields):
    report = gallery.enroll_embeddings(collection, emb, name=name, **fields)
    assert report.person is not None
    return report.person


def _sighting(events: EventStore, person_id: int, name: str, collection: str, camera: str = "door") -> Event:
    event = Event.new(
        "watchlist.start", camera=camera, t_s=1.0, track_id=1, person_id=person_id, person_name=name,
        collection=collection, rule=collection,
    )  # fmt: skip
    assert events.add(event) is not None
    return event


@pytest.mark.parametrize(
    ("collection", "fields", "changes", "message"),
    [
        ("staff", {}, PersonChanges(display_name="Ada L."), "legal basis"),  # consent required since
        ("staff", {"consent": Consent("contract")}, PersonChanges(consent_basis=None), "legal basis"),
        ("watch", {}, PersonChanges(purpose=None), "purpose"),
        ("watch", {}, PersonChanges(expires_at=None), "expiry"),
        ("watch", {}, PersonChanges(expires_at=time.time() + 400 * DAY_S), "at most 366 days"),
        ("watch", {}, PersonChanges(expires_at=time.time() - 60), "in the past"),
    ],
)
def test_an_edit_the_enrollment_policy_refuses_changes_nothing(world, lfw, collection, fields, changes, message):
    gallery, events = world
    if collection == "watch":
        fields = {"consent": Consent("contract", purpose="case 4411"), "expires_at": time.time() + 30 * DAY_S}
    person = _enroll(gallery, lfw["x"][:1], "Ada", collection, **fields)
    require = collection == "staff"
    with pytest.raises(InvalidArgumentError, match=message):
        _editor(gallery, events, require_consent=require).update(person.id, changes)
    assert gallery.store.get_person(person.id) == person


def test_an_edit_that_keeps_the_policy_is_stored(world, lfw):
    gallery, events = world
    expiry = time.time() + 30 * DAY_S
    person = _enroll(gallery, lfw["x"][:1], "Ada", "watch", consent=Consent("", purpose="case 4411"), expires_at=expiry)
    editor = _editor(gallery, events, require_consent=True)
    after, changed = editor.update(person.id, PersonChanges(display_name="Ada L.", consent_basis="legal obligation"))
    assert changed == ["display_name", "consent_basis"]
    assert after.display_name == "Ada L." and after.consent == Consent("legal obligation", purpose="case 4411")


def test_a_moved_template_says_whether_it_looks_like_its_new_owner(world, lfw):
    gallery, events = world
    ada = _enroll(gallery, lfw["x"][:2], "Ada")
    bob = _enroll(gallery, lfw["y"][:1], "Bob")
    (photo,) = gallery.enroll_embeddings("staff", lfw["x"][2:3], person_id=bob.id).template_ids  # a mix-up
    editor = _editor(gallery, events)
    back = editor.move_template(photo, ada.id)
    assert back.from_person_id == bob.id and back.person.id == ada.id and back.person.templates == 3
    assert back.looks_alike is True, back.distance
    wrong = editor.move_template(photo, bob.id)
    assert wrong.looks_alike is False and wrong.distance is not None and wrong.distance > wrong.threshold
    cleo = _enroll(gallery, lfw["x"][3:4], "Cleo")
    (only,) = gallery.store.templates_of(cleo.id)
    editor.move_template(only.id, ada.id)  # Cleo is left without a face
    assert gallery.store.get_person(cleo.id).templates == 0
    alone = editor.move_template(only.id, cleo.id)
    assert alone.distance is None and alone.looks_alike is None  # nothing of Cleo's to compare with


def test_a_merge_moves_the_events_history_to_the_kept_person(world, lfw):
    gallery, events = world
    ada = _enroll(gallery, lfw["x"][:1], "Ada")
    dup = _enroll(gallery, lfw["x"][1:2], "Ada (again)")
    other = _enroll(gallery, lfw["y"][:1], "Bob")
    seen = [_sighting(events, dup.id, dup.display_name, "staff", camera) for camera in ("door", "lift")]
    _sighting(events, other.id, "Bob", "staff")
    report = _editor(gallery, events).merge(ada.id, dup.id)
    assert (report.merged_id, report.templates, report.events) == (dup.id, 1, 2)
    assert report.person.id == ada.id and report.person.templates == 2
    history = events.query(person_id=ada.id)
    assert sorted(e.id for e in history) == sorted(e.id for e in seen)
    assert {(e.person_name, e.collection) for e in history} == {("Ada", "staff")}
    assert events.query(person_id=dup.id) == [] and len(events.query(person_id=other.id)) == 1


def test_events_a_crash_left_behind_are_re_pointed_when_the_editor_starts(world, lfw):
    gallery, events = world
    ada = _enroll(gallery, lfw["x"][:1], "Ada")
    dup = _enroll(gallery, lfw["x"][1:2], "Ada (again)")
    event = _sighting(events, dup.id, dup.display_name, "staff")
    GalleryEditor(gallery).merge_people(ada.id, dup.id)  # the gallery's half: then the process died
    assert [e.id for e in events.query(person_id=dup.id)] == [event.id]
    editor = _editor(gallery, events)  # the next start
    assert [e.id for e in events.query(person_id=ada.id)] == [event.id]
    assert editor.finish_merges() == 0 and editor.merged_into(ada.id) == [dup.id]


def test_erasing_the_kept_person_erases_what_still_names_the_merged_one(world, lfw, tmp_path: Path):
    gallery, events = world
    audit = AuditLog(tmp_path / "audit.sqlite")
    evidence = tmp_path / "evidence"
    (evidence / "s1").mkdir(parents=True)
    (evidence / "s1" / "best.jpg").write_bytes(b"\xff\xd8 a face")
    ada = _enroll(gallery, lfw["x"][:1], "Ada")
    dup = _enroll(gallery, lfw["x"][1:2], "Ada (again)")
    # a verify-live decision about the merged person: the audit log names them, and is never rewritten
    audit.record(
        actor="kiosk", role="operator", action="verify-live", target=f"person:{dup.id}", ip="", status=200,
        detail={"person": dup.id, "evidence": ["s1/best.jpg"]},
    )  # fmt: skip
    _sighting(events, dup.id, dup.display_name, "staff")
    GalleryEditor(gallery).merge_people(ada.id, dup.id)  # events not re-pointed: the worst case
    report = Eraser(gallery=gallery, events=events, audit=audit, evidence_dir=evidence).erase_person(ada.id)
    assert report.templates == 2 and report.events == 1 and report.evidence_frames == 1
    assert not (evidence / "s1").exists() and events.query(person_id=dup.id) == []
    audit.close()
