"""Object classes on events through the API: ``GET /events?class=car`` and ``"class"`` in the live stream."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import httpx
import pytest

from faceplane.events import Event

API = "/api/v1"


def _first_stream_event(url: str, key: str, camera: str, found: queue.Queue[Any]) -> None:
    """Read the event stream until the first event of ``camera``: put its data (or the exception) in ``found``."""
    try:
        with httpx.stream("GET", url, headers={"X-API-Key": key}, timeout=httpx.Timeout(10.0, read=30.0)) as response:
            found.put(response.status_code)
            for line in response.iter_lines():
                if line.startswith("data:") and (data := json.loads(line.removeprefix("data:")))["camera"] == camera:
                    found.put(data)
                    return
    except Exception as exc:  # reported by the test
        found.put(exc)


def _crossing(camera: str, track_id: int, object_class: str | None) -> Event:
    return Event.new(
        "line.crossed", camera=camera, t_s=1.0, track_id=track_id, rule="mid", direction="in", object_class=object_class
    )


def test_events_filter_by_class_and_stream_it(app, client, services, viewer, live_server):
    with live_server(app) as base:
        found: queue.Queue[Any] = queue.Queue()
        reader = threading.Thread(
            target=_first_stream_event, args=(f"{base}{API}/events/stream", viewer["X-API-Key"], "lot", found)
        )
        reader.start()
        assert found.get(timeout=20) == 200
        for tid, cls in ((1, "car"), (2, "person"), (3, None), (4, "car")):
            services.video.bus.publish(_crossing("lot", tid, cls))  # the engine's bus: store, then the stream
        streamed = found.get(timeout=30)
        reader.join(10)
    assert not isinstance(streamed, Exception), streamed
    assert streamed["class"] == "car" and streamed["track_id"] == 1 and "object_class" not in streamed

    cars = client.get(f"{API}/events", params={"class": "car", "camera": "lot"}, headers=viewer)
    assert cars.status_code == 200, cars.text
    assert sorted(e["track_id"] for e in cars.json()) == [1, 4] and {e["class"] for e in cars.json()} == {"car"}
    both = client.get(f"{API}/events?class=car&class=person&camera=lot", headers=viewer).json()
    assert sorted(e["track_id"] for e in both) == [1, 2, 4]
    every = client.get(f"{API}/events", params={"camera": "lot"}, headers=viewer).json()
    assert {e["track_id"]: e["class"] for e in every} == {1: "car", 2: "person", 3: None, 4: "car"}


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ({"objects": ["spaceship"]}, "unknown object class"),
        ({"objects": ["car"], "object_detector": "hog"}, "people only"),
        ({"objects": ["car"], "object_input_size": 100}, "multiple of 32"),
        ({"lines": ["mid=0,0.5,1,0.5;classes=ufo"]}, "COCO class names"),
        ({"zones": ["lot=0,0,1,0,1,1;dwell=-3"]}, "dwell"),
    ],
)
def test_camera_object_settings_are_checked(client, admin, examples, objects, message):
    body = {"id": "bad-objects", "source": str(examples / "short_hamilton_clip.mp4"), **objects}
    response = client.post(f"{API}/cameras", json=body, headers=admin)
    assert response.status_code == 422 and message in response.text, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/cameras/bad-objects", headers=admin).status_code == 404


@pytest.mark.slow
def test_a_camera_counting_people_sends_person_events(client, admin, viewer, examples):
    """A camera with objects = ["person"] on the Hamilton clip: zone events of person tracks, by class."""
    body = {
        "id": "people-cam",
        "source": str(examples / "short_hamilton_clip.mp4"),
        "objects": ["person"],
        "zones": ["all=0,0,1,0,1,1,0,1"],
        "realtime": False,
    }
    added = client.post(f"{API}/cameras", json=body, headers=admin)
    assert added.status_code == 201, added.text
    try:
        assert added.json()["objects"] == ["person"]
        deadline, camera = time.monotonic() + 120, added.json()
        while camera["state"] != "ended" and time.monotonic() < deadline:  # the clip plays once
            time.sleep(1)
            camera = client.get(f"{API}/cameras/people-cam", headers=viewer).json()
        query = {"class": "person", "camera": "people-cam", "kind": "zone.exit"}
        found = client.get(f"{API}/events", params=query, headers=viewer).json()
        assert found and {e["class"] for e in found} == {"person"}
        assert camera["object_tracks"]["person"] >= 1 and camera["people"] == camera["object_tracks"]["person"]
        assert client.get(f"{API}/events", params={"class": "car", "camera": "people-cam"}, headers=viewer).json() == []
    finally:
        assert client.delete(f"{API}/cameras/people-cam", headers=admin).status_code == 204
