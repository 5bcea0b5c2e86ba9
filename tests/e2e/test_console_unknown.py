"""The Unknown faces page in a real Chromium against a real ``faceplane serve``, on LFW photos.

An operator checks four photos of Paul Wolfowitz seen at the door, two of Jennifer Lopez seen in the yard, and one
each of Ricardo Lagos and Tang Jiaxuan: nobody is enrolled, so all are kept as unknown. The server's clustering job
(every second here) groups Wolfowitz's and Lopez's faces into two recurring strangers; the other two are seen once.
Lopez is then enrolled from another photo, and the operator adds her cluster to her; selects the two faces seen
once and dismisses both at once; names Wolfowitz's cluster into "regulars", then checks another photo of him (not
one of the four): the page shows his name. A viewer sees the strangers and none of the actions.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from playwright import sync_api

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect = sync_api.expect
ADMIN = ("admin", "fp-dev-admin-key")  # development mode login
SCREENSHOTS = Path(__file__).parent / "screenshots"
# the job steps every second and may re-cluster at every step (the defaults: a minute, ten minutes)
SERVER_ENV = {"FACEPLANE_UNKNOWN_CLUSTERING": json.dumps({"interval_s": 1, "full_every_minutes": 0.001})}
CLUSTER_TIMEOUT_S = 30.0


def _lfw(data: Path, name: str, *numbers: int) -> list[str]:
    return [str(data / "faces" / "lfw-view1" / "images" / name / f"{name}_{n:04d}.jpg") for n in numbers]


def _check_photos(page, files: list[str], camera: str) -> None:
    before = page.locator(".sighting").count()
    page.fill("#sighting-camera", camera)
    page.set_input_files("#sighting-input", files)
    page.click("#sighting-submit")
    expect(page.locator(".sighting")).to_have_count(before + len(files), timeout=30_000)


def _wait_for_clusters(page, count: int) -> None:
    """Refresh until the clustering job has made ``count`` clusters (it runs every second)."""
    deadline = time.monotonic() + CLUSTER_TIMEOUT_S
    while page.locator(".cluster-card").count() != count:
        assert time.monotonic() < deadline, f"no {count} clusters after {CLUSTER_TIMEOUT_S} s"
        page.wait_for_timeout(500)
        page.click("#unknown-refresh")
        page.wait_for_load_state("networkidle")


def test_operator_names_a_recurring_stranger_and_sees_him_recognised(
    server: str, browser, data: Path, tmp_path, log_in
):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, base_url=server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

    def shot(name: str) -> None:  # into tmp_path, and tests/e2e/screenshots/ with $FACEPLANE_SCREENSHOTS
        page.wait_for_timeout(300)
        for folder in [tmp_path, *([SCREENSHOTS] if os.environ.get("FACEPLANE_SCREENSHOTS") else [])]:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    try:
        log_in(page)
        # from here on any error logged is a bug (before the login, /auth/me's 401 is logged as one)
        page.on("console", lambda msg: msg.type == "error" and errors.append(f"console: {msg.text}"))
        assert page.request.post("/api/v1/collections", data={"name": "regulars"}).status == 201  # plumbing

        page.click('.nav-item[data-view="unknown"]')
        expect(page.locator("#view-title")).to_have_text("Unknown faces")
        _check_photos(page, _lfw(data, "Paul_Wolfowitz", 2, 3, 4, 5), "door")
        _check_photos(page, _lfw(data, "Jennifer_Lopez", 3, 4), "yard")
        _check_photos(page, [*_lfw(data, "Ricardo_Lagos", 1), *_lfw(data, "Tang_Jiaxuan", 1)], "door")
        expect(page.locator(".sighting-face.unknown")).to_have_count(8)  # nobody enrolled: all kept
        expect(page.locator(".sighting-face.known")).to_have_count(0)

        _wait_for_clusters(page, 2)
        wolfowitz = page.locator(".cluster-card").first  # most sightings first
        lopez = page.locator(".cluster-card").nth(1)
        expect(wolfowitz.locator(".cluster-size")).to_have_text("4 sightings")
        expect(wolfowitz.locator(".cluster-cameras .badge")).to_have_text(["door"])
        expect(lopez.locator(".cluster-size")).to_have_text("2 sightings")
        expect(lopez.locator(".cluster-cameras .badge")).to_have_text(["yard"])
        shots = wolfowitz.locator("img.face-shot")
        expect(shots).to_have_count(4)
        for i in range(4):  # the best shots are real pictures, fetched with the login
            expect(shots.nth(i)).to_have_js_property("complete", True)
            assert shots.nth(i).evaluate("img => img.naturalWidth") > 0
        once = page.locator("#unknown-once .face-card")
        expect(once).to_have_count(2)
        shot("unknown-01-clusters")

        # Lopez, enrolled meanwhile from another photo (plumbing), gets her cluster's faces
        path = Path(_lfw(data, "Jennifer_Lopez", 9)[0])
        form = {"images": {"name": path.name, "mimeType": "image/jpeg", "buffer": path.read_bytes()}}
        enrolled = page.request.post(
            "/api/v1/collections/regulars/people", multipart={**form, "display_name": "Jennifer Lopez"}
        )
        assert enrolled.status == 201, enrolled.text()
        lopez.locator(".cluster-assign").click()
        assign = page.locator("#assign-dialog")
        assign.locator("#assign-collection").select_option("regulars")
        expect(assign.locator("#assign-person option")).to_have_text(
            [f"Jennifer Lopez (#{enrolled.json()['person']['id']})"]
        )
        assign.locator("#assign-submit").click()
        expect(assign).to_be_hidden()
        expect(page.locator(".toast.ok").filter(has_text="Jennifer Lopez")).to_contain_text("2 face(s) added")
        expect(page.locator(".cluster-card")).to_have_count(1)

        # bulk: the two faces seen once, dismissed at once
        for i in range(2):
            once.nth(i).locator("input.face-select").check()
        expect(page.locator("#bulk-count")).to_have_text("2 faces selected")
        shot("unknown-02-selected")
        page.once("dialog", lambda d: d.accept())
        page.click("#bulk-dismiss")
        expect(page.locator("#unknown-once .face-card")).to_have_count(0)
        expect(page.locator("#unknown-bulk")).to_be_hidden()

        # name Wolfowitz's cluster
        wolfowitz.locator(".cluster-name").click()
        dialog = page.locator("#name-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.locator("#name-shots img")).to_have_count(4)
        dialog.locator("#name-collection").select_option("regulars")
        dialog.locator("#name-display").fill("Paul Wolfowitz")
        dialog.locator("#name-consent").fill("consent")
        shot("unknown-03-name")
        dialog.locator("#name-submit").click()
        expect(dialog).to_be_hidden()
        expect(page.locator(".toast.ok").filter(has_text="Paul Wolfowitz")).to_be_visible()
        expect(page.locator(".cluster-card")).to_have_count(0)
        people = page.request.get("/api/v1/collections/regulars/people").json()
        assert [(p["name"], p["templates"], p["consent_basis"]) for p in people] == [
            ("Jennifer Lopez", 3, None),
            ("Paul Wolfowitz", 4, "consent"),
        ]

        # the next sighting of him, a photo that was not in the cluster, is recognised
        _check_photos(page, _lfw(data, "Paul_Wolfowitz", 10), "door")
        latest = page.locator(".sighting").first
        expect(latest.locator(".sighting-face.known strong")).to_have_text("Paul Wolfowitz")
        expect(latest.locator(".sighting-face.known")).to_have_attribute("data-person", str(people[1]["id"]))
        expect(page.locator("#unknown-once .face-card")).to_have_count(0)  # not kept as unknown
        shot("unknown-04-recognised")

        audit = page.request.get("/api/v1/audit", params={"limit": 200}).json()
        actions = {e["action"] for e in audit}
        assert {
            "unknown.record",
            "unknown.clusters",
            "unknown.list",
            "unknown.assign",
            "unknown.dismiss",
            "unknown.name",
        } <= actions
        assert not errors, errors
    except Exception:
        shot("unknown-zz-failure")
        raise
    finally:
        context.close()


def test_a_viewer_sees_the_strangers_but_cannot_act(server: str, browser, data: Path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        admin = {"X-API-Key": ADMIN[1]}
        user = {"username": "watcher", "password": "a-long-password", "role": "viewer"}
        assert page.request.post("/api/v1/users", data=user, headers=admin).status == 201
        for path in _lfw(data, "Hans_Blix", 2, 6):  # plumbing: two sightings of one stranger, by the API
            body = {"image": {"name": Path(path).name, "mimeType": "image/jpeg", "buffer": Path(path).read_bytes()}}
            assert page.request.post("/api/v1/unknown-faces", multipart={**body, "camera": "lobby"}, headers=admin).ok
        deadline = time.monotonic() + CLUSTER_TIMEOUT_S
        while not page.request.get("/api/v1/unknown-clusters", params={"camera": "lobby"}, headers=admin).json():
            assert time.monotonic() < deadline, "the clustering job made no cluster"
            time.sleep(0.5)

        page.goto("/")
        page.fill("#login-user", user["username"])
        page.fill("#login-pass", user["password"])
        page.click("#login-submit")
        page.click('.nav-item[data-view="unknown"]')
        card = page.locator('.cluster-card:has(.badge[data-camera="lobby"])')
        expect(card).to_have_count(1)
        expect(card.locator(".cluster-size")).to_have_text("2 sightings")
        expect(card.locator("img.face-shot")).to_have_count(2)
        for action in (".cluster-name", ".cluster-assign", ".cluster-dismiss", "input.cluster-select"):
            expect(card.locator(action)).to_have_count(0)
        expect(page.locator("#sighting-form")).to_have_count(0)
        expect(page.locator("#unknown-bulk")).to_have_count(0)
        card.locator(".cluster-expand").click()  # looking is allowed: every face of the cluster
        expect(card.locator(".cluster-faces img.face-shot")).to_have_count(2)
        expect(card.locator(".cluster-faces input.face-select")).to_have_count(0)
    finally:
        context.close()
