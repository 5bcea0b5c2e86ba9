"""Corrections and thresholds over the REST API, on real photos: what each new route does (roles: test_api.py).

The look-alikes are LFW View 1's General Richard Myers and Bruce Van De Velde (chosen by
``bench/corrections_lfw.py --pick``; see tests/integration/test_corrections.py). Here Myers is enrolled
by upload from the photo the enrollment quality gate accepts (Richard_Myers_0004); both of Bruce Van De
Velde's photos are then named Richard Myers at the server's default threshold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.events import Event
from faceplane.gallery.thresholds import MatchThreshold

API = "/api/v1"
JPEG = b"\xff\xd8"


def _lfw(data: Path, name: str) -> Path:
    return data / "faces" / "lfw-view1" / "images" / name.rsplit("_", 1)[0] / name


def _upload(path: Path, field: str = "image") -> dict[str, Any]:
    return {field: (path.name, path.read_bytes(), "image/jpeg")}


@pytest.fixture(scope="module")
def myers(client, operator, data) -> int:
    assert client.post(f"{API}/collections", json={"name": "lookalikes"}, headers=operator).status_code == 201
    response = client.post(
        f"{API}/collections/lookalikes/people",
        files=_upload(_lfw(data, "Richard_Myers_0004.jpg"), "images"),
        data={"display_name": "Richard Myers"},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["person"]["id"])


def _identify(client, headers, photo: Path) -> dict[str, Any]:
    response = client.post(f"{API}/identify", files=_upload(photo), headers=headers)
    assert response.status_code == 200, response.text
    (face,) = response.json()["faces"]  # LFW: one face, centred
    return face


def _named(face: dict[str, Any]) -> int | None:
    return face["person"]["person_id"] if face["person"] else None


def test_not_this_person_on_an_identification(client, operator, viewer, admin, myers, data):
    same, new_sighting = _lfw(data, "Bruce_Van_De_Velde_0002.jpg"), _lfw(data, "Bruce_Van_De_Velde_0001.jpg")
    true_photos = [_lfw(data, n) for n in ("Richard_Myers_0003.jpg", "Richard_Myers_0014.jpg")]
    before = _identify(client, operator, same)
    assert _named(before) == myers and _named(_identify(client, operator, new_sighting)) == myers

    response = client.post(
        f"{API}/people/{myers}/not-this-person",
        files=_upload(same),
        data={"face_index": "0", "note": "Bruce Van De Velde"},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    # the template that made the false match, so a bad enrollment photo can be removed
    assert body["template"]["id"] == body["template_id"] == before["person"]["template_id"]
    assert body["template"]["quality"] is not None
    assert body["distance"] == pytest.approx(before["person"]["distance"], abs=1e-3)
    assert body["now_named"] is None and body["source"] == "photo" and body["note"] == "Bruce Van De Velde"
    for url in (body["template"]["thumbnail_url"], body["thumbnail_url"]):
        picture = client.get(url, headers=viewer)
        assert picture.status_code == 200 and picture.content[:2] == JPEG

    after = _identify(client, operator, same)
    assert after["person"] is None and after["candidates"][0]["excluded_by"] == body["id"]
    assert _named(_identify(client, operator, new_sighting)) is None, "a new sighting is still named Myers"
    for photo in true_photos:
        assert _named(_identify(client, operator, photo)) == myers, photo.name

    listed = client.get(f"{API}/people/{myers}/corrections", headers=viewer).json()
    assert [c["id"] for c in listed] == [body["id"]] and listed[0]["template"]["id"] == body["template_id"]
    audit = client.get(f"{API}/audit", params={"action": "correction.add"}, headers=admin).json()
    assert any(e["target"] == f"person:{myers}" and json.loads(e["detail"])["correction"] == body["id"] for e in audit)

    assert client.delete(f"{API}/corrections/{body['id']}", headers=operator).status_code == 204
    assert _named(_identify(client, operator, same)) == myers  # undone
    assert client.get(f"{API}/audit", params={"action": "correction.delete"}, headers=admin).json()


def test_photo_corrections_refuse_what_they_cannot_do(client, operator, myers, data):
    photo = _upload(_lfw(data, "Bruce_Van_De_Velde_0002.jpg"))
    no_face = client.post(f"{API}/people/{myers}/not-this-person", files=photo, data={"face_index": "3"},
                          headers=operator)  # fmt: skip
    assert no_face.status_code == 400 and "no face 3" in no_face.json()["detail"]
    assert client.post(f"{API}/people/999999/not-this-person", files=photo, headers=operator).status_code == 404
    assert client.delete(f"{API}/corrections/999999", headers=operator).status_code == 404


def _alert(services, person_id: int, snapshot: bytes | None, kind: str = "watchlist.start") -> Event:
    event = Event.new(kind, camera="gate", t_s=3.0, track_id=7, person_id=person_id, person_name="Richard Myers",
                      collection="lookalikes", distance=0.96)  # fmt: skip
    assert services.events.add(event, snapshot) is not None
    return event


def test_not_this_person_on_an_alert(client, operator, services, myers, data):
    # what a camera keeps: the alert's snapshot shows the face taken for Myers; the end of the visit keeps none
    start = _alert(services, myers, _lfw(data, "Bruce_Van_De_Velde_0002.jpg").read_bytes())
    end = _alert(services, myers, None, "watchlist.end")
    response = client.post(f"{API}/alerts/{end.id}/not-this-person", json={"note": "look-alike"}, headers=operator)
    assert response.status_code == 201, response.text
    (body,) = response.json()  # one snapshot in the visit: the start's
    assert body["source"] == f"event:{start.id}" and body["person_id"] == myers and body["now_named"] is None
    assert body["note"] == "look-alike" and body["template"]["quality"] is not None
    assert _named(_identify(client, operator, _lfw(data, "Bruce_Van_De_Velde_0001.jpg"))) is None
    assert _named(_identify(client, operator, _lfw(data, "Richard_Myers_0014.jpg"))) == myers

    again = client.post(f"{API}/alerts/{end.id}/not-this-person", headers=operator)
    assert again.status_code == 400 and "already corrected" in again.json()["detail"]
    line = Event.new("line.crossed", camera="gate", t_s=1.0, track_id=8, rule="in", direction="in")
    services.events.add(line)
    assert client.post(f"{API}/alerts/{line.id}/not-this-person", headers=operator).status_code == 400
    assert client.post(f"{API}/alerts/{'0' * 32}/not-this-person", headers=operator).status_code == 404
    assert client.delete(f"{API}/corrections/{body['id']}", headers=operator).status_code == 204


def test_collection_thresholds_over_the_api(client, operator, viewer, admin, myers, data):
    listed = {(t["scope"], t["name"]): t for t in client.get(f"{API}/thresholds", headers=viewer).json()}
    default = listed[("default", None)]
    assert default["source"] == "default" and default["meaning"].endswith("strangers would be named")
    own = listed[("collection", "lookalikes")]
    assert own["source"] == "default" and own["distance"] == default["distance"] and own["people"] == 1

    url = f"{API}/collections/lookalikes/threshold"
    strict = client.put(url, json={"fpir": 0.001}, headers=operator)
    assert strict.status_code == 200, strict.text
    info = strict.json()
    assert info["setting_fpir"] == 0.001 and info["source"] == "api" and info["people"] == 1
    assert info["meaning"] == "about 1 in 1,000 strangers would be named"
    # FPIR 0.1 % over one person: 1:1 FAR 1e-3 (1.049): Myers's own photos still match, at 0.67-0.73
    assert _named(_identify(client, operator, _lfw(data, "Richard_Myers_0014.jpg"))) == myers
    tight = client.put(url, json={"distance": 0.5}, headers=operator).json()
    assert tight["setting_distance"] == 0.5 and tight["meaning"].startswith("fewer than 1 in")
    face = _identify(client, operator, _lfw(data, "Richard_Myers_0014.jpg"))
    assert face["person"] is None and face["candidates"][0]["person_id"] == myers  # beyond its own distance
    assert client.put(url, json={"fpir": 0.01, "distance": 1.0}, headers=operator).status_code == 422
    assert client.put(url, json={"fpir": 2}, headers=operator).status_code == 422
    assert client.put(f"{API}/collections/nope/threshold", json={"fpir": 0.01}, headers=operator).status_code == 404
    reset = client.put(url, json={}, headers=operator).json()
    assert reset["source"] == "default"
    assert _named(_identify(client, operator, _lfw(data, "Richard_Myers_0014.jpg"))) == myers
    audit = client.get(f"{API}/audit", params={"action": "threshold.set"}, headers=admin).json()
    assert {e["target"] for e in audit} == {"collection:lookalikes"} and len(audit) >= 3


def test_threshold_preview_says_what_a_setting_means(client, viewer, myers):
    preview = client.get(f"{API}/thresholds/preview", params={"fpir": 0.01, "collection": "lookalikes"},
                         headers=viewer).json()  # fmt: skip
    assert preview["people"] == 1 and preview["meaning"] == "about 1 in 100 strangers would be named"
    by_distance = client.get(f"{API}/thresholds/preview", params={"distance": preview["distance"]}, headers=viewer)
    assert by_distance.json()["distance"] == preview["distance"]
    assert client.get(f"{API}/thresholds/preview", headers=viewer).status_code == 400  # neither given
    both = {"fpir": 0.01, "collection": "lookalikes", "camera": "x"}
    assert client.get(f"{API}/thresholds/preview", params=both, headers=viewer).status_code == 400
    assert client.get(f"{API}/thresholds/preview", params={"fpir": 0.01, "camera": "nope"},
                      headers=viewer).status_code == 404  # fmt: skip


def test_a_camera_threshold_is_kept_and_shown(client, operator, viewer, services):
    body = {"id": "strict-door", "source": "rtsp://127.0.0.1:9/none", "fps": 1, "match_fpir": 0.001}
    try:
        created = client.post(f"{API}/cameras", json=body, headers=operator)
        assert created.status_code == 201, created.text
        assert created.json()["match_fpir"] == 0.001
        listed = {(t["scope"], t["name"]): t for t in client.get(f"{API}/thresholds", headers=viewer).json()}
        camera = listed[("camera", "strict-door")]
        assert camera["setting_fpir"] == 0.001 and camera["meaning"] == "about 1 in 1,000 strangers would be named"
        (live,) = [c for c in services.video.cameras if c.name == "strict-door"]
        assert live.match is not None and live.match.fpir == 0.001  # the engine holds its shots to it
    finally:
        services.cameras.remove("strict-door")
    both = {**body, "match_distance": 0.9}
    assert client.post(f"{API}/cameras", json=both, headers=operator).status_code == 422


def test_the_settings_file_sets_thresholds_routes_and_the_enrollment_gate(make_services, tmp_path, data):
    settings = {
        "collections": {"vip": {"match_fpir": 0.001}},
        "enrollment_gate": {"min_face_px": 400},
    }
    with make_services(tmp_path / "data", **settings) as services:
        assert services.gallery.thresholds.get("vip") == (MatchThreshold(fpir=0.001), "settings")
        with pytest.raises(InvalidArgumentError, match="settings file"):
            services.matching.set_collection_threshold("vip", None)
        photo = _lfw(data, "Richard_Myers_0004.jpg").read_bytes()
        report = services.library.enroll("vip", [photo], name="Richard Myers", person_id=None, consent=None)
        assert report.person is None and "face too small" in report.rejected[0].reasons[0]


def test_erasure_by_photo_removes_the_face_kept_as_a_correction(make_services, tmp_path, data):
    """Bruce Van De Velde asks to be erased: his face, kept as a correction of Myers, goes (found from his other
    photo). Myers's template matches him too at the erasure's distance (FAR 1e-3), so Myers is erased with it."""
    with make_services(tmp_path / "data") as services:
        services.library.create_collection("lookalikes")
        myers = _lfw(data, "Richard_Myers_0004.jpg").read_bytes()
        report = services.library.enroll("lookalikes", [myers], name="Richard Myers", person_id=None, consent=None)
        person = report.person
        assert person is not None
        services.matching.correct_photo(person.id, _lfw(data, "Bruce_Van_De_Velde_0002.jpg").read_bytes())
        other_photo = _lfw(data, "Bruce_Van_De_Velde_0001.jpg").read_bytes()
        assert services.governance.erase_face(other_photo, dry_run=True).corrections == 1
        report = services.governance.erase_face(other_photo)
        assert report.corrections == 1 and report.people == [person.id]
        assert services.gallery.store._query("SELECT COUNT(*) FROM negatives")[0][0] == 0
