"""Template protection on real faces: an encrypted gallery keeps no embedding or thumbnail in clear on disk,
still identifies after reopening with its key, refuses a missing or wrong key, encrypts a clear gallery
once, and moves collections in sealed exports that refuse tampering."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from faceplane.cli import main
from faceplane.errors import InvalidArgumentError
from faceplane.gallery.crypto import new_template_key, parse_template_key
from faceplane.gallery.gallery import Gallery
from faceplane.images import encode_jpeg

PASSPHRASE = "a long shared secret for the test"


@dataclass
class Stored:
    """A gallery folder and the plaintext it must not show on disk."""

    root: Path
    key: bytes | None
    secrets: list[bytes]  # embeddings (float32 bytes) and JPEG thumbnails


def _raw(root: Path) -> bytes:
    """Every byte of every file in the gallery folder (database, WAL, index state)."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def _fill(root: Path, key: bytes | None, engine, examples: Path) -> Stored:
    """Enroll Obama and Biden and keep one unknown face; returns what was stored, read back in clear."""
    with Gallery.open(root, engine=engine, template_key=key) as g:
        g.create_collection("staff")
        for name, photo in (("Barack Obama", "obama.jpg"), ("Joe Biden", "biden.jpg")):
            report = g.enroll("staff", [examples / photo], name=name)
            assert len(report.template_ids) == 1, report
        unknown = g.add_unknown_faces(examples / "alex-lacamoire.png")
        assert len(unknown) == 1
        _, chips, _ = engine.detect_detailed(examples / "alex-lacamoire.png")
        secrets = [emb.astype("<f4").tobytes() for _, batch in g.store.iter_embeddings() for emb in batch]
        secrets += [emb.astype("<f4").tobytes() for emb in g.store.unknown_faces()[1]]
        secrets += [
            g.store.template_thumbnail(t.id) or b"" for p in g.list_people("staff") for t in g.store.templates_of(p.id)
        ]
        secrets.append(encode_jpeg(chips[0]))  # the unknown face's thumbnail
    assert len(secrets) == 6 and all(len(s) >= 512 for s in secrets)
    return Stored(root, key, secrets)


def _leaks(stored: Stored) -> int:
    raw = _raw(stored.root)
    return sum(secret in raw or secret[:32] in raw for secret in stored.secrets)


def _who(gallery: Gallery, photo: Path) -> str | None:
    (ident,) = gallery.identify(photo)
    return ident.person.display_name if ident.person else None


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory, engine, examples) -> Stored:
    key = parse_template_key(new_template_key())
    return _fill(tmp_path_factory.mktemp("encrypted") / "data", key, engine, examples)


def test_no_embedding_or_thumbnail_is_on_disk_in_clear(encrypted: Stored):
    assert _leaks(encrypted) == 0


def test_reopened_with_its_key_it_still_identifies(encrypted: Stored, engine, examples):
    with Gallery.open(encrypted.root, engine=engine, template_key=encrypted.key) as g:
        assert _who(g, examples / "obama-720p.jpg") == "Barack Obama"
        assert _who(g, examples / "obama2.jpg") == "Barack Obama"
        assert g.store.template_thumbnail(1)[:2] == b"\xff\xd8"  # a JPEG again once decrypted
    assert _leaks(encrypted) == 0


@pytest.mark.parametrize(("key", "message"), [(None, "encrypted"), ("other", "wrong template key")])
def test_a_missing_or_wrong_key_is_refused_at_open(encrypted: Stored, engine, key, message):
    other = parse_template_key(new_template_key()) if key else None
    with pytest.raises(InvalidArgumentError, match=message):
        Gallery.open(encrypted.root, engine=engine, template_key=other)


def test_a_clear_gallery_is_encrypted_when_opened_with_a_key(tmp_path, engine, examples):
    clear = _fill(tmp_path / "data", None, engine, examples)
    assert _leaks(clear) == len(clear.secrets)  # the check finds plaintext when there is some
    key = parse_template_key(new_template_key())
    with Gallery.open(clear.root, engine=engine, template_key=key) as g:
        assert g.store.encrypted
        assert _who(g, examples / "obama-720p.jpg") == "Barack Obama"
    assert _leaks(clear) == 0
    with pytest.raises(InvalidArgumentError, match="encrypted"):
        Gallery.open(clear.root, engine=engine)


# -- sealed exports ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed(encrypted: Stored, engine) -> str:
    out = io.StringIO()
    with Gallery.open(encrypted.root, engine=engine, template_key=encrypted.key) as g:
        assert g.export_collection("staff", out, passphrase=PASSPHRASE) == 2
    return out.getvalue()


def test_a_sealed_export_hides_its_contents_and_round_trips(sealed: str, tmp_path, engine, examples):
    assert "Obama" not in sealed and "embedding" not in sealed
    key = parse_template_key(new_template_key())
    with Gallery.open(tmp_path / "copy", engine=engine, template_key=key) as g:
        assert g.import_collection("copy", io.StringIO(sealed), passphrase=PASSPHRASE) == 2
        assert _who(g, examples / "obama-720p.jpg") == "Barack Obama"


def _flip_one_byte(sealed: str) -> str:
    header, body = sealed.splitlines()
    data = bytearray(base64.b64decode(body))
    data[len(data) // 3] ^= 0x20
    return header + "\n" + base64.b64encode(bytes(data)).decode() + "\n"


@pytest.mark.parametrize(
    ("change", "passphrase", "message"),
    [
        ("flip", PASSPHRASE, "modified"),
        (None, "not the passphrase", "wrong passphrase"),
        (None, None, "passphrase is needed"),
    ],
)
def test_a_tampered_or_locked_export_imports_nothing(sealed, tmp_path, engine, change, passphrase, message):
    text = _flip_one_byte(sealed) if change else sealed
    with Gallery.open(tmp_path / "copy", engine=engine) as g:
        with pytest.raises(InvalidArgumentError, match=message):
            g.import_collection("copy", io.StringIO(text), passphrase=passphrase)
        assert g.list_collections() == [] and g.store.count_templates() == 0


def test_plain_exports_still_import_but_not_as_sealed_ones(encrypted: Stored, tmp_path, engine):
    plain = io.StringIO()
    with Gallery.open(encrypted.root, engine=engine, template_key=encrypted.key) as g:
        g.export_collection("staff", plain)
    assert json.loads(plain.getvalue().splitlines()[0])["faceplane_export"] == 1
    with Gallery.open(tmp_path / "copy", engine=engine) as g:
        with pytest.raises(InvalidArgumentError, match="not sealed"):
            g.import_collection("copy", io.StringIO(plain.getvalue()), passphrase=PASSPHRASE)
        assert g.list_collections() == []
        assert g.import_collection("copy", io.StringIO(plain.getvalue())) == 2


# -- the CLI -------------------------------------------------------------------------------------------


def test_keygen_prints_32_random_bytes_in_base64():
    first, second = io.StringIO(), io.StringIO()
    assert main(["keygen"], out=first) == 0 and main(["keygen"], out=second) == 0
    key = first.getvalue().strip()
    assert len(base64.b64decode(key, validate=True)) == 32 and key != second.getvalue().strip()


def _cli(env: dict[str, str], data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faceplane.cli", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )


@pytest.mark.e2e
def test_cli_encrypted_gallery_and_sealed_export(tmp_path, examples):
    env = {"FACEPLANE_TEMPLATE_KEY": new_template_key(), "EXPORT_PASS": PASSPHRASE}
    d = tmp_path / "g"
    assert _cli(env, d, "gallery", "create", "staff").returncode == 0
    enroll = _cli(env, d, "gallery", "enroll", "staff", str(examples / "obama.jpg"), "--name", "Barack Obama")
    assert enroll.returncode == 0, enroll.stderr
    locked = _cli({"FACEPLANE_TEMPLATE_KEY": ""}, d, "gallery", "list")
    assert locked.returncode == 2 and "encrypted" in locked.stderr
    export = tmp_path / "staff.sealed"
    assert _cli(env, d, "gallery", "export", "staff", str(export), "--passphrase-env", "EXPORT_PASS").returncode == 0
    assert "Obama" not in export.read_text()
    refused = _cli({}, tmp_path / "copy", "gallery", "import", "copy", str(export))
    assert refused.returncode == 2 and "passphrase is needed" in refused.stderr
    imported = _cli(env, tmp_path / "copy", "gallery", "import", "copy", str(export), "--passphrase-env", "EXPORT_PASS")
    assert imported.returncode == 0 and "imported 1 people" in imported.stdout, imported.stderr
    ident = _cli(env, tmp_path / "copy", "identify", "--json", str(examples / "obama-720p.jpg"))
    assert json.loads(ident.stdout)["faces"][0]["person"]["name"] == "Barack Obama", ident.stderr


# -- the server's composition root --------------------------------------------------------------------


@pytest.mark.parametrize("key", ["good", "short", "not base64"])
def test_the_server_opens_its_gallery_with_the_configured_key(tmp_path, key):
    from faceplane.bootstrap import build_services
    from faceplane.config import Settings

    text = {"good": new_template_key(), "short": base64.b64encode(bytes(16)).decode()}.get(key, key)
    settings = Settings(data_dir=tmp_path, workers=0, template_key=text)  # type: ignore[arg-type]
    if key != "good":
        with pytest.raises(InvalidArgumentError, match="template_key"):
            build_services(settings)
        return
    services = build_services(settings)
    try:
        assert services.gallery.store.encrypted
    finally:
        services.close()
