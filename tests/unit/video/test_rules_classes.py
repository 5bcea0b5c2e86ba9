"""Rules per object class: lines and zones naming classes, per-class counts, the parking-style dwell rule."""

from __future__ import annotations

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.video.rules import CameraRules, Line, Zone

# a horizontal line across a 100 x 100 frame, pointing right: its right-hand side (y down) is below it, so
# moving down the screen is "in" and up is "out"
MID = "mid=0,50,100,50"
LOT = "lot=0,0,100,0,100,40,0,40"  # the top 40 rows


@pytest.mark.parametrize(
    ("text", "classes"),
    [
        (MID, ()),
        (f"{MID};classes=car", ("car",)),
        (f"{MID}; classes = car, bus ,car", ("car", "bus")),
        ("0,0.5,1,0.5;classes=traffic light", ("traffic light",)),
    ],
)
def test_line_classes_parse(text, classes):
    line = Line.parse(text)
    assert line.classes == classes and line.a[1] in (50.0, 0.5)
    assert line.in_pixels(200, 100).classes == classes


@pytest.mark.parametrize(
    ("text", "classes", "dwell_s"),
    [(LOT, (), None), (f"{LOT};dwell=600", (), 600.0), (f"{LOT};classes=car;dwell=0.5", ("car",), 0.5)],
)
def test_zone_options_parse(text, classes, dwell_s):
    zone = Zone.parse(text)
    assert (zone.name, zone.classes, zone.dwell_s) == ("lot", classes, dwell_s)
    scaled = Zone.parse(text.replace("100", "1").replace("40", "0.4")).in_pixels(100, 100)
    assert (scaled.classes, scaled.dwell_s, scaled.polygon[2]) == (classes, dwell_s, (100.0, 40.0))


@pytest.mark.parametrize(
    "text",
    [
        f"{MID};classes=ufo",  # not a COCO class
        f"{MID};classes=",
        f"{MID};dwell=5",  # lines have no dwell
        f"{MID};colour=red",
        f"{MID};classes=car;classes=bus",  # twice
        f"{MID};car",
    ],
)
def test_line_options_rejected(text):
    with pytest.raises(InvalidArgumentError):
        Line.parse(text)


@pytest.mark.parametrize("dwell", ["0", "-5", "soon", "nan", "inf"])
def test_zone_dwell_must_be_positive_seconds(dwell):
    with pytest.raises(InvalidArgumentError, match="dwell"):
        Zone.parse(f"{LOT};dwell={dwell}")


def _walk(rules: CameraRules, ys: list[float], tracks: dict[int, str | None], t0: float = 0.0) -> list:
    """Every track in ``tracks`` moves along x = 50 through the y positions ``ys``, one step a second."""
    hits = []
    for step, y in enumerate(ys):
        ids = list(tracks)
        hits += rules.update(t0 + step, ids, [[50 + tid, y] for tid in ids], [tracks[t] for t in ids])
    return hits


def test_a_line_naming_a_class_counts_only_that_class_and_counts_per_class():
    rules = CameraRules([Line.parse(f"{MID};classes=car"), Line.parse("all=0,50,100,50")])
    hits = _walk(rules, [80, 60, 40, 20], {1: "car", 2: "person", 3: None})  # all cross upwards
    cars = [(h.rule, h.track_id, h.direction, h.object_class) for h in hits if h.rule == "mid"]
    assert cars == [("mid", 1, "out", "car")]
    assert rules.counts == {"mid": {"in": 0, "out": 1}, "all": {"in": 0, "out": 3}}
    # per class: a face track (class None) counts in the total only
    assert rules.class_counts == {
        "mid": {"car": {"in": 0, "out": 1}},
        "all": {"car": {"in": 0, "out": 1}, "person": {"in": 0, "out": 1}},
    }


def test_zone_dwell_fires_once_per_track_after_its_threshold():
    rules = CameraRules(zones=[Zone.parse(f"{LOT};classes=car;dwell=3")])
    hits = _walk(rules, [80, 30, 30, 30, 30, 30], {1: "car", 2: "person"})  # in the lot from t = 1
    assert [(h.kind, h.t_s, h.dwell_s, h.object_class) for h in hits] == [
        ("zone.enter", 1.0, None, "car"),
        ("zone.dwell", 4.0, 3.0, "car"),  # 3 s inside; the person is not in a car zone's rules at all
    ]
    # the car steps out and comes back: a new visit, but the dwell alert was given for this track already
    hits = _walk(rules, [80, 30, 30, 30, 30, 30], {1: "car"}, t0=6.0)
    assert [h.kind for h in hits] == ["zone.exit", "zone.enter"]
    (exit_hit,) = rules.end(1, 20.0)
    assert (exit_hit.kind, exit_hit.dwell_s, exit_hit.object_class) == ("zone.exit", 13.0, "car")


def test_a_zone_without_a_threshold_never_fires_dwell_and_a_short_stay_does_not_either():
    rules = CameraRules(zones=[Zone.parse(LOT), Zone.parse("short=0,0,100,0,100,40,0,40;dwell=10")])
    hits = _walk(rules, [30, 30, 30, 80], {7: "bus"})
    assert [(h.kind, h.rule) for h in hits] == [
        ("zone.enter", "lot"),
        ("zone.enter", "short"),
        ("zone.exit", "lot"),
        ("zone.exit", "short"),
    ]
    assert all(h.object_class == "bus" for h in hits)
