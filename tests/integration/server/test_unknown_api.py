"""The unknown-face library over the API, on real models and LFW photos: sightings kept and clustered, listings
with filters and pages, thumbnails, naming a cluster (then recognised), adding to a person, dismissing, roles,
the audit trail and retention. (Every route's roles and 401s are also in test_api.py's table.)

People (LFW View 1): Paul Wolfowitz (four sightings at the door, one photo held out), Jennifer Lopez (three
sightings in the yard, one photo enrolled by upload), Ricardo Lagos (seen once at the door).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from faceplane.server.app import create_app
from faceplane.services import Services

API = "/api/v1"
JPEG = b"\xff\xd8"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, make_services) -> Iterator[Services]:
    """Services whose clustering job waits an hour between steps (the tests step it) and re-clusters at every
    step that has new unclustered faces (no 10-minute wait)."""
    clustering = {"interval_s": 3600, "full_every_minutes": 1e-6}
    with make_services(tmp_path_factory.mktemp("unknown-api"), unknown_clustering=clustering) as built:
        yield built


@pytest.fixture(scope="module")
def lfw(data: Path) -> Path:
    return data / "faces" / "lfw-view1" / "images"


def photo(lfw: Path, name: str, number: int) -> Path:
    return lfw / name / f"{name}_{number:04d}.jpg"


def sight(client, headers, path: Path, camera: str) -> dict[str, Any]:
    files = {"image": (path.name, path.read_bytes(), "image/jpeg")}
    response = client.post(f"{API}/unknown-faces", files=files, data={"camera": camera}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@dataclass(frozen=True)
class Pool:
    wolfowitz: list[int]  # unknown-face ids
    lopez: list[int]
    lagos: list[int]


def cluster_of(services: Services, face_ids: list[int]) -> int | None:
    rows, _ = services.gallery.store.unknown_faces(face_ids=face_ids)
    found = {r["cluster_id"] for r in rows}
    assert len(found) == 1 and len(rows) == len(face_ids), (face_ids, [dict(r) for r in rows])
    return found.pop()


@pytest.fixture(scope="module")
def pool(client, operator, services, lfw) -> Pool:
    kept: dict[str, list[int]] = {}
    for name, numbers, camera in (
        ("Paul_Wolfowitz", (2, 3, 4, 5), "door"),
        ("Jennifer_Lopez", (3, 4, 5), "yard"),
        ("Ricardo_Lagos", (1,), "door"),
    ):
        for n in numbers:
            (face,) = sight(client, operator, photo(lfw, name, n), camera)["faces"]  # one face in each photo
            assert face["person"] is None and face["unknown_face_id"] is not None, face
            assert len(face["face"]["box"]) == 4 and 0 < face["face"]["quality"] <= 1
            kept.setdefault(name, []).append(face["unknown_face_id"])
    step = services.unknown.step()
    assert step.full_run and step.clusters == 2, step
    return Pool(kept["Paul_Wolfowitz"], kept["Jennifer_Lopez"], kept["Ricardo_Lagos"])


def test_recurring_strangers_are_clustered_with_cameras_times_and_best_shots(client, viewer, services, pool):
    response = client.get(f"{API}/unknown-clusters", headers=viewer)
    assert response.status_code == 200, response.text
    clusters = response.json()
    assert [(c["size"], c["cameras"]) for c in clusters] == [(4, ["door"]), (3, ["yard"])]  # biggest first
    assert [c["id"] for c in clusters] == [cluster_of(services, pool.wolfowitz), cluster_of(services, pool.lopez)]
    assert cluster_of(services, pool.lagos) is None  # seen once: in no cluster
    for c in clusters:
        assert c["first_seen"] <= c["last_seen"]
        qualities = [f["quality"] for f in c["best"]]
        assert len(qualities) == min(c["size"], 4) and qualities == sorted(qualities, reverse=True), qualities
        assert all(f["cluster_id"] == c["id"] for f in c["best"])
    recent = client.get(f"{API}/unknown-clusters", params={"order": "last_seen", "best": 1}, headers=viewer).json()
    assert [c["id"] for c in recent] == [clusters[1]["id"], clusters[0]["id"]]  # the yard was seen last
    assert [len(c["best"]) for c in recent] == [1, 1]
    yard = client.get(f"{API}/unknown-clusters", params={"camera": "yard"}, headers=viewer).json()
    assert [c["id"] for c in yard] == [clusters[1]["id"]]


def test_unknown_faces_filter_by_camera_cluster_time_and_page(client, viewer, services, pool):
    def ids(**params: Any) -> list[int]:
        response = client.get(f"{API}/unknown-faces", params=params, headers=viewer)
        assert response.status_code == 200, response.text
        return [f["id"] for f in response.json()]

    everyone = pool.wolfowitz + pool.lopez + pool.lagos
    assert ids() == sorted(everyone, reverse=True)  # newest first
    assert ids(camera="yard") == sorted(pool.lopez, reverse=True)
    assert set(ids(camera=["door", "yard"])) == set(everyone)
    assert ids(cluster_id=cluster_of(services, pool.wolfowitz)) == sorted(pool.wolfowitz, reverse=True)
    assert ids(clustered=False) == pool.lagos
    assert set(ids(clustered=True)) == set(pool.wolfowitz + pool.lopez)
    pages = [ids(limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 2, 0] and [i for p in pages for i in p] == ids()
    faces = client.get(f"{API}/unknown-faces", headers=viewer).json()
    seen = sorted(f["seen_at"] for f in faces)
    assert ids(since_s=seen[-1] + 1) == [] and set(ids(until_s=seen[-1] + 1)) == set(everyone)
    assert ids(since_s=seen[0], until_s=seen[0] + 1e-3) == [f["id"] for f in faces if f["seen_at"] == seen[0]]
    (door,) = [f for f in faces if f["id"] == pool.lagos[0]]
    assert door["camera"] == "door" and door["cluster_id"] is None and door["thumbnail_url"].endswith(".jpg")


def test_thumbnails_are_the_face_chips(client, viewer, pool):
    (face,) = client.get(f"{API}/unknown-faces", params={"clustered": False}, headers=viewer).json()
    response = client.get(face["thumbnail_url"], headers=viewer)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content.startswith(JPEG) and len(response.content) > 1000
    missing = client.get(f"{API}/unknown-faces/999999/thumbnail.jpg", headers=viewer)
    assert missing.status_code == 404 and missing.json()["title"] == "NotFoundError"


def test_listings_are_audited(client, viewer, services, pool):
    client.get(f"{API}/unknown-faces", params={"camera": "yard"}, headers=viewer)
    client.get(f"{API}/unknown-clusters", headers=viewer)
    (faces,) = services.audit.query(action="unknown.list", limit=1)
    assert faces.actor == "test-viewer" and '"faces":3' in faces.detail and '"camera":["yard"]' in faces.detail
    (clusters,) = services.audit.query(action="unknown.clusters", limit=1)
    assert clusters.actor == "test-viewer" and '"clusters":2' in clusters.detail
    recorded = services.audit.query(action="unknown.record", limit=100)
    assert len(recorded) == 8 and {e.target for e in recorded} == {"door", "yard"}


def test_only_operators_record_and_act(client, viewer, lfw, pool, services):
    path = photo(lfw, "Paul_Wolfowitz", 10)
    files = {"image": (path.name, path.read_bytes(), "image/jpeg")}
    cluster = cluster_of(services, pool.wolfowitz)
    for method, url, kwargs in (
        ("POST", "/unknown-faces", {"files": files}),
        ("POST", f"/unknown-clusters/{cluster}/name", {"json": {"collection": "staff", "display_name": "X"}}),
        ("POST", "/unknown-faces/assign", {"json": {"person_id": 1, "cluster_ids": [cluster]}}),
        ("POST", "/unknown-faces/dismiss", {"json": {"cluster_ids": [cluster]}}),
    ):
        response = client.request(method, API + url, headers=viewer, **kwargs)
        assert response.status_code == 403 and "operator" in response.json()["detail"], response.text
    assert cluster_of(services, pool.wolfowitz) == cluster  # nothing happened


def test_naming_a_cluster_enrolls_it_and_the_next_sighting_is_recognised(client, operator, viewer, services, lfw, pool):
    assert client.post(f"{API}/collections", json={"name": "regulars"}, headers=operator).status_code == 201
    cluster = cluster_of(services, pool.wolfowitz)
    body = {"collection": "regulars", "display_name": "Paul Wolfowitz", "consent_basis": "consent"}
    response = client.post(f"{API}/unknown-clusters/{cluster}/name", json=body, headers=operator)
    assert response.status_code == 201, response.text
    report = response.json()
    person = report["person"]
    assert person["name"] == "Paul Wolfowitz" and person["collection"] == "regulars" and person["templates"] == 4
    assert person["consent_basis"] == "consent" and report["rejected"] == [] and report["duplicates"] == []
    # the faces left the pool; the templates keep their chips and qualities
    assert client.get(f"{API}/unknown-faces", params={"cluster_id": cluster}, headers=viewer).json() == []
    assert cluster not in [c["id"] for c in client.get(f"{API}/unknown-clusters", headers=viewer).json()]
    templates = client.get(f"{API}/people/{person['id']}/templates", headers=viewer).json()
    assert len(templates) == 4 and all(0 < t["quality"] <= 1 for t in templates)
    chip = client.get(templates[0]["thumbnail_url"], headers=viewer)
    assert chip.status_code == 200 and chip.content.startswith(JPEG)
    # the next sighting (a photo not in the cluster) is recognised, not kept
    (face,) = sight(client, operator, photo(lfw, "Paul_Wolfowitz", 10), "door")["faces"]
    assert face["person"]["name"] == "Paul Wolfowitz" and face["person"]["person_id"] == person["id"], face
    assert face["unknown_face_id"] is None
    (entry,) = services.audit.query(action="unknown.name", limit=1)
    assert entry.target == f"regulars/{person['id']}" and f'"cluster":{cluster}' in entry.detail
    # the cluster id is spent: naming it again finds nothing
    again = client.post(f"{API}/unknown-clusters/{cluster}/name", json=body, headers=operator)
    assert again.status_code == 404 and again.json()["title"] == "NotFoundError"


def test_naming_into_a_watchlist_follows_the_enrollment_policy(client, operator, services, pool):
    assert (
        client.put(f"{API}/collections/banned/watchlist", json={"watchlist": True}, headers=operator).status_code == 200
    )
    cluster = cluster_of(services, pool.lopez)
    body = {"collection": "banned", "display_name": "J. L."}
    refused = client.post(f"{API}/unknown-clusters/{cluster}/name", json=body, headers=operator)
    assert refused.status_code == 400 and "purpose" in refused.json()["detail"], refused.text
    assert cluster_of(services, pool.lopez) == cluster  # nothing enrolled, nothing deleted
    missing = client.post(
        f"{API}/unknown-clusters/{cluster}/name", json={**body, "collection": "nope"}, headers=operator
    )
    assert missing.status_code == 404
    others = client.post(
        f"{API}/unknown-clusters/{cluster}/name", json={**body, "face_ids": pool.wolfowitz[:1]}, headers=operator
    )
    assert others.status_code == 400 and "purpose" in others.json()["detail"]  # the policy is checked first
    assert (
        client.put(f"{API}/collections/banned/watchlist", json={"watchlist": False}, headers=operator).status_code
        == 200
    )
    stray = client.post(
        f"{API}/unknown-clusters/{cluster}/name", json={**body, "face_ids": [pool.lagos[0]]}, headers=operator
    )
    assert stray.status_code == 400 and "not in cluster" in stray.json()["detail"]


def test_a_cluster_joins_an_existing_person(client, operator, viewer, services, lfw, pool):
    path = photo(lfw, "Jennifer_Lopez", 9)
    enrolled = client.post(
        f"{API}/collections/regulars/people",
        files={"images": (path.name, path.read_bytes(), "image/jpeg")},
        data={"display_name": "Jennifer Lopez"},
        headers=operator,
    )
    assert enrolled.status_code == 201, enrolled.text
    person = enrolled.json()["person"]
    cluster = cluster_of(services, pool.lopez)
    body = {"person_id": person["id"], "cluster_ids": [cluster]}
    response = client.post(f"{API}/unknown-faces/assign", json=body, headers=operator)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["person"]["templates"] == 4 and len(report["template_ids"]) == 3 and report["rejected"] == []
    assert client.get(f"{API}/unknown-faces", params={"camera": "yard"}, headers=viewer).json() == []
    (entry,) = services.audit.query(action="unknown.assign", limit=1)
    assert entry.target == str(person["id"]) and entry.actor == "test-operator"


def test_a_face_of_someone_else_is_refused_and_stays_in_the_pool(client, operator, services, pool):
    (wolfowitz,) = [p for p in services.library.people("regulars", 100, 0) if p.display_name == "Paul Wolfowitz"]
    body = {"person_id": wolfowitz.id, "face_ids": pool.lagos}
    response = client.post(f"{API}/unknown-faces/assign", json=body, headers=operator)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["template_ids"] == [] and report["person"]["templates"] == 4
    (refusal,) = report["rejected"]
    assert refusal["source"] == f"unknown face {pool.lagos[0]}" and "matches none" in refusal["reasons"][0]
    rows, _ = services.gallery.store.unknown_faces(face_ids=pool.lagos)
    assert [r["id"] for r in rows] == pool.lagos


def test_bad_selections_are_refused(client, operator):
    for body, status in (
        ({"cluster_ids": [], "face_ids": []}, 400),
        ({"face_ids": [999999]}, 404),
        ({"cluster_ids": [999999]}, 404),
        ({"face_ids": [0]}, 422),
        ({"face_ids": [1], "extra": 1}, 422),
    ):
        response = client.post(f"{API}/unknown-faces/dismiss", json=body, headers=operator)
        assert response.status_code == status, (body, response.text)
    nobody = client.post(f"{API}/unknown-faces/assign", json={"person_id": 999999, "face_ids": [1]}, headers=operator)
    assert nobody.status_code == 404


def test_dismissed_faces_are_deleted(client, operator, viewer, services, pool):
    response = client.post(f"{API}/unknown-faces/dismiss", json={"face_ids": pool.lagos}, headers=operator)
    assert response.status_code == 200 and response.json() == {"face_ids": pool.lagos}, response.text
    assert client.get(f"{API}/unknown-faces", params={"camera": "door"}, headers=viewer).json() == []
    gone = client.get(f"{API}/unknown-faces/{pool.lagos[0]}/thumbnail.jpg", headers=viewer)
    assert gone.status_code == 404
    (entry,) = services.audit.query(action="unknown.dismiss", limit=1)
    assert entry.actor == "test-operator" and '"faces":1' in entry.detail


def test_a_stranger_seen_again_joins_their_cluster_and_a_dismissed_cluster_is_gone(
    client, operator, viewer, services, lfw
):
    first = [sight(client, operator, photo(lfw, "John_Bolton", n), "gate")["faces"][0] for n in (3, 4)]
    services.unknown.step()
    cluster = cluster_of(services, [f["unknown_face_id"] for f in first])
    assert cluster is not None
    (again,) = sight(client, operator, photo(lfw, "John_Bolton", 5), "lobby")["faces"]
    assert services.unknown.step().joined == 1  # joined at the next step, keeping the id
    (bolton,) = client.get(f"{API}/unknown-clusters", params={"camera": "gate"}, headers=viewer).json()
    assert bolton["id"] == cluster and bolton["size"] == 3 and bolton["cameras"] == ["gate", "lobby"]
    assert again["unknown_face_id"] in [f["id"] for f in bolton["best"]]
    response = client.post(f"{API}/unknown-faces/dismiss", json={"cluster_ids": [cluster]}, headers=operator)
    assert sorted(response.json()["face_ids"]) == sorted([f["unknown_face_id"] for f in [*first, again]])
    assert client.get(f"{API}/unknown-clusters", params={"camera": "gate"}, headers=viewer).json() == []


def test_retention_deletes_unknown_faces_and_their_clusters(make_services, tmp_path: Path, admin, lfw):
    """On a server of its own: the module's server keeps the strangers of the other tests, in any order.
    (The built-in admin key works on any server; an admin may do what operators and viewers do.)"""
    clustering = {"interval_s": 3600, "full_every_minutes": 1e-6}
    with (
        make_services(tmp_path / "data", unknown_clustering=clustering) as own,
        TestClient(create_app(own), raise_server_exceptions=False) as client,
    ):
        for n in (1, 3):
            sight(client, admin, photo(lfw, "Tang_Jiaxuan", n), "gate")
        own.unknown.step()
        assert len(client.get(f"{API}/unknown-clusters", headers=admin).json()) == 1
        own.governance.run_retention()  # now: nothing is 24 h old yet
        assert len(client.get(f"{API}/unknown-faces", headers=admin).json()) == 2
        report = own.governance.run_retention(time.time() + 24 * 3600 + 60)  # a day later
        assert report.unknown_faces == 2
        assert client.get(f"{API}/unknown-faces", headers=admin).json() == []
        assert client.get(f"{API}/unknown-clusters", headers=admin).json() == []


def test_a_camera_keeps_its_strangers_with_their_quality(client, viewer, services, examples):
    """The Hamilton clip: after Lin-Manuel's shot, the audience and three people nobody enrolled (test_watchlist)."""
    from faceplane.config import CameraConfig

    services.cameras.add(CameraConfig(id="stage", source=str(examples / "short_hamilton_clip.mp4"), fps=5))
    try:
        deadline = time.monotonic() + 120
        while (status := services.cameras.view("stage").status) is None or status.state != "ended":
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
        while len(faces := client.get(f"{API}/unknown-faces", params={"camera": "stage"}, headers=viewer).json()) < 3:
            assert time.monotonic() < deadline, faces  # the last tracks end with the source
            time.sleep(0.5)
    finally:
        services.cameras.remove("stage")
    assert all(f["camera"] == "stage" and 0 < f["quality"] <= 1 for f in faces), faces
    chip = client.get(faces[0]["thumbnail_url"], headers=viewer)
    assert chip.status_code == 200 and chip.content.startswith(JPEG)
