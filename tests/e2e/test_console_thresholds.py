"""Thresholds next to what they mean, and "Not this person" on an alert, in a real Chromium and ``faceplane serve``.

General Richard Myers (LFW) is enrolled over the API in "lookalikes"; an alert naming him is in the event
store before the server starts (``seed_data_dir``), its snapshot a photo of his look-alike Bruce Van De Velde
(tests/integration/test_corrections.py says how the pair was chosen). The operator sets the collection's
threshold to "1 in 1,000" and reads what it means, sees what "1 in 100" means on the add-camera form, and
says "Not this person" on the alert: the enrolled photo that made the match is shown with its quality.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright import sync_api

from faceplane.events import Event, EventStore

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect = sync_api.expect
ADMIN = ("admin", "fp-dev-admin-key")  # development mode login
DATA = Path(os.environ.get("FACEPLANE_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")
LFW = DATA / "faces" / "lfw-view1" / "images"  # as tests/conftest.py finds the shared data


def _lfw(name: str) -> Path:
    return LFW / name.rsplit("_", 1)[0] / name


def seed_data_dir(path: Path) -> None:
    """An alert naming person 1 (enrolled by the fixture below: the first person of a new gallery)."""
    store = EventStore(path / "events")
    event = Event.new("watchlist.start", camera="gate", t_s=2.0, track_id=4, person_id=1,
                      person_name="Richard Myers", collection="lookalikes", distance=0.96)  # fmt: skip
    store.add(event, _lfw("Bruce_Van_De_Velde_0002.jpg").read_bytes())
    store.close()


@pytest.fixture(scope="module")
def myers(server: str) -> int:
    with httpx.Client(base_url=f"{server}/api/v1", headers={"X-API-Key": ADMIN[1]}, timeout=60) as api:
        assert api.post("/collections", json={"name": "lookalikes"}).status_code == 201
        photo = _lfw("Richard_Myers_0004.jpg")
        files = {"images": (photo.name, photo.read_bytes(), "image/jpeg")}
        response = api.post("/collections/lookalikes/people", files=files, data={"display_name": "Richard Myers"})
        assert response.status_code == 201, response.text
    person_id = int(response.json()["person"]["id"])
    assert person_id == 1  # the seeded alert names him
    return person_id


def test_thresholds_and_not_this_person(server: str, browser, myers: int, watch_errors, log_in) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)
    api = httpx.Client(base_url=f"{server}/api/v1", headers={"X-API-Key": ADMIN[1]}, timeout=30)
    try:
        log_in(page)

        # ---- the collection's threshold, and what it means for its one person
        page.click('.nav-item[data-view="people"]')
        page.locator('.coll-item[data-name="lookalikes"]').click()
        meaning = page.locator("#threshold-meaning")
        expect(meaning).to_contain_text("about 1 in 100 strangers would be named")  # the default, FPIR 1 %
        page.select_option("#threshold-fpir", "0.001")
        expect(meaning).to_contain_text("about 1 in 1,000 strangers would be named")
        expect(meaning).to_contain_text("over 1 person")
        (own,) = [t for t in api.get("/thresholds").json() if t["scope"] == "collection" and t["name"] == "lookalikes"]
        assert own["setting_fpir"] == 0.001 and own["source"] == "api"

        # ---- the add-camera form says what a camera's target means before it is started
        page.click('.nav-item[data-view="live"]')
        page.click("#add-camera")
        page.select_option("#cam-match-fpir", "0.01")
        expect(page.locator("#cam-match-meaning")).to_contain_text("about 1 in 100 strangers would be named")
        page.locator("#camera-dialog button", has_text="Cancel").click()

        # ---- not this person, on the alert: the enrolled photo that made the match is shown
        page.click('.nav-item[data-view="alerts"]')
        page.locator(".alert-item", has_text="Richard Myers").first.click()
        page.click("#not-this-person")
        template = page.locator("#alert-correction .matched-template")
        expect(template).to_have_count(1)
        expect(template).to_contain_text("quality")
        expect(template.locator("img")).to_have_js_property("complete", True)
        (correction,) = api.get(f"/people/{myers}/corrections").json()
        assert correction["source"].startswith("event:") and correction["template"] is not None
        assert not errors, errors
    finally:
        api.close()
        context.close()
