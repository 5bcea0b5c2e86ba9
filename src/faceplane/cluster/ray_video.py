"""Cameras on a Ray cluster: one actor per camera, a shared embedding pool, one gallery actor.

The pieces, all Ray actors that Ray places on the cluster's nodes and restarts on another node
when theirs dies (``max_restarts=-1``):

- ``CameraWorker`` (one per camera): decodes the stream (PyAV), detects, tracks and applies the
  rules with its own :class:`~faceplane.video.engine.VideoEngine`; it embeds through the pool and
  searches through the gallery actor. Events wait in its outbox until the API process has stored
  them (two-phase: fetch, store, acknowledge), so a worker that dies loses nothing acknowledged.
- ``Embedder`` (a pool): an async actor that gathers the face chips of every camera calling it
  within a few milliseconds and embeds them in one ONNX batch.
- ``GalleryServer``: the gallery (SQLite with the exact or FAISS index, or a Milvus collection)
  for every worker; it reloads its index when the API process changed the gallery.

:class:`RayVideoCluster` runs in the API process: it adds and removes cameras, polls the workers'
outboxes and publishes their events on the API process's :class:`~faceplane.events.EventBus`.

Exactly once. Event ids are deterministic (:meth:`VideoEngine._emit`): a camera keeps one event
namespace for its lifetime, so a worker restarted on another node that replays a file
(``realtime = false``: every frame analysed, none dropped) re-creates the same ids, and the store
keeps each event once. A live stream (or a file paced in real time, which drops frames when the
analysis lags) resumes from "now" after a restart under a namespace of its own incarnation: events
of the seconds it was down are not seen, and none is stored twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..config import CameraConfig
from ..errors import InvalidArgumentError, NotFoundError
from ..events import Event, EventBus
from ..gallery.records import Identification
from ..verify import Calibration
from ..video.analyzer import AnalyzerSettings
from ..video.sources import SourceStatus

__all__ = ["CameraState", "RayVideoCluster"]

log = logging.getLogger(__name__)

_POLL_S = 0.5
_POLL_TIMEOUT_S = 2.0
_CALL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CameraState:
    """Where a camera runs and how it does: the Ray node id, the worker's process id, its source status,
    analysed frames, faces and events by kind so far (of this incarnation, which changes on a restart)."""

    camera: str
    node_id: str
    pid: int
    status: SourceStatus | None
    frames: int
    faces: int
    events: dict[str, int]
    incarnation: str


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InvalidArgumentError("the cluster mode needs Ray: pip install 'faceplane[cluster]'") from None
    return ray


# -- actors (plain classes; RayVideoCluster wraps them with ray.remote) ---------------------------------


class GalleryServer:
    """The gallery for every worker (see the module docstring)."""

    def __init__(self, path: str, index: str, template_key: bytes | None, index_options: dict[str, Any]) -> None:
        from ..gallery.gallery import Gallery

        # the gallery's own embedder ("auto"): the API process opened the same store with the same model
        self.gallery = Gallery.open(path, index=index, template_key=template_key, **index_options)
        self._seen = self.gallery.store.generation

    def _fresh(self) -> None:
        generation = self.gallery.store.generation
        if generation != self._seen:  # the API process enrolled or erased someone
            self.gallery.rebuild_index()
            self._seen = self.gallery.store.generation

    def size(self) -> int:
        self._fresh()
        return len(self.gallery.index)

    def search(self, embeddings: npt.NDArray[np.float32], k: int) -> list[Identification]:
        self._fresh()
        return self.gallery.search(embeddings, k=k)

    def add_unknown(
        self,
        embeddings: npt.NDArray[np.float32],
        chips: npt.NDArray[np.uint8],
        source: str,
        qualities: list[float] | None = None,
    ) -> list[int]:
        self._fresh()
        ids = self.gallery.add_unknown_embeddings(embeddings, chips, source=source, qualities=qualities)
        self._seen = self.gallery.store.generation  # our own write: no reload
        return ids

    def check_collection(self, name: str) -> None:
        self.gallery.store.collection_id(name)

    def count_people(self, collections: Sequence[str] | None = None) -> int:
        return self.gallery.store.count_people(collections)

    def calibration(self) -> Calibration:
        return self.gallery.calibration


class Embedder:
    """Embeds face chips from many cameras in shared batches (an async actor: calls overlap)."""

    def __init__(self, wait_ms: float = 5.0, max_batch: int = 128, embedder: str = "mobilefacenet") -> None:
        from ..pipeline import Engine

        self.engine = Engine(num_threads=1, embedder=embedder)  # type: ignore[arg-type]
        self.wait_s = wait_ms / 1000
        self.max_batch = max_batch
        self._pending: list[tuple[npt.NDArray[np.uint8], asyncio.Future[npt.NDArray[np.float32]]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self.batches = 0
        self.faces = 0

    async def embed(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        future: asyncio.Future[npt.NDArray[np.float32]] = asyncio.get_running_loop().create_future()
        self._pending.append((chips, future))
        if len(self._pending) == 1:
            self._timer = asyncio.get_running_loop().call_later(self.wait_s, self._flush)
        elif sum(len(c) for c, _ in self._pending) >= self.max_batch:
            self._flush()
        return await future

    def _flush(self) -> None:
        if self._timer is not None:  # a full batch went early: its timer must not cut the next one short
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            out = self.engine.embed_chips(np.concatenate([c for c, _ in batch]))
        except Exception as exc:  # every caller of the batch gets the error
            for _, future in batch:
                future.set_exception(exc)
            return
        self.batches += 1
        self.faces += len(out)
        start = 0
        for chips, future in batch:
            future.set_result(out[start : start + len(chips)])
            start += len(chips)

    def stats(self) -> tuple[int, int]:
        """(batches, faces) embedded so far."""
        return self.batches, self.faces


class _PoolEngine:
    """What VideoEngine needs of an Engine (``embed_chips``), done by the embedder pool."""

    def __init__(self, embedders: Sequence[Any]) -> None:
        self.embedders = list(embedders)
        self._next = 0

    def embed_chips(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        ray = _ray()
        actor = self.embedders[self._next % len(self.embedders)]
        self._next += 1
        return ray.get(actor.embed.remote(chips), timeout=_CALL_TIMEOUT_S)


class _RemoteStore:
    def __init__(self, gallery: Any) -> None:
        self._gallery = gallery

    def collection_id(self, name: str) -> None:
        _ray().get(self._gallery.check_collection.remote(name), timeout=_CALL_TIMEOUT_S)

    def count_people(self, collections: Sequence[str] | None = None) -> int:
        """Everyone a camera's threshold is over (its FPIR is a share of the people it searches)."""
        return int(_ray().get(self._gallery.count_people.remote(collections), timeout=_CALL_TIMEOUT_S))


class _RemoteIndex:
    def __init__(self, gallery: Any) -> None:
        self._gallery = gallery

    def __len__(self) -> int:
        return int(_ray().get(self._gallery.size.remote(), timeout=_CALL_TIMEOUT_S))


class _RemoteGallery:
    """What VideoEngine needs of a Gallery, served by the gallery actor."""

    def __init__(self, gallery: Any) -> None:
        self._gallery = gallery
        self.store = _RemoteStore(gallery)
        self.index = _RemoteIndex(gallery)
        self.calibration = _ray().get(gallery.calibration.remote(), timeout=_CALL_TIMEOUT_S)

    def search(self, embeddings: npt.NDArray[np.float32], *, k: int) -> list[Identification]:
        return list(_ray().get(self._gallery.search.remote(embeddings, k), timeout=_CALL_TIMEOUT_S))

    def add_unknown_embeddings(
        self,
        embeddings: npt.NDArray[np.float32],
        chips: npt.NDArray[np.uint8],
        *,
        source: str = "",
        qualities: list[float] | None = None,
    ) -> list[int]:
        remote = self._gallery.add_unknown.remote(embeddings, chips, source, qualities)
        return list(_ray().get(remote, timeout=_CALL_TIMEOUT_S))


class _Outbox:
    """Where a worker's EventBus stores events until the API process acknowledges them."""

    def __init__(self) -> None:
        self.items: list[tuple[int, Event, bytes | None]] = []
        self.seq = 0
        self.lock = threading.Lock()

    def add(self, event: Event, snapshot_jpeg: bytes | None = None) -> Event:
        with self.lock:
            self.seq += 1
            self.items.append((self.seq, event, snapshot_jpeg))
        return event


class CameraWorker:
    """One camera's pipeline on a cluster node (see the module docstring)."""

    def __init__(
        self,
        config: CameraConfig,
        namespace: str,
        gallery: Any,
        embedders: Sequence[Any],
        watchlists: Sequence[str],
        redact: tuple[bool, bool],
        analyzer: AnalyzerSettings | None = None,
    ) -> None:
        from ..video.analyzer import LocalAnalyzer
        from ..video.engine import VideoEngine

        self.incarnation = uuid.uuid4().hex
        self.outbox = _Outbox()
        self.video = VideoEngine(
            engine=_PoolEngine(embedders),  # type: ignore[arg-type]
            gallery=_RemoteGallery(gallery),  # type: ignore[arg-type]
            watchlists=watchlists,
            bus=EventBus(store=self.outbox),  # type: ignore[arg-type]
            analyzer=LocalAnalyzer(analyzer),
            redact_snapshots=redact[0],
            redact_video=redact[1],
        )
        source = config.video_source()
        if source.is_live or config.realtime:  # frames are dropped when analysis lags: a replay differs, ids too
            namespace = uuid.uuid5(uuid.UUID(namespace), self.incarnation).hex
        lines, zones = config.rules()
        self.video.add_camera(
            source,
            lines=lines,
            zones=zones,
            objects=config.object_settings(),
            fixed_camera=config.fixed,
            match=config.match_threshold(),  # the camera's own threshold, as on the API process
            event_namespace=namespace,
        )
        self.thread = threading.Thread(target=self.video.run, kwargs={"forever": True}, daemon=True)
        self.thread.start()

    def fetch(self, acked: int, incarnation: str) -> tuple[str, list[tuple[int, Event, bytes | None]]]:
        """Drop what the caller stored (``acked``, if it is this incarnation's), return what is left."""
        with self.outbox.lock:
            if incarnation == self.incarnation:
                self.outbox.items = [item for item in self.outbox.items if item[0] > acked]
            return self.incarnation, list(self.outbox.items)

    def set_watchlists(self, names: Sequence[str]) -> None:
        self.video.watchlists = set(names)

    def state(self) -> CameraState:
        ray = _ray()
        cam = self.video.cameras[0] if self.video.cameras else None
        summary = cam.summary if cam else None
        return CameraState(
            camera=cam.name if cam else "",
            node_id=ray.get_runtime_context().get_node_id(),
            pid=os.getpid(),
            status=cam.source.status if cam else None,
            frames=summary.frames if summary else 0,
            faces=summary.faces if summary else 0,
            events=dict(summary.events) if summary else {},
            incarnation=self.incarnation,
        )

    def stop(self) -> None:
        self.video.stop()
        self.thread.join(30)


# -- the API process's side --------------------------------------------------------------------------------


@dataclass
class _Handle:
    config: CameraConfig
    actor: Any
    acked: int = 0
    incarnation: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)  # one fetch at a time: acks only go forward


class RayVideoCluster:
    """Cameras on a Ray cluster, events back to ``bus`` (see the module docstring).

    Args:
        gallery_path: the gallery folder (every node must reach it: a shared disk, or use Milvus).
        bus: where the workers' events are published (the API process's store and sinks).
        address: a Ray cluster (``"auto"``, ``"ray://head:10001"``, ``"10.0.0.5:6379"``); None starts
            a local one.
        index: the gallery index (``exact``, ``faiss``, ``milvus``).
        index_options: for the index (``uri`` of a Milvus server: Milvus Lite allows one process only).
        watchlists: collections whose people raise alerts.
        embedders: actors in the embedding pool.
        template_key: the gallery's encryption key, if it has one.
        redact: (snapshots, video), as :class:`~faceplane.video.engine.VideoEngine`.
        analyzer: the workers' detector settings (``detector``, ``detect_width``).

    The gallery actor is placed on this process's node (it opens ``gallery_path`` there); the embedding
    pool and the camera workers go wherever Ray finds room.
    """

    def __init__(
        self,
        *,
        gallery_path: str,
        bus: EventBus,
        address: str | None = None,
        index: str = "exact",
        index_options: dict[str, Any] | None = None,
        watchlists: Sequence[str] = (),
        embedders: int = 1,
        template_key: bytes | None = None,
        redact: tuple[bool, bool] = (True, True),
        analyzer: AnalyzerSettings | None = None,
        embedder: str = "mobilefacenet",
    ) -> None:
        ray = _ray()
        self._owns_ray = not ray.is_initialized()  # then close() ends the Ray processes it started
        if self._owns_ray:
            ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self.bus = bus
        self.watchlists = set(watchlists)
        self.redact = redact
        self.analyzer = analyzer
        restart = {"max_restarts": -1, "max_task_retries": -1}
        here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=True)
        gallery = ray.remote(GalleryServer).options(**restart, num_cpus=0, scheduling_strategy=here)
        self.gallery = gallery.remote(gallery_path, index, template_key, dict(index_options or {}))
        self.embedders = [
            ray.remote(Embedder).options(**restart, num_cpus=0, max_concurrency=256).remote(embedder=embedder)
            for _ in range(embedders)
        ]
        self._workers: dict[str, _Handle] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="cluster-events", daemon=True)
        self._poller.start()

    def add_camera(self, config: CameraConfig) -> None:
        """Start a worker for this camera somewhere on the cluster (Ray spreads them over the nodes)."""
        ray = _ray()
        with self._lock:
            if config.id in self._workers:
                raise InvalidArgumentError(f"camera {config.id!r} exists; remove it first")
            actor = (
                ray.remote(CameraWorker)
                .options(max_restarts=-1, max_task_retries=-1, num_cpus=1, scheduling_strategy="SPREAD")
                .remote(
                    config,
                    uuid.uuid4().hex,
                    self.gallery,
                    self.embedders,
                    sorted(self.watchlists),
                    self.redact,
                    self.analyzer,
                )
            )
            self._workers[config.id] = _Handle(config, actor)

    def remove_camera(self, camera: str) -> None:
        ray = _ray()
        with self._lock:
            handle = self._workers.pop(camera, None)
        if handle is None:
            raise NotFoundError(f"no camera {camera!r}")
        try:
            ray.get(handle.actor.stop.remote(), timeout=_CALL_TIMEOUT_S)  # its last tracks end and emit
            self._drain(handle)
        finally:
            ray.kill(handle.actor, no_restart=True)

    def set_watchlists(self, names: Sequence[str]) -> None:
        ray = _ray()
        self.watchlists = set(names)
        with self._lock:
            handles = list(self._workers.values())
        ray.get([h.actor.set_watchlists.remote(sorted(names)) for h in handles], timeout=_CALL_TIMEOUT_S)

    def state(self, camera: str) -> CameraState:
        """Where the camera's worker runs now and how it does (raises NotFoundError for an unknown camera)."""
        with self._lock:
            handle = self._workers.get(camera)
        if handle is None:
            raise NotFoundError(f"no camera {camera!r}")
        state: CameraState = _ray().get(handle.actor.state.remote(), timeout=_CALL_TIMEOUT_S)
        return state

    def cameras(self) -> list[str]:
        with self._lock:
            return sorted(self._workers)

    def embedder_stats(self) -> list[tuple[int, int]]:
        """(batches, faces) per embedder actor."""
        return list(_ray().get([e.stats.remote() for e in self.embedders], timeout=_CALL_TIMEOUT_S))

    def close(self) -> None:
        self._stop.set()
        self._poller.join(10)
        for camera in self.cameras():
            try:
                self.remove_camera(camera)
            except Exception:  # a worker on a dead node: nothing left to stop
                log.exception("camera %s did not stop cleanly", camera)
        if self._owns_ray:
            log.info("disconnecting from Ray (and stopping the local Ray processes started here)")
            _ray().shutdown()

    # -- events ---------------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._stop.wait(_POLL_S):
            with self._lock:
                handles = list(self._workers.values())
            for handle in handles:
                try:
                    self._drain(handle, timeout_s=_POLL_TIMEOUT_S)  # a restarting worker must not hold up the rest
                except Exception as exc:  # a worker being restarted on another node: try again later
                    log.info("camera %s: events not fetched (%s)", handle.config.id, type(exc).__name__)

    def _drain(self, handle: _Handle, timeout_s: float = _CALL_TIMEOUT_S) -> None:
        ray = _ray()
        with handle.lock:
            call = handle.actor.fetch.remote(handle.acked, handle.incarnation)
            incarnation, items = ray.get(call, timeout=timeout_s)
            if incarnation != handle.incarnation:  # restarted: its numbering starts again
                handle.incarnation, handle.acked = incarnation, 0
            for seq, event, snapshot in items:
                self.bus.publish(event, snapshot)  # stored once: ids repeat only for the same event
                handle.acked = seq


def wait_until(predicate: Any, timeout_s: float, step_s: float = 0.5) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout_s`` passes (tests, benchmarks)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
