"""Editing people over the API on real models and LFW photos: PATCH /people/{id}, PATCH /templates/{id} (move),
POST /people/{id}/merge, with their audit rows and refusals that lose no data.

Roles (401 without a key, 403 for a viewer, success for an operator) are in test_api.py's table of every route.
The merge test runs a real camera: a clip made of one LFW photo of a person enrolled twice by mistake, on a
watchlist; its alerts name the duplicate, and after the merge identify and the events name the kept person.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from test_api import API, assert_problem, upload

from faceplane.server.app import create_app
from faceplane.services import Services

DAY_S = 86400.0
ALERT_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, make_services, data: Path, clips: Path) -> Iterator[Services]:
    """The shared server fixtures' services, with a folder of clips made here among the media roots."""
    sources = {"media_roots": [str(data), str(clips)], "deny_hosts": []}
    with make_services(tmp_path_factory.mktemp("server-data"), camera_sources=sources) as built:
        yield built


def _lfw_people(data: Path) -> list[Path]:
    """The LFW View 1 people with at least four photos, by name."""
    root = data / "faces" / "lfw-view1" / "images"
    return [p for p in sorted(root.iterdir()) if len(list(p.iterdir())) >= 4]


@pytest.fixture(scope="module")
def photos(data: Path) -> list[Path]:
    """Four photos of the first of them."""
    return sorted(_lfw_people(data)[0].iterdir())[:4]


@pytest.fixture(scope="module")
def stranger(data: Path) -> Path:
    """A photo of the second."""
    return sorted(_lfw_people(data)[1].iterdir())[0]


def _in_days(days: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + days * DAY_S))


def _collection(client, operator, name: str, *, watchlist: bool = False) -> str:
    assert client.post(f"{API}/collections", json={"name": name}, headers=operator).status_code == 201
    if watchlist:
        response = client.put(f"{API}/collections/{name}/watchlist", json={"watchlist": True}, headers=operator)
        assert response.status_code == 200, response.text
    return name


def _enroll(client, operator, collection: str, photo: Path, name: str, **form: str) -> dict[str, Any]:
    response = client.post(
        f"{API}/collections/{collection}/people",
        files=upload(photo, "images"),
        data={"display_name": name, **form},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["person"] is not None and len(body["template_ids"]) == 1, body
    return body["person"]


def _audit(services: Services, action: str) -> list[Any]:
    return services.audit.query(action=action, limit=1000)


# -- PATCH /people/{id} ------------------------------------------------------------------------------------------


def test_a_person_s_details_are_edited_and_audited(client, services, operator, viewer, photos):
    coll = _collection(client, operator, "edit-details")
    ada = _enroll(client, operator, coll, photos[0], "Ada", consent_basis="contract", consent_source="HR form")
    body = {
        "name": "Ada Lovelace",
        "external_id": "E-1815",
        "metadata": {"dept": "R&D", "badge": 42},
        "consent_date": "2026-03-01",
        "purpose": "door access",
        "expires_at": "2099-12-31T00:00:00",  # no zone: UTC
    }
    response = client.patch(f"{API}/people/{ada['id']}", json=body, headers=operator)
    assert response.status_code == 200, response.text
    got = client.get(f"{API}/people/{ada['id']}", headers=viewer).json()
    assert got == response.json()
    assert got["name"] == "Ada Lovelace" and got["external_id"] == "E-1815" and got["templates"] == 1
    assert got["metadata"] == {"dept": "R&D", "badge": 42} and got["consent_date"] == "2026-03-01"
    assert got["consent_basis"] == "contract" and got["consent_source"] == "HR form"  # not given: kept
    assert got["purpose"] == "door access" and got["expires_at"] == 4102358400.0
    # null clears an optional field; a Unix time is taken as well
    response = client.patch(
        f"{API}/people/{ada['id']}", json={"consent_source": None, "expires_at": 4102444800}, headers=operator
    )
    assert response.json()["consent_source"] is None and response.json()["expires_at"] == 4102444800.0
    listed = client.get(f"{API}/collections/{coll}/people", headers=viewer).json()
    assert [p["name"] for p in listed] == ["Ada Lovelace"]

    entries = [e for e in _audit(services, "person.update") if e.target == str(ada["id"])]
    assert [json.loads(e.detail)["fields"] for e in entries] == [
        ["consent_source", "expires_at"],
        ["display_name", "external_id", "metadata", "consent_date", "purpose", "expires_at"],
    ]
    assert all(e.role == "operator" and "Lovelace" not in e.detail for e in entries)  # field names, no values


@pytest.mark.parametrize(
    ("body", "status", "title"),
    [
        ({}, 400, "InvalidArgumentError"),
        ({"name": None}, 422, "ValidationError"),
        ({"name": ""}, 422, "ValidationError"),
        ({"name": "   "}, 400, "InvalidArgumentError"),
        ({"name": "x" * 201}, 422, "ValidationError"),
        ({"nickname": "Bo"}, 422, "ValidationError"),
        ({"metadata": None}, 422, "ValidationError"),
        ({"metadata": [1, 2]}, 422, "ValidationError"),
        ({"metadata": {"blob": "x" * 20_000}}, 400, "InvalidArgumentError"),
        ({"external_id": "W-2"}, 400, "InvalidArgumentError"),  # the other watchlist entry's
        ({"purpose": None}, 400, "InvalidArgumentError"),  # a watchlist entry needs one
        ({"purpose": "  "}, 400, "InvalidArgumentError"),
        ({"expires_at": None}, 400, "InvalidArgumentError"),
        ({"expires_at": "2000-01-01T00:00:00Z"}, 400, "InvalidArgumentError"),
        ({"expires_at": _in_days(400)}, 400, "InvalidArgumentError"),
        ({"expires_at": "soon"}, 422, "ValidationError"),
    ],
    ids=str,
)
def test_a_refused_edit_is_a_clear_4xx_and_changes_nothing(
    client, services, operator, viewer, photos, watched, body, status, title
):
    before = client.get(f"{API}/people/{watched['id']}", headers=viewer).json()
    generation = services.gallery.store.generation
    problem = assert_problem(client.patch(f"{API}/people/{watched['id']}", json=body, headers=operator), status, title)
    assert problem["detail"]
    assert client.get(f"{API}/people/{watched['id']}", headers=viewer).json() == before
    assert services.gallery.store.generation == generation


@pytest.fixture(scope="module")
def watched(client, operator, photos) -> dict[str, Any]:
    """Two entries of a watchlist (purpose and expiry required); the first is the one edited."""
    coll = _collection(client, operator, "edit-watch", watchlist=True)
    form = {"purpose": "test case 7", "expires_at": _in_days(30)}
    first = _enroll(client, operator, coll, photos[0], "Watched One", **form)
    second = _enroll(client, operator, coll, photos[1], "Watched Two", **form)
    other = client.patch(f"{API}/people/{second['id']}", json={"external_id": "W-2"}, headers=operator)
    assert other.status_code == 200, other.text
    return first


def test_unknown_people_and_templates_are_404(client, operator, watched):
    missing = 2**62
    assert_problem(client.patch(f"{API}/people/{missing}", json={"name": "X"}, headers=operator), 404)
    assert_problem(client.patch(f"{API}/templates/{missing}", json={"person_id": watched["id"]}, headers=operator), 404)
    assert_problem(client.post(f"{API}/people/{missing}/merge", json={"merge_person_id": 1}, headers=operator), 404)
    assert_problem(client.patch(f"{API}/people/0", json={"name": "X"}, headers=operator), 422)


# -- PATCH /templates/{id} ---------------------------------------------------------------------------------------


def test_a_template_moves_to_another_person_and_identify_follows(client, services, operator, viewer, photos, stranger):
    coll = _collection(client, operator, "edit-move")
    ada = _enroll(client, operator, coll, photos[0], "Ada")
    bob = _enroll(client, operator, coll, stranger, "Bob")
    mixup = client.post(
        f"{API}/collections/{coll}/people",
        files=upload(photos[1], "images"),
        data={"person_id": str(bob["id"])},
        headers=operator,
    ).json()  # Ada's photo added to Bob by mistake
    (tid,) = mixup["template_ids"]

    def who(photo: Path) -> int | None:
        found = client.post(f"{API}/identify", files=upload(photo), params={"collection": coll}, headers=operator)
        person = found.json()["faces"][0]["person"]
        return person["person_id"] if person else None

    assert who(photos[1]) == bob["id"]
    response = client.patch(f"{API}/templates/{tid}", json={"person_id": ada["id"]}, headers=operator)
    assert response.status_code == 200, response.text
    moved = response.json()
    assert (moved["id"], moved["person_id"], moved["from_person_id"]) == (tid, ada["id"], bob["id"])
    assert moved["person"]["templates"] == 2 and moved["threshold"] > 0 and moved["looks_alike"] in (True, False)
    assert who(photos[1]) == ada["id"]
    assert [t["id"] for t in client.get(f"{API}/people/{bob['id']}/templates", headers=viewer).json()] != [tid]
    assert tid in [t["id"] for t in client.get(f"{API}/people/{ada['id']}/templates", headers=viewer).json()]

    back = client.patch(f"{API}/templates/{tid}", json={"person_id": bob["id"]}, headers=operator).json()
    assert back["looks_alike"] is False  # Bob is someone else: the answer says the move looks wrong
    (entry, first) = [e for e in _audit(services, "template.move") if e.target == str(tid)]
    assert json.loads(first.detail)["from_person"] == bob["id"] and json.loads(entry.detail)["to_person"] == bob["id"]

    assert_problem(client.patch(f"{API}/templates/{tid}", json={"person_id": bob["id"]}, headers=operator), 400)
    assert_problem(client.patch(f"{API}/templates/{tid}", json={"person_id": 0}, headers=operator), 422)
    assert_problem(client.patch(f"{API}/templates/{tid}", json={}, headers=operator), 422)
    assert_problem(client.patch(f"{API}/templates/{tid}", json={"person_id": 2**62}, headers=operator), 404)
    assert client.get(f"{API}/people/{bob['id']}", headers=viewer).json()["templates"] == 2  # nothing lost


# -- POST /people/{id}/merge -------------------------------------------------------------------------------------


def _clip_of(photo: Path, out: Path, seconds: float = 2.0, fps: int = 10) -> Path:
    """An MP4 that shows one photo for ``seconds``: a camera looking at that face."""
    image = Image.open(photo).convert("RGB")
    image = image.resize((image.width // 2 * 2, image.height // 2 * 2))
    with av.open(str(out), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = image.size
        stream.pix_fmt = "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.asarray(image), format="rgb24")
        for _ in range(int(seconds * fps)):
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out


def _wait_for(fetch, timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := fetch():
            return found
        time.sleep(0.5)
    return []


@pytest.mark.slow
def test_a_merge_keeps_one_person_whom_identify_and_the_events_name(
    client, services, operator, viewer, admin, photos, clips
):
    """One LFW person enrolled twice on a watchlist (photos 1 and 3); a camera sees photo 3 and raises alerts
    naming the duplicate; the duplicate is merged into the first: identify names the kept person for photo 3
    and for photo 4 (never enrolled), the alerts are listed under the kept person, the audit log has the merge."""
    coll = _collection(client, operator, "merge-watch", watchlist=True)
    form = {"purpose": "merge test", "expires_at": _in_days(30)}
    kept = _enroll(client, operator, coll, photos[0], "Person A", **form)
    dup = _enroll(client, operator, coll, photos[2], "Person A (again)", **form)
    clip = _clip_of(photos[2], clips / "dup.mp4")
    camera = {"id": "merge-door", "source": str(clip), "loop": True}
    assert client.post(f"{API}/cameras", json=camera, headers=admin).status_code == 201
    try:
        alerts = _wait_for(
            lambda: client.get(f"{API}/events", params={"person_id": dup["id"]}, headers=viewer).json(),
            ALERT_TIMEOUT_S,
        )
    finally:
        assert client.delete(f"{API}/cameras/merge-door", headers=admin).status_code == 204
    assert alerts, f"no event named the duplicate within {ALERT_TIMEOUT_S} s"
    seen = {e["id"] for e in client.get(f"{API}/events", params={"person_id": dup["id"]}, headers=viewer).json()}
    assert {e["kind"] for e in alerts} >= {"watchlist.start"} and {e["camera"] for e in alerts} == {"merge-door"}

    response = client.post(f"{API}/people/{kept['id']}/merge", json={"merge_person_id": dup["id"]}, headers=operator)
    assert response.status_code == 200, response.text
    merge = response.json()
    assert merge["person"]["id"] == kept["id"] and merge["person"]["name"] == "Person A"
    assert merge["merged_person_id"] == dup["id"] and merge["templates"] == 1 and merge["events"] == len(seen)
    assert merge["person"]["templates"] == 2

    for photo in (photos[2], photos[3]):
        found = client.post(f"{API}/identify", files=upload(photo), params={"collection": coll}, headers=operator)
        person = found.json()["faces"][0]["person"]
        assert person is not None and person["person_id"] == kept["id"], (photo.name, found.json())
    history = client.get(f"{API}/events", params={"person_id": kept["id"]}, headers=viewer).json()
    assert {e["id"] for e in history} == seen  # the kept person had no events of their own
    assert {(e["person_name"], e["collection"]) for e in history} == {("Person A", coll)}
    assert client.get(f"{API}/events", params={"person_id": dup["id"]}, headers=viewer).json() == []
    assert_problem(client.get(f"{API}/people/{dup['id']}", headers=viewer), 404)
    listed = client.get(f"{API}/collections/{coll}/people", headers=viewer).json()
    assert [p["id"] for p in listed] == [kept["id"]]

    (entry,) = [e for e in _audit(services, "person.merge") if e.target == str(kept["id"])]
    assert json.loads(entry.detail) == {"merged": dup["id"], "templates": 1, "events": len(seen)}
    enrolled = [e.target for e in _audit(services, "person.enroll")]
    assert f"{coll}/{dup['id']}" in enrolled  # the old rows still name the merged id: the log is not rewritten


def test_merge_refusals_change_nothing(client, services, operator, viewer, photos):
    coll = _collection(client, operator, "merge-refused")
    other = _collection(client, operator, "merge-refused-2")
    a = _enroll(client, operator, coll, photos[0], "A")
    b = _enroll(client, operator, other, photos[1], "B")
    generation = services.gallery.store.generation
    for target, body, status in (
        (a["id"], {"merge_person_id": a["id"]}, 400),  # themselves
        (a["id"], {"merge_person_id": b["id"]}, 400),  # another collection
        (a["id"], {"merge_person_id": 2**62}, 404),
        (a["id"], {}, 422),
        (a["id"], {"merge_person_id": "b"}, 422),
    ):
        problem = assert_problem(client.post(f"{API}/people/{target}/merge", json=body, headers=operator), status)
        assert problem["detail"]
    assert services.gallery.store.generation == generation
    assert client.get(f"{API}/people/{b['id']}", headers=viewer).json()["templates"] == 1
    assert client.get(f"{API}/people/{a['id']}", headers=viewer).json()["templates"] == 1


def test_with_consent_required_an_edit_needs_a_legal_basis(make_services, tmp_path: Path, photos, admin):
    """A person enrolled before the server required consent can be renamed only with a legal basis given."""
    with make_services(tmp_path / "data", require_consent=True) as built:
        built.library.create_collection("staff")
        report = built.gallery.enroll("staff", [photos[0]], name="Ada")  # the library: no server policy
        assert report.person is not None
        url = f"{API}/people/{report.person.id}"
        with TestClient(create_app(built), raise_server_exceptions=False) as client:
            problem = assert_problem(client.patch(url, json={"name": "Ada L."}, headers=admin), 400)
            assert "legal basis" in problem["detail"]
            assert client.get(url, headers=admin).json()["name"] == "Ada"
            response = client.patch(url, json={"name": "Ada L.", "consent_basis": "contract"}, headers=admin)
            assert response.status_code == 200 and response.json()["consent_basis"] == "contract"
            problem = assert_problem(client.patch(url, json={"consent_basis": None}, headers=admin), 400)
            assert client.get(url, headers=admin).json()["consent_basis"] == "contract"
