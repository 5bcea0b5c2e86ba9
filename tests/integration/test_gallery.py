"""Galleries on real photos: enrollment with a quality gate, 1:N with open-set rejection, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from faceplane import Engine
from faceplane.errors import InvalidArgumentError, NotFoundError
from faceplane.gallery.gallery import Gallery


@pytest.fixture(scope="module")
def johns(data) -> dict[str, list[Path]]:
    root = data / "faces" / "dlib-examples" / "examples" / "johns"
    return {p.name.replace("_", " "): sorted(p.iterdir()) for p in sorted(root.iterdir()) if p.is_dir()}


@pytest.fixture(scope="module")
def shared_engine() -> Engine:
    return Engine()


@pytest.fixture
def gallery(tmp_path, shared_engine, johns):
    g = Gallery.open(tmp_path / "data", engine=shared_engine)
    g.create_collection("johns")
    for name, images in johns.items():
        report = g.enroll("johns", images[:4], name=name)
        assert len(report.template_ids) == 4 and not report.rejected, report
    yield g
    g.close()


def test_identifies_enrolled_people_and_rejects_strangers(gallery: Gallery, johns, examples):
    hits = total = 0
    for name, images in johns.items():
        for img in images[4:8]:
            (ident,) = gallery.identify(img)
            total += 1
            hits += ident.person is not None and ident.person.display_name == name
    assert hits / total >= 0.95, (hits, total)
    for stranger in ("obama.jpg", "biden.jpg"):
        (ident,) = gallery.identify(examples / stranger)
        assert ident.person is None and ident.candidates  # unknown, but nearest people still listed


def test_group_photo_gives_one_answer_per_face(gallery: Gallery, examples):
    result = gallery.identify(examples / "two_people.jpg")
    assert [r.face_index for r in result] == [0, 1] and not any(r.is_known for r in result)


def test_quality_gate_refuses_with_reasons(gallery: Gallery, examples, tmp_path):
    rng = np.random.default_rng(0)
    noise = (rng.random((200, 200, 3)) * 255).astype(np.uint8)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"not a jpeg at all")
    from PIL import Image

    big = Image.open(examples / "obama.jpg").convert("RGB")
    tiny = np.asarray(big.resize((big.width // 7, big.height // 7), Image.Resampling.LANCZOS))
    report = gallery.enroll("johns", [noise, examples / "two_people.jpg", tiny, corrupt], name="Nobody")
    reasons = [r.reasons for r in report.rejected]
    assert report.person is None and report.template_ids == []
    assert reasons[0] == ["no face found"]
    assert any("several faces" in r for r in reasons[1])
    assert any("too small" in r for r in reasons[2])
    assert "not a recognised image format" in reasons[3][0]
    assert gallery.store.find_person("johns", name="Nobody") is None  # nothing half-stored


def test_duplicate_enrollment_is_detected(gallery: Gallery, johns):
    name, images = next(iter(johns.items()))
    warn = gallery.enroll("johns", images[8:9], name="Someone Else")
    assert [d.display_name for d in warn.duplicates] == [name]
    before = gallery.store.count_templates()
    refused = gallery.enroll("johns", images[9:10], name="Another Alias", on_duplicate="refuse")
    assert refused.person is None and gallery.store.count_templates() == before


def test_removing_a_person_makes_them_unknown(gallery: Gallery, johns):
    name, images = next(iter(johns.items()))
    (before,) = gallery.identify(images[5])
    assert before.person and before.person.display_name == name
    assert gallery.remove_person(before.person.person_id) == 4
    (after,) = gallery.identify(images[5])
    assert after.person is None or after.person.display_name != name
    with pytest.raises(NotFoundError):
        gallery.remove_person(before.person.person_id)


def test_search_within_collections(gallery: Gallery, johns, shared_engine):
    gallery.create_collection("watchlist")
    name, images = list(johns.items())[1]
    gallery.enroll("watchlist", images[:2], name=name + " (watch)")
    emb = shared_engine.analyze(images[6]).embedding
    only_watch = gallery.search(emb, collections=["watchlist"])[0]
    assert {c.collection for c in only_watch.candidates} == {"watchlist"}
    assert only_watch.person is not None
    with pytest.raises(NotFoundError):
        gallery.search(emb, collections=["typo"])


def test_manifest_and_folder_enrollment(tmp_path, shared_engine, johns):
    g = Gallery.open(tmp_path / "m", engine=shared_engine)
    g.create_collection("staff")
    name, images = list(johns.items())[2]
    manifest = tmp_path / "people.csv"
    lines = ["path,name,external_id,consent_basis,consent_source,consent_date"]
    lines += [f"{p},{name},E-42,consent,kiosk,2026-11-01" for p in images[:3]]
    manifest.write_text("\n".join(lines) + "\n")
    (report,) = g.enroll_manifest("staff", manifest)
    assert report.person and report.person.external_id == "E-42" and report.person.consent.basis == "consent"
    assert len(report.template_ids) == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("file,who\nx,y\n")
    with pytest.raises(InvalidArgumentError, match="path,name"):
        g.enroll_manifest("staff", bad)
    g.close()


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from faceplane.gallery.gallery import Gallery
    g = Gallery.open(sys.argv[1])
    g.create_collection("c")
    images = [Path(p) for p in sys.argv[2:]]
    for i in range(1000):
        r = g.enroll("c", [images[i % len(images)]], name=f"p{i}", gate=None)
        print(r.person.id, flush=True)
    """
)


@pytest.mark.slow
def test_killed_mid_enrollment_loses_nothing_committed(tmp_path, johns):
    images = [str(p) for imgs in johns.values() for p in imgs[:2]]
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), *images], stdout=subprocess.PIPE, text=True)
    confirmed: list[int] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while len(confirmed) < 12 and time.monotonic() < deadline:
        confirmed.append(int(proc.stdout.readline()))
    os.kill(proc.pid, signal.SIGKILL)  # mid-write: the next enrollment is in flight
    proc.wait()
    proc.stdout.close()
    g = Gallery.open(tmp_path)
    assert g.store.integrity_ok()
    assert len(g.index) == g.store.count_templates() >= len(confirmed)
    for pid in confirmed:
        assert g.store.get_person(pid).templates == 1  # every confirmed enrollment survived
    g.close()


_DELETER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from faceplane.gallery.gallery import Gallery
    backend, root, person = sys.argv[1], sys.argv[2], int(sys.argv[3])
    g = Gallery.open(root, index=backend)
    # die the moment the store has committed the deletion, before the index hears of it
    g.index.remove = lambda ids: os.kill(os.getpid(), signal.SIGKILL)
    g.remove_person(person)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["exact", "faiss"])
def test_killed_between_store_and_index_never_returns_a_deleted_person(backend, tmp_path, johns, shared_engine):
    if backend == "faiss":
        pytest.importorskip("faiss")
    g = Gallery.open(tmp_path, index=backend, engine=shared_engine)
    g.create_collection("johns")
    for name, images in johns.items():
        g.enroll("johns", images[:3], name=name)
    name, images = next(iter(johns.items()))
    (before,) = g.identify(images[6])
    assert before.person is not None and before.person.display_name == name
    g.close()  # a persistent index is saved here, still holding the person
    proc = subprocess.run([sys.executable, "-c", _DELETER, backend, str(tmp_path), str(before.person.person_id)])
    assert proc.returncode == -signal.SIGKILL
    g = Gallery.open(tmp_path, index=backend, engine=shared_engine)
    (after,) = g.identify(images[6])
    assert after.person is None or after.person.display_name != name
    assert all(c.display_name != name for c in after.candidates)
    assert len(g.index) == g.store.count_templates() == 4 * 3
    g.close()


def test_faiss_index_saved_at_close_and_rebuilt_after_an_unclean_stop(tmp_path, johns, shared_engine):
    pytest.importorskip("faiss")
    names = list(johns)
    g = Gallery.open(tmp_path, index="faiss", engine=shared_engine)
    g.create_collection("c")
    g.enroll("c", johns[names[0]][:2], name=names[0])
    g.close()  # checkpoint: the index is saved with the store's generation
    g = Gallery.open(tmp_path, index="faiss", engine=shared_engine)
    assert len(g.index) == 2  # reused, not rebuilt
    g.enroll("c", johns[names[1]][:2], name=names[1])  # then the process "dies": no close()
    g2 = Gallery.open(tmp_path, index="faiss", engine=shared_engine)
    (ident,) = g2.identify(johns[names[1]][5])
    assert ident.person is not None and ident.person.display_name == names[1]
    assert len(g2.index) == g2.store.count_templates() == 4
    g2.close()


def test_photos_of_two_people_are_refused_together(tmp_path, examples, engine):
    gallery = Gallery.open(tmp_path, engine=engine)
    gallery.create_collection("staff")
    report = gallery.enroll("staff", [examples / "obama.jpg", examples / "biden.jpg"], name="Obama")
    assert report.person is None and report.template_ids == []
    assert "do not all show one person" in report.rejected[-1].reasons[0]
    assert gallery.list_people("staff") == []
    ok = gallery.enroll("staff", [examples / "obama.jpg", examples / "obama2.jpg"], name="Obama")
    assert len(ok.template_ids) == 2
    gallery.close()
