"""Cameras on a real local Ray cluster (head + two worker nodes, started by the test).

Lin-Manuel Miranda is on a watchlist; the Hamilton clip plays on a camera worker. When the node
running that worker is removed mid-stream, Ray restarts the worker on the other node, which replays
the clip: the watchlist alert is raised again there and still stored exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import ray
    from ray.cluster_utils import Cluster
except ImportError:  # the test extra installs it; a missing Ray is a failure, not a skip
    pytest.fail("the cluster tests need Ray: pip install -e '.[test]'", pytrace=False)

from faceplane import Engine
from faceplane.cluster.ray_video import RayVideoCluster, wait_until
from faceplane.config import CameraConfig
from faceplane.events import EventBus, EventStore, MemorySink
from faceplane.gallery.gallery import Gallery

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[tuple[Cluster, list]]:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})  # the head runs no camera
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    ray.init(address=cluster.address, include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield cluster, nodes
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture
def gallery_dir(tmp_path: Path, examples: Path) -> Path:
    with Gallery.open(tmp_path / "gallery", engine=Engine()) as gallery:
        gallery.create_collection("vip")
        gallery.enroll("vip", [examples / "lin-manuel-miranda.png"], name="Lin-Manuel Miranda")
        gallery.create_collection("staff")
        gallery.enroll("staff", [examples / "alex-lacamoire.png"], name="Alex Lacamoire")
    return tmp_path / "gallery"


def test_a_dead_node_moves_its_camera_and_the_alert_arrives_once(local_cluster, gallery_dir, examples, tmp_path):
    cluster, nodes = local_cluster
    store, sink = EventStore(tmp_path / "events"), MemorySink()
    video = RayVideoCluster(gallery_path=str(gallery_dir), bus=EventBus([sink], store=store), watchlists=["vip"])
    try:
        clip = str(examples / "short_hamilton_clip.mp4")
        video.add_camera(CameraConfig(id="stage", source=clip, fps=5, realtime=False, loop=True))
        assert wait_until(lambda: store.count(kinds=["watchlist.start"]) >= 1, 180), "no alert within 180 s"
        first = video.state("stage")
        (alert,) = store.query(kinds=["watchlist.start"])
        assert alert.person_name == "Lin-Manuel Miranda" and alert.t_s < 0.5 and alert.snapshot

        cluster.remove_node(next(n for n in nodes if n.node_id == first.node_id))

        def replayed() -> bool:
            state = video.state("stage")
            return state.node_id != first.node_id and state.events.get("watchlist.start", 0) >= 1

        assert wait_until(replayed, 180, 1.0), "the camera did not come back on the other node"
        second = video.state("stage")
        assert second.incarnation != first.incarnation and second.pid != first.pid
        assert wait_until(lambda: len(sink.events) >= 1 and store.count() >= 4, 30)
        # the restarted worker raised the alert again (same id): stored once, sent to the sinks once
        assert store.count(kinds=["watchlist.start"]) == 1
        assert [e.kind for e in sink.events].count("watchlist.start") == 1
        assert not store.query(kinds=["watchlist.start"], person_id=2)  # staff raise no alert
        batches, faces = map(sum, zip(*video.embedder_stats(), strict=True))
        assert faces >= batches >= 1
    finally:
        video.close()
        store.close()


def test_the_server_runs_its_cameras_on_the_cluster(local_cluster, examples, tmp_path):
    """``faceplane serve --cluster``: the same REST calls, the camera on a Ray worker, its alert in the API's store."""
    from fastapi.testclient import TestClient

    from faceplane.bootstrap import build_services
    from faceplane.config import DEV_ADMIN_KEY, Settings
    from faceplane.server.app import create_app

    sources = {"media_roots": [str(examples)]}  # the admin's camera plays a clip of the shared data
    settings = Settings(data_dir=tmp_path / "data", cluster="local", workers=0, camera_sources=sources)  # type: ignore[call-arg,arg-type]
    services = build_services(settings)
    assert services.cluster is not None
    services.start()
    key = {"X-API-Key": DEV_ADMIN_KEY}
    try:
        with TestClient(create_app(services)) as client:
            assert client.post("/api/v1/collections", json={"name": "vip"}, headers=key).status_code == 201
            expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
            enrolled = client.post(
                "/api/v1/collections/vip/people",
                files={"images": ("lin.png", (examples / "lin-manuel-miranda.png").read_bytes(), "image/png")},
                data={"display_name": "Lin-Manuel Miranda", "purpose": "cluster test", "expires_at": expiry},
                headers=key,
            )
            assert enrolled.status_code == 201, enrolled.text
            watch = client.put("/api/v1/collections/vip/watchlist", json={"watchlist": True}, headers=key)
            assert watch.status_code == 200
            refused = client.post("/api/v1/cameras", json={"id": "passwd", "source": "/etc/passwd"}, headers=key)
            assert refused.status_code == 422 and "outside the media roots" in refused.json()["detail"]
            assert services.cluster.cameras() == []  # the source policy holds before a worker is placed
            camera = {"id": "stage", "source": str(examples / "short_hamilton_clip.mp4"), "realtime": False}
            assert client.post("/api/v1/cameras", json=camera, headers=key).status_code == 201

            def alerted() -> list:
                return client.get("/api/v1/events", params={"kind": "watchlist.start"}, headers=key).json()

            def ended(camera_id: str) -> bool:
                return client.get(f"/api/v1/cameras/{camera_id}", headers=key).json()["state"] == "ended"

            assert wait_until(lambda: bool(alerted()), 180), "no alert from the cluster worker"
            assert alerted()[0]["person_name"] == "Lin-Manuel Miranda" and alerted()[0]["camera"] == "stage"
            state = client.get("/api/v1/cameras/stage", headers=key).json()
            assert state["frames"] > 0 and state["faces"] > 0
            assert client.delete("/api/v1/cameras/stage", headers=key).status_code == 204
            # the same clip on a camera whose own threshold nobody's face meets: its worker names nobody. (After
            # "stage" is gone: the test before this one took one of the two one-CPU nodes down.)
            strict = {**camera, "id": "strict", "match_distance": 0.05}
            assert client.post("/api/v1/cameras", json=strict, headers=key).status_code == 201
            assert wait_until(lambda: ended("strict"), 180), "the strict camera's clip did not end"
            assert client.get("/api/v1/cameras/strict", headers=key).json()["faces"] > 0
            assert [e["camera"] for e in alerted()] == ["stage"]
            assert client.delete("/api/v1/cameras/strict", headers=key).status_code == 204
            assert services.cluster.cameras() == []
    finally:
        services.close()
