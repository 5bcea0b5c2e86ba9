"""The REST API end to end on real models and data: roles on every route, recognition, galleries, cameras,
events (with the SSE stream through a real uvicorn), accounts, the audit log and problem+json errors.

Faces come from face_recognition's examples: Obama (``obama.jpg``, ``obama2.jpg``), Biden, Lin-Manuel
Miranda, two people in one photo and the Hamilton clip in which Lin-Manuel is on screen from t = 0.2 s.
"""

from __future__ import annotations

import io
import json
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from faceplane.config import DEV_ADMIN_KEY, load_settings
from faceplane.errors import InvalidArgumentError
from faceplane.governance.accounts import ROLES
from faceplane.services import Services

API = "/api/v1"
JPEG = b"\xff\xd8"
ALERT_TIMEOUT_S = 60.0


def upload(path: Path, field_name: str = "image", content_type: str = "image/jpeg") -> dict[str, Any]:
    return {field_name: (path.name, path.read_bytes(), content_type)}


def assert_problem(response: httpx.Response, status: int, title: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with this status (and title, the exception's class name)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail"} and body["status"] == status, body
    if title is not None:
        assert body["title"] == title, body
    return body


# -- every route, every role ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """What a route's ``prepare`` needs to make a request that succeeds."""

    services: Services
    examples: Path
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])  # unique names per call


@dataclass(frozen=True)
class Call:
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    cleanup: Callable[[], None] | None = None


def _collection(ctx: Ctx) -> str:
    name = f"roles-{ctx.run}"
    ctx.services.library.create_collection(name)
    return name


def _person(ctx: Ctx) -> int:
    jpeg = (ctx.examples / "obama_small.jpg").read_bytes()
    report = ctx.services.library.enroll(_collection(ctx), [jpeg], name="Barack Obama", person_id=None, consent=None)
    assert report.person is not None
    return report.person.id


def _template_id(ctx: Ctx) -> int:
    (template,) = ctx.services.library.templates(_person(ctx))
    return template.id


def _move_template(ctx: Ctx) -> Call:
    to = _person(Ctx(ctx.services, ctx.examples))  # another person, in another collection
    return Call(f"/templates/{_template_id(ctx)}", {"json": {"person_id": to}})


def _merge(ctx: Ctx) -> Call:
    """Obama enrolled twice in one collection: the second merged into the first."""
    jpeg = (ctx.examples / "obama_small.jpg").read_bytes()
    first = _person(ctx)
    name = ctx.services.library.person(first).collection
    report = ctx.services.library.enroll(name, [jpeg], name="Obama (again)", person_id=None, consent=None)
    assert report.person is not None
    return Call(f"/people/{first}/merge", {"json": {"merge_person_id": report.person.id}})


def _camera(ctx: Ctx) -> str:
    from faceplane.config import CameraConfig

    camera_id = f"cam-{ctx.run}"
    ctx.services.cameras.add(CameraConfig(id=camera_id, source=str(ctx.examples / "short_hamilton_clip.mp4"), fps=1))
    return camera_id


def _remove_camera(ctx: Ctx, camera_id: str) -> Callable[[], None]:
    def remove() -> None:
        if camera_id in {v.config.id for v in ctx.services.cameras.views()}:
            ctx.services.cameras.remove(camera_id)

    return remove


def _with_camera(suffix: str) -> Callable[[Ctx], Call]:
    def prepare(ctx: Ctx) -> Call:
        camera_id = _camera(ctx)
        return Call(f"/cameras/{camera_id}{suffix}", cleanup=_remove_camera(ctx, camera_id))

    return prepare


def _new_camera(ctx: Ctx) -> Call:
    # an operator may add a stream (a local file needs an admin: test_camera_sources); nothing listens on port 9
    body = {"id": f"cam-{ctx.run}", "source": "rtsp://127.0.0.1:9/none", "fps": 1}
    return Call("/cameras", {"json": body}, cleanup=_remove_camera(ctx, body["id"]))


def _snapshot(ctx: Ctx) -> Call:
    path = ctx.services.events.directory / "snapshots" / "roles" / f"{ctx.run}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((ctx.examples / "obama_small.jpg").read_bytes())
    return Call(f"/snapshots/roles/{ctx.run}.jpg")


def _key(ctx: Ctx) -> Call:
    ctx.services.accounts.create_key(f"doomed-{ctx.run}", "viewer")
    (key,) = [k for k in ctx.services.accounts.list_keys() if k.name == f"doomed-{ctx.run}"]
    return Call(f"/keys/{key.id}")


def _user(ctx: Ctx) -> Call:
    ctx.services.accounts.set_user(f"doomed-{ctx.run}", "a-password", "viewer")
    return Call(f"/users/doomed-{ctx.run}")


def _photo(ctx: Ctx) -> dict[str, Any]:
    return upload(ctx.examples / "obama_small.jpg")


def _session(ctx: Ctx) -> tuple[str, str]:
    status, nonce = ctx.services.liveness.start()
    return status.session_id, nonce


def _decided_session(ctx: Ctx) -> str:
    """A session decided in two frames: Obama, then Biden (the face changed)."""
    session_id, nonce = _session(ctx)
    for i, name in enumerate(("obama.jpg", "biden.jpg")):
        ctx.services.liveness.frame(session_id, nonce, (ctx.examples / name).read_bytes(), i * 0.1)
    assert ctx.services.liveness.status(session_id).decided
    return session_id


def _frame(ctx: Ctx) -> Call:
    session_id, nonce = _session(ctx)
    return Call(f"/liveness/sessions/{session_id}/frames", {"files": _photo(ctx), "data": {"nonce": nonce}})


def _clip(ctx: Ctx) -> Call:
    """Three frames of Obama as a 0.2 s MP4 (a clip no longer than the session's age)."""
    import av

    image = Image.open(ctx.examples / "obama_small.jpg").convert("RGB")
    image = image.resize((image.width // 2 * 2, image.height // 2 * 2))
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height = image.size
        for _ in range(3):
            out.mux(stream.encode(av.VideoFrame.from_image(image)))
        out.mux(stream.encode(None))
    session_id, nonce = _session(ctx)
    files = {"clip": ("clip.mp4", buf.getvalue(), "video/mp4")}
    return Call(f"/liveness/sessions/{session_id}/clip", {"files": files, "data": {"nonce": nonce}})


def _unknown_faces(ctx: Ctx, name: str, numbers: tuple[int, ...]) -> list[int]:
    """Faces of an LFW person nobody enrolled, kept in the unknown pool (test_unknown_api.py tests what they do)."""
    lfw = ctx.examples.parents[1] / "lfw-view1" / "images" / name
    kept = [ctx.services.unknown.record((lfw / f"{name}_{n:04d}.jpg").read_bytes(), "roles").kept for n in numbers]
    assert all(ids and ids[0] is not None for ids in kept), kept
    return [int(ids[0]) for ids in kept]  # type: ignore[arg-type]


def _unknown_cluster(ctx: Ctx) -> int:
    faces = _unknown_faces(ctx, "Ricardo_Lagos", (1, 2))
    ctx.services.unknown.clusterer.recluster()
    rows, _ = ctx.services.gallery.store.unknown_faces(face_ids=faces)
    (cluster,) = {r["cluster_id"] for r in rows}
    return int(cluster)


def _alert(ctx: Ctx) -> str:
    """A watchlist alert naming Obama, with another photo of him as its snapshot (test_corrections_api.py)."""
    from faceplane.events import Event

    person = ctx.services.library.person(_person(ctx))
    event = Event.new("watchlist.start", camera="roles", t_s=0.0, track_id=1, person_id=person.id,
                      person_name=person.display_name, collection=person.collection, distance=0.5)  # fmt: skip
    assert ctx.services.events.add(event, (ctx.examples / "obama2.jpg").read_bytes()) is not None
    return event.id


def _correction(ctx: Ctx) -> int:
    photo = (ctx.examples / "obama2.jpg").read_bytes()
    return ctx.services.matching.correct_photo(_person(ctx), photo).correction.id


def _evidence(ctx: Ctx) -> Call:
    admin = ctx.services.accounts.authenticate_key(DEV_ADMIN_KEY)
    assert admin is not None
    decision = ctx.services.liveness.verify(admin, _decided_session(ctx), _person(ctx))
    return Call(f"/liveness/evidence/{decision.evidence[0]}")


def _photo_zip(ctx: Ctx) -> bytes:
    """A zip of one person's folder with one photo (test_imports_api.py imports real ones)."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("Barack_Obama/obama_small.jpg", (ctx.examples / "obama_small.jpg").read_bytes())
    return buf.getvalue()


def _import(ctx: Ctx) -> int:
    job, _ = ctx.services.imports.create(
        io.BytesIO(_photo_zip(ctx)), filename="p.zip", collection=_collection(ctx), consent=None, expires_at=None,
        actor="test", role="operator",
    )  # fmt: skip
    return job.id


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with placeholder values: enough to be routed for the 401 and 403 checks
    role: str  # the least role allowed
    prepare: Callable[[Ctx], Call] | None = None  # a call that succeeds (default: ``path`` as it is)
    succeeds: bool = True  # False: no 2xx check here (tested on its own)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "/auth/me", "viewer"),
    Route("POST", "/detect", "operator", lambda c: Call("/detect", {"files": _photo(c)})),
    Route(
        "POST",
        "/verify",
        "operator",
        lambda c: Call(
            "/verify",
            {
                "files": {
                    **upload(c.examples / "obama_small.jpg", "image_a"),
                    **upload(c.examples / "obama2.jpg", "image_b"),
                }
            },
        ),
    ),
    Route("POST", "/identify", "operator", lambda c: Call("/identify", {"files": _photo(c)})),
    Route("POST", "/analyze", "operator", lambda c: Call("/analyze", {"files": _photo(c)})),
    Route("GET", "/collections", "viewer"),
    Route("POST", "/collections", "operator", lambda c: Call("/collections", {"json": {"name": f"new-{c.run}"}})),
    Route("DELETE", "/collections/x", "admin", lambda c: Call(f"/collections/{_collection(c)}")),
    Route(
        "PUT",
        "/collections/x/watchlist",
        "operator",
        lambda c: Call(f"/collections/{_collection(c)}/watchlist", {"json": {"watchlist": False}}),
    ),
    Route("GET", "/collections/x/people", "viewer", lambda c: Call(f"/collections/{_collection(c)}/people")),
    Route(
        "POST",
        "/collections/x/people",
        "operator",
        lambda c: Call(
            f"/collections/{_collection(c)}/people",
            {"files": upload(c.examples / "obama_small.jpg", "images"), "data": {"display_name": "Barack Obama"}},
        ),
    ),
    Route("GET", "/people/1", "viewer", lambda c: Call(f"/people/{_person(c)}")),
    Route("DELETE", "/people/1", "operator", lambda c: Call(f"/people/{_person(c)}")),
    Route("GET", "/people/1/templates", "viewer", lambda c: Call(f"/people/{_person(c)}/templates")),
    Route("GET", "/templates/1/thumbnail.jpg", "viewer", lambda c: Call(f"/templates/{_template_id(c)}/thumbnail.jpg")),
    Route("DELETE", "/templates/1", "operator", lambda c: Call(f"/templates/{_template_id(c)}")),
    # editing people (test_people_api.py tests what they do)
    Route("PATCH", "/people/1", "operator", lambda c: Call(f"/people/{_person(c)}", {"json": {"name": "B. Obama"}})),
    Route("PATCH", "/templates/1", "operator", _move_template),
    Route("POST", "/people/1/merge", "operator", _merge),
    Route("GET", "/cameras", "viewer"),
    Route("POST", "/cameras", "operator", _new_camera),
    Route("GET", "/cameras/x", "viewer", _with_camera("")),
    Route("DELETE", "/cameras/x", "operator", _with_camera("")),
    Route("GET", "/cameras/x/frame.jpg", "viewer", _with_camera("/frame.jpg")),
    Route("GET", "/events", "viewer"),
    Route("GET", "/events/stream", "viewer", succeeds=False),  # endless: test_live_camera reads it
    Route("GET", "/analytics/hourly", "viewer"),
    Route("GET", "/analytics/dwell", "viewer"),
    Route("GET", "/analytics/classes", "viewer"),
    Route("GET", "/snapshots/x/y.jpg", "viewer", _snapshot),
    Route("GET", "/keys", "admin"),
    Route("POST", "/keys", "admin", lambda c: Call("/keys", {"json": {"name": f"new-{c.run}", "role": "viewer"}})),
    Route("DELETE", "/keys/1", "admin", _key),
    Route("GET", "/users", "admin"),
    Route(
        "POST",
        "/users",
        "admin",
        lambda c: Call("/users", {"json": {"username": f"u-{c.run}", "password": "a-password", "role": "viewer"}}),
    ),
    Route("DELETE", "/users/x", "admin", _user),
    Route("GET", "/audit", "admin"),
    Route("GET", "/models", "viewer"),
    Route("GET", "/report.html", "admin"),
    Route("POST", "/liveness/sessions", "operator", lambda c: Call("/liveness/sessions", {"json": {}})),
    Route("GET", "/liveness/sessions/x", "operator", lambda c: Call(f"/liveness/sessions/{_session(c)[0]}")),
    Route("POST", "/liveness/sessions/x/frames", "operator", _frame),
    Route("POST", "/liveness/sessions/x/clip", "operator", _clip),
    Route(
        "POST",
        "/verify-live",
        "operator",
        lambda c: Call("/verify-live", {"json": {"session_id": _decided_session(c), "person_id": _person(c)}}),
    ),
    Route(
        "POST",
        "/identify-live",
        "operator",
        lambda c: Call("/identify-live", {"json": {"session_id": _decided_session(c)}}),
    ),
    Route("GET", "/liveness/evidence/x/y.jpg", "admin", _evidence),
    Route(
        "POST",
        "/erasure/by-photo",
        "admin",
        lambda c: Call("/erasure/by-photo?dry_run=true", {"files": _photo(c)}),
    ),
    Route("POST", "/retention/run", "admin"),
    # the unknown-face library (test_unknown_api.py tests what they do)
    Route("GET", "/unknown-faces", "viewer"),
    Route("POST", "/unknown-faces", "operator", lambda c: Call("/unknown-faces", {"files": _photo(c)})),
    Route(
        "GET",
        "/unknown-faces/1/thumbnail.jpg",
        "viewer",
        lambda c: Call(f"/unknown-faces/{_unknown_faces(c, 'Hans_Blix', (2,))[0]}/thumbnail.jpg"),
    ),
    Route("GET", "/unknown-clusters", "viewer"),
    Route(
        "POST",
        "/unknown-clusters/1/name",
        "operator",
        lambda c: Call(
            f"/unknown-clusters/{_unknown_cluster(c)}/name",
            {"json": {"collection": _collection(c), "display_name": "Ricardo Lagos"}},
        ),
    ),
    Route(
        "POST",
        "/unknown-faces/assign",
        "operator",
        lambda c: Call(
            "/unknown-faces/assign",
            {"json": {"person_id": _person(c), "face_ids": _unknown_faces(c, "Jennifer_Lopez", (3,))}},
        ),
    ),
    Route(
        "POST",
        "/unknown-faces/dismiss",
        "operator",
        lambda c: Call("/unknown-faces/dismiss", {"json": {"face_ids": _unknown_faces(c, "Tang_Jiaxuan", (1,))}}),
    ),
    # corrections and thresholds (test_corrections_api.py tests what they do)
    Route(
        "POST",
        "/alerts/0123456789abcdef0123456789abcdef/not-this-person",
        "operator",
        lambda c: Call(f"/alerts/{_alert(c)}/not-this-person", {"json": {"note": "not him"}}),
    ),
    Route(
        "POST",
        "/people/1/not-this-person",
        "operator",
        lambda c: Call(f"/people/{_person(c)}/not-this-person", {"files": upload(c.examples / "obama2.jpg")}),
    ),
    Route("GET", "/people/1/corrections", "viewer", lambda c: Call(f"/people/{_person(c)}/corrections")),
    Route("DELETE", "/corrections/1", "operator", lambda c: Call(f"/corrections/{_correction(c)}")),
    Route(
        "GET", "/corrections/1/thumbnail.jpg", "viewer", lambda c: Call(f"/corrections/{_correction(c)}/thumbnail.jpg")
    ),
    Route("GET", "/thresholds", "viewer"),
    Route("GET", "/thresholds/preview", "viewer", lambda c: Call("/thresholds/preview?fpir=0.01")),
    Route(
        "PUT",
        "/collections/x/threshold",
        "operator",
        lambda c: Call(f"/collections/{_collection(c)}/threshold", {"json": {"fpir": 0.001}}),
    ),
    # bulk imports (test_imports_api.py tests what they do)
    Route(
        "POST",
        "/imports",
        "operator",
        lambda c: Call(
            "/imports",
            {"files": {"archive": ("p.zip", _photo_zip(c), "application/zip")}, "data": {"collection": _collection(c)}},
        ),
    ),
    Route("GET", "/imports", "operator"),
    Route("GET", "/imports/1", "operator", lambda c: Call(f"/imports/{_import(c)}")),
    Route("POST", "/imports/1/resume", "operator", lambda c: Call(f"/imports/{_import(c)}/resume")),
]
PUBLIC = [("GET", "/health"), ("POST", "/auth/login"), ("POST", "/auth/logout"), ("GET", "/openapi.json")]
BELOW = [(route, role) for route in ROUTES for role in ROLES[: ROLES.index(route.role)]]


def test_the_table_covers_every_route(app):
    templates = {(r.method, _template(r.path)) for r in ROUTES} | set(PUBLIC)
    documented = {
        (method.upper(), path.removeprefix(API)) for path, item in app.openapi()["paths"].items() for method in item
    }
    assert documented | {("GET", "/openapi.json")} == templates


def _template(path: str) -> str:
    """``/people/1`` -> ``/people/{person_id}``: the placeholders as the app names them."""
    names = {
        "collections": "name",
        "people": "person_id",
        "cameras": "camera_id",
        "keys": "key_id",
        "users": "username",
        "templates": "template_id",
        "unknown-faces": "face_id",
        "unknown-clusters": "cluster_id",
        "alerts": "event_id",
        "corrections": "correction_id",
        "imports": "import_id",
    }
    parts = path.strip("/").split("/")
    if parts[0] == "snapshots":
        return "/snapshots/{path}"
    if parts[:2] == ["liveness", "evidence"]:
        return "/liveness/evidence/{path}"
    if parts[:2] == ["liveness", "sessions"] and len(parts) > 2:
        parts[2] = "{session_id}"
    if len(parts) > 1 and parts[0] in names and parts[1] not in ("assign", "dismiss"):
        parts[1] = "{" + names[parts[0]] + "}"
    return "/" + "/".join(parts)


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("auth", ["none", "unknown key", "bearer unknown", "bad cookie"])
def test_anonymous_callers_get_401(client, route, auth):
    client.cookies.clear()
    extra: dict[str, Any] = {
        "none": {},
        "unknown key": {"headers": {"X-API-Key": "fp_not-a-key"}},
        "bearer unknown": {"headers": {"Authorization": "Bearer fp_not-a-key"}},
        "bad cookie": {"cookies": {"fp_session": "not-a-session"}},
    }[auth]
    if "cookies" in extra:
        client.cookies.update(extra.pop("cookies"))
    try:
        assert_problem(client.request(route.method, API + route.path, **extra), 401)
    finally:
        client.cookies.clear()


@pytest.mark.parametrize(("route", "role"), BELOW, ids=[f"{r}-as-{role}" for r, role in BELOW])
def test_roles_below_the_route_get_403(client, role_headers, route, role):
    body = assert_problem(client.request(route.method, API + route.path, headers=role_headers[role]), 403)
    assert route.role in body["detail"]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.succeeds], ids=str)
def test_the_least_role_succeeds(client, services, examples, role_headers, route):
    ctx = Ctx(services, examples)
    call = route.prepare(ctx) if route.prepare else Call(route.path)
    try:
        response = client.request(route.method, API + call.url, headers=role_headers[route.role], **call.kwargs)
        assert 200 <= response.status_code < 300, response.text
    finally:
        if call.cleanup:
            call.cleanup()


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "GET" and r.succeeds], ids=str)
def test_bearer_token_works_like_the_key_header(client, services, examples, role_headers, route):
    ctx = Ctx(services, examples)
    call = route.prepare(ctx) if route.prepare else Call(route.path)
    key = role_headers[route.role]["X-API-Key"]
    try:
        response = client.get(API + call.url, headers={"Authorization": f"Bearer {key}"})
        assert 200 <= response.status_code < 300, response.text
    finally:
        if call.cleanup:
            call.cleanup()


@pytest.mark.parametrize(("method", "path"), [*PUBLIC, ("GET", "/"), ("GET", "/docs")])
def test_public_routes_need_no_key(client, method, path):
    url = path if path in ("/", "/docs") else API + path
    kwargs = {"json": {"username": "admin", "password": DEV_ADMIN_KEY}} if path == "/auth/login" else {}
    response = client.request(method, url, **kwargs)
    assert 200 <= response.status_code < 300, response.text
    client.cookies.clear()


# -- recognition ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def obama(client, operator, examples) -> dict[str, Any]:
    """Obama enrolled from ``obama.jpg`` in the collection ``presidents``, by upload."""
    assert client.post(f"{API}/collections", json={"name": "presidents"}, headers=operator).status_code == 201
    response = client.post(
        f"{API}/collections/presidents/people",
        files=upload(examples / "obama.jpg", "images"),
        data={"display_name": "Barack Obama", "consent_basis": "public figure"},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    return response.json()["person"]


@pytest.fixture(scope="module")
def lin(client, operator, examples) -> dict[str, Any]:
    """Lin-Manuel Miranda enrolled from his PNG in the collection ``vip``, by upload."""
    assert client.post(f"{API}/collections", json={"name": "vip"}, headers=operator).status_code == 201
    response = client.post(
        f"{API}/collections/vip/people",
        files=upload(examples / "lin-manuel-miranda.png", "images", "image/png"),
        # purpose and expiry: "vip" becomes a watchlist later, and watchlist entries need both
        data={"display_name": "Lin-Manuel Miranda", "purpose": "alert test", "expires_at": _in_days(30)},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _in_days(days: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + days * 86400))


def test_enroll_by_upload(client, viewer, lin):
    person = lin["person"]
    assert person["name"] == "Lin-Manuel Miranda" and person["collection"] == "vip" and person["templates"] == 1
    assert len(lin["template_ids"]) == 1 and lin["rejected"] == [] and lin["duplicates"] == []
    people = client.get(f"{API}/collections/vip/people", headers=viewer).json()
    assert [p["name"] for p in people] == ["Lin-Manuel Miranda"]
    assert client.get(f"{API}/people/{person['id']}", headers=viewer).json() == person
    (vip,) = [c for c in client.get(f"{API}/collections", headers=viewer).json() if c["name"] == "vip"]
    assert vip == {"name": "vip", "description": "", "people": 1, "templates": 1, "watchlist": False}


def test_enroll_keeps_the_consent_basis(obama):
    assert obama["consent_basis"] == "public figure" and obama["templates"] == 1


@pytest.mark.parametrize(("photo", "name"), [("obama2.jpg", "Barack Obama"), ("biden.jpg", None)])
def test_identify_finds_the_enrolled_person_and_nobody_else(client, operator, examples, obama, photo, name):
    response = client.post(
        f"{API}/identify", params={"collection": "presidents"}, files=upload(examples / photo), headers=operator
    )
    assert response.status_code == 200, response.text
    (face,) = response.json()["faces"]
    found = face["person"]
    assert (found["name"] if found else None) == name
    if found:
        assert found["person_id"] == obama["id"] and found["collection"] == "presidents"
        assert found["distance"] < face["threshold"]
    assert len(face["face"]["box"]) == 4 and len(face["face"]["landmarks"]) == 5


@pytest.mark.parametrize(("b", "same"), [("obama2.jpg", True), ("biden.jpg", False)])
def test_verify(client, operator, examples, b, same):
    files = {**upload(examples / "obama.jpg", "image_a"), **upload(examples / b, "image_b")}
    response = client.post(f"{API}/verify", files=files, headers=operator)
    assert response.status_code == 200, response.text
    match = response.json()
    assert match["same_person"] is same
    assert (match["distance"] < match["threshold"]) is same and 0 <= match["similarity"] <= 1


def test_detect_two_people(client, operator, examples):
    response = client.post(f"{API}/detect", files=upload(examples / "two_people.jpg"), headers=operator)
    assert response.status_code == 200, response.text
    faces = response.json()["faces"]
    assert len(faces) == 2
    for face in faces:
        x1, y1, x2, y2 = face["box"]
        assert x2 > x1 and y2 > y1 and len(face["landmarks"]) == 5 and 0 < face["quality"] <= 1


@pytest.mark.parametrize("landmarks", [5, 68])
def test_analyze_gives_embeddings_and_68_points_with_head_pose(client, operator, examples, landmarks):
    response = client.post(
        f"{API}/analyze", params={"landmarks": landmarks}, files=upload(examples / "obama_small.jpg"), headers=operator
    )
    assert response.status_code == 200, response.text
    (face,) = response.json()["faces"]
    assert len(face["embedding"]) == 192 and len(face["landmarks"]) == landmarks  # the gallery's model
    if landmarks == 68:
        yaw, pitch, roll = face["head_pose"]
        assert abs(yaw) < 30 and abs(pitch) < 30 and abs(roll) < 20  # a frontal portrait
    else:
        assert face["head_pose"] is None


def test_users_create_list_delete(client, admin, app):
    created = client.post(
        f"{API}/users", json={"username": "ops", "password": "ops-password", "role": "operator"}, headers=admin
    )
    assert created.status_code == 201 and created.json()["role"] == "operator"
    assert "ops" in [u["username"] for u in client.get(f"{API}/users", headers=admin).json()]
    with TestClient(app, raise_server_exceptions=False) as browser:
        assert (
            browser.post(f"{API}/auth/login", json={"username": "ops", "password": "ops-password"}).status_code == 200
        )
        assert browser.get(f"{API}/auth/me").json() == {"name": "ops", "role": "operator", "kind": "user"}
        assert client.delete(f"{API}/users/ops", headers=admin).status_code == 204
        assert_problem(browser.get(f"{API}/auth/me"), 401)  # the session ended with the user
    assert "ops" not in [u["username"] for u in client.get(f"{API}/users", headers=admin).json()]
    short = client.post(f"{API}/users", json={"username": "x", "password": "short", "role": "viewer"}, headers=admin)
    assert_problem(short, 422, "ValidationError")


def test_delete_person_and_collection(client, operator, admin, examples):
    assert client.post(f"{API}/collections", json={"name": "temp"}, headers=operator).status_code == 201
    enrolled = client.post(
        f"{API}/collections/temp/people",
        files=upload(examples / "biden.jpg", "images"),
        data={"display_name": "Joe Biden"},
        headers=operator,
    ).json()
    person_id = enrolled["person"]["id"]
    erased = client.delete(f"{API}/people/{person_id}", headers=operator)
    assert erased.status_code == 200 and erased.json()["people"] == [person_id] and erased.json()["templates"] == 1
    assert_problem(client.get(f"{API}/people/{person_id}", headers=operator), 404, "NotFoundError")
    assert_problem(client.delete(f"{API}/people/{person_id}", headers=operator), 404)
    assert client.delete(f"{API}/collections/temp", headers=admin).status_code == 204
    assert_problem(client.get(f"{API}/collections/temp/people", headers=operator), 404)


# -- bad input -> problem+json -------------------------------------------------------------------------


def _png_without_a_face() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 200)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("files", "status", "title"),
    [
        ({"image": ("notes.txt", b"hello", "text/plain")}, 415, None),
        ({"image": ("page.html", b"<html></html>", "text/html; charset=utf-8")}, 415, None),
        ({"image": ("fake.jpg", b"this is not a JPEG at all", "image/jpeg")}, 422, "InvalidImageError"),
        ({"image": ("empty.jpg", b"", "image/jpeg")}, 400, None),
        ({"file": ("a.jpg", b"\xff\xd8", "image/jpeg")}, 422, "ValidationError"),  # the field is called image
    ],
    ids=["text", "html", "not-an-image", "empty", "wrong-field"],
)
def test_bad_uploads(client, operator, files, status, title):
    assert_problem(client.post(f"{API}/detect", files=files, headers=operator), status, title)


def test_no_face_is_empty_for_detect_and_422_for_verify(client, operator, examples):
    blank = {"image": ("blank.png", _png_without_a_face(), "image/png")}
    assert client.post(f"{API}/detect", files=blank, headers=operator).json() == {"faces": []}
    assert client.post(f"{API}/identify", files=blank, headers=operator).json() == {"faces": []}
    files = {**upload(examples / "obama_small.jpg", "image_a"), "image_b": blank["image"]}
    assert_problem(client.post(f"{API}/verify", files=files, headers=operator), 422, "NoFaceError")


def test_oversized_upload_is_413(client, services, operator, examples, monkeypatch):
    monkeypatch.setattr(services.settings, "max_upload_mb", 0.1)
    photo = examples / "obama.jpg"  # 280 kB
    assert photo.stat().st_size > 0.1 * 1024 * 1024
    body = assert_problem(client.post(f"{API}/detect", files=upload(photo), headers=operator), 413)
    assert "0.1 MB" in body["detail"]
    enroll = client.post(f"{API}/collections/vip/people", files=upload(photo, "images"), headers=operator)
    assert_problem(enroll, 413)
    small = client.post(f"{API}/detect", files=upload(examples / "obama_small.jpg"), headers=operator)  # 33 kB
    assert small.status_code == 200, small.text


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/collections/nope/people", {}),
        ("DELETE", "/collections/nope", {}),
        ("PUT", "/collections/nope/watchlist", {"json": {"watchlist": False}}),
        ("POST", "/identify?collection=nope", {"files": {"image": ("a.jpg", b"", "image/jpeg")}}),
        ("GET", "/people/987654", {}),
        ("DELETE", "/people/987654", {}),
        ("GET", "/cameras/nope", {}),
        ("DELETE", "/cameras/nope", {}),
        ("GET", "/cameras/nope/frame.jpg", {}),
        ("DELETE", "/keys/987654", {}),
        ("DELETE", "/users/nobody", {}),
        ("GET", "/snapshots/nope/none.jpg", {}),
        ("GET", "/no-such-route", {}),
    ],
)
def test_unknown_things_are_404(client, admin, examples, method, path, kwargs):
    if "files" in kwargs:  # a real photo, so that only the collection is wrong
        kwargs = {"files": upload(examples / "obama_small.jpg")}
    assert_problem(client.request(method, API + path, headers=admin, **kwargs), 404)


def test_enroll_into_an_unknown_collection_is_404(client, operator, examples):
    response = client.post(
        f"{API}/collections/nope/people",
        files=upload(examples / "obama_small.jpg", "images"),
        data={"display_name": "Barack Obama"},
        headers=operator,
    )
    assert_problem(response, 404, "NotFoundError")


@pytest.mark.parametrize(
    ("body", "status", "title"),
    [
        ({"id": "gone", "source": "MISSING"}, 422, "SourceError"),
        ({"id": "ftp", "source": "ftp://example.com/clip.mp4"}, 422, "SourceRefusedError"),
        ({"id": "bad id!", "source": "x.mp4"}, 422, "ValidationError"),
        ({"id": "fast", "source": "x.mp4", "fps": 100}, 422, "ValidationError"),
        ({"id": "lines", "source": "CLIP", "lines": ["garbage"]}, 422, "ValidationError"),
        ({"id": "lines", "source": "CLIP", "lines": ["1,2,3"]}, 422, "ValidationError"),
        ({"id": "zones", "source": "CLIP", "zones": ["0,0,1,1"]}, 422, "ValidationError"),
    ],
    ids=["missing-file", "scheme", "id", "fps", "line-text", "line-3-numbers", "zone-2-points"],
)
def test_bad_cameras(client, services, admin, examples, body, status, title):
    files = {"CLIP": str(examples / "short_hamilton_clip.mp4"), "MISSING": str(examples / "no-such-clip.mp4")}
    body = {k: files.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    assert_problem(client.post(f"{API}/cameras", json=body, headers=admin), status, title)
    assert body["id"] not in {v.config.id for v in services.cameras.views()}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/collections", {"name": "a b"}),
        ("POST", "/collections", {"name": ""}),
        ("POST", "/collections", {}),
        ("PUT", "/collections/vip/watchlist", {"watchlist": "maybe"}),
        ("POST", "/keys", {"name": "k", "role": "root"}),
        ("POST", "/auth/login", {"username": "admin"}),
    ],
)
def test_invalid_bodies_are_422(client, admin, method, path, body):
    assert_problem(client.request(method, API + path, json=body, headers=admin), 422, "ValidationError")


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=1001", "offset=-1", "person_id=abc", "since_s=yesterday", "person_id=99999999999999999999999"],
)
def test_invalid_queries_are_422(client, viewer, query):
    assert_problem(client.get(f"{API}/events?{query}", headers=viewer), 422, "ValidationError")


BIG = str(2**63)  # one more than SQLite's largest INTEGER


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/people/{BIG}"),
        ("DELETE", f"/people/{BIG}"),
        ("DELETE", f"/keys/{BIG}"),
        ("GET", f"/events?person_id={BIG}"),
        ("GET", f"/events?offset={BIG}"),
        ("GET", f"/audit?offset={BIG}"),
        ("GET", f"/collections/vip/people?offset={BIG}"),
        ("GET", "/people/0"),
    ],
)
def test_ids_beyond_sqlite_integers_are_422(client, admin, method, path):
    assert_problem(client.request(method, API + path, headers=admin), 422, "ValidationError")


def test_openapi_documents_errors_as_problem_details(client):
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            if path == f"{API}/health":
                continue
            content = operation["responses"]["4XX"]["content"]
            assert list(content) == ["application/problem+json"], (method, path)
            assert "422" not in operation["responses"], (method, path)  # FastAPI's {"detail": [...]} is not sent


def test_duplicate_collection_is_400(client, operator):
    assert client.post(f"{API}/collections", json={"name": "twice"}, headers=operator).status_code == 201
    assert_problem(client.post(f"{API}/collections", json={"name": "twice"}, headers=operator), 400)


def test_watchlist_on_a_new_name_must_be_a_valid_collection_name(client, operator):
    response = client.put(f"{API}/collections/a%20b!/watchlist", json={"watchlist": True}, headers=operator)
    assert_problem(response, 400, "InvalidArgumentError")
    names = [c["name"] for c in client.get(f"{API}/collections", headers=operator).json()]
    assert "a b!" not in names


def test_hourly_range_is_checked(client, viewer):
    assert_problem(client.get(f"{API}/analytics/hourly?since_s=100&until_s=50", headers=viewer), 400)
    assert_problem(client.get(f"{API}/analytics/hourly?since_s=0&until_s=3e9", headers=viewer), 400)


@pytest.mark.parametrize(
    "path",
    [
        "/snapshots/../../accounts.sqlite",  # the client normalises the dots away: no route
        "/snapshots/%2E%2E/%2E%2E/accounts.sqlite",
        "/snapshots/..%2F..%2Faccounts.sqlite",
        "/snapshots/%2Fetc%2Fpasswd",
        "/snapshots/snapshots/../../audit.sqlite",
    ],
)
def test_snapshot_paths_cannot_leave_the_snapshot_folder(client, admin, path):
    response = client.get(API + path, headers=admin)
    assert_problem(response, 404)
    assert b"SQLite" not in response.content and b"root:" not in response.content


# -- accounts, sessions, audit -------------------------------------------------------------------------


def test_keys_create_list_revoke(client, admin):
    created = client.post(f"{API}/keys", json={"name": "ci", "role": "operator"}, headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert created.json()["role"] == "operator" and key.startswith("fp_")
    me = client.get(f"{API}/auth/me", headers={"X-API-Key": key}).json()
    assert me == {"name": "ci", "role": "operator", "kind": "key"}

    (listed,) = [k for k in client.get(f"{API}/keys", headers=admin).json() if k["name"] == "ci"]
    assert listed["prefix"] == key[:7] and listed["revoked"] is False and listed["role"] == "operator"
    assert key not in json.dumps(client.get(f"{API}/keys", headers=admin).json())  # never shown again

    assert client.delete(f"{API}/keys/{listed['id']}", headers=admin).status_code == 204
    assert_problem(client.get(f"{API}/auth/me", headers={"X-API-Key": key}), 401)
    (listed,) = [k for k in client.get(f"{API}/keys", headers=admin).json() if k["name"] == "ci"]
    assert listed["revoked"] is True
    assert_problem(client.delete(f"{API}/keys/{listed['id']}", headers=admin), 404)


def test_login_sets_a_session_cookie_and_logout_ends_it(app):
    with TestClient(app, raise_server_exceptions=False) as browser:
        wrong = browser.post(f"{API}/auth/login", json={"username": "admin", "password": "not the password"})
        assert_problem(wrong, 401)
        assert "fp_session" not in browser.cookies
        nobody = browser.post(f"{API}/auth/login", json={"username": "nobody", "password": DEV_ADMIN_KEY})
        assert_problem(nobody, 401)

        ok = browser.post(f"{API}/auth/login", json={"username": "admin", "password": DEV_ADMIN_KEY})
        assert ok.status_code == 200 and ok.json() == {"name": "admin", "role": "admin", "kind": "user"}
        cookie = ok.headers["set-cookie"].lower()
        assert "fp_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert browser.get(f"{API}/auth/me").json()["kind"] == "user"  # the cookie only, no key
        assert browser.get(f"{API}/audit").status_code == 200  # with the admin's role

        assert browser.post(f"{API}/auth/logout").status_code == 204
        assert "fp_session" not in browser.cookies
        assert_problem(browser.get(f"{API}/auth/me"), 401)


def test_a_stolen_cookie_is_useless_after_logout(app):
    with TestClient(app, raise_server_exceptions=False) as browser:
        browser.post(f"{API}/auth/login", json={"username": "admin", "password": DEV_ADMIN_KEY})
        token = browser.cookies["fp_session"]
        browser.post(f"{API}/auth/logout")
    with TestClient(app, raise_server_exceptions=False, cookies={"fp_session": token}) as thief:
        assert_problem(thief.get(f"{API}/auth/me"), 401)


def test_console_users_have_their_role(app, services):
    services.accounts.set_user("watcher", "watcher-password", "viewer")
    with TestClient(app, raise_server_exceptions=False) as browser:
        ok = browser.post(f"{API}/auth/login", json={"username": "watcher", "password": "watcher-password"})
        assert ok.json()["role"] == "viewer"
        assert browser.get(f"{API}/cameras").status_code == 200
        assert_problem(browser.post(f"{API}/collections", json={"name": "nope"}), 403)
        assert_problem(browser.get(f"{API}/audit"), 403)


def test_audit_lists_who_did_what_from_where(client, services, admin, viewer, examples):
    key = services.accounts.create_key("auditee", "operator")
    who = {"X-API-Key": key}
    photo = upload(examples / "obama_small.jpg")
    assert client.post(f"{API}/identify", files=photo, headers=who).status_code == 200
    pair = {**upload(examples / "obama_small.jpg", "image_a"), **upload(examples / "obama2.jpg", "image_b")}
    assert client.post(f"{API}/verify", files=pair, headers=who).status_code == 200
    assert client.post(f"{API}/collections", json={"name": "audited"}, headers=who).status_code == 201
    enrolled = client.post(
        f"{API}/collections/audited/people",
        files=upload(examples / "obama_small.jpg", "images"),
        data={"display_name": "Barack Obama"},
        headers=who,
    )
    person_id = enrolled.json()["person"]["id"]
    assert client.delete(f"{API}/people/{person_id}", headers=who).status_code == 200

    response = client.get(f"{API}/audit", params={"actor": "auditee"}, headers=admin)
    assert response.status_code == 200, response.text
    entries = response.json()
    assert [e["action"] for e in entries] == [  # newest first
        "person.erase",
        "person.enroll",
        "collection.create",
        "verify",
        "identify",
    ]
    assert all(e["actor"] == "auditee" and e["role"] == "operator" and e["ip"] == "testclient" for e in entries)
    by_action = {e["action"]: e for e in entries}
    assert by_action["person.erase"]["target"] == str(person_id)
    assert json.loads(by_action["person.erase"]["detail"])["templates"] == 1
    assert "Obama" not in by_action["person.erase"]["detail"]  # ids and counts, no name, no biometrics
    assert by_action["person.enroll"]["target"] == f"audited/{person_id}"
    assert json.loads(by_action["verify"]["detail"])["same"] is True
    assert json.loads(by_action["identify"]["detail"])["faces"] == 1
    assert entries == sorted(entries, key=lambda e: -e["id"])

    assert [e["action"] for e in client.get(f"{API}/audit?actor=auditee&action=verify", headers=admin).json()] == [
        "verify"
    ]
    assert len(client.get(f"{API}/audit?actor=auditee&limit=2", headers=admin).json()) == 2
    assert_problem(client.get(f"{API}/audit", headers=viewer), 403)


def test_failed_logins_are_audited(client, admin):
    client.post(f"{API}/auth/login", json={"username": "mallory", "password": "guess-guess"})
    (entry,) = client.get(f"{API}/audit?actor=mallory", headers=admin).json()
    assert entry["action"] == "login" and entry["status"] == 401 and entry["ip"] == "testclient"


def test_audit_rows_cannot_be_changed_or_deleted(client, services, admin):
    client.post(f"{API}/auth/login", json={"username": "eve", "password": "guess-guess"})  # one entry at least
    before = client.get(f"{API}/audit?limit=1000", headers=admin).json()
    assert before
    for sql in ("DELETE FROM audit", "UPDATE audit SET actor = 'nobody'"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            services.audit._db.execute(sql)
    after = client.get(f"{API}/audit?limit=1000", headers=admin).json()
    assert after[len(after) - len(before) :] == before


def test_rate_limit_per_caller(make_services, tmp_path, examples):
    from faceplane.server.app import create_app

    with (
        make_services(tmp_path / "data", rate_limit_per_minute=2) as limited,
        TestClient(create_app(limited), raise_server_exceptions=False) as c,
    ):
        admin = {"X-API-Key": DEV_ADMIN_KEY}
        other = {"X-API-Key": limited.accounts.create_key("other", "operator")}
        for _ in range(2):
            assert (
                c.post(f"{API}/identify", files=upload(examples / "obama_small.jpg"), headers=admin).status_code == 200
            )
        body = assert_problem(c.post(f"{API}/identify", files=upload(examples / "obama_small.jpg"), headers=admin), 429)
        assert "2 recognition calls a minute" in body["detail"]
        assert_problem(c.post(f"{API}/detect", files=upload(examples / "obama_small.jpg"), headers=admin), 429)
        # per caller: another key still has its own budget; reading is not rate limited
        assert c.post(f"{API}/detect", files=upload(examples / "obama_small.jpg"), headers=other).status_code == 200
        assert all(c.get(f"{API}/collections", headers=admin).status_code == 200 for _ in range(5))


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({}, "admin_api_key"),
        ({"admin_api_key": DEV_ADMIN_KEY, "admin_password": "a-long-password"}, "admin_api_key"),
        ({"admin_api_key": "k" * 32}, "admin_password"),
        ({"admin_api_key": "k" * 32, "admin_password": "short"}, "admin_password"),
    ],
)
def test_production_refuses_default_secrets(tmp_path, monkeypatch, overrides, complaint):
    for name in ("FACEPLANE_ADMIN_API_KEY", "FACEPLANE_ADMIN_PASSWORD", "FACEPLANE_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InvalidArgumentError, match=complaint):
        load_settings(environment="production", data_dir=tmp_path, **overrides)
    good = load_settings(environment="production", data_dir=tmp_path, admin_api_key="k" * 32, admin_password="p" * 12)
    assert good.admin_key() == "k" * 32


def test_production_hides_error_details(make_services, tmp_path, examples):
    """The same 500 shows the exception in development and only 'see the server log' in production."""
    from faceplane.server.app import create_app

    secrets = {"environment": "production", "admin_api_key": "k" * 32, "admin_password": "p" * 12}
    with make_services(tmp_path / "data", **secrets) as prod:
        app = create_app(prod)

        @app.get("/boom", include_in_schema=False)
        def boom() -> None:
            raise RuntimeError("secret internals")

        with TestClient(app, raise_server_exceptions=False) as c:
            body = assert_problem(c.get("/boom"), 500, "InternalError")
            assert "secret" not in body["detail"]
            assert_problem(c.get(f"{API}/auth/me", headers={"X-API-Key": DEV_ADMIN_KEY}), 401)
            assert c.get(f"{API}/auth/me", headers={"X-API-Key": "k" * 32}).status_code == 200


# -- cameras, events, the live stream -----------------------------------------------------------------


def _first_sse_event(url: str, key: str, camera: str, found: queue.Queue[Any]) -> None:
    """Read the event stream until the first event of ``camera``; put ``(kind, data)`` (or the exception) in
    ``found``, after ``("status", code, content type)``."""
    try:
        with httpx.stream(
            "GET", url, headers={"X-API-Key": key}, timeout=httpx.Timeout(10.0, read=ALERT_TIMEOUT_S)
        ) as response:
            found.put(("status", response.status_code, response.headers.get("content-type")))
            kind = None
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line.removeprefix("event:").strip()
                elif line.startswith("data:") and kind:
                    data = json.loads(line.removeprefix("data:"))
                    if data["camera"] == camera:
                        found.put((kind, data))
                        return
    except Exception as exc:  # reported by the test
        found.put(exc)


def _wait_for(fetch: Callable[[], list[dict[str, Any]]], timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := fetch():
            return found
        time.sleep(0.5)
    return []


@pytest.mark.slow
def test_live_camera_raises_a_watchlist_alert(
    app, client, services, viewer, operator, admin, examples, lin, live_server
):
    """Lin-Manuel enrolled in a watchlist; the Hamilton clip on a camera; alerts in the store, the stream,
    the snapshot and the hourly counts; the camera live with frames; removed at the end."""
    response = client.put(f"{API}/collections/vip/watchlist", json={"watchlist": True}, headers=operator)
    assert response.status_code == 200 and response.json()["watchlist"] is True

    clip = str(examples / "short_hamilton_clip.mp4")
    with live_server(app) as base:
        found: queue.Queue[Any] = queue.Queue()
        reader = threading.Thread(
            target=_first_sse_event,
            args=(f"{base}{API}/events/stream", viewer["X-API-Key"], "stage", found),
            daemon=True,
        )
        reader.start()
        status = found.get(timeout=20)
        assert status == ("status", 200, "text/event-stream; charset=utf-8"), status
        try:
            body = {"id": "stage", "source": clip, "loop": True}  # a local file: an admin's (media root: shared data)
            added = client.post(f"{API}/cameras", json=body, headers=admin)
            assert added.status_code == 201, added.text
            assert added.json()["id"] == "stage" and added.json()["source"] == clip
            again = client.post(f"{API}/cameras", json={"id": "stage", "source": clip}, headers=operator)
            assert_problem(again, 400, "InvalidArgumentError")

            alerts = _wait_for(
                lambda: client.get(
                    f"{API}/events", params={"kind": "watchlist.start", "camera": "stage"}, headers=viewer
                ).json(),
                ALERT_TIMEOUT_S,
            )
            assert alerts, f"no watchlist alert within {ALERT_TIMEOUT_S} s"
            alert = alerts[-1]
            assert alert["person_name"] == "Lin-Manuel Miranda" and alert["person_id"] == lin["person"]["id"]
            assert alert["collection"] == "vip" and alert["rule"] == "vip"
            assert alert["distance"] < services.gallery.calibration.threshold()  # within the best-accuracy threshold

            sse = found.get(timeout=ALERT_TIMEOUT_S)
            assert not isinstance(sse, Exception), sse
            kind, data = sse
            assert kind == data["kind"] and data["camera"] == "stage"
            reader.join(10)

            snapshot = client.get(alert["snapshot_url"], headers=viewer)
            assert snapshot.status_code == 200 and snapshot.headers["content-type"] == "image/jpeg"
            assert snapshot.content[:2] == JPEG and len(snapshot.content) > 2000

            camera = client.get(f"{API}/cameras/stage", headers=viewer).json()
            assert camera["state"] == "live" and camera["frames"] > 0 and camera["faces"] > 0
            assert [c["id"] for c in client.get(f"{API}/cameras", headers=viewer).json()] == ["stage"]
            frame = client.get(f"{API}/cameras/stage/frame.jpg", headers=viewer)
            assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
            assert frame.content[:2] == JPEG and frame.headers["cache-control"] == "no-store"

            hourly = client.get(
                f"{API}/analytics/hourly", params={"kind": "watchlist.start", "camera": "stage"}, headers=viewer
            ).json()
            assert sum(h["count"] for h in hourly) >= 1
            assert all(h["hour_s"] % 3600 == 0 for h in hourly)
            mine = client.get(f"{API}/events", params={"person_id": lin["person"]["id"]}, headers=viewer).json()
            assert alert["id"] in {e["id"] for e in mine}
        finally:
            removed = client.delete(f"{API}/cameras/stage", headers=operator)
    assert removed.status_code == 204, removed.text
    assert_problem(client.get(f"{API}/cameras/stage", headers=viewer), 404)
    assert_problem(client.delete(f"{API}/cameras/stage", headers=operator), 404)
    assert_problem(client.get(f"{API}/cameras/stage/frame.jpg", headers=viewer), 404)
    assert "stage" not in json.dumps(client.get(f"{API}/cameras", headers=viewer).json())
    # the alert outlives the camera
    assert client.get(alert["snapshot_url"], headers=viewer).status_code == 200


def test_templates_of_a_person(client, operator, examples):
    """A person's templates have thumbnails; removing one keeps the person and their other templates."""
    collection = client.post(f"{API}/collections", json={"name": "tpl"}, headers=operator).json()["name"]
    files = [upload(examples / "obama.jpg", "images")["images"], upload(examples / "obama2.jpg", "images")["images"]]
    report = client.post(
        f"{API}/collections/{collection}/people",
        files=[("images", f) for f in files],
        data={"display_name": "Barack Obama"},
        headers=operator,
    ).json()
    person_id = report["person"]["id"]
    templates = client.get(f"{API}/people/{person_id}/templates", headers=operator).json()
    assert len(templates) == 2
    thumb = client.get(templates[0]["thumbnail_url"], headers=operator)
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    assert client.delete(f"{API}/templates/{templates[0]['id']}", headers=operator).status_code == 204
    assert client.get(f"{API}/people/{person_id}", headers=operator).json()["templates"] == 1
    assert_problem(client.delete(f"{API}/templates/{templates[0]['id']}", headers=operator), 404)


def test_a_single_valued_query_parameter_given_twice_is_refused(client, viewer):
    assert_problem(client.get(f"{API}/events?limit=5&limit=6", headers=viewer), 422)
    assert client.get(f"{API}/events?kind=zone.exit&kind=line.crossed", headers=viewer).status_code == 200  # a list
