"""Editing people in the gallery: details, a template to another person, two people merged; every index backend.

Searches use real embeddings of LFW photos (four photos of one person, two of another); the field checks
need no face and use the same embeddings as plumbing.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError, NotFoundError
from faceplane.gallery.editing import KEEP, METADATA_MAX_BYTES, GalleryEditor, PersonChanges
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.records import Consent

BACKENDS = ["exact", "faiss", "milvus"]


@pytest.fixture(scope="module")
def lfw(data: Path, engine) -> dict[str, np.ndarray]:
    """(N, D) embeddings of the first two LFW View 1 people with at least four photos: ``x`` (4) and ``y`` (2)."""
    root = data / "faces" / "lfw-view1" / "images"
    people = [p for p in sorted(root.iterdir()) if len(list(p.iterdir())) >= 4][:2]
    out = {}
    for key, person, n in (("x", people[0], 4), ("y", people[1], 2)):
        out[key] = np.stack([engine.analyze(f).embedding[0] for f in sorted(person.iterdir())[:n]]).astype(np.float32)
    return out


def _open(root: Path, backend: str, engine) -> Gallery:
    if backend == "faiss":
        pytest.importorskip("faiss")
    if backend == "milvus":
        pytest.importorskip("pymilvus")
        pytest.importorskip("milvus_lite")
    return Gallery.open(root, index=backend, engine=engine)


@pytest.fixture
def gallery(tmp_path: Path, engine):
    g = Gallery.open(tmp_path / "g", engine=engine)
    g.create_collection("staff")
    g.create_collection("visitors")
    yield g
    g.close()


def _person(g: Gallery, emb: np.ndarray, name: str, collection: str = "staff", **fields):
    report = g.enroll_embeddings(collection, emb, name=name, **fields)
    assert report.person is not None
    return report.person, report.template_ids


# -- details ----------------------------------------------------------------------------------------------


def test_update_sets_only_the_fields_given_and_null_clears(gallery: Gallery, lfw):
    consent = Consent("contract", "HR form", "2026-01-02", "door access")
    ada, _ = _person(gallery, lfw["x"][:1], "Ada", external_id="E1", metadata={"dept": "R&D"}, consent=consent)
    editor = GalleryEditor(gallery)
    after = editor.update_person(ada.id, PersonChanges(display_name="  Ada Lovelace ", consent_source=None))
    assert after.display_name == "Ada Lovelace" and after.external_id == "E1" and after.metadata == {"dept": "R&D"}
    assert after.consent == Consent("contract", "", "2026-01-02", "door access")
    after = editor.update_person(ada.id, PersonChanges(external_id="", metadata={}, expires_at=2e9))
    assert after.external_id is None and after.metadata == {} and after.expires_at == 2e9
    assert after.templates == 1 and gallery.store.get_person(ada.id) == after
    # the preview a policy check reads is what the store then holds
    change = PersonChanges(consent_basis=None, purpose=None, expires_at=None)
    assert change.applied_to(after) == editor.update_person(ada.id, change)
    assert gallery.store.get_person(ada.id).consent is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (PersonChanges(), "nothing to change"),
        (PersonChanges(display_name="   "), "non-empty display name"),
        (PersonChanges(display_name="x" * 201), "at most 200"),
        (PersonChanges(purpose="p" * 501), "at most 500"),
        (PersonChanges(metadata={"blob": "x" * METADATA_MAX_BYTES}), "at most"),
        (PersonChanges(metadata={"when": object()}), "JSON-serialisable"),
        (PersonChanges(metadata={"x": math.nan}), "JSON-serialisable"),
        (PersonChanges(expires_at=math.inf), "finite"),
        (PersonChanges(external_id="E2"), "already used"),
    ],
)
def test_a_refused_update_changes_nothing(gallery: Gallery, lfw, changes: PersonChanges, message: str):
    ada, _ = _person(gallery, lfw["x"][:1], "Ada", external_id="E1")
    _person(gallery, lfw["y"][:1], "Bob", external_id="E2")
    generation = gallery.store.generation
    with pytest.raises(InvalidArgumentError, match=message):
        GalleryEditor(gallery).update_person(ada.id, changes)
    assert gallery.store.get_person(ada.id) == ada and gallery.store.generation == generation


def test_external_ids_are_unique_per_collection_only(gallery: Gallery, lfw):
    _person(gallery, lfw["x"][:1], "Ada", external_id="E1")
    bob, _ = _person(gallery, lfw["y"][:1], "Bob", collection="visitors")
    assert GalleryEditor(gallery).update_person(bob.id, PersonChanges(external_id="E1")).external_id == "E1"


def test_unknown_people_and_templates_are_404(gallery: Gallery, lfw):
    ada, (tid,) = _person(gallery, lfw["x"][:1], "Ada")
    editor = GalleryEditor(gallery)
    with pytest.raises(NotFoundError):
        editor.update_person(ada.id + 100, PersonChanges(display_name="X"))
    with pytest.raises(NotFoundError, match="template"):
        editor.move_template(tid + 100, ada.id)
    with pytest.raises(NotFoundError, match="person"):
        editor.move_template(tid, ada.id + 100)
    with pytest.raises(NotFoundError):
        editor.merge_people(ada.id, ada.id + 100)
    with pytest.raises(InvalidArgumentError, match="already belongs"):
        editor.move_template(tid, ada.id)
    with pytest.raises(InvalidArgumentError, match="themselves"):
        editor.merge_people(ada.id, ada.id)
    assert gallery.store.get_person(ada.id).templates == 1


def test_keep_is_not_a_value():
    assert PersonChanges(display_name="A", external_id=None).changed() == ["display_name", "external_id"]
    assert PersonChanges().external_id is KEEP


# -- templates and merges, searched on every backend ------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_moves_and_merges_are_searched_at_once_and_after_reopening(tmp_path: Path, engine, lfw, backend: str):
    x, y = lfw["x"], lfw["y"]
    g = _open(tmp_path / backend, backend, engine)
    try:
        g.create_collection("staff")
        ada, _ = _person(g, x[:1], "Ada")
        bob, _ = _person(g, y[:1], "Bob")
        (wrong,) = g.enroll_embeddings("staff", x[1:2], person_id=bob.id).template_ids  # Ada's photo under Bob
        cleo, cleo_tids = _person(g, x[2:3], "Cleo")  # Ada again, enrolled as a second person
        (hit,) = g.search(x[1:2], k=3)
        assert hit.person is not None and hit.person.person_id == bob.id and hit.person.template_id == wrong

        editor = GalleryEditor(g)
        assert editor.move_template(wrong, ada.id) == bob.id
        (hit,) = g.search(x[1:2], k=3)
        assert hit.person is not None and hit.person.person_id == ada.id and hit.person.template_id == wrong
        bob_left = [c.distance for c in hit.candidates if c.person_id == bob.id]  # only Bob's own face is left
        assert bob_left and bob_left[0] > hit.threshold

        merge = editor.merge_people(ada.id, cleo.id)
        assert merge.template_ids == cleo_tids and editor.merged_into(ada.id) == [cleo.id]
        with pytest.raises(NotFoundError):
            g.store.get_person(cleo.id)
        (hit,) = g.search(x[2:3], k=3)
        assert hit.person is not None and hit.person.person_id == ada.id
        assert {c.person_id for c in hit.candidates} == {ada.id, bob.id}
        assert g.store.get_person(ada.id).templates == 3 and len(g.index) == 4
    finally:
        g.close()
    g = _open(tmp_path / backend, backend, engine)
    try:
        found = g.search(np.concatenate([x[:3], x[3:], y[:1]]), k=1)
        assert [f.person.person_id if f.person else None for f in found] == [ada.id] * 4 + [bob.id]
    finally:
        g.close()


def test_merging_across_collections_is_refused_and_changes_nothing(gallery: Gallery, lfw):
    ada, _ = _person(gallery, lfw["x"][:1], "Ada")
    guest, _ = _person(gallery, lfw["x"][1:2], "Ada (guest)", collection="visitors")
    generation = gallery.store.generation
    with pytest.raises(InvalidArgumentError, match="one collection"):
        GalleryEditor(gallery).merge_people(ada.id, guest.id)
    assert gallery.store.generation == generation and gallery.store.get_person(guest.id).templates == 1


def test_a_template_may_move_across_collections(gallery: Gallery, lfw):
    ada, _ = _person(gallery, lfw["x"][:1], "Ada")
    _, (tid,) = _person(gallery, lfw["x"][1:2], "Ada (guest)", collection="visitors")
    GalleryEditor(gallery).move_template(tid, ada.id)
    assert gallery.store.owners([tid]) == {tid: (ada.id, "staff", "Ada")}


def test_merges_chain_and_go_with_the_kept_person(gallery: Gallery, lfw):
    a, _ = _person(gallery, lfw["x"][:1], "A")
    b, _ = _person(gallery, lfw["x"][1:2], "B")
    c, _ = _person(gallery, lfw["x"][2:3], "C")
    editor = GalleryEditor(gallery)
    editor.merge_people(b.id, c.id)
    editor.merge_people(a.id, b.id)  # c was merged into b: it now counts as merged into a
    assert editor.merged_into(a.id) == [b.id, c.id] and editor.merged_into(b.id) == []
    assert sorted(editor.merges()) == [(b.id, a.id), (c.id, a.id)]
    gallery.remove_person(a.id)
    assert editor.merges() == []


def test_an_encrypted_gallery_still_reads_moved_templates(tmp_path: Path, engine, lfw):
    g = Gallery.open(tmp_path / "enc", engine=engine, template_key=bytes(range(32)))
    try:
        g.create_collection("staff")
        ada, _ = _person(g, lfw["x"][:1], "Ada")
        bob, (tid,) = _person(g, lfw["x"][1:2], "Bob")
        GalleryEditor(g).merge_people(ada.id, bob.id)
        templates, emb = g.store.embeddings_of(ada.id)
        assert [t.id for t in templates][-1] == tid
        np.testing.assert_array_equal(emb, lfw["x"][:2])
    finally:
        g.close()


def test_a_merge_re_points_every_row_that_names_the_merged_person(gallery: Gallery, lfw):
    """Tables added later with a foreign key to people (as corrections are) follow a merge without a change."""
    with gallery.store.transaction(bump=False) as db:
        db.execute("CREATE TABLE notes (person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE, note TEXT)")
    ada, _ = _person(gallery, lfw["x"][:1], "Ada")
    bob, _ = _person(gallery, lfw["x"][1:2], "Bob")
    with gallery.store.transaction() as db:
        db.execute("INSERT INTO notes VALUES (?, 'not the man at door 2')", (bob.id,))
    GalleryEditor(gallery).merge_people(ada.id, bob.id)
    with gallery.store.transaction(bump=False) as db:
        assert [tuple(r) for r in db.execute("SELECT person_id, note FROM notes")] == [
            (ada.id, "not the man at door 2")
        ]
