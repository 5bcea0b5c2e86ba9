"""Backup and restore of a real data folder: ``faceplane backup`` while the server's stores are open and
written to, ``faceplane restore`` into a fresh folder, and the restored gallery identifies the same LFW
people with the same ids; encrypted galleries stay encrypted; bad archives are refused and write nothing."""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from faceplane.backup import MANIFEST_NAME, create_backup
from faceplane.bootstrap import build_services
from faceplane.cli import main
from faceplane.config import Settings
from faceplane.errors import InvalidArgumentError
from faceplane.events import Event, EventStore
from faceplane.gallery.crypto import new_template_key, parse_template_key
from faceplane.gallery.gallery import Gallery
from faceplane.governance.accounts import AccountStore
from faceplane.governance.audit import AuditLog
from faceplane.services import Services

PEOPLE = ("Aaron_Peirsol", "Adam_Sandler", "Albert_Costa", "Al_Gore")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faceplane.cli", *args], capture_output=True, text=True, timeout=300, check=False
    )


def _photos(data: Path, name: str) -> list[Path]:
    return sorted((data / "faces" / "lfw-view1" / "images" / name).glob("*.jpg"))


def _who(gallery: Gallery, photo: Path) -> tuple[int, str] | None:
    ident = gallery.identify(photo)[0]  # the largest face: LFW centres the labelled person
    return (ident.person.person_id, ident.person.display_name) if ident.person else None


@dataclass
class Live:
    """A data folder whose server stores are open, and what was in it before the backup."""

    root: Path
    services: Services
    people: dict[str, int]  # LFW name -> person id
    api_key: str
    audit_rows: int


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("live") / "data"
    services = build_services(Settings(data_dir=root, workers=0))  # type: ignore[call-arg]
    try:
        services.gallery.create_collection("staff")
        people = {}
        for name in PEOPLE:
            report = services.gallery.enroll("staff", _photos(data, name)[:1], name=name.replace("_", " "))
            assert report.person is not None and len(report.template_ids) == 1, report
            people[name] = report.person.id
        services.cameras.set_watchlist("vip", True)  # persisted in server-state.json, like cameras added at run time
        key = services.accounts.create_key("backup-test", "operator")
        event = Event.new("watchlist.start", camera="door", t_s=1.0, track_id=1)
        services.events.add(event, _photos(data, PEOPLE[0])[0].read_bytes())
        services.audit.record(actor="t", role="admin", action="before", target="", ip="", status=200)
        yield Live(root, services, people, key, audit_rows=1)
    finally:
        services.close()


@pytest.fixture(scope="module")
def restored(live: Live, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``faceplane backup`` (another process) while this one writes audit entries and events, then restore."""
    out = tmp_path_factory.mktemp("backups") / "faceplane.tar"
    stop, written = threading.Event(), [0]

    def write() -> None:
        while not stop.is_set():
            live.services.audit.record(actor="w", role="admin", action="during", target="", ip="", status=200)
            live.services.events.add(
                Event.new("line.crossed", camera="door", t_s=2.0, track_id=written[0]), b"x" * 4096
            )
            written[0] += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        backup = _cli("backup", str(out), "--data-dir", str(live.root))
    finally:
        stop.set()
        writer.join()
    assert backup.returncode == 0, backup.stderr
    assert "4 people" in backup.stdout and written[0] > 0
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert (live.root / "index-state.json").is_file() and "data/index-state.json" not in names  # rebuilt from the store
    assert not any(n.endswith(("-wal", "-shm")) for n in names)
    target = out.parent / "restored"
    restore = _cli("restore", str(out), "--data-dir", str(target))
    assert restore.returncode == 0, restore.stderr
    assert restore.stderr == ""  # clear gallery, models installed: nothing to warn about
    return target


def test_restored_folder_identifies_the_same_people(restored: Path, live: Live, data: Path, engine) -> None:
    with Gallery.open(restored, engine=engine) as gallery:
        for name, person_id in live.people.items():
            probe = _photos(data, name)[1]  # another photo than the enrolled one
            assert _who(gallery, probe) == (person_id, name.replace("_", " "))
        assert gallery.store.embedding_model == live.services.gallery.store.embedding_model


def test_restored_folder_has_the_accounts_audit_events_and_state(restored: Path, live: Live) -> None:
    accounts = AccountStore(restored / "accounts.sqlite")
    try:
        principal = accounts.authenticate_key(live.api_key)
        assert principal is not None and principal.role == "operator"
    finally:
        accounts.close()
    audit = AuditLog(restored / "audit.sqlite")
    try:
        entries = audit.query(limit=10_000)
        assert any(e.action == "before" for e in entries) and len(entries) >= live.audit_rows
    finally:
        audit.close()
    events = EventStore(restored / "events")
    try:
        alert = next(e for e in events.query(kinds=["watchlist.start"]))
        assert alert.snapshot and (restored / "events" / alert.snapshot).is_file()
        # every event row restored names a snapshot that was restored with it
        for e in events.query(limit=10_000):
            assert e.snapshot is None or (restored / "events" / e.snapshot).is_file()
    finally:
        events.close()
    assert "vip" in json.loads((restored / "server-state.json").read_text())["watchlists"]


def test_restored_folder_serves(restored: Path, live: Live, data: Path) -> None:
    """What ``faceplane serve --data-dir`` builds on the restored folder finds the people and the key."""
    services = build_services(Settings(data_dir=restored, workers=0))  # type: ignore[call-arg]
    try:
        assert services.accounts.authenticate_key(live.api_key) is not None
        name = PEOPLE[2]
        assert _who(services.gallery, _photos(data, name)[2]) == (live.people[name], name.replace("_", " "))
    finally:
        services.close()


def test_encrypted_gallery_stays_encrypted(tmp_path: Path, data: Path, engine) -> None:
    key_text = new_template_key()
    key = parse_template_key(key_text)
    with Gallery.open(tmp_path / "enc", engine=engine, template_key=key) as gallery:
        gallery.create_collection("staff")
        ids = {n: gallery.enroll("staff", _photos(data, n)[:1], name=n).person.id for n in PEOPLE[:2]}
        clear = [emb.astype("<f4").tobytes() for _, batch in gallery.store.iter_embeddings() for emb in batch]
    manifest = create_backup(tmp_path / "enc", tmp_path / "enc.tar")
    assert [(g.encrypted, g.templates) for g in manifest.galleries] == [(True, 2)]
    raw = (tmp_path / "enc.tar").read_bytes()
    assert key not in raw and key_text.encode() not in raw and base64.b64encode(key) not in raw
    assert not any(e[:32] in raw for e in clear)  # the ciphertext was copied, never decrypted

    no_key = io.StringIO()
    assert main(["restore", str(tmp_path / "enc.tar"), "--data-dir", str(tmp_path / "r1"), "--json"], no_key) == 0
    warnings = json.loads(no_key.getvalue())["warnings"]
    assert len(warnings) == 1 and "encrypted and no template key" in warnings[0]
    with pytest.raises(InvalidArgumentError, match="encrypted"):
        Gallery.open(tmp_path / "r1", engine=engine)
    with Gallery.open(tmp_path / "r1", engine=engine, template_key=key) as gallery:
        for name, person_id in ids.items():
            assert _who(gallery, _photos(data, name)[1]) == (person_id, name)

    wrong = io.StringIO()
    other = new_template_key()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEPLANE_TEMPLATE_KEY", other)
        assert main(["restore", str(tmp_path / "enc.tar"), "--data-dir", str(tmp_path / "r2"), "--json"], wrong) == 0
    assert "not the one" in json.loads(wrong.getvalue())["warnings"][0]


# -- refusals: a small real data folder, no models needed ------------------------------------------------


@pytest.fixture(scope="module")
def small_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("small") / "data"
    (root / "events" / "snapshots").mkdir(parents=True)
    db = sqlite3.connect(root / "audit.sqlite")
    db.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, action TEXT)")
    db.executemany("INSERT INTO audit (action) VALUES (?)", [("a",), ("b",)])
    db.commit()
    db.close()
    (root / "events" / "snapshots" / "e1.jpg").write_bytes(b"\xff\xd8jpeg" * 100)
    out = root.parent / "small.tar"
    create_backup(root, out)
    return out


def _rewrite(good: Path, bad: Path, change: Callable[[tarfile.TarFile, tarfile.TarInfo, bytes], None]) -> None:
    """Copy the backup ``good`` to ``bad``, member by member through ``change(out_tar, member, payload)``."""
    with tarfile.open(good) as src, tarfile.open(bad, "w", format=tarfile.PAX_FORMAT) as dst:
        for member in src.getmembers():
            fh = src.extractfile(member)
            change(dst, member, fh.read() if fh else b"")


def _copy(dst: tarfile.TarFile, member: tarfile.TarInfo, payload: bytes) -> None:
    dst.addfile(member, io.BytesIO(payload))


def _flip_snapshot_byte(dst: tarfile.TarFile, member: tarfile.TarInfo, payload: bytes) -> None:
    if member.name.endswith(".jpg"):
        payload = payload[:10] + bytes([payload[10] ^ 1]) + payload[11:]
    _copy(dst, member, payload)


def _with_member(name: str, *, symlink: bool = False) -> Callable[[tarfile.TarFile, tarfile.TarInfo, bytes], None]:
    """A change that adds an evil member ``name`` and lists it in the manifest (the path check must catch it)."""

    def change(dst: tarfile.TarFile, member: tarfile.TarInfo, payload: bytes) -> None:
        if member.name != MANIFEST_NAME:
            return _copy(dst, member, payload)
        evil = tarfile.TarInfo(name)
        if symlink:
            evil.type, evil.linkname = tarfile.SYMTYPE, "/etc/passwd"
            dst.addfile(evil)
        else:
            evil.size = 5
            dst.addfile(evil, io.BytesIO(b"owned"))
        manifest = json.loads(payload)
        rel = name.removeprefix("data/")
        manifest["files"].append({"path": rel, "sha256": "0" * 64, "bytes": 5, "kind": "file"})
        text = json.dumps(manifest).encode()
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size = len(text)
        dst.addfile(info, io.BytesIO(text))

    return change


def _drop_manifest(dst: tarfile.TarFile, member: tarfile.TarInfo, payload: bytes) -> None:
    if member.name != MANIFEST_NAME:
        _copy(dst, member, payload)


def _drop_snapshot(dst: tarfile.TarFile, member: tarfile.TarInfo, payload: bytes) -> None:
    if not member.name.endswith(".jpg"):
        _copy(dst, member, payload)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_flip_snapshot_byte, "SHA-256 does not match"),
        (_with_member("data/../../escaped.txt"), "unsafe path"),
        (_with_member("../escaped.txt"), "unsafe path"),
        (_with_member("/tmp/faceplane-escaped.txt"), "unsafe path"),
        (_with_member("data/events/link.jpg", symlink=True), "is a link"),
        (_drop_manifest, "not a faceplane backup"),
        (_drop_snapshot, "incomplete"),
    ],
    ids=["tampered", "dotdot-inside-data", "dotdot", "absolute", "symlink", "no-manifest", "missing-file"],
)
def test_bad_archive_is_refused_and_writes_nothing(tmp_path: Path, small_backup: Path, change, message: str) -> None:
    bad = tmp_path / "bad.tar"
    _rewrite(small_backup, bad, change)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(InvalidArgumentError, match=message):
        from faceplane.restore import restore_backup

        restore_backup(bad, work / "sub" / "restored")
    assert {p.name for p in work.rglob("*")} <= {"sub"}  # no restored folder, no staging leftovers
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/faceplane-escaped.txt").exists()


def test_restore_cli_refuses_junk_and_a_non_empty_target(tmp_path: Path, small_backup: Path, capsys) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar file at all" * 50)
    assert main(["restore", str(junk), "--data-dir", str(tmp_path / "r")]) == 2
    assert "not a faceplane backup" in capsys.readouterr().err and not (tmp_path / "r").exists()

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "faceplane.db").write_bytes(b"precious")
    assert main(["restore", str(small_backup), "--data-dir", str(busy)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in busy.iterdir()] == ["faceplane.db"] and (busy / "faceplane.db").read_bytes() == b"precious"

    assert main(["restore", str(small_backup), "--data-dir", str(busy / "fresh")]) == 0
    restored = sqlite3.connect(busy / "fresh" / "audit.sqlite")
    assert restored.execute("SELECT action FROM audit ORDER BY id").fetchall() == [("a",), ("b",)]
    restored.close()


def test_backup_refuses_to_overwrite_or_to_write_inside_the_data_folder(tmp_path: Path, small_backup: Path) -> None:
    data = small_backup.parent / "data"
    before = small_backup.read_bytes()
    with pytest.raises(InvalidArgumentError, match="exists"):
        create_backup(data, small_backup)
    assert small_backup.read_bytes() == before
    with pytest.raises(InvalidArgumentError, match="outside the data folder"):
        create_backup(data, data / "inside.tar")
    assert not (data / "inside.tar").exists() and not (data / "inside.tar.part").exists()
