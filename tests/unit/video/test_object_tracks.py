"""Object tracks of one camera: per-class trackers with one id counter, faces linked to people, their names."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.gallery.records import Candidate
from faceplane.objects import COCO_CLASSES, Objects
from faceplane.video.analyzer import ObjectSettings, hog_score
from faceplane.video.object_tracks import ObjectTracks, PersonIdentities, link_faces_to_people, object_labels
from faceplane.video.tracker import Tracker

PERSON = [100.0, 100.0, 200.0, 400.0]  # 100 x 300 px, upper half ends at y = 250


@pytest.mark.parametrize(
    ("face", "people", "expected"),
    [
        ([130, 110, 170, 150], [PERSON], 0),  # a face at the top of the person
        ([130, 220, 170, 260], [PERSON], 0),  # centre y = 240: still the upper half (a close-up's face)
        ([130, 260, 170, 300], [PERSON], -1),  # centre y = 280: the lower half is not where faces are
        ([210, 110, 250, 150], [PERSON], -1),  # beside the person
        ([60, 110, 240, 200], [PERSON], -1),  # wider than the person: not their face
        ([130, 110, 170, 150], [PERSON, [120, 100, 180, 280]], 1),  # both hold it wholly: the nearer fit
        ([95, 110, 135, 150], [PERSON, [90, 100, 170, 300]], 1),  # the face sticks out of person 0: 1 holds more
        ([130, 110, 170, 150], [], -1),
    ],
)
def test_link_faces_to_people(face, people, expected):
    assert link_faces_to_people(np.array([face], np.float32), np.array(people).reshape(-1, 4)).tolist() == [expected]


def test_link_many_faces_and_none():
    people = np.array([PERSON, [300, 100, 400, 400]], np.float32)
    faces = np.array([[330, 110, 370, 150], [130, 110, 170, 150], [500, 10, 520, 30]], np.float32)
    assert link_faces_to_people(faces, people).tolist() == [1, 0, -1]
    assert link_faces_to_people(np.zeros((0, 4)), people).shape == (0,)


def test_trackers_sharing_an_id_source_never_give_one_id_twice():
    ids = itertools.count(1)
    a, b = Tracker(min_hits=1, ids=ids), Tracker(min_hits=1, ids=ids)
    assert a.update([[0, 0, 10, 10]], [0.9]).track_id.tolist() == [1]
    assert b.update([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.9]).track_id.tolist() == [2, 3]
    assert a.update([[0, 0, 10, 10], [80, 0, 90, 10]], [0.9, 0.9]).track_id.tolist() == [1, 4]


def _objects(*rows: tuple[str, list[float], float]) -> Objects:
    return Objects(
        np.array([r[1] for r in rows], np.float32).reshape(-1, 4),
        np.array([r[2] for r in rows], np.float32),
        np.array([COCO_CLASSES.index(r[0]) for r in rows], np.int64),
    )


def test_object_tracks_per_class_with_unique_ids():
    """A person and a car in the same place are two tracks; ids unique across classes; fragments not counted."""
    tracks = ObjectTracks(ObjectSettings(("person", "car")), ids=itertools.count(1))
    image = np.zeros((480, 640, 3), np.uint8)
    for step in range(5):
        x = 10.0 * step
        seen = tracks.update(image, _objects(("person", [x, 0, x + 50, 150], 0.9), ("car", [x, 0, x + 60, 150], 0.8)))
    assert sorted(zip(seen.classes, seen.track_id.tolist(), strict=True)) == [("car", 2), ("person", 1)]
    assert tracks.counted(min_frames=4) == {"person": 1, "car": 1}  # confirmed at the 2nd frame: seen in 4
    assert tracks.counted(min_frames=5) == {"person": 0, "car": 0}
    weak = tracks.update(image, _objects(("person", [40, 0, 90, 150], 0.2)))  # low score keeps the track alive
    assert weak.track_id.tolist() == [1] and weak.classes == ("person",)
    assert tracks.flush() == [1, 2] and tracks.ended == [1, 2]


def test_object_settings_are_checked():
    assert ObjectSettings(("car", "person", "car")).classes == ("person", "car")  # COCO order, once each
    for bad in [dict(classes=()), dict(classes=("spaceship",)), dict(classes=("car",), detector="hog")]:
        with pytest.raises(InvalidArgumentError):
            ObjectSettings(**bad)
    for size in (100, 32, True, 4096):
        with pytest.raises(InvalidArgumentError):
            ObjectSettings(("car",), input_size=size)
    with pytest.raises(InvalidArgumentError, match="yolo"):
        ObjectSettings(("car",), detector="yolo")


def test_hog_margins_map_into_0_1_in_order():
    assert hog_score([0.0, 0.8, 3.0, -1.0]).tolist() == pytest.approx([0.0, 0.8 / 1.8, 0.75, 0.0])


def _who(name: str, distance: float, collection: str = "staff") -> Candidate:
    pid = sum(map(ord, name))
    return Candidate(person_id=pid, display_name=name, collection=collection, distance=distance, template_id=pid)


def test_a_person_keeps_the_name_of_their_faces():
    persons = PersonIdentities()
    persons.link([10], [1], {10: None})
    assert persons.who(1) is None
    ann = _who("Ann", 0.3)
    persons.learn(10, ann)
    assert persons.who(1) == ann
    persons.face_ended(10)
    persons.link([11], [1], {11: None})  # her face track broke; the new one is not recognised yet
    assert persons.who(1) == ann
    better = _who("Ann", 0.2)
    persons.learn(11, better)
    assert persons.who(1) == better
    persons.learn(12, _who("Bob", 0.1))  # a face never linked to person 1 changes nothing
    assert persons.who(1) == better
    persons.person_ended(1)
    assert persons.who(1) is None


def test_labels_name_classes_and_people_and_hide_names_in_stored_video():
    tracks = ObjectTracks(ObjectSettings(("person", "car")), ids=itertools.count(1))
    image = np.zeros((480, 640, 3), np.uint8)
    for _ in range(3):
        seen = tracks.update(image, _objects(("person", [0, 0, 50, 150], 0.9), ("car", [300, 0, 400, 100], 0.9)))
    persons = PersonIdentities()
    persons.link([9], [1], {9: _who("Ann Lee", 0.3)})
    labels = {lb.text: lb for lb in object_labels(seen, persons, watchlists=set())}
    assert set(labels) == {"person #1 Ann Lee", "car #2"}
    assert labels["person #1 Ann Lee"].stored_text == "person #1 known" and labels["car #2"].status == "object"
    (watched,) = [lb for lb in object_labels(seen, persons, watchlists={"staff"}) if lb.status == "person"]
    assert watched.stored_text is None  # a watchlist person is named in stored video too
