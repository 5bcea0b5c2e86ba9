"""Export/import of collections: the export records the gallery's model, and an import refuses another
model's embeddings (synthetic unit vectors: no model runs; sealed exports are tested in
tests/integration/test_gallery_encryption.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.gallery.gallery import Gallery


def _unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    emb = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def _export(root: Path, embedder: str, emb: np.ndarray) -> str:
    with Gallery.open(root, embedder=embedder) as g:
        g.create_collection("staff")
        g.enroll_embeddings("staff", emb, name="Ada", external_id="E1")
        out = io.StringIO()
        assert g.export_collection("staff", out) == 1
    return out.getvalue()


def _legacy_export(raw: np.ndarray) -> str:
    """An export as faceplane wrote it before galleries recorded their model: raw dlib descriptors."""
    header = {"faceplane_export": 1, "collection": "staff", "model": "dlib_resnet_v1"}
    person = {"display_name": "Ada", "external_id": "E1", "metadata": {}, "consent": None, "expires_at": None}
    person["templates"] = [{"embedding": v.tolist(), "quality": 0.9, "image_sha256": None} for v in raw]
    return json.dumps(header) + "\n" + json.dumps(person) + "\n"


@pytest.mark.parametrize(
    ("embedder", "model", "dim"), [("mobilefacenet", "mobilefacenet@1", 192), ("dlib", "dlib@2", 128)]
)
def test_an_export_records_its_model_and_round_trips(tmp_path: Path, embedder: str, model: str, dim: int):
    emb = _unit(2, dim)
    text = _export(tmp_path / "a", embedder, emb)
    header, record = (json.loads(line) for line in text.splitlines())
    assert header["model"] == model and len(record["templates"][0]["embedding"]) == dim
    with Gallery.open(tmp_path / "b", embedder=embedder) as g:
        assert g.import_collection("copy", io.StringIO(text)) == 1
        (person,) = g.list_people("copy")
        np.testing.assert_allclose(g.store.embeddings_of(person.id)[1], emb, rtol=1e-6)
        assert g.import_collection("copy", io.StringIO(text)) == 1  # a known external_id gains templates
        assert [p.templates for p in g.list_people("copy")] == [4]


@pytest.mark.parametrize(("made_by", "imported_by"), [("mobilefacenet", "dlib"), ("dlib", "mobilefacenet")])
def test_an_export_of_another_model_imports_nothing(tmp_path: Path, made_by: str, imported_by: str):
    text = _export(tmp_path / "a", made_by, _unit(1, 192 if made_by == "mobilefacenet" else 128))
    with Gallery.open(tmp_path / "b", embedder=imported_by) as g:
        with pytest.raises(InvalidArgumentError, match="export made with model"):
            g.import_collection("copy", io.StringIO(text))
        assert g.list_collections() == [] and g.store.count_templates() == 0


def test_a_legacy_export_imports_into_a_dlib_gallery_at_unit_length(tmp_path: Path):
    raw = _unit(2, 128) * np.float32(0.6)  # raw dlib descriptors are not unit length
    with Gallery.open(tmp_path / "dlib", embedder="dlib") as g:
        assert g.import_collection("copy", io.StringIO(_legacy_export(raw))) == 1
        (person,) = g.list_people("copy")
        np.testing.assert_allclose(g.store.embeddings_of(person.id)[1], _unit(2, 128), rtol=1e-5)
    with Gallery.open(tmp_path / "mfn", embedder="mobilefacenet") as g:
        with pytest.raises(InvalidArgumentError, match="raw dlib descriptors"):
            g.import_collection("copy", io.StringIO(_legacy_export(raw)))
        assert g.list_collections() == []


@pytest.mark.parametrize("change", ["short", "long", "nan"])
def test_a_record_of_the_wrong_length_is_malformed(tmp_path: Path, change: str):
    text = _export(tmp_path / "a", "mobilefacenet", _unit(2, 192))
    header, record = (json.loads(line) for line in text.splitlines())
    vec = record["templates"][1]["embedding"]
    record["templates"][1]["embedding"] = {"short": vec[:128], "long": vec + vec, "nan": [float("nan")] * 192}[change]
    bad = json.dumps(header) + "\n" + json.dumps(record) + "\n"
    with Gallery.open(tmp_path / "b", embedder="mobilefacenet") as g:
        with pytest.raises(InvalidArgumentError, match="line 2: malformed person record"):
            g.import_collection("copy", io.StringIO(bad))
        assert g.store.count_templates() == 0
