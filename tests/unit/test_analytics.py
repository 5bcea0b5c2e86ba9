"""Counts per hour and per object class, read from a real SQLite event store."""

from __future__ import annotations

import dataclasses

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.events import Event, EventStore
from faceplane.events.analytics import ClassHour, HourCount, check_classes, hourly, per_class

HOUR = 3600.0
T0 = 1_700_000_000 // 3600 * 3600.0  # the start of an hour


def _add(store: EventStore, kind: str, wall_s: float, object_class: str | None = None, **fields: object) -> None:
    event = Event.new(kind, camera=str(fields.pop("camera", "gate")), t_s=1.0, track_id=1, **fields)
    store.add(dataclasses.replace(event, wall_s=wall_s, object_class=object_class))


@pytest.fixture
def store(tmp_path):
    store = EventStore(tmp_path)
    for minute, cls, direction in [(1, "car", "in"), (2, "car", "in"), (3, "car", "out"), (4, "person", "out")]:
        _add(store, "line.crossed", T0 + minute * 60, cls, rule="mid", direction=direction)
    _add(store, "line.crossed", T0 + 300, None, rule="mid", direction="in")  # a face track: no class
    _add(store, "line.crossed", T0 + HOUR + 10, "truck", rule="mid", direction="out")
    _add(store, "zone.enter", T0 + 60, "car", rule="lot")
    _add(store, "zone.dwell", T0 + 700, "car", rule="lot", dwell_s=600.0)
    _add(store, "zone.exit", T0 + HOUR + 5, "car", rule="lot", dwell_s=900.0)
    _add(store, "line.crossed", T0 + 30, "bus", rule="mid", direction="in", camera="other")
    _add(store, "visitor.new", T0 + 30)
    yield store
    store.close()


def test_hourly_splits_each_hour_per_class(store):
    got = hourly(store, "line.crossed", T0, T0 + 2 * HOUR)
    assert got == [
        HourCount(T0, 6, {"bus": 1, "car": 3, "person": 1}),  # 6 = 5 objects + 1 face crossing
        HourCount(T0 + HOUR, 1, {"truck": 1}),
    ]
    assert hourly(store, "line.crossed", T0, T0 + 2 * HOUR, camera="gate")[0] == HourCount(
        T0, 5, {"car": 3, "person": 1}
    )
    assert hourly(store, "line.crossed", T0, T0 + 2 * HOUR, object_classes=["car", "truck"]) == [
        HourCount(T0, 3, {"car": 3}),
        HourCount(T0 + HOUR, 1, {"truck": 1}),
    ]
    assert hourly(store, "visitor.new", T0, T0 + HOUR) == [HourCount(T0, 1, {})]  # face events: total only


def test_per_class_counts_crossings_by_direction_entries_and_dwell(store):
    assert per_class(store, T0, T0 + 2 * HOUR, camera="gate") == [
        ClassHour(T0, "car", line_in=2, line_out=1, zone_enter=1, zone_dwell=1),
        ClassHour(T0, "person", line_out=1),
        ClassHour(T0 + HOUR, "car", zone_exit=1),
        ClassHour(T0 + HOUR, "truck", line_out=1),
    ]
    assert per_class(store, T0, T0 + 2 * HOUR, object_classes=["bus"]) == [ClassHour(T0, "bus", line_in=1)]
    assert per_class(store, T0 + 2 * HOUR, T0 + 3 * HOUR) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: hourly(s, "line.crossed", T0, T0), "time range"),
        (lambda s: hourly(s, "line.crossed", T0, T0 + 32 * 86400), "31 days"),
        (lambda s: hourly(s, "crossing", T0, T0 + HOUR), "unknown event kind 'crossing'"),
        (lambda s: hourly(s, "line.crossed", T0, T0 + HOUR, object_classes=["cars"]), "unknown object class 'cars'"),
        (lambda s: per_class(s, T0 + HOUR, T0), "time range"),
        (lambda s: per_class(s, T0, T0 + HOUR, object_classes=["Person"]), "unknown object class 'Person'"),
    ],
)
def test_bad_arguments_are_refused(store, call, message):
    with pytest.raises(InvalidArgumentError, match=message):
        call(store)


def test_classes_are_coco_names():
    assert check_classes(["person", "car", "truck", "toothbrush"]) == ("person", "car", "truck", "toothbrush")
    with pytest.raises(InvalidArgumentError, match="'face'"):
        check_classes(["car", "face"])
