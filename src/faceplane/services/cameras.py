"""Cameras and watchlists of the server: add and remove cameras, turn watchlists on and off, keep both.

:class:`CameraService` owns the running cameras (on this process's :class:`~faceplane.video.engine.VideoEngine`
or on Ray workers), the source policy's gate
(:class:`~faceplane.governance.camera_sources.CameraSources`: refused cameras are kept and shown), the video
thread, and ``server-state.json``, where cameras and watchlists added at run time are saved and read back at
the next start. :class:`faceplane.services.Services` builds one and exposes it as ``services.cameras``;
``server/routes/cameras.py`` and the collection routes call it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import CameraConfig, Settings
from ..errors import InvalidArgumentError, NotFoundError, PermissionDeniedError, SourceRefusedError
from ..gallery.gallery import Gallery
from ..governance.accounts import Principal
from ..governance.camera_sources import CameraSources
from ..video.engine import CameraSummary, VideoEngine
from ..video.sources import SourceStatus

if TYPE_CHECKING:
    from ..cluster.ray_video import RayVideoCluster

__all__ = ["CameraService", "CameraView"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraView:
    config: CameraConfig
    status: SourceStatus | None
    summary: CameraSummary | None


class CameraService:
    """Cameras, watchlists and their saved state (see the module docstring).

    Args:
        gallery: the collections a watchlist names (and whose people need a purpose and an expiry).
        video: the engine that runs the cameras of this process and holds the watchlist names.
        sources: the source policy's gate; refused cameras are kept there.
        settings: the cameras and watchlists of the settings file, started by :meth:`start`.
        state_path: ``server-state.json``, cameras and watchlists added at run time.
        create_collection: makes a missing collection a watchlist names (checks the name).
        cluster: cameras on Ray workers instead of ``video``.
    """

    def __init__(
        self,
        *,
        gallery: Gallery,
        video: VideoEngine,
        sources: CameraSources,
        settings: Settings,
        state_path: Path,
        create_collection: Callable[[str], object],
        cluster: RayVideoCluster | None = None,
    ) -> None:
        self.gallery = gallery
        self.video = video
        self.sources = sources
        self.settings = settings
        self.state_path = state_path
        self.cluster = cluster
        self._create_collection = create_collection
        self._cameras: dict[str, CameraConfig] = {}
        self._video_thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Turn on the saved and configured watchlists, start every configured or saved camera, run the video."""
        state = self._read_state()
        for name in [*self.settings.watchlists, *state.get("watchlists", [])]:
            self.set_watchlist(name, True, persist=False)
        # the settings file is the server owner's (an admin's); a saved camera keeps the role of who added it
        cameras = {c.id: (c, Principal("settings", "admin", "system")) for c in self.settings.cameras}
        for raw in state.get("cameras", []):
            role = CameraSources.saved_role(state.get("camera_roles"), raw["id"])
            cameras.setdefault(raw["id"], (CameraConfig(**raw), Principal("server-state", role, "system")))
        for cam, who in cameras.values():
            try:
                self.add(cam, persist=False, who=who)
            except (SourceRefusedError, PermissionDeniedError) as exc:  # kept and shown as refused, not run
                self.sources.keep_refused(cam, who, exc)
            except Exception:  # one broken camera must not keep the server down
                log.exception("camera %s could not be started", cam.id, extra={"camera": cam.id})
        self._video_thread = threading.Thread(target=self.video.run, kwargs={"forever": True}, name="video")
        self._video_thread.start()

    def stop(self) -> None:
        """Stop the cameras: their last tracks end and are published."""
        if self.cluster is not None:
            self.cluster.close()
        self.video.stop()
        if self._video_thread is not None:
            self._video_thread.join(30)

    def _read_state(self) -> dict[str, list[Any]]:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    def _write_state(self) -> None:
        state = {
            "watchlists": sorted(self.video.watchlists),
            "cameras": [c.model_dump() for c in self._cameras.values()]
            + [r.config.model_dump() for r in self.sources.refused.values()],
            "camera_roles": dict(self.sources.roles),
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.state_path)

    # -- watchlists ------------------------------------------------------------------------------
    def watchlists(self) -> list[str]:
        return sorted(self.video.watchlists)

    def set_watchlist(self, collection: str, on: bool, *, persist: bool = True) -> None:
        names = {c.name for c in self.gallery.list_collections()}
        if on and persist and collection in names and (missing := self._without_purpose(collection)):
            raise InvalidArgumentError(
                f"{missing} people in {collection!r} have no purpose or no expiry; watchlist entries need both"
            )
        if on:
            if collection not in names:
                self._create_collection(collection)  # checks the name
            self.video.watchlists.add(collection)
            if self.cluster is not None:
                self.cluster.set_watchlists(sorted(self.video.watchlists))
        elif collection in names or collection in self.video.watchlists:
            self.video.watchlists.discard(collection)
            if self.cluster is not None:
                self.cluster.set_watchlists(sorted(self.video.watchlists))
        else:
            raise NotFoundError(f"no collection named {collection!r}")
        if persist:
            self._write_state()

    def _without_purpose(self, collection: str) -> int:
        missing, offset = 0, 0
        while people := self.gallery.list_people(collection, limit=1000, offset=offset):
            offset += len(people)
            missing += sum(1 for p in people if p.expires_at is None or not (p.consent and p.consent.purpose))
        return missing

    # -- cameras ---------------------------------------------------------------------------------
    def add(
        self,
        config: CameraConfig,
        *,
        persist: bool = True,
        who: Principal | None = None,
        ip: str = "",
    ) -> CameraView:
        """Start a camera; its source must pass the source policy for ``who`` (None: this process, an admin).

        Raises:
            SourceRefusedError, PermissionDeniedError: the policy refuses the source (audited).
        """
        who = who or Principal("system", "admin", "system")
        self._refuse_duplicate(config.id)
        self.sources.admit(config, who, ip=ip)  # may resolve a host name: not under the lock
        with self._lock:
            self._refuse_duplicate(config.id)
            if self.cluster is not None:
                self.cluster.add_camera(config)
            else:
                lines, zones = config.rules()
                self.video.add_camera(
                    config.video_source(),
                    lines=lines,
                    zones=zones,
                    objects=config.object_settings(),
                    fixed_camera=config.fixed,
                    match=config.match_threshold(),
                )
            self._cameras[config.id] = config
            self.sources.roles[config.id] = who.role
            if persist:
                self._write_state()
        return CameraView(config, None, None) if self.cluster is not None else self.view(config.id)

    def _refuse_duplicate(self, camera_id: str) -> None:
        if camera_id in self._cameras or camera_id in self.sources.refused:
            raise InvalidArgumentError(f"camera {camera_id!r} exists; delete it first")

    def remove(self, camera_id: str) -> None:
        with self._lock:
            if camera_id in self.sources.refused:  # never started
                self.sources.forget(camera_id)
                self._write_state()
                return
            if camera_id not in self._cameras:
                raise NotFoundError(f"no camera {camera_id!r}")
            if self.cluster is not None:
                self.cluster.remove_camera(camera_id)
            else:
                self.video.remove_camera(camera_id)
            del self._cameras[camera_id]
            self.sources.forget(camera_id)
            self._write_state()

    def views(self) -> list[CameraView]:
        """Every camera: running ones first, then those the source policy refused at start."""
        return [self.view(c) for c in [*self._cameras, *self.sources.refused]]

    def configs(self) -> list[CameraConfig]:
        """The settings of the running cameras (refused ones not included)."""
        return list(self._cameras.values())

    def view(self, camera_id: str) -> CameraView:
        if (refused := self.sources.refused.get(camera_id)) is not None:
            return CameraView(refused.config, refused.status(), None)
        config = self._cameras.get(camera_id)
        if config is None:
            raise NotFoundError(f"no camera {camera_id!r}")
        if self.cluster is not None:
            try:
                state = self.cluster.state(camera_id)
            except Exception:  # its worker is being restarted on another node
                return CameraView(config, None, None)
            summary = CameraSummary(camera_id, frames=state.frames, faces=state.faces, events=Counter(state.events))
            return CameraView(config, state.status, summary)
        live = {c.name: c for c in self.video.cameras}.get(camera_id)
        return CameraView(config, live.source.status if live else None, live.summary if live else None)

    def live_frame(self, camera_id: str) -> bytes | None:
        self.view(camera_id)
        if self.cluster is not None:
            return None  # no live view from cluster workers (yet): frames stay on their nodes
        return self.video.live_frame(camera_id)
