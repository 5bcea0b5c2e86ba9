"""Privacy promises on real data: erasure everywhere, erasure by photo, retention, consent and purpose.

Lin-Manuel Miranda is enrolled on a watchlist and the Hamilton clip runs on a camera, so that alerts,
snapshots, visitor events and unknown faces (the strangers in the clip) really exist before they are
erased or expire. "Nowhere on disk" is checked by running the face detector and embedder over every
JPEG under the data folder and every thumbnail in the gallery.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from faceplane.config import DEV_ADMIN_KEY, RetentionConfig, RetentionLimit

pytestmark = pytest.mark.slow

API = "/api/v1"
SAME = 0.5  # embedding distance under which two faces are the same person (stricter than the 0.6 default)


def _in_days(days: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + days * 86400))


def _upload(path: Path, field: str = "images") -> dict:
    kind = "image/png" if path.suffix == ".png" else "image/jpeg"
    return {field: (path.name, path.read_bytes(), kind)}


def _faces_like(services, probe: np.ndarray) -> list[str]:
    """Every stored picture (files under the data dir, thumbnails in the gallery) with a face within SAME."""
    engine = services.engine
    hits = []
    root = Path(services.settings.data_dir)
    pictures = [(str(p), p.read_bytes()) for p in root.rglob("*.jpg")]
    db = sqlite3.connect(services.gallery.store.path)  # no template_key here: thumbnails are plain JPEG
    for table in ("templates", "unknown_faces"):
        pictures += [(f"{table}#{i}", t) for i, t in db.execute(f"SELECT id, thumbnail FROM {table}") if t]
    db.close()
    for name, jpeg in pictures:
        faces = engine.analyze(jpeg)
        if len(faces) and np.linalg.norm(faces.embedding - probe, axis=1).min() < SAME:
            hits.append(name)
    return hits


def _play_clip(client, operator, camera: str, clip: Path) -> None:
    """The clip on a camera, every frame analysed, to its end; the camera removed (a local file: added by an admin,
    the rest by ``operator``)."""
    body = {"id": camera, "source": str(clip), "realtime": False}
    assert client.post(f"{API}/cameras", json=body, headers={"X-API-Key": DEV_ADMIN_KEY}).status_code == 201
    deadline = time.monotonic() + 120
    while client.get(f"{API}/cameras/{camera}", headers=operator).json()["state"] != "ended":
        assert time.monotonic() < deadline, "the clip did not end within 120 s"
        time.sleep(0.5)
    client.delete(f"{API}/cameras/{camera}", headers=operator)


@pytest.fixture(scope="module")
def lin_on_camera(client, services, operator, examples):
    """Lin-Manuel on the 'vip' watchlist; the Hamilton clip analysed to its end on camera 'stage'."""
    assert client.post(f"{API}/collections", json={"name": "vip"}, headers=operator).status_code == 201
    enrolled = client.post(
        f"{API}/collections/vip/people",
        files=_upload(examples / "lin-manuel-miranda.png"),
        data={"display_name": "Lin-Manuel Miranda", "purpose": "erasure test", "expires_at": _in_days(30)},
        headers=operator,
    )
    assert enrolled.status_code == 201, enrolled.text
    assert client.put(f"{API}/collections/vip/watchlist", json={"watchlist": True}, headers=operator).status_code == 200
    _play_clip(client, operator, "stage", examples / "short_hamilton_clip.mp4")
    return enrolled.json()["person"]["id"]


def test_erasing_a_person_leaves_nothing_of_them(client, services, operator, admin, examples, lin_on_camera):
    person_id = lin_on_camera
    probe = services.engine.analyze((examples / "lin-manuel-miranda.png").read_bytes()).embedding[0]
    mine = client.get(f"{API}/events", params={"person_id": person_id, "limit": 1000}, headers=operator).json()
    kinds = {e["kind"] for e in mine}
    assert {"watchlist.start", "watchlist.end", "visitor.new"} <= kinds, kinds
    stored = services.events.query(person_id=person_id, limit=1000)
    snapshots = [Path(services.events.directory) / e.snapshot for e in stored if e.snapshot]
    assert snapshots and all(p.is_file() for p in snapshots)
    assert _faces_like(services, probe), "before erasure his face is stored (the check can find it)"
    identified = client.post(
        f"{API}/identify", files=_upload(examples / "lin-manuel-miranda.png", "image"), headers=operator
    )
    assert identified.json()["faces"][0]["person"]["person_id"] == person_id

    # a liveness decision about him leaves evidence frames
    status, nonce = services.liveness.start()
    for i, name in enumerate(("obama.jpg", "biden.jpg")):  # decided in two frames: the face changed
        services.liveness.frame(status.session_id, nonce, (examples / name).read_bytes(), i * 0.1)
    live = client.post(
        f"{API}/verify-live", json={"session_id": status.session_id, "person_id": person_id}, headers=operator
    )
    evidence = [Path(services.evidence_dir) / u.split("/liveness/evidence/")[1] for u in live.json()["evidence"]]
    assert evidence and all(p.is_file() for p in evidence)

    erased = client.delete(f"{API}/people/{person_id}", headers=operator)
    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert report["people"] == [person_id] and report["templates"] == 1
    assert report["events"] == len(mine) and report["evidence_frames"] == len(evidence)

    identified = client.post(
        f"{API}/identify", files=_upload(examples / "lin-manuel-miranda.png", "image"), headers=operator
    )
    assert identified.json()["faces"][0]["person"] is None  # unknown now
    assert client.get(f"{API}/events", params={"person_id": person_id}, headers=operator).json() == []
    assert not any(p.exists() for p in snapshots + evidence)
    assert _faces_like(services, probe) == []  # no picture of him anywhere: files, thumbnails, unknown faces
    (entry,) = [e for e in services.audit.query(action="person.erase", limit=50) if e.target == str(person_id)]
    assert "Lin" not in entry.detail and "Miranda" not in entry.detail and f'"events":{len(mine)}' in entry.detail


def test_erasure_by_photo_finds_every_template_of_the_face(client, services, operator, admin, examples):
    for collection, photo in (("staff-e", "obama.jpg"), ("customers-e", "obama2.jpg")):
        assert client.post(f"{API}/collections", json={"name": collection}, headers=operator).status_code == 201
        r = client.post(
            f"{API}/collections/{collection}/people",
            files=_upload(examples / photo),
            data={"display_name": "Barack Obama"},
            headers=operator,
        )
        assert r.status_code == 201, r.text
    biden = client.post(
        f"{API}/collections/staff-e/people",
        files=_upload(examples / "biden.jpg"),
        data={"display_name": "Joe Biden"},
        headers=operator,
    ).json()["person"]["id"]
    probe = _upload(examples / "obama_small.jpg", "image")

    dry = client.post(f"{API}/erasure/by-photo", params={"dry_run": "true"}, files=probe, headers=admin).json()
    assert dry["dry_run"] and len(dry["people"]) == 2 and dry["templates"] == 2
    assert (
        sum(c["people"] for c in client.get(f"{API}/collections", headers=operator).json() if c["name"].endswith("-e"))
        == 3
    )
    assert client.post(f"{API}/erasure/by-photo", files=probe, headers=operator).status_code == 403

    done = client.post(f"{API}/erasure/by-photo", files=probe, headers=admin).json()
    assert not done["dry_run"] and sorted(done["people"]) == sorted(dry["people"]) and done["templates"] == 2
    left = client.get(f"{API}/collections/staff-e/people", headers=operator).json()
    assert [p["id"] for p in left] == [biden]
    assert client.get(f"{API}/collections/customers-e/people", headers=operator).json() == []
    again = client.post(
        f"{API}/identify", files=_upload(examples / "obama_small.jpg", "image"), headers=operator
    ).json()
    assert again["faces"][0]["person"] is None
    no_face = client.post(
        f"{API}/erasure/by-photo", files={"image": ("x.png", _blank_png(), "image/png")}, headers=admin
    )
    assert no_face.status_code == 400 and "no face" in no_face.json()["detail"]


def _blank_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 90, 90)).save(buf, format="PNG")
    return buf.getvalue()


def test_retention_deletes_what_is_past_its_limit(client, services, operator, examples, monkeypatch):
    """The clip runs on a camera 'lobby' (its own limit: 2 days) with Lin-Manuel on a watchlist (alerts with
    snapshots); then the clock moves forward."""
    assert client.post(f"{API}/collections", json={"name": "vip-r"}, headers=operator).status_code == 201
    enrolled = client.post(
        f"{API}/collections/vip-r/people",
        files=_upload(examples / "lin-manuel-miranda.png"),
        data={"display_name": "Lin-Manuel Miranda", "purpose": "retention test", "expires_at": _in_days(60)},
        headers=operator,
    )
    assert enrolled.status_code == 201, enrolled.text
    watch = client.put(f"{API}/collections/vip-r/watchlist", json={"watchlist": True}, headers=operator)
    assert watch.status_code == 200
    _play_clip(client, operator, "lobby", examples / "short_hamilton_clip.mp4")
    lobby = services.events.count(cameras=["lobby"])
    unknown = len(services.gallery.store.unknown_faces()[0])
    files = [
        Path(services.events.directory) / e.snapshot
        for e in services.events.query(cameras=["lobby"], limit=1000)
        if e.snapshot
    ]
    assert lobby > 0 and unknown > 0 and files

    config = RetentionConfig(
        cameras={"lobby": RetentionLimit(events_days=2)}, collections={"vip-r": RetentionLimit(events_days=60)}
    )
    monkeypatch.setattr(services.governance.retention, "config", config)
    now = time.time()
    report = services.governance.run_retention(now + 12 * 3600)  # 12 h later: nothing is due yet
    assert report.events == 0 and report.unknown_faces == 0
    report = services.governance.run_retention(now + 25 * 3600)  # unknown faces: 24 h
    assert report.unknown_faces == unknown and len(services.gallery.store.unknown_faces()[0]) == 0
    assert services.events.count(cameras=["lobby"]) == lobby  # events: the camera's 2 days are not over
    alerts = services.events.count(cameras=["lobby"], kinds=["watchlist.start", "watchlist.update", "watchlist.end"])
    report = services.governance.run_retention(now + 3 * 86400)
    # the camera's 2 days are over for everything but events naming Lin-Manuel: "vip-r" keeps them 60 days
    assert report.events == lobby - services.events.count(cameras=["lobby"])
    kept = services.events.query(cameras=["lobby"], limit=1000)
    assert kept and {e.collection for e in kept} == {"vip-r"} and len(kept) >= alerts
    report = services.governance.run_retention(now + 59 * 86400)  # past the global 30 days, within the collection's 60
    assert services.events.count(cameras=["lobby"]) == len(kept)
    report = services.governance.run_retention(now + 61 * 86400)
    assert services.events.count(until_s=now + 10**9) == 0
    assert not any(p.exists() for p in files)
    assert not [p for p in (Path(services.events.directory) / "snapshots").rglob("*") if p.is_file()]
    assert any(e.action == "retention" for e in services.audit.query(actor="retention", limit=10))


def test_watchlist_entries_need_a_purpose_and_expire(client, services, operator, admin, examples, monkeypatch):
    assert client.post(f"{API}/collections", json={"name": "banned"}, headers=operator).status_code == 201
    assert (
        client.put(f"{API}/collections/banned/watchlist", json={"watchlist": True}, headers=operator).status_code == 200
    )
    photo = _upload(examples / "biden.jpg")
    cases = [
        ({"display_name": "Joe Biden"}, "needs a purpose"),
        ({"display_name": "Joe Biden", "purpose": "test"}, "needs an expiry"),
        ({"display_name": "Joe Biden", "purpose": "test", "expires_at": _in_days(400)}, "at most 366 days"),
        ({"display_name": "Joe Biden", "purpose": "test", "expires_at": _in_days(-1)}, "in the past"),
    ]
    for data, message in cases:
        r = client.post(f"{API}/collections/banned/people", files=photo, data=data, headers=operator)
        assert r.status_code == 400 and message in r.json()["detail"], (data, r.text)
    ok = client.post(
        f"{API}/collections/banned/people",
        files=photo,
        data={"display_name": "Joe Biden", "purpose": "trespass order 17", "expires_at": _in_days(2)},
        headers=operator,
    )
    assert ok.status_code == 201, ok.text
    person = ok.json()["person"]
    assert person["purpose"] == "trespass order 17" and person["expires_at"] > time.time()

    # a collection with unreasoned people cannot become a watchlist
    assert client.post(f"{API}/collections", json={"name": "plain"}, headers=operator).status_code == 201
    client.post(
        f"{API}/collections/plain/people",
        files=_upload(examples / "obama.jpg"),
        data={"display_name": "O"},
        headers=operator,
    )
    refused = client.put(f"{API}/collections/plain/watchlist", json={"watchlist": True}, headers=operator)
    assert refused.status_code == 400 and "no purpose or no expiry" in refused.json()["detail"]

    # consent required by policy
    monkeypatch.setattr(services.settings, "require_consent", True)
    r = client.post(
        f"{API}/collections/plain/people",
        files=_upload(examples / "obama2.jpg"),
        data={"display_name": "B"},
        headers=operator,
    )
    assert r.status_code == 400 and "legal basis" in r.json()["detail"]

    # the expiry passes: the retention job removes the entry, and the face is unknown again
    report = services.governance.run_retention(time.time() + 3 * 86400)
    assert report.expired_people >= 1
    assert client.get(f"{API}/people/{person['id']}", headers=operator).status_code == 404
    r = client.post(
        f"{API}/identify",
        files=_upload(examples / "biden.jpg", "image"),
        params={"collection": "banned"},
        headers=operator,
    )
    assert r.json()["faces"][0]["person"] is None
