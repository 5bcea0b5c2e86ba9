"""Restore a backup made by :func:`faceplane.backup.create_backup` into a fresh data folder.

Everything is checked before anything lands in the target: the tar must hold a faceplane manifest
and only regular files under ``data/`` (no absolute paths, no ``..``, no links or devices), exactly
the files the manifest lists; each file is written to a staging folder next to the target and its
SHA-256 compared with the manifest's. Only a complete, verified copy is renamed to the target, so a
bad archive leaves nothing behind. A target that holds anything is refused: restoring never
overwrites data (restore next to it, stop the server, swap the folders).

Example:
    >>> report = restore_backup("/backups/faceplane.tar", "/var/lib/faceplane-restored")  # doctest: +SKIP
    >>> report.warnings                                                                   # doctest: +SKIP
    []
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .backup import DATA_PREFIX, MANIFEST_NAME, BackupManifest, read_manifest, safe_relative
from .errors import FaceplaneError, InvalidArgumentError, NotFoundError

__all__ = ["RestoreReport", "restore_backup"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RestoreReport:
    """What a restore wrote and what the operator should know.

    Attributes:
        data_dir: the restored folder.
        manifest: the backup's manifest.
        files: files written.
        bytes: their total size.
        warnings: things to do before serving the folder (template key, models), in words.
    """

    data_dir: Path
    manifest: BackupManifest
    files: int
    bytes: int
    warnings: list[str] = field(default_factory=list)


def _open(archive: Path) -> tarfile.TarFile:
    if not archive.is_file():
        raise NotFoundError(f"no backup file {str(archive)!r}")
    try:
        return tarfile.open(archive, "r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidArgumentError(f"{archive} is not a faceplane backup (not a readable tar: {exc})") from None


def _members(tar: tarfile.TarFile, archive: Path) -> tuple[tarfile.TarInfo, dict[str, tarfile.TarInfo]]:
    """The manifest member and the data members by relative path; refuses anything unsafe or unexpected."""
    try:
        members = tar.getmembers()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidArgumentError(f"{archive} is corrupted: {exc}") from None
    manifest: tarfile.TarInfo | None = None
    data: dict[str, tarfile.TarInfo] = {}
    for m in members:
        safe_relative(m.name)
        if not m.isreg():
            kind = "link" if m.issym() or m.islnk() else "directory" if m.isdir() else "special file"
            raise InvalidArgumentError(f"{archive}: member {m.name!r} is a {kind}: a backup holds regular files only")
        if m.name == MANIFEST_NAME and manifest is None:
            manifest = m
        elif m.name.startswith(DATA_PREFIX) and m.name[len(DATA_PREFIX) :] not in data:
            data[m.name[len(DATA_PREFIX) :]] = m
        else:
            raise InvalidArgumentError(f"{archive}: unexpected or repeated member {m.name!r}: not a faceplane backup")
    if manifest is None:
        raise InvalidArgumentError(f"{archive} is not a faceplane backup (no {MANIFEST_NAME})")
    return manifest, data


def _check_listing(manifest: BackupManifest, data: dict[str, tarfile.TarInfo], archive: Path) -> None:
    listed = {f.path for f in manifest.files}
    for path in listed:
        safe_relative(path)
    if missing := sorted(listed - data.keys()):
        raise InvalidArgumentError(f"{archive} is incomplete: {missing[0]!r} (and {len(missing) - 1} more) missing")
    if extra := sorted(data.keys() - listed):
        raise InvalidArgumentError(f"{archive}: {extra[0]!r} is not in the manifest: refused")


def _prepare_target(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InvalidArgumentError(f"{target} exists and is not a folder: restore into a fresh folder")
    if target.is_dir() and any(target.iterdir()):
        raise InvalidArgumentError(
            f"{target} is not empty: restore into a fresh folder (nothing was changed; to replace a data folder, "
            "restore next to it, stop the server and swap the folders)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)


def _extract(tar: tarfile.TarFile, manifest: BackupManifest, data: dict[str, tarfile.TarInfo], staging: Path) -> int:
    """Write every file under ``staging``, checking size and SHA-256; returns the bytes written."""
    total = 0
    for entry in manifest.files:
        member = data[entry.path]
        out = staging.joinpath(*safe_relative(entry.path).parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        try:
            source = tar.extractfile(member)
            if source is None:
                raise InvalidArgumentError(f"member {member.name!r} cannot be read")
            with source, out.open("xb") as fh:
                while block := source.read(_CHUNK):
                    digest.update(block)
                    size += len(block)
                    fh.write(block)
        except (tarfile.TarError, EOFError) as exc:
            raise InvalidArgumentError(f"the backup is corrupted at {entry.path!r}: {exc}") from None
        if size != entry.bytes or digest.hexdigest() != entry.sha256:
            raise InvalidArgumentError(
                f"{entry.path}: SHA-256 does not match the manifest (corrupted or tampered backup): nothing restored"
            )
        total += size
    return total


def _key_warnings(root: Path, manifest: BackupManifest, template_key: bytes | None) -> list[str]:
    from .gallery.crypto import TemplateCipher

    warnings = []
    for g in manifest.galleries:
        if not g.encrypted:
            continue
        if template_key is None:
            warnings.append(
                f"{g.path}: the face templates are encrypted and no template key is configured: set "
                "template_key (FACEPLANE_TEMPLATE_KEY) to the key this gallery was made with; backups never hold it"
            )
            continue
        db = sqlite3.connect(f"{(root / g.path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'template_key_check'").fetchone()
        finally:
            db.close()
        if row is None or not TemplateCipher(template_key).matches(str(row[0])):
            warnings.append(f"{g.path}: the configured template key is not the one this gallery was encrypted with")
    return warnings


def _model_warnings(manifest: BackupManifest) -> list[str]:
    from .models import store

    warnings = []
    for m in manifest.models:
        if not m.needed_by or m.kind == "built-in":
            continue
        if not store.installed(m.name):
            warnings.append(
                f"model {m.name} makes the templates of {', '.join(m.needed_by)} and is not installed: "
                f"run `faceplane models install {m.name}`"
            )
        elif m.onnx_sha256 and store.read_card(m.name).onnx_sha256 != m.onnx_sha256:
            warnings.append(
                f"model {m.name} differs from the one the backup was made with (ONNX SHA-256): "
                "check `faceplane models verify` before identifying"
            )
    return warnings


def restore_backup(archive: str | Path, data_dir: str | Path, *, template_key: bytes | None = None) -> RestoreReport:
    """Restore ``archive`` into ``data_dir``, which must not exist or be empty (see the module docstring).

    Args:
        template_key: the key the server will use (to warn when an encrypted gallery cannot be opened).

    Raises:
        NotFoundError: no such archive.
        InvalidArgumentError: not a faceplane backup, an unsafe or unexpected member, a corrupted or
            tampered file (SHA-256), or a non-empty target. Nothing is written then.
    """
    source, target = Path(archive), Path(data_dir).absolute()
    with _open(source) as tar:
        manifest_member, data = _members(tar, source)
        manifest = read_manifest(tar, manifest_member)
        _check_listing(manifest, data, source)
        _prepare_target(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.restore-", dir=target.parent))
        try:
            total = _extract(tar, manifest, data, staging)
            if target.is_dir():
                target.rmdir()  # empty (checked above); rename() below needs it gone or empty
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    try:
        warnings = _key_warnings(target, manifest, template_key) + _model_warnings(manifest)
    except (FaceplaneError, sqlite3.Error) as exc:  # the files are restored; a check that cannot run is a warning
        warnings = [f"could not check the restored galleries: {exc}"]
    for text in warnings:  # the caller shows report.warnings; the log keeps them too
        log.info("restore: %s", text)
    log.info("restored %d files (%d bytes) into %s", len(manifest.files), total, target)
    return RestoreReport(target, manifest, len(manifest.files), total, warnings)
