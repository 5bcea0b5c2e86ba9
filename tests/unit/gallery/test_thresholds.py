"""Thresholds per collection and camera: target FPIR <-> distance with the stored calibration, and the settings table.

The conversions are checked against the calibration shipped in ``models/calibration.json`` (the curve
bench/calibrate_open_set.py measured on LFW DevTrain people); the store is a real SQLite file.
"""

from __future__ import annotations

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError, NotFoundError
from faceplane.gallery.store import SqliteStore
from faceplane.gallery.thresholds import (
    CollectionThresholds,
    MatchThreshold,
    describe_fpir,
    effective_distance,
    expected_fpir,
    explain,
)
from faceplane.verify import load_calibration

CAL = load_calibration("mobilefacenet")


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"fpir": 0.01, "distance": 1.0}, {"fpir": 0.0}, {"fpir": 1.0}, {"distance": 0.0}, {"distance": 2.5}],
)
def test_a_setting_is_one_valid_value(kwargs):
    with pytest.raises(InvalidArgumentError):
        MatchThreshold(**kwargs)


@pytest.mark.parametrize("fpir", [0.1, 0.01, 0.001])
@pytest.mark.parametrize("people", [1, 10, 100, 1000])
def test_fpir_target_is_the_calibrated_threshold_at_far_fpir_over_people(fpir, people):
    distance = MatchThreshold(fpir=fpir).distance_for(CAL, people)
    assert distance == pytest.approx(CAL.threshold_at_far(fpir / people))
    # and back: the distance means the target again (inside the calibrated curve, 1e-6..1e-1)
    assert expected_fpir(CAL, distance, people) == pytest.approx(fpir, rel=1e-6)


def test_more_people_need_a_stricter_distance_for_the_same_target():
    distances = [MatchThreshold(fpir=0.01).distance_for(CAL, n) for n in (1, 10, 100, 1000, 10_000)]
    assert distances == sorted(distances, reverse=True) and len(set(distances)) == 5


def test_an_explicit_distance_is_kept_as_is():
    assert MatchThreshold(distance=0.9).distance_for(CAL, 5000) == 0.9


def test_the_calibrated_points_are_exact():
    # FAR 1e-4 per comparison over 100 people: FPIR 1 %
    assert expected_fpir(CAL, CAL.far_curve[1e-4], 100) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("fpir", "text"),
    [
        (0.01, "about 1 in 100 strangers would be named"),
        (0.1, "about 1 in 10 strangers would be named"),
        (0.001, "about 1 in 1,000 strangers would be named"),
        (0.0123, "about 1 in 81 strangers would be named"),
        (0.00037, "about 1 in 2,700 strangers would be named"),
        (0.7, "most strangers would be named"),
    ],
)
def test_meaning_in_words(fpir, text):
    assert describe_fpir(fpir) == text


def test_beyond_the_calibrated_curve_the_words_say_so():
    strict = explain(CAL, 10, MatchThreshold(distance=0.5))  # far below the FAR 1e-6 distance
    loose = explain(CAL, 10, MatchThreshold(distance=1.5))  # above the FAR 0.1 distance
    assert strict.beyond == "below" and strict.meaning.startswith("fewer than 1 in")
    assert loose.beyond == "above" and loose.meaning == "most strangers would be named"
    inside = explain(CAL, 100, MatchThreshold(fpir=0.01))
    assert inside.beyond == "" and inside.meaning == "about 1 in 100 strangers would be named"


def test_a_target_beyond_the_curve_tells_the_rate_it_can_reach():
    # FPIR 0.1 % over 10,000 people asks FAR 1e-7 per comparison: the curve stops at 1e-6, whose distance is used
    info = explain(CAL, 10_000, MatchThreshold(fpir=0.001))
    assert info.distance == pytest.approx(CAL.far_curve[1e-6])
    assert info.fpir == pytest.approx(1e-6 * 10_000)
    assert info.meaning == "about 1 in 100 strangers would be named"


@pytest.mark.parametrize(
    ("collection", "camera", "expected"),
    [(None, None, 0.9), (1.0, None, 1.0), (None, 0.8, 0.8), (1.0, 0.95, 0.95), (0.85, 0.95, 0.85)],
)
def test_the_stricter_of_collection_and_camera_holds(collection, camera, expected):
    assert effective_distance(0.9, collection, camera) == expected


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "faceplane.db")
    s.create_collection("vip")
    s.create_collection("staff")
    yield s
    s.close()


def test_collection_settings_round_trip_and_clear(store):
    thresholds = CollectionThresholds(store)
    assert thresholds.get("vip") is None
    thresholds.set("vip", MatchThreshold(fpir=0.001))
    thresholds.set("staff", MatchThreshold(distance=0.95))
    assert thresholds.get("vip") == (MatchThreshold(fpir=0.001), "api")
    assert thresholds.all() == {
        "vip": (MatchThreshold(fpir=0.001), "api"),
        "staff": (MatchThreshold(distance=0.95), "api"),
    }
    thresholds.set("vip", None)
    assert thresholds.get("vip") is None
    with pytest.raises(NotFoundError):
        thresholds.set("nope", MatchThreshold(fpir=0.01))


def test_another_connection_sees_a_change(store, tmp_path):
    other = SqliteStore(tmp_path / "faceplane.db")
    try:
        theirs = CollectionThresholds(other)
        assert theirs.all() == {}
        CollectionThresholds(store).set("vip", MatchThreshold(fpir=0.01))
        assert theirs.get("vip") == (MatchThreshold(fpir=0.01), "api")  # cached per generation, renewed
    finally:
        other.close()


def test_the_settings_file_pins_its_collections(store):
    thresholds = CollectionThresholds(store)
    thresholds.set("staff", MatchThreshold(fpir=0.05))
    thresholds.apply_settings({"vip": MatchThreshold(fpir=0.001), "new": MatchThreshold(distance=0.9)})
    assert store.collection_id("new")  # a collection the file names is made
    with pytest.raises(InvalidArgumentError, match="settings file"):
        thresholds.set("vip", MatchThreshold(fpir=0.1))
    assert thresholds.get("vip") == (MatchThreshold(fpir=0.001), "settings")
    assert thresholds.get("staff") == (MatchThreshold(fpir=0.05), "api")  # API settings of other collections stay
    generation = store.generation
    thresholds.apply_settings({"vip": MatchThreshold(fpir=0.001), "new": MatchThreshold(distance=0.9)})
    assert store.generation == generation  # unchanged settings write nothing (a saved index stays current)
    thresholds.apply_settings({})  # removed from the file: the default applies again
    assert thresholds.get("vip") is None and thresholds.get("staff") is not None


def test_a_collection_setting_goes_with_the_collection(store):
    CollectionThresholds(store).set("vip", MatchThreshold(fpir=0.01))
    store.delete_collection("vip")
    assert np.asarray(store._query("SELECT COUNT(*) FROM collection_thresholds")).item() == 0
