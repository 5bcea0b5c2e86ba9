"""Zip archives of photos for a bulk import, read safely: one folder per person, as LFW is laid out.

``Ada_Lovelace/1.jpg`` is a photo of "Ada Lovelace" (the folder holding a photo names the person, underscores
as spaces, so ``export/Ada_Lovelace/1.jpg`` works too). Nothing is ever extracted to disk: members are read
into memory one at a time, by their position in the archive, so their names are only labels. Still, an
archive that is not what a photo export looks like is refused whole (:class:`ArchiveError`) before any of it
is kept or enrolled:

- not a zip archive, or a corrupt central directory;
- a member name that is absolute, holds ``..``, a drive letter or a backslash, or a member that is a symbolic
  link (zip-slip: names a tool would extract outside its folder);
- an encrypted member;
- more members than ``max_files``, or more bytes once decompressed than ``max_uncompressed_bytes`` in all
  (zip bombs): counted from the sizes the archive declares, which is also all :mod:`zipfile` ever inflates
  (it stops at the declared size and checks the CRC);
- a member that inflates more than :data:`MAX_RATIO` times (no photo format compresses like that).

The archive itself is copied from the upload with a size cap (:func:`copy_archive`); an upload beyond it, or
an archive declaring too much, is an :class:`ArchiveTooLargeError` (the server answers 413, others 422).

Members that are not photos to enroll are listed as skipped, with the reason (not a photo, not in a person's
folder, larger than a photo upload may be, unreadable); operating-system clutter (``__MACOSX/``, dot files,
``Thumbs.db``) is ignored.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import ImageError, ImageTooLargeError

__all__ = [
    "PHOTO_SUFFIXES",
    "ArchiveEntry",
    "ArchiveError",
    "ArchiveLimits",
    "ArchiveTooLargeError",
    "copy_archive",
    "read_archive",
    "read_photos",
]

#: File name endings taken as photos (what :func:`faceplane.images.load_image` decodes).
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
#: A member inflating more than this many times is refused (JPEG ~1:1, PNG a few to one). An operating choice.
MAX_RATIO = 100
_RATIO_FROM_BYTES = 1 << 20  # tiny members may compress well (a flat test image): only judged above 1 MiB
_MAX_NAME = 200  # a person's display name, as the enrollment form allows
_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
_S_IFMT, _S_IFLNK = 0o170000, 0o120000


class ArchiveError(ImageError):
    """The upload is not an archive of photos we accept: not a zip, corrupt, unsafe member names, no photos.

    An :class:`~faceplane.errors.ImageError`: the input cannot be turned into photos (the server answers 422).
    """


class ArchiveTooLargeError(ArchiveError, ImageTooLargeError):
    """The archive, or what it declares once decompressed, is larger than allowed (the server answers 413)."""


@dataclass(frozen=True)
class ArchiveLimits:
    """How large an import may be.

    Attributes:
        max_archive_bytes: the zip file as uploaded.
        max_uncompressed_bytes: every member decompressed, in all (declared sizes).
        max_files: members in the archive (folders included).
        max_photo_bytes: one photo decompressed (larger ones are skipped, as a photo upload would be refused).
    """

    max_archive_bytes: int
    max_uncompressed_bytes: int
    max_files: int
    max_photo_bytes: int


@dataclass(frozen=True)
class ArchiveEntry:
    """One member of an archive, as an import lists it.

    Attributes:
        index: its position in the archive's directory (how it is read back: names may repeat).
        member: its path inside the archive.
        person: the display name of its folder ('' when it is in none).
        sha256: hex digest of its bytes ('' when it was skipped before being read).
        skip: why it is not a photo to enroll ('' when it is one).
    """

    index: int
    member: str
    person: str
    sha256: str
    skip: str = ""


def copy_archive(upload: BinaryIO, target: Path, *, max_bytes: int) -> str:
    """Copy an uploaded archive to ``target``; returns the SHA-256 (hex) of its bytes.

    Raises:
        ArchiveTooLargeError: more than ``max_bytes`` (``target`` is removed).
    """
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while chunk := upload.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                break
            digest.update(chunk)
            out.write(chunk)
    if size > max_bytes:
        target.unlink(missing_ok=True)
        raise ArchiveTooLargeError(f"the archive is larger than {_mb(max_bytes)}")
    return digest.hexdigest()


def read_archive(path: Path, limits: ArchiveLimits) -> list[ArchiveEntry]:
    """Check an archive (see the module docstring) and list its members, photos hashed.

    Raises:
        ArchiveError: not a zip, corrupt, unsafe, or holding no photo in a person's folder.
        ArchiveTooLargeError: too many members or too many bytes once decompressed.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _check(infos, limits)
            entries = [_entry(zf, i, info, limits) for i, info in enumerate(infos) if not _clutter(info)]
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"not a zip archive, or a corrupt one ({exc})") from None
    if not any(e.person and not e.skip for e in entries):
        raise ArchiveError("no photo in a person's folder: lay the archive out as Person_Name/photo.jpg")
    return entries


def read_photos(path: Path, indices: list[int], *, max_bytes: int) -> Iterator[bytes | None]:
    """The bytes of these members of an archive, in order (None: unreadable now, e.g. the CRC fails)."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        for i in indices:
            yield _read(zf, infos[i], max_bytes)


def _check(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if len(infos) > limits.max_files:
        raise ArchiveTooLargeError(f"the archive holds {len(infos)} files; at most {limits.max_files} are allowed")
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise ArchiveTooLargeError(
            f"the archive holds {_mb(total)} once decompressed; at most {_mb(limits.max_uncompressed_bytes)}"
        )
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if name.startswith("/") or "\\" in name or "\x00" in name or _DRIVE.match(name) or ".." in parts:
            raise ArchiveError(f"unsafe file name in the archive: {name!r} (absolute, or leaving its folder)")
        if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
            raise ArchiveError(f"the archive holds a symbolic link: {name!r}")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"the archive holds an encrypted file: {name!r}")
        compressed = max(info.compress_size, 1)
        if info.file_size > _RATIO_FROM_BYTES and info.file_size / compressed > MAX_RATIO:
            raise ArchiveError(
                f"{name!r} inflates {info.file_size / compressed:.0f} times (at most {MAX_RATIO}): not a photo"
            )


def _clutter(info: zipfile.ZipInfo) -> bool:
    parts = info.filename.rstrip("/").split("/")
    return info.is_dir() or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts) or parts[-1] == "Thumbs.db"


def _entry(zf: zipfile.ZipFile, index: int, info: zipfile.ZipInfo, limits: ArchiveLimits) -> ArchiveEntry:
    parts = info.filename.split("/")
    person = parts[-2].replace("_", " ").strip()[:_MAX_NAME] if len(parts) > 1 else ""
    skip = ""
    if not info.filename.lower().endswith(PHOTO_SUFFIXES):
        skip = "not a photo (" + (Path(parts[-1]).suffix or "no file type") + ")"
    elif not person:
        skip = "not in a person's folder (Person_Name/photo.jpg)"
    elif info.file_size > limits.max_photo_bytes:
        skip = f"larger than a photo may be ({_mb(limits.max_photo_bytes)})"
    if skip:
        return ArchiveEntry(index, info.filename, person, "", skip)
    data = _read(zf, info, limits.max_photo_bytes)
    if data is None:
        return ArchiveEntry(index, info.filename, person, "", "unreadable in the archive (corrupt)")
    return ArchiveEntry(index, info.filename, person, hashlib.sha256(data).hexdigest())


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes | None:
    try:
        with zf.open(info) as fh:
            data = fh.read(max_bytes + 1)  # zipfile stops at the declared size; this caps it again
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
        return None
    return data if len(data) <= max_bytes else None


def _mb(n: int) -> str:
    return f"{n / 1048576:.3g} MB"
