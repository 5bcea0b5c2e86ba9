"""Template protection: the cipher, keys, sealed exports, and the encrypted SqliteStore (synthetic embeddings:
no model is involved; the real-photo checks are in tests/integration/test_gallery_encryption.py)."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.gallery.crypto import (
    TemplateCipher,
    is_sealed_export,
    new_template_key,
    open_export,
    parse_template_key,
    seal_export,
)
from faceplane.gallery.store import SqliteStore

DIM = 192  # a new store holds the default model's embeddings (mobilefacenet@1)
THUMB = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4  # JPEG-looking bytes, distinctive enough to grep for


def _emb(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def _raw(path: Path) -> bytes:
    """Every byte SQLite keeps for this database: the file, its WAL and its rollback journal."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _cells(path: Path) -> list[bytes | None]:
    """Every stored embedding and thumbnail cell, as bytes on disk."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT embedding, thumbnail FROM templates UNION ALL SELECT embedding, thumbnail FROM unknown_faces"
    ).fetchall()
    db.close()
    return [cell for row in rows for cell in row]


def _fill(store: SqliteStore) -> tuple[list[int], list[int]]:
    store.create_collection("staff")
    person = store.add_person("staff", "Ada")
    templates = store.add_templates(person.id, _emb(3), [0.9, 0.8, 0.7], ["a", "b", "c"], [THUMB, None, THUMB[::-1]])
    unknown = store.add_unknown(_emb(2, 1), ["cam1", "cam2"], [THUMB + b"u", None])
    return templates, unknown


@pytest.fixture
def key() -> bytes:
    return parse_template_key(new_template_key())


# -- keys and the cipher ---------------------------------------------------------------------------


def test_new_keys_are_32_random_bytes_in_base64():
    a, b = new_template_key(), new_template_key()
    assert len(base64.b64decode(a, validate=True)) == 32 and a != b
    assert parse_template_key(a + "\n") == base64.b64decode(a)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64 at all!", "not base64"),
        (base64.b64encode(bytes(16)).decode(), "got 16 bytes"),
        (base64.b64encode(bytes(33)).decode(), "got 33 bytes"),
        ("", "got 0 bytes"),
    ],
)
def test_bad_keys_are_refused_by_name(text: str, message: str):
    with pytest.raises(InvalidArgumentError, match=message) as exc:
        parse_template_key(text, name="FACEPLANE_TEMPLATE_KEY")
    assert "FACEPLANE_TEMPLATE_KEY" in str(exc.value)


def test_cipher_round_trips_with_fresh_nonces(key: bytes):
    cipher = TemplateCipher(key)
    a, b = cipher.seal(b"embedding", b"faceplane/templates/embedding/1"), cipher.seal(b"embedding", b"x")
    assert a != b and b"embedding" not in a
    assert cipher.reveal(a, b"faceplane/templates/embedding/1") == b"embedding"


@pytest.mark.parametrize("change", ["other_row", "flip_byte", "other_key", "truncated"])
def test_cipher_refuses_moved_tampered_or_foreign_values(key: bytes, change: str):
    cipher = TemplateCipher(key)
    ad = b"faceplane/templates/embedding/1"
    blob = cipher.seal(b"secret", ad)
    if change == "other_row":
        ad = b"faceplane/templates/embedding/2"
    elif change == "flip_byte":
        blob = blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]
    elif change == "other_key":
        cipher = TemplateCipher(parse_template_key(new_template_key()))
    else:
        blob = blob[:10]
    with pytest.raises(InvalidArgumentError):
        cipher.reveal(blob, ad)


def test_key_check_value_tells_keys_apart(key: bytes):
    check = TemplateCipher(key).check_value()
    assert TemplateCipher(key).matches(check)
    assert not TemplateCipher(parse_template_key(new_template_key())).matches(check)
    assert not TemplateCipher(key).matches("garbage")


# -- the encrypted store -----------------------------------------------------------------------------


def test_encrypted_store_keeps_no_plaintext_and_reads_it_back(tmp_path, key: bytes):
    path = tmp_path / "faceplane.db"
    store = SqliteStore(path, key=key)
    templates, unknown = _fill(store)
    assert store.encrypted
    ids, emb = next(store.iter_embeddings())
    assert ids.tolist() == templates
    np.testing.assert_array_equal(emb, _emb(3))
    np.testing.assert_array_equal(store.embeddings_of(store.owners(templates)[templates[0]][0])[1], _emb(3))
    rows, unknown_emb = store.unknown_faces()
    assert [r["id"] for r in rows] == unknown
    np.testing.assert_array_equal(unknown_emb, _emb(2, 1))
    assert store.template_thumbnail(templates[0]) == THUMB and store.template_thumbnail(templates[1]) is None
    store.close()
    raw = _raw(path)
    for vec in [*_emb(3), *_emb(2, 1)]:
        assert vec.astype("<f4").tobytes()[:32] not in raw
    assert THUMB[4:200] not in raw and THUMB[::-1][:200] not in raw


def test_a_clear_store_does_contain_plaintext(tmp_path):
    """The check above can fail: without a key the same bytes are in the file."""
    path = tmp_path / "faceplane.db"
    store = SqliteStore(path)
    _fill(store)
    store.close()
    raw = _raw(path)
    assert _emb(3)[0].astype("<f4").tobytes() in raw and THUMB in raw


def test_a_value_copied_into_another_row_does_not_decrypt(tmp_path, key: bytes):
    path = tmp_path / "faceplane.db"
    store = SqliteStore(path, key=key)
    a, b, _ = _fill(store)[0]
    store.close()
    db = sqlite3.connect(path)
    with db:
        blob = db.execute("SELECT embedding FROM templates WHERE id = ?", (a,)).fetchone()[0]
        db.execute("UPDATE templates SET embedding = ? WHERE id = ?", (blob, b))
    db.close()
    store = SqliteStore(path, key=key)
    with pytest.raises(InvalidArgumentError, match=f"templates/embedding/{b}"):
        next(store.iter_embeddings())
    store.close()


@pytest.mark.parametrize("other", [None, "wrong"])
def test_an_encrypted_store_refuses_to_open_without_its_key(tmp_path, key: bytes, other: str | None):
    path = tmp_path / "faceplane.db"
    store = SqliteStore(path, key=key)
    _fill(store)
    store.close()
    wrong = parse_template_key(new_template_key()) if other else None
    with pytest.raises(InvalidArgumentError, match="wrong template key" if other else "encrypted"):
        SqliteStore(path, key=wrong)
    SqliteStore(path, key=key).close()  # the refusal changed nothing


def test_a_clear_store_opened_with_a_key_is_encrypted_once(tmp_path, key: bytes):
    path = tmp_path / "faceplane.db"
    store = SqliteStore(path)
    templates, _ = _fill(store)
    store.close()
    store = SqliteStore(path, key=key)
    assert store.encrypted
    np.testing.assert_array_equal(next(store.iter_embeddings())[1], _emb(3))
    np.testing.assert_array_equal(store.unknown_faces()[1], _emb(2, 1))
    assert store.template_thumbnail(templates[0]) == THUMB
    store.close()
    raw = _raw(path)
    assert _emb(3)[0].astype("<f4").tobytes()[:32] not in raw and THUMB[4:200] not in raw
    assert _emb(2, 1)[0].astype("<f4").tobytes()[:32] not in raw
    sealed = _cells(path)
    assert all(len(blob) == 1 + 12 + DIM * 4 + 16 for blob in sealed[::2])  # every embedding sealed
    store = SqliteStore(path, key=key)
    assert _cells(path) == sealed  # opening again does not encrypt again
    ids = store.add_templates(store.add_person("staff", "Bob").id, _emb(1, 5), [1.0], [None])
    assert ids == [templates[-1] + 1]
    store.close()
    with pytest.raises(InvalidArgumentError, match="encrypted"):
        SqliteStore(path)


def test_encrypting_leaves_no_plaintext_in_free_pages(tmp_path, key: bytes):
    """Deleted clear rows linger in free pages where SQLite is built without secure_delete: VACUUM drops them."""
    path = tmp_path / "faceplane.db"
    store = SqliteStore(path)
    store._db.execute("PRAGMA secure_delete = OFF")  # as in builds where it is off by default
    store.create_collection("staff")
    person = store.add_person("staff", "Ada")
    thumbs = [np.random.default_rng(i).bytes(3000) for i in range(50)]
    ids = store.add_templates(person.id, _emb(50), [1.0] * 50, [None] * 50, thumbs)
    store.delete_templates(ids[:45])
    store.close()
    assert thumbs[0][:64] in _raw(path)  # the deleted plaintext is still in the file
    SqliteStore(path, key=key).close()
    raw = _raw(path)
    assert not any(t[:64] in raw for t in thumbs)
    assert not any(v.astype("<f4").tobytes()[:32] in raw for v in _emb(50))


def test_ids_continue_after_the_highest_as_before(tmp_path):
    store = SqliteStore(tmp_path / "faceplane.db")
    templates, unknown = _fill(store)
    store.delete_templates(templates[:1])
    person = store.get_person(store.owners(templates[1:])[templates[1]][0])
    assert store.add_templates(person.id, _emb(1), [1.0], [None]) == [templates[-1] + 1]
    assert store.add_unknown(_emb(1), ["cam"], [None]) == [unknown[-1] + 1]
    store.close()


# -- sealed exports ----------------------------------------------------------------------------------

BODY = '{"faceplane_export": 1, "collection": "staff", "model": "dlib_resnet_v1"}\n{"display_name": "Ada"}\n'


def test_sealed_export_round_trips_and_hides_the_body():
    sealed = seal_export(BODY, "correct horse")
    header, body = sealed.splitlines()
    assert is_sealed_export(header) and not is_sealed_export(BODY.splitlines()[0])
    assert "Ada" not in sealed and json.loads(header)["kdf"] == "scrypt"
    assert open_export(header + "\n", body, "correct horse") == BODY


def _flip_body(body: str) -> str:
    raw = bytearray(base64.b64decode(body))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("passphrase", "wrong passphrase"),
        ("body_byte", "wrong passphrase, or the file was modified"),
        ("salt", "wrong passphrase, or the file was modified"),
        ("cost", "wrong passphrase, or the file was modified"),
        ("huge_cost", "unsupported scrypt costs"),
        ("not_base64", "not base64"),
        ("header", "malformed or unknown header"),
    ],
)
def test_sealed_export_refuses_tampering(change: str, message: str):
    header, body = seal_export(BODY, "correct horse").splitlines()
    fields = json.loads(header)
    passphrase = "correct horse"
    if change == "passphrase":
        passphrase = "wrong horse"
    elif change == "body_byte":
        body = _flip_body(body)
    elif change == "salt":
        fields["salt"] = base64.b64encode(bytes(16)).decode()
        header = json.dumps(fields)
    elif change == "cost":
        fields["n"] = 2**14  # a cheaper KDF than the writer chose: the header is authenticated
        header = json.dumps(fields)
    elif change == "huge_cost":
        fields["n"] = 2**30
        header = json.dumps(fields)
    elif change == "not_base64":
        body = body[:10] + "!" + body[11:]
    else:
        header = header.replace("AES-256-GCM", "ROT13")
    with pytest.raises(InvalidArgumentError, match=message):
        open_export(header, body, passphrase)


def test_empty_passphrases_are_refused():
    with pytest.raises(InvalidArgumentError, match="non-empty"):
        seal_export(BODY, "")
