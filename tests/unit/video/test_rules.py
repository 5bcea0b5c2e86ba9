"""Lines, zones and the per-camera rule state."""

from __future__ import annotations

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.video.rules import CameraRules, Line, Zone, anchor_points, crossing_directions, inside_zone

# A vertical line pointing down the screen: its right-hand side (y down) is x < 50.
DOWN = Line("door", (50.0, 0.0), (50.0, 100.0))


@pytest.mark.parametrize(
    ("prev", "cur", "expected"),
    [
        ((60, 50), (40, 50), 1),  # left of a->b (x > 50) to right: "in"
        ((40, 50), (60, 50), -1),  # back again: "out"
        ((40, 50), (45, 50), 0),  # stays on one side
        ((40, 150), (60, 150), 0),  # crosses the infinite line below the segment's end
        ((50, 50), (60, 50), 0),  # starts exactly on the line: not a crossing
    ],
)
def test_crossing_direction(prev, cur, expected):
    assert crossing_directions(DOWN, np.array([prev], float), np.array([cur], float)).tolist() == [expected]


@pytest.mark.parametrize(
    ("text", "name", "a", "b"),
    [("10,20,30,40", "line", (10, 20), (30, 40)), ("gate=0.5,0,0.5,1", "gate", (0.5, 0), (0.5, 1))],
)
def test_line_parse(text, name, a, b):
    line = Line.parse(text)
    assert (line.name, line.a, line.b) == (name, a, b)


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "1,1,1,1", "1,2,3,nan", ""])
def test_line_parse_rejects(text):
    with pytest.raises(InvalidArgumentError):
        Line.parse(text)


@pytest.mark.parametrize("text", ["0,0,1,1", "0,0,1,1,2", "x=0,0,1,1,2,2,3"])
def test_zone_parse_rejects(text):
    with pytest.raises(InvalidArgumentError):
        Zone.parse(text)


def test_fractions_scale_to_pixels():
    assert Line.parse("0.5,0,0.5,1").in_pixels(640, 360).a == (320.0, 0.0)
    assert Line.parse("10,0,10,300").in_pixels(640, 360).b == (10.0, 300.0)  # pixels stay pixels
    assert Zone.parse("0,0,1,0,1,1").in_pixels(100, 50).polygon[2] == (100.0, 50.0)


def test_inside_zone_concave():
    # an L-shaped zone: the notch (15, 15) is outside
    zone = Zone.parse("0,0,20,0,20,10,10,10,10,20,0,20")
    assert inside_zone(zone, [[5, 5], [15, 15], [5, 15], [25, 5]]).tolist() == [True, False, True, False]


def test_anchor_points():
    assert anchor_points([[0, 0, 10, 20]], "centre").tolist() == [[5, 10]]
    assert anchor_points([[0, 0, 10, 20]], "bottom").tolist() == [[5, 20]]
    with pytest.raises(InvalidArgumentError):
        anchor_points([[0, 0, 1, 1]], "top")


def test_camera_rules_count_and_dwell():
    rules = CameraRules([DOWN], [Zone("shelf", ((0, 0), (40, 0), (40, 100), (0, 100)))])
    hits = []
    for t, x in enumerate([70, 60, 45, 30, 20]):  # track 1 walks right to left, into the shelf zone
        hits += rules.update(float(t), [1], [[x, 50]])
    kinds = [(h.kind, h.direction) for h in hits]
    assert kinds == [("line.crossed", "in"), ("zone.enter", None)]
    assert rules.counts == {"door": {"in": 1, "out": 0}}
    (exit_hit,) = rules.end(1, 9.0)
    assert exit_hit.kind == "zone.exit" and exit_hit.dwell_s == pytest.approx(6.0)
    assert rules.end(1, 10.0) == []  # ending twice is harmless


def test_camera_rules_first_sighting_is_not_a_crossing():
    rules = CameraRules([DOWN])
    assert rules.update(0.0, [5], [[40, 50]]) == []  # no previous point: cannot have crossed
    assert [h.direction for h in rules.update(1.0, [5], [[60, 50]])] == ["out"]
