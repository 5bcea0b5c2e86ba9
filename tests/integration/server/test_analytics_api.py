"""Counts per object class per hour through the API: ``/analytics/hourly`` (``by_class``, ``?class=``) and
``/analytics/classes``. Events go through the engine's real bus into the real SQLite store (plumbing: no
detector needed to make a crossing)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from faceplane.events import Event

API = "/api/v1"
HOUR = 3600.0
# two whole hours in the last day, so that the default range (the last 24 h) holds them
H1 = (time.time() // HOUR - 3) * HOUR
H2 = H1 + HOUR


def _publish(services, kind: str, wall_s: float, object_class: str | None, **fields: object) -> None:
    event = Event.new(kind, camera="lot", t_s=1.0, track_id=int(wall_s) % 100_000, **fields)
    services.video.bus.publish(dataclasses.replace(event, wall_s=wall_s, object_class=object_class))


@pytest.fixture(scope="module")
def seeded(services):
    crossings = [(H1 + 60, "car", "in"), (H1 + 120, "car", "in"), (H1 + 180, "car", "out"), (H1 + 240, "person", "in")]
    for wall_s, cls, direction in crossings:
        _publish(services, "line.crossed", wall_s, cls, rule="mid", direction=direction)
    _publish(services, "line.crossed", H1 + 300, None, rule="mid", direction="out")  # a face track, no class
    _publish(services, "line.crossed", H2 + 60, "truck", rule="mid", direction="out")
    _publish(services, "zone.enter", H1 + 400, "car", rule="bay")
    _publish(services, "zone.dwell", H2 + 100, "car", rule="bay", dwell_s=600.0)
    return services


def test_hourly_keeps_its_shape_and_adds_counts_per_class(client, seeded, viewer):
    response = client.get(f"{API}/analytics/hourly", params={"kind": "line.crossed", "camera": "lot"}, headers=viewer)
    assert response.status_code == 200, response.text
    assert response.json() == [
        {"hour_s": H1, "count": 5, "by_class": {"car": 3, "person": 1}},  # the face crossing: in count only
        {"hour_s": H2, "count": 1, "by_class": {"truck": 1}},
    ]
    cars = client.get(f"{API}/analytics/hourly?kind=line.crossed&camera=lot&class=car&class=truck", headers=viewer)
    assert cars.json() == [
        {"hour_s": H1, "count": 3, "by_class": {"car": 3}},
        {"hour_s": H2, "count": 1, "by_class": {"truck": 1}},
    ]


def test_classes_count_crossings_in_and_out_entries_and_dwell(client, seeded, viewer):
    response = client.get(f"{API}/analytics/classes", params={"camera": "lot"}, headers=viewer)
    assert response.status_code == 200, response.text
    zero = {"line_in": 0, "line_out": 0, "zone_enter": 0, "zone_exit": 0, "zone_dwell": 0}
    assert response.json() == [
        {**zero, "hour_s": H1, "class": "car", "line_in": 2, "line_out": 1, "zone_enter": 1},
        {**zero, "hour_s": H1, "class": "person", "line_in": 1},
        {**zero, "hour_s": H2, "class": "car", "zone_dwell": 1},
        {**zero, "hour_s": H2, "class": "truck", "line_out": 1},
    ]
    person = client.get(f"{API}/analytics/classes", params={"camera": "lot", "class": "person"}, headers=viewer)
    assert [row["class"] for row in person.json()] == ["person"]
    assert client.get(f"{API}/analytics/classes", params={"camera": "elsewhere"}, headers=viewer).json() == []


@pytest.mark.parametrize(
    ("path", "params", "detail"),
    [
        ("/analytics/classes", {"class": "cars"}, "unknown object class 'cars'"),
        ("/analytics/hourly", {"kind": "line.crossed", "class": "Car"}, "unknown object class 'Car'"),
        ("/analytics/hourly", {"kind": "crossing"}, "unknown event kind 'crossing'"),
        ("/analytics/classes", {"since_s": 100, "until_s": 50}, "time range"),
        ("/analytics/classes", {"since_s": 0, "until_s": 3e9}, "31 days"),
    ],
)
def test_bad_queries_are_problems_that_say_why(client, seeded, viewer, path, params, detail):
    response = client.get(f"{API}{path}", params=params, headers=viewer)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]
