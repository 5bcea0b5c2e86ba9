"""Events of object tracks: their class in the store (with the upgrade of an older events.sqlite) and in JSON."""

from __future__ import annotations

import json
import sqlite3

from faceplane.events import EVENT_KINDS, Event, EventStore

# the events table as released before object classes (issue 14)
_OLD_SCHEMA = """
CREATE TABLE events (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, camera TEXT NOT NULL, t_s REAL NOT NULL, wall_s REAL NOT NULL,
    track_id INTEGER NOT NULL, rule TEXT NOT NULL DEFAULT '', person_id INTEGER, person_name TEXT,
    collection TEXT, distance REAL, direction TEXT, dwell_s REAL, snapshot TEXT,
    x1 REAL, y1 REAL, x2 REAL, y2 REAL
);
"""


def _crossing(object_class: str | None, track_id: int = 3) -> Event:
    return Event.new(
        "line.crossed", camera="gate", t_s=2.0, track_id=track_id, rule="mid", direction="in", object_class=object_class
    )


def test_class_is_stored_queried_and_named_class_in_json(tmp_path):
    store = EventStore(tmp_path)
    car, person, face = _crossing("car", 1), _crossing("person", 2), _crossing(None, 3)
    for event in (car, person, face):
        store.add(event)
    store.close()
    reopened = EventStore(tmp_path)
    assert reopened.query(object_classes=["car"]) == [car]
    assert {e.track_id for e in reopened.query(object_classes=["car", "person"])} == {1, 2}
    assert {e.object_class for e in reopened.query()} == {"car", "person", None}
    assert reopened.count(kinds=["line.crossed"]) == 3
    payload = json.loads(car.to_json())
    assert payload["class"] == "car" and "object_class" not in payload
    assert json.loads(face.to_json())["class"] is None


def test_an_older_events_database_gains_the_class_column_and_keeps_its_rows(tmp_path):
    db = sqlite3.connect(tmp_path / "events.sqlite")
    db.executescript(_OLD_SCHEMA)
    db.execute(
        "INSERT INTO events (id, kind, camera, t_s, wall_s, track_id, rule, direction) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        ("a" * 32, "line.crossed", "gate", 1.0, 1000.0, 5, "mid", "out"),
    )
    db.commit()
    db.close()

    store = EventStore(tmp_path)
    (old,) = store.query()
    assert (old.id, old.track_id, old.direction, old.object_class) == ("a" * 32, 5, "out", None)
    car = _crossing("car")
    assert store.add(car) == car
    assert store.query(object_classes=["car"]) == [car]
    store.close()
    EventStore(tmp_path).close()  # opening an upgraded database again adds nothing


def test_zone_dwell_is_an_event_kind():
    assert "zone.dwell" in EVENT_KINDS
    event = Event.new("zone.dwell", camera="lot", t_s=700.0, track_id=4, rule="lot", dwell_s=601.0, object_class="car")
    assert json.loads(event.to_json())["kind"] == "zone.dwell"
