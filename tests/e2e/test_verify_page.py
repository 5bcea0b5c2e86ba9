"""The console's Verify page with a webcam: Chromium's fake camera plays the shared liveness clips.

Chromium reads a Y4M file as its webcam (``--use-file-for-fake-video-capture``), so the page's own code
(getUserMedia, canvas grabs, frames with capture times, the prompts) runs as it would with a person in
front of a laptop. ``real.mov`` from 5.3 s on turns right, then left: the admin fixes
those challenges in the URL (``#/verify?challenges=...``; other roles cannot). The man is enrolled in
"staff" from a frame at 0.5 s that the camera never shows. ``fake.mp4`` is the same man replayed on a phone.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image
from playwright import sync_api

from faceplane.video import VideoSource

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect = sync_api.expect
VIDEOS = "liveness/antispoof-zubair-videos/videos"
ADMIN = ("admin", "fp-dev-admin-key")
# The two head turns last over a second each; the mouth opening (0.8 s) is tested over the API, where every
# second frame arrives, not only the frames the server has time for.
CHALLENGES = "turn_right,turn_left"


def _y4m(src: Path, out: Path, start_s: float) -> Path:
    """The clip from ``start_s`` as raw Y4M (what Chromium's fake camera reads), 15 fps."""
    with av.open(str(out), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=Fraction(15))
        stream.width, stream.height, stream.pix_fmt = 960, 540, "yuv420p"
        for frame in VideoSource(str(src), fps=None).frames():
            if frame.t_s >= start_s:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame.image, format="rgb24")))
        container.mux(stream.encode(None))
    return out


@pytest.fixture(scope="module")
def cameras(data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("webcam")
    return {
        "live": _y4m(data / VIDEOS / "real.mov", root / "live.y4m", 5.3),
        "replay": _y4m(data / VIDEOS / "fake.mp4", root / "replay.y4m", 0.0),
    }


@pytest.fixture(scope="module")
def staff(server: str, data: Path) -> int:
    """The man enrolled in 'staff' over the API."""
    import httpx

    enroll = next(f for f in VideoSource(str(data / VIDEOS / "real.mov"), fps=None).frames() if f.t_s >= 0.5)
    buf = io.BytesIO()
    Image.fromarray(enroll.image).save(buf, format="JPEG", quality=90)
    headers = {"X-API-Key": ADMIN[1]}
    with httpx.Client(base_url=server, headers=headers, timeout=60) as api:
        assert api.post("/api/v1/collections", json={"name": "staff"}).status_code == 201
        r = api.post(
            "/api/v1/collections/staff/people",
            files={"images": ("man.jpg", buf.getvalue(), "image/jpeg")},
            data={"display_name": "Webcam man"},
        )
        assert r.status_code == 201, r.text
        return int(r.json()["person"]["id"])


def _check(
    launch: Callable[..., object], server: str, y4m: Path, tmp_path: Path, name: str, log_in: Callable[..., None]
):
    browser = launch(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}",
    )
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=server)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page)
    page.goto(f"/#/verify?challenges={CHALLENGES}")
    expect(page.locator("#verify-start")).to_be_visible()
    expect(page.locator("#verify-collection option[value=staff]")).to_have_count(1)
    page.select_option("#verify-collection", "staff")
    page.click("#verify-start")
    expect(page.locator("#verify-steps li")).to_have_count(2)
    expect(page.locator("#verify-prompt")).to_contain_text("Turn your head to your right", timeout=20_000)
    decision = page.locator("#verify-decision")
    expect(decision).to_be_visible(timeout=60_000)
    page.screenshot(path=str(tmp_path / f"verify-{name}.png"))
    assert not errors, errors
    return page, context, decision


def test_a_live_person_at_the_webcam_is_let_in(launch, server, cameras, staff, tmp_path, log_in) -> None:
    page, context, decision = _check(launch, server, cameras["live"], tmp_path, "live", log_in)
    try:
        expect(decision).to_have_attribute("data-allowed", "true")
        expect(decision).to_contain_text("Access granted")
        expect(decision).to_contain_text("Webcam man (staff)")
        expect(page.locator('#verify-steps li[data-challenge="turn_left"]')).to_have_class("done")
        expect(decision.locator(".evidence img")).to_have_count(4)  # start, identity, one per challenge
    finally:
        context.close()


def test_a_phone_replay_at_the_webcam_is_refused(launch, server, cameras, staff, tmp_path, log_in) -> None:
    _, context, decision = _check(launch, server, cameras["replay"], tmp_path, "replay", log_in)
    try:
        expect(decision).to_have_attribute("data-allowed", "false")
        expect(decision).to_contain_text("Access refused")
        expect(decision).to_contain_text("identity not checked")  # a spoof is not told whom it resembles
        expect(decision.locator(".reasons")).to_contain_text("not live")
    finally:
        context.close()
