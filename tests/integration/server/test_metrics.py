"""``GET /metrics`` on real services: Prometheus text that parses, who may scrape, and numbers that match
what really happened (people enrolled, a camera on a real clip, its events, a webhook that cannot deliver,
HTTP latency by route template)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from faceplane.server.app import create_app
from faceplane.services import Services

API = "/api/v1"
TOKEN = "scrape-token-0123456789abcdef"
CAMERA_TIMEOUT_S = 60.0
Samples = dict[str, list[tuple[dict[str, str], float]]]


def _closed_port() -> int:
    """A local port nobody listens on (a webhook receiver that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def metered(make_services, tmp_path_factory) -> Iterator[Services]:
    webhook = {"url": f"http://127.0.0.1:{_closed_port()}/hook", "secret": "webhook-secret"}
    with make_services(tmp_path_factory.mktemp("metrics-data"), metrics_token=TOKEN, webhooks=[webhook]) as built:
        yield built


@pytest.fixture(scope="module")
def metered_app(metered: Services):
    return create_app(metered)


@pytest.fixture(scope="module")
def api(metered_app) -> Iterator[TestClient]:
    with TestClient(metered_app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keys(metered: Services) -> dict[str, dict[str, str]]:
    return {
        role: {"X-API-Key": metered.accounts.create_key(f"metrics-{role}", role)}
        for role in ("viewer", "operator", "admin")
    }


def scrape(client: TestClient, headers: dict[str, str] | None = None) -> Samples:
    """Every sample of a scrape with the scrape token, by sample name (the text format must parse)."""
    response = client.get("/metrics", headers=headers or {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4"), response.headers
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The value of the one sample of ``name`` whose labels include ``labels`` (None: no such sample)."""
    found = [v for got, v in samples.get(name, []) if labels.items() <= got.items()]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def wait_until(scrape_now: Callable[[], Samples], ok: Callable[[Samples], bool], timeout_s: float) -> Samples:
    deadline = time.monotonic() + timeout_s
    while True:
        samples = scrape_now()
        if ok(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.5)


# -- who may scrape -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("credentials", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-the-token-0123456789"}, 401),
        ({"Authorization": f"Bearer {TOKEN}x"}, 401),
        ({"X-API-Key": "fp_not-a-key"}, 401),
        ({"Authorization": f"Bearer {TOKEN}"}, 200),
        ({"Authorization": f"bearer  {TOKEN}"}, 200),
        ("viewer", 200),
        ("operator", 200),
        ("admin", 200),
        ("bearer viewer", 200),
    ],
    ids=[
        "none",
        "wrong token",
        "token plus a char",
        "unknown key",
        "token",
        "token, odd case",
        "viewer",
        "operator",
        "admin",
        "viewer key as bearer",
    ],
)
def test_scrape_needs_the_viewer_role_or_the_scrape_token(metered_app, keys, live_server, credentials, status):
    """Over real HTTP (uvicorn): a 401 problem without valid credentials, the metrics with them."""
    if credentials == "bearer viewer":
        credentials = {"Authorization": f"Bearer {keys['viewer']['X-API-Key']}"}
    elif isinstance(credentials, str):
        credentials = keys[credentials]
    with live_server(metered_app) as base:
        response = httpx.get(f"{base}/metrics", headers=credentials, timeout=30)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "faceplane_" not in response.text
    else:
        names = {family.name for family in text_string_to_metric_families(response.text)}
        assert {"faceplane_gallery_people", "faceplane_http_request_duration_seconds"} <= names


def test_the_scrape_token_is_no_api_key(api):
    """The token opens /metrics only, not the API."""
    response = api.get(f"{API}/collections", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 401, response.text


def test_openmetrics_when_the_scraper_asks_for_it(api):
    response = api.get(
        "/metrics",
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/openmetrics-text; version=1.0.0"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/openmetrics-text")
    names = {family.name for family in parse_openmetrics(response.text)}
    assert {"faceplane_gallery_people", "faceplane_detector_latency_seconds"} <= names


def test_a_short_scrape_token_is_refused(tmp_path):
    from faceplane.config import load_settings
    from faceplane.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="metrics_token"):
        load_settings(data_dir=tmp_path, metrics_token="short")


# -- what the numbers say -------------------------------------------------------------------------------
def test_gallery_size_counts_the_people_enrolled(api, keys, examples):
    assert api.post(f"{API}/collections", json={"name": "metered"}, headers=keys["operator"]).status_code == 201
    before = scrape(api)
    assert value(before, "faceplane_gallery_people", collection="metered") == 0
    photos = ["obama.jpg", "biden.jpg", "obama_small.jpg"]
    for n, photo in enumerate(photos):
        response = api.post(
            f"{API}/collections/metered/people",
            files={"images": (photo, (examples / photo).read_bytes(), "image/jpeg")},
            data={"display_name": f"person {n}"},
            headers=keys["operator"],
        )
        assert response.status_code == 201, response.text
    after = scrape(api)
    assert value(after, "faceplane_gallery_people", collection="metered") == len(photos)
    assert value(after, "faceplane_gallery_templates", collection="metered") == len(photos)


def test_http_latency_is_labelled_by_route_template_not_by_id(api, keys, examples):
    api.post(f"{API}/collections", json={"name": "routes"}, headers=keys["operator"])
    enrolled = api.post(
        f"{API}/collections/routes/people",
        files={"images": ("obama.jpg", (examples / "obama.jpg").read_bytes(), "image/jpeg")},
        data={"display_name": "Barack Obama"},
        headers=keys["operator"],
    ).json()
    person_id = enrolled["person"]["id"]
    for _ in range(3):
        assert api.get(f"{API}/people/{person_id}", headers=keys["viewer"]).status_code == 200
    assert api.get(f"{API}/people/987654321", headers=keys["viewer"]).status_code == 404
    assert api.get(f"{API}/no/such/route/{person_id}", headers=keys["viewer"]).status_code == 404
    samples = scrape(api)
    route = "/api/v1/people/{person_id}"
    name = "faceplane_http_request_duration_seconds_count"
    assert value(samples, name, method="GET", route=route, status="2xx") == 3
    assert value(samples, name, method="GET", route=route, status="4xx") == 1
    assert value(samples, name, method="GET", route="unmatched", status="4xx") == 1
    buckets = [(labels, v) for labels, v in samples["faceplane_http_request_duration_seconds_bucket"]]
    assert any(labels["route"] == route and labels["le"] == "+Inf" and v == 3 for labels, v in buckets)
    routes = {labels["route"] for labels, _ in samples[name]}
    assert not [r for r in routes if str(person_id) in r or "987654321" in r], routes


@pytest.mark.slow
def test_a_camera_on_a_real_clip_shows_in_the_metrics(api, keys, examples):
    """The Hamilton clip on a camera: live, frames decoded and analysed at a rate, detector and embedder
    timed; its events counted as the event store has them; the unreachable webhook's failures counted."""
    clip = str(examples / "short_hamilton_clip.mp4")
    body: dict[str, Any] = {"id": "metered-cam", "source": clip, "loop": True, "fps": 5}
    added = api.post(f"{API}/cameras", json=body, headers=keys["admin"])  # local files: admins only
    assert added.status_code == 201, added.text
    try:
        cam = {"camera": "metered-cam"}
        samples = wait_until(
            lambda: scrape(api),
            lambda s: (
                (value(s, "faceplane_camera_frames_analysed_total", **cam) or 0) > 0
                and (value(s, "faceplane_embedder_latency_seconds_count") or 0) > 0
            ),
            CAMERA_TIMEOUT_S,
        )
        time.sleep(2.0)  # the frame rates are measured between scrapes
        samples = scrape(api)
        assert value(samples, "faceplane_camera_state", faceplane_camera_state="live", **cam) == 1
        assert value(samples, "faceplane_camera_state", faceplane_camera_state="failed", **cam) == 0
        assert value(samples, "faceplane_camera_frames_decoded_total", **cam) > 0
        assert value(samples, "faceplane_camera_frames_analysed_total", **cam) > 0
        assert value(samples, "faceplane_camera_fps_in", **cam) > 0
        assert 0 < value(samples, "faceplane_camera_fps_analysed", **cam) <= 5 * 1.5
        assert value(samples, "faceplane_camera_queued_frames", **cam) is not None
        assert value(samples, "faceplane_camera_reconnects_total", **cam) == 0
        assert value(samples, "faceplane_detector_latency_seconds_count") > 0
        assert value(samples, "faceplane_detector_latency_seconds_sum") > 0
        assert value(samples, "faceplane_embedder_latency_seconds_count") > 0
        _assert_cumulative(samples, "faceplane_detector_latency_seconds_bucket")
    finally:
        api.delete(f"{API}/cameras/metered-cam", headers=keys["admin"])
    _events_match_the_store(api, keys)


def _events_match_the_store(api: TestClient, keys: dict[str, dict[str, str]]) -> None:
    """After the camera is removed (its tracks ended), the counter says what the store holds, by kind."""
    stored = api.get(f"{API}/events", params={"camera": "metered-cam", "limit": 1000}, headers=keys["viewer"]).json()
    by_kind: dict[str, int] = {}
    for event in stored:
        by_kind[event["kind"]] = by_kind.get(event["kind"], 0) + 1
    assert sum(by_kind.values()) > 0, "the clip raised no event"
    samples = wait_until(lambda: scrape(api), lambda s: (value(s, "faceplane_webhook_failures_total") or 0) > 0, 30)
    counted = {
        labels["kind"]: v for labels, v in samples["faceplane_events_total"] if labels["camera"] == "metered-cam"
    }
    assert counted == by_kind
    assert value(samples, "faceplane_webhook_failures_total") >= 1
    assert value(samples, "faceplane_webhook_deliveries_total") == 0


def _assert_cumulative(samples: Samples, name: str) -> None:
    buckets = sorted(((float(labels["le"]), v) for labels, v in samples[name]), key=lambda b: b[0])
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and buckets[-1][0] == float("inf"), buckets


def test_each_app_has_its_own_registry(metered: Services):
    """Two apps in one process (the tests, a reload) scrape without a duplicated-metric error, each
    counting its own requests."""
    first, second = create_app(metered), create_app(metered)
    with TestClient(first) as a, TestClient(second) as b:
        scrape(a)
        name = "faceplane_http_request_duration_seconds_count"
        assert value(scrape(a), name, route="/metrics", status="2xx") == 1
        assert value(scrape(b), name, route="/metrics", status="2xx") is None
