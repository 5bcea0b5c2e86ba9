"""Zip archives of photos read safely: the layout (one folder per person), zip-slip names, zip bombs, limits.

Photos are real JPEG bytes of two LFW people; the hostile archives are built here with :mod:`zipfile`.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from faceplane.errors import ImageError, ImageTooLargeError
from faceplane.gallery.archive import (
    ArchiveError,
    ArchiveLimits,
    ArchiveTooLargeError,
    copy_archive,
    read_archive,
    read_photos,
)

MB = 1 << 20
LIMITS = ArchiveLimits(max_archive_bytes=2 * MB, max_uncompressed_bytes=8 * MB, max_files=50, max_photo_bytes=MB)


@pytest.fixture(scope="module")
def jpegs(data: Path) -> dict[str, bytes]:
    root = data / "faces" / "lfw-view1" / "images"
    return {p.name: p.read_bytes() for p in sorted((root / "Abdullah").iterdir())[:2]}


def make_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_folders_name_people_and_other_files_are_listed_as_skipped(tmp_path, jpegs):
    (a, b) = jpegs.values()
    members = {
        "Abdullah_Gul/1.jpg": a,
        "export/Ada_Lovelace/2.JPG": b,  # a folder above the person's is fine
        "Ada_Lovelace/notes.txt": b"x",
        "loose.jpg": a,
        "__MACOSX/Ada_Lovelace/._2.JPG": b"junk",  # clutter: not listed at all
        "Ada_Lovelace/.DS_Store": b"junk",
    }
    entries = read_archive(make_zip(tmp_path / "a.zip", members), LIMITS)
    listed = {e.member: (e.person, e.skip) for e in entries}
    assert listed == {
        "Abdullah_Gul/1.jpg": ("Abdullah Gul", ""),
        "export/Ada_Lovelace/2.JPG": ("Ada Lovelace", ""),
        "Ada_Lovelace/notes.txt": ("Ada Lovelace", "not a photo (.txt)"),
        "loose.jpg": ("", "not in a person's folder (Person_Name/photo.jpg)"),
    }
    photo = next(e for e in entries if e.member == "Abdullah_Gul/1.jpg")
    assert next(read_photos(tmp_path / "a.zip", [photo.index], max_bytes=MB)) == a
    assert photo.sha256 == hashlib.sha256(a).hexdigest()


@pytest.mark.parametrize(
    "name", ["../evil/x.jpg", "Ada/../../x.jpg", "/etc/Ada/x.jpg", "C:/Ada/x.jpg", "Ada\\..\\x.jpg"]
)
def test_zip_slip_names_refuse_the_whole_archive(tmp_path, jpegs, name):
    a = next(iter(jpegs.values()))
    path = make_zip(tmp_path / "slip.zip", {"Ada/1.jpg": a, name: a})
    with pytest.raises(ArchiveError, match="unsafe file name"):
        read_archive(path, LIMITS)


def test_a_symbolic_link_refuses_the_archive(tmp_path, jpegs):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Ada/1.jpg", next(iter(jpegs.values())))
        link = zipfile.ZipInfo("Ada/2.jpg")
        link.external_attr = 0o120777 << 16  # what `zip --symlinks` writes: S_IFLNK
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(ArchiveError, match="symbolic link"):
        read_archive(path, LIMITS)


def test_a_zip_bomb_is_refused_before_anything_is_inflated(tmp_path, jpegs):
    # 9 MB of zeros deflates to ~9 kB: more than the 8 MB the limits allow once decompressed
    path = make_zip(tmp_path / "bomb.zip", {"Ada/1.jpg": next(iter(jpegs.values())), "Ada/2.jpg": bytes(9 * MB)})
    assert path.stat().st_size < 100_000
    with pytest.raises(ArchiveTooLargeError, match="once decompressed") as err:
        read_archive(path, LIMITS)
    assert isinstance(err.value, ImageTooLargeError)  # the server's 413


def test_a_member_inflating_far_beyond_any_photo_is_refused(tmp_path, jpegs):
    path = make_zip(tmp_path / "ratio.zip", {"Ada/1.jpg": next(iter(jpegs.values())), "Ada/2.png": bytes(3 * MB)})
    with pytest.raises(ArchiveError, match="inflates") as err:
        read_archive(path, LIMITS)
    assert not isinstance(err.value, ImageTooLargeError)  # the server's 422


def test_too_many_files(tmp_path, jpegs):
    a = next(iter(jpegs.values()))
    path = make_zip(tmp_path / "many.zip", {f"Ada/{i}.jpg": a for i in range(LIMITS.max_files + 1)})
    with pytest.raises(ArchiveTooLargeError, match=f"at most {LIMITS.max_files}"):
        read_archive(path, LIMITS)


def test_a_photo_larger_than_an_upload_may_be_is_skipped(tmp_path, jpegs):
    a = next(iter(jpegs.values()))
    path = make_zip(tmp_path / "big.zip", {"Ada/1.jpg": a, "Ada/2.jpg": a + bytes(MB)}, zipfile.ZIP_STORED)
    skips = {e.member: e.skip for e in read_archive(path, LIMITS)}
    assert skips == {"Ada/1.jpg": "", "Ada/2.jpg": "larger than a photo may be (1 MB)"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.4 not a zip at all", "not a zip archive"),
        (None, "no photo in a person's folder"),  # a valid zip with only loose files
    ],
)
def test_not_an_archive_of_photos(tmp_path, content, message):
    path = tmp_path / "x.zip"
    if content is None:
        make_zip(path, {"readme.txt": b"hello", "loose.jpg": b"\xff\xd8"})
    else:
        path.write_bytes(content)
    with pytest.raises(ArchiveError, match=message) as err:
        read_archive(path, LIMITS)
    assert isinstance(err.value, ImageError) and not isinstance(err.value, ImageTooLargeError)


def test_copy_archive_caps_the_upload(tmp_path):
    digest = copy_archive(io.BytesIO(b"x" * 100), tmp_path / "ok.zip", max_bytes=100)
    assert len(digest) == 64 and (tmp_path / "ok.zip").stat().st_size == 100
    with pytest.raises(ArchiveTooLargeError, match="larger than"):
        copy_archive(io.BytesIO(b"x" * 101), tmp_path / "big.zip", max_bytes=100)
    assert not (tmp_path / "big.zip").exists()


def test_a_corrupt_member_is_skipped_not_fatal(tmp_path, jpegs):
    (a, b) = jpegs.values()
    path = make_zip(tmp_path / "crc.zip", {"Ada/1.jpg": a, "Ada/2.jpg": b}, zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    middle = len(b) // 2
    at = raw.find(b[middle : middle + 64])  # the middle of the second photo's stored bytes
    assert at > 0 and raw.find(b[middle : middle + 64], at + 1) == -1
    raw[at] ^= 0xFF  # its CRC no longer matches
    path.write_bytes(bytes(raw))
    skips = {e.member: e.skip for e in read_archive(path, LIMITS)}
    assert skips == {"Ada/1.jpg": "", "Ada/2.jpg": "unreadable in the archive (corrupt)"}
