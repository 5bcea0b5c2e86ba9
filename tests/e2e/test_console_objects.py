"""People and vehicles in the web console: real Chromium, a real ``faceplane serve``, the real object detector.

An operator adds a camera asking for people and cars on the PETS09 clip (pedestrians crossing a campus
road); the detector's people cross a line there, and the events list shows them with their class. Cars
come from the events store: the COCO detectors do not see the shared car clip's cars, filmed from straight
above (NanoDet calls them "cell phone"), so earlier car events are put in the server's events store before
it starts (plumbing). Analytics then shows crossings per class per hour, stacked, with a table per class.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import pytest
from playwright import sync_api

from faceplane.events import Event, EventStore

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect = sync_api.expect
SCREENSHOTS = Path(__file__).parent / "screenshots"
CROSSING_TIMEOUT_MS = 90_000  # the first person crosses after about 2 s of video; the detector shares 2 cores
SEEDED_AT = (time.time() // 3600 - 2) * 3600 + 60  # in one hour, two hours ago: inside the console's last 24 h


def seed_data_dir(path: Path) -> None:
    """Earlier events of a car park camera: two cars in, one out, one parked too long (read by tests/e2e/conftest)."""
    store = EventStore(path / "events")
    rows = [("line.crossed", "in", 0), ("line.crossed", "in", 60), ("line.crossed", "out", 120)]
    rows.append(("zone.dwell", None, 180))
    for track_id, (kind, direction, after_s) in enumerate(rows, start=1):
        rule = "gate" if kind == "line.crossed" else "bay"
        event = Event.new(kind, camera="carpark", t_s=after_s, track_id=track_id, rule=rule, direction=direction)
        store.add(dataclasses.replace(event, wall_s=SEEDED_AT + after_s, object_class="car"))
    store.close()


def _add_camera(page, clip: Path, shot) -> dict[str, object]:
    """Fill the camera form (people + cars, NanoDet at 416 px, a line down the middle); the body it sent."""
    page.click("#add-camera")
    page.fill("#cam-id", "plaza")
    page.fill("#cam-source", str(clip))
    page.fill("#cam-fps", "5")
    page.fill("#cam-lines", "mid=0.5,0,0.5,1")
    page.check("#cam-obj-person")
    page.check("#cam-obj-car")
    page.select_option("#cam-detector", "hog")  # people only: the vehicle classes cannot be asked of it
    expect(page.locator("#cam-obj-car")).to_be_disabled()
    expect(page.locator("#cam-obj-car")).not_to_be_checked()
    expect(page.locator("#cam-obj-person")).to_be_checked()
    page.select_option("#cam-detector", "nanodet")
    page.check("#cam-obj-car")
    page.select_option("#cam-input-size", "416")
    shot("objects-00-camera-form")
    with page.expect_request(lambda r: r.url.endswith("/api/v1/cameras") and r.method == "POST") as sent:
        page.click("#cam-submit")
    return json.loads(sent.value.post_data or "{}")


def _events(page) -> None:
    """The events list: the class on each object event, the class filter (car: seeded; person: detected)."""
    page.click('.nav-item[data-view="alerts"]')
    page.select_option("#event-class", "person")  # from the watchlist filter: switches to lines & zones
    expect(page.locator('.chip[data-filter="movement"]')).to_have_class("chip active")
    walker = page.locator('.alert-item[data-kind="line.crossed"]').first
    expect(walker).to_be_visible(timeout=CROSSING_TIMEOUT_MS)
    expect(walker.locator('.class-badge[data-class="person"]')).to_have_text("person")
    expect(walker).to_contain_text("plaza")
    page.select_option("#event-class", "car")
    cars = page.locator(".alert-item")
    expect(cars).to_have_count(4)  # 3 crossings and the dwell alert, all seeded
    expect(page.locator('.alert-item[data-kind="zone.dwell"]')).to_contain_text("Dwell alert")
    expect(cars.locator(".class-badge")).to_have_text(["car"] * 4)
    cars.first.click()
    expect(page.locator("#alert-detail tr", has_text="Class")).to_contain_text("car")
    page.select_option("#event-class", "")


def test_operator_counts_people_and_cars_per_class(
    server: str, browser, data: Path, tmp_path: Path, watch_errors, log_in
) -> None:
    clip = data / "video" / "pets09-s2l1-video" / "vtest.mp4"
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)

    def shot(name: str) -> None:  # into tmp_path, and tests/e2e/screenshots/ with $FACEPLANE_SCREENSHOTS
        page.wait_for_timeout(300)
        for folder in [tmp_path, *([SCREENSHOTS] if os.environ.get("FACEPLANE_SCREENSHOTS") else [])]:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"))

    try:
        log_in(page)
        body = _add_camera(page, clip, shot)
        assert body["objects"] == ["person", "car"], body
        assert body["object_detector"] == "nanodet" and body["object_input_size"] == 416, body
        card = page.locator('.camera-card[data-camera="plaza"]')
        expect(card.locator(".badge").first).to_have_text("live", timeout=30_000)
        _events(page)
        shot("objects-01-events")

        # stop the camera (counts no longer move), then Analytics: crossings per class per hour, stacked
        page.click('.nav-item[data-view="live"]')
        page.once("dialog", lambda d: d.accept())
        card.get_by_title("Remove camera plaza").click()
        expect(card).to_have_count(0)
        page.click('.nav-item[data-view="analytics"]')
        panel = page.locator("#class-panel")
        expect(panel.locator("svg.chart")).to_have_count(1)
        expect(panel.locator(".legend-item")).to_have_count(2)
        expect(panel.locator(".legend-item").first).to_have_attribute("data-class", "person")  # usual order
        expect(panel.locator('.legend-item[data-class="car"] b')).to_have_text("3")  # crossings, in and out
        expect(panel.locator('svg.chart rect.bar[data-class="person"]').first).to_be_attached()
        expect(panel.locator('svg.chart rect.bar[data-class="car"]')).to_have_count(1)  # one hour of seeded cars
        car = [int(c) for c in page.locator('#class-rows tr[data-class="car"] td.num').all_inner_texts()]
        assert car == [2, 1, 0, 0, 1], car  # in, out, zone entries, exits, dwell alerts
        person = [int(c) for c in page.locator('#class-rows tr[data-class="person"] td.num').all_inner_texts()]
        assert person[0] + person[1] >= 1 and person[2:] == [0, 0, 0], person
        panel.locator('.chip[data-metric="dwell"]').click()
        expect(panel.locator('.legend-item[data-class="car"] b')).to_have_text("1")
        shot("objects-02-analytics")

        # the console shows what the API counts
        rows = page.request.get("/api/v1/analytics/classes", params={"class": "person"}).json()
        assert sum(r["line_in"] for r in rows) == person[0] and sum(r["line_out"] for r in rows) == person[1]
        assert not errors, errors
    except Exception:
        shot("objects-zz-failure")
        raise
    finally:
        context.close()
