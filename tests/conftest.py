"""Shared fixtures (where the shared evaluation data lives, one engine per session) and the leak check."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """``$FACEPLANE_DATA`` or ``<repo>/../shared/data`` (the layout CI uses)."""
    return Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data() -> Path:
    root = data_dir()
    if not (root / "faces").is_dir():
        pytest.fail(f"shared test data not found at {root}; set FACEPLANE_DATA")
    return root


@pytest.fixture(scope="session")
def examples(data: Path) -> Path:
    return data / "faces" / "face_recognition-examples" / "examples"


@pytest.fixture(scope="session")
def engine():
    import faceplane

    return faceplane.Engine()


@dataclass(frozen=True)
class PhotoZip:
    """A zip for bulk imports (:func:`photo_zip`): what it holds and what an import must make of it.

    Attributes:
        path: the zip (one folder per person, LFW layout).
        people: folder -> display name of the four people with photos to enroll (three good photos each).
        holdout: display name -> a fourth photo of them, not in the zip (to identify them afterwards).
        enrolled: members that must become templates.
        refused: member -> the quality gate's reason (no face, several faces, too small, blurred).
        duplicate: member -> the member holding the same bytes.
        skipped: members that are not photos.
    """

    path: Path
    people: dict[str, str]
    holdout: dict[str, Path]
    enrolled: list[str]
    refused: dict[str, str]
    duplicate: dict[str, str]
    skipped: list[str]


@pytest.fixture(scope="session")
def photo_zip(data: Path, tmp_path_factory: pytest.TempPathFactory) -> PhotoZip:
    """Four LFW View 1 people (three photos each, a fourth held out), and photos the enrollment gate refuses:
    the dogs of dlib's examples (no face), face_recognition's two_people.jpg (several faces), an LFW photo
    shrunk to 80 px (face too small) and one blurred (Gaussian, radius 4); one photo twice, one text file."""
    import io
    import zipfile

    from PIL import Image, ImageFilter

    faces = data / "faces"
    lfw = faces / "lfw-view1" / "images"
    folders = [p for p in sorted(lfw.iterdir()) if len(list(p.iterdir())) >= 4][:4]
    photos = {p.name: sorted(p.iterdir()) for p in folders}
    a, b, c, d = (p.name for p in folders)

    def jpeg(image: Image.Image) -> bytes:
        buf = io.BytesIO()
        image.convert("RGB").save(buf, "JPEG", quality=90)
        return buf.getvalue()

    members = {f"{name}/{f.name}": f.read_bytes() for name, files in photos.items() for f in files[:3]}
    enrolled = list(members)
    refused = {
        f"{a}/dogs.jpg": "no face found",
        f"{b}/two_people.jpg": "several faces",
        f"{c}/small.jpg": "face too small",
        f"{d}/blurred.jpg": "blurred",
    }
    members[f"{a}/dogs.jpg"] = (faces / "dlib-examples" / "examples" / "faces" / "dogs.jpg").read_bytes()
    members[f"{b}/two_people.jpg"] = (faces / "face_recognition-examples" / "examples" / "two_people.jpg").read_bytes()
    members[f"{c}/small.jpg"] = jpeg(Image.open(photos[c][0]).resize((80, 80)))
    members[f"{d}/blurred.jpg"] = jpeg(Image.open(photos[d][0]).filter(ImageFilter.GaussianBlur(4)))
    duplicate = {f"{d}/again.jpg": f"{d}/{photos[d][1].name}"}
    members[f"{d}/again.jpg"] = photos[d][1].read_bytes()
    members["notes/readme.txt"] = b"exported from the badge system"
    path = tmp_path_factory.mktemp("photo-zip") / "people.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    people = {p.name: p.name.replace("_", " ") for p in folders}
    holdout = {people[name]: files[3] for name, files in photos.items()}
    return PhotoZip(path, people, holdout, enrolled, refused, duplicate, ["notes/readme.txt"])


def pytest_sessionstart(session: pytest.Session) -> None:
    """Make this process the child subreaper (Linux): a process orphaned by a test's process (a server's
    detector worker when the server exits) is re-parented here, not to init, so the leak check sees it."""
    if sys.platform == "linux":
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
#: Seconds the processes still running after the last test get to end (Ray's node processes stop asynchronously).
LEAK_GRACE_S = 10.0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when tests left processes behind (servers, brokers, detector workers); then kill them.

    Multiprocessing's resource tracker is expected: it serves this process and ends with it.
    """
    import psutil

    def expected(p: psutil.Process) -> bool:
        try:
            return "multiprocessing.resource_tracker" in " ".join(p.cmdline())
        except psutil.ZombieProcess:  # ended, not yet reaped: waiting for it below reaps it
            return False
        except psutil.Error:  # ended meanwhile
            return True

    children = [p for p in psutil.Process().children(recursive=True) if not expected(p)]
    _, alive = psutil.wait_procs(children, timeout=LEAK_GRACE_S)
    leaked = []
    for p in alive:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                leaked.append(f"{p.pid}: {' '.join(p.cmdline())[:200]}")
        except psutil.Error:
            continue
    if not leaked:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"{len(leaked)} processes left behind by the tests (now killed):\n" + "\n".join(leaked)
    if reporter is not None:
        reporter.write_line("")  # ends the progress line
        reporter.write_line(message, red=True, bold=True)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
